"""Common plumbing of the message-only blocks: port registration, guarded handlers, model loading."""
from __future__ import annotations

from pathlib import Path

import pmt
import torch
from gnuradio import gr

from ..checkpoint import CheckpointError
from ..system import StegoSystem, default_model

DEFAULT_JSCC = "deepjscc-bcr12"
DEFAULT_INN = "stego-l3_2"


class PduBlock(gr.basic_block):
    """A ``gr.basic_block`` with message ports only.

    Every input handler is guarded: a malformed PDU or a failure while processing it is logged
    (``self.logger.warn``) and the PDU dropped; nothing is raised into the scheduler.
    ``n_in``/``n_out``/``n_dropped`` count PDUs; ``last_error`` holds the last reason for a drop.
    """

    def __init__(self, name: str, threads: int = 0):
        gr.basic_block.__init__(self, name=name, in_sig=None, out_sig=None)
        self.n_in = 0
        self.n_out = 0
        self.n_dropped = 0
        self.last_error = ""
        if int(threads) > 0:
            torch.set_num_threads(int(threads))

    # --- ports -------------------------------------------------------------------------------
    def _input(self, port: str, handler) -> None:
        self.message_port_register_in(pmt.intern(port))

        def guarded(msg, _port=port, _handler=handler):
            self.n_in += 1
            try:
                _handler(msg)
            except ValueError as e:
                self._drop(f"malformed PDU on '{_port}': {e}")
            except Exception as e:  # noqa: BLE001 - never raise into the scheduler
                self._drop(f"failed to process PDU on '{_port}': {e.__class__.__name__}: {e}")

        self.set_msg_handler(pmt.intern(port), guarded)

    def _output(self, port: str) -> None:
        self.message_port_register_out(pmt.intern(port))

    def _publish(self, port: str, pdu) -> None:
        self.message_port_pub(pmt.intern(port), pdu)
        self.n_out += 1

    def _drop(self, why: str) -> None:
        self.n_dropped += 1
        self.last_error = why
        self._warn(f"dropped: {why}")

    def _warn(self, text: str) -> None:
        try:
            self.logger.warn(text)
        except Exception:  # noqa: BLE001 - logging must never take the block down
            pass

    def _info(self, text: str) -> None:
        try:
            self.logger.info(text)
        except Exception:  # noqa: BLE001
            pass


def model_path(path, default: str) -> Path:
    """A block's model parameter: '' means the shipped ``models/<default>``."""
    p = str(path or "").strip()
    return default_model(default) if not p else Path(p).expanduser()


def load_system(block: str, jscc_path, inn_path=None, need_inn: bool = False) -> StegoSystem:
    """Load the models once, at construction; CheckpointError names the block and the file."""
    jscc = model_path(jscc_path, DEFAULT_JSCC)
    inn = model_path(inn_path, DEFAULT_INN) if need_inn else None
    try:
        return StegoSystem.load(jscc, inn)
    except CheckpointError as e:
        raise CheckpointError(f"{block}: {e}") from None
