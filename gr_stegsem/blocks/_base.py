"""Common plumbing of the message-only blocks: port registration, guarded handlers, model loading."""
from __future__ import annotations

import threading
import time
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

    Overload: when more than ``MAX_BACKLOG`` PDUs wait on an input (frames arrive faster than the
    block processes them), the oldest is dropped unprocessed (``n_overload``; logged for the first
    five and then every 100th), so a block's queue, and the process's memory, stay bounded and the
    frames that are processed are recent ones. GNU Radio's own bound is 8192 messages per port.
    """

    MAX_BACKLOG = 32

    def __init__(self, name: str, threads: int = 0):
        gr.basic_block.__init__(self, name=name, in_sig=None, out_sig=None)
        self.n_in = 0
        self.n_out = 0
        self.n_dropped = 0
        self.n_overload = 0
        self.last_error = ""
        self._halted = False  # set by stop(): finish at once, do not wait for queued work
        self._n_done = 0  # 'done' messages received from upstream blocks
        self._first_done = None  # time.monotonic() of the first
        if int(threads) > 0:
            torch.set_num_threads(int(threads))

    # --- ports -------------------------------------------------------------------------------
    def _input(self, port: str, handler) -> None:
        self.message_port_register_in(pmt.intern(port))

        key = pmt.intern(port)

        def guarded(msg, _port=port, _handler=handler, _key=key):
            self.n_in += 1
            waiting = self.nmsgs(_key)
            if waiting > self.MAX_BACKLOG:  # overload: drop the oldest, keep the queue bounded
                self.n_overload += 1
                self.n_dropped += 1
                self.last_error = f"overload: {waiting} PDUs waiting on '{_port}' (more than {self.MAX_BACKLOG})"
                if self.n_overload <= 5 or self.n_overload % 100 == 0:
                    self._warn(f"dropped (the oldest; {self.n_overload} so far): {self.last_error}")
                return
            try:
                _handler(msg)
            except ValueError as e:
                self._drop(f"malformed PDU on '{_port}': {e}")
            except Exception as e:  # noqa: BLE001 - never raise into the scheduler
                self._drop(f"failed to process PDU on '{_port}': {e.__class__.__name__}: {e}")

        # the gateway looks the handler up by name on this object, so give each port its own attribute
        guarded.__name__ = f"_msg_handler_{port}"
        setattr(self, guarded.__name__, guarded)
        self.set_msg_handler(pmt.intern(port), guarded)

    def _hold_done(self) -> None:
        """Route the scheduler's 'done' messages (an upstream block finished) through
        :meth:`_can_finish`, so that the block completes its work before it reports done itself.

        While it cannot finish, the block re-checks every 50 ms (a message to its own system port,
        handled in the block's thread, so no input handler runs at the same time).
        """
        done, recheck = pmt.intern("done"), pmt.intern("stegsem_recheck")

        def system(msg):
            try:
                if not (pmt.is_pair(msg) and pmt.eqv(pmt.car(msg), done)):
                    self.gateway.system_handler(msg)
                    return
                if not pmt.eqv(pmt.cdr(msg), recheck):
                    self._n_done += 1
                    self._first_done = self._first_done or time.monotonic()
                if not self._halted and not self._can_finish():
                    t = threading.Timer(0.05, self._post, (pmt.intern("system"), pmt.cons(done, recheck)))
                    t.daemon = True
                    t.start()
                    return
            except Exception as e:  # noqa: BLE001
                self._warn(f"while finishing: {e.__class__.__name__}: {e}")
            self.gateway.system_handler(pmt.cons(done, pmt.from_long(1)))

        system.__name__ = "_msg_handler_system"
        setattr(self, system.__name__, system)
        self.set_msg_handler(pmt.intern("system"), system)

    def start(self):
        """Scheduler start; subclasses that override it call ``PduBlock.start(self)``."""
        self._halted = False
        self._n_done = 0
        self._first_done = None
        return True

    def stop(self):
        """Scheduler stop; subclasses that override it call ``PduBlock.stop(self)``. A block that dropped
        PDUs in this run logs the total, how many for overload, and the last reason (a long-running
        receiver's log ends with its losses)."""
        self._halted = True
        if self.n_dropped:
            self._warn(f"{self.n_dropped} PDUs dropped in this run ({self.n_overload} for overload); "
                       f"last: {self.last_error}")
        return True

    def _inputs_empty(self, *ports: str) -> bool:
        return all(self.nmsgs(pmt.intern(p)) == 0 for p in ports)

    def _can_finish(self) -> bool:
        """After an upstream 'done': True when this block has nothing left to do."""
        return True

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


def load_block_key(block: str, path: str):
    """A block's key file -> Key; ValueError naming the block and the problem (never the key)."""
    from ..keys import BadKey, load_key

    try:
        return load_key(Path(path).expanduser())
    except BadKey as e:
        raise ValueError(f"{block}: {e}") from None


class Replayed(ValueError):
    """A frame whose nonce was seen before (a replay or a reused nonce)."""


def frame_nonce(f, guard, what: str) -> int:
    """The nonce of frame ``f`` (a parsed symbol PDU) that ``guard`` (keys.ReplayGuard) has not seen:
    ValueError when meta 'nonce' is missing, :class:`Replayed` when it repeats one."""
    from .pdus import meta_nonce

    nonce = meta_nonce(f.meta)
    if nonce is None:
        raise ValueError(f"frame {f.frame_id}: {what} needs its nonce (meta 'nonce' missing)")
    if not guard.fresh(nonce):
        raise Replayed(f"frame {f.frame_id}: nonce {nonce} was seen before (a replay or a reused nonce)")
    return nonce


def block_key(block: str, key_file, system):
    """The key of a keyed model from the block's ``key_file`` parameter (checked at construction).

    ValueError naming the block and the problem (never the key) for a keyed model without a key
    file, a key file with an unkeyed model, or a missing, unreadable or malformed file."""
    path = str(key_file or "").strip()
    keyed = bool(getattr(system, "keyed", False))
    if keyed and not path:
        raise ValueError(f"{block}: model {system.name} is keyed: set key_file to the shared key "
                         "(make one with 'stegsem keygen FILE')")
    if not keyed and path:
        raise ValueError(f"{block}: key_file is set but model {system.name} is not keyed "
                         "(use a stego-keyed-* model, or leave key_file empty)")
    return load_block_key(block, path) if path else None


def load_system(block: str, jscc_path, inn_path=None, need_inn: bool = False) -> StegoSystem:
    """Load the models once, at construction; CheckpointError names the block and the file."""
    jscc = model_path(jscc_path, DEFAULT_JSCC)
    inn = model_path(inn_path, DEFAULT_INN) if need_inn else None
    try:
        return StegoSystem.load(jscc, inn)
    except CheckpointError as e:
        raise CheckpointError(f"{block}: {e}") from None
