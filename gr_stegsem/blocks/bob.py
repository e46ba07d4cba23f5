"""Bob: INN extraction and DeepJSCC decoding, as message blocks."""
from __future__ import annotations

import torch

from ..models.deepjscc import to_complex
from ..models.inn import LOST_MODES
from ..keys import ReplayGuard
from ._base import PduBlock, Replayed, block_key, frame_nonce, load_system
from .pdus import image_pdu, parse_symbol_pdu, symbol_pdu


class inn_extract(PduBlock):
    """INN extraction (Bob): received container symbols on ``in`` -> ``host`` and ``private`` symbol PDUs.

    Runs the INN backward pass with Bob's estimate of the lost information (``lost``: 'zeros', or
    'gaussian' = unit-power complex Gaussian drawn from a generator seeded with ``seed``). The input
    must be a container (meta secure=True); the outputs keep its meta with secure=False and role
    'host' / 'private', k symbols each (not power-normalised).

    With ``secure`` False (plain DeepJSCC, the no-security baseline) no INN is loaded: a plain symbol
    PDU (meta secure=False) on ``in`` is forwarded to ``private`` only (role 'private'); nothing is
    posted on ``host``.

    A keyed model (``stego-keyed-*``) needs ``key_file``: the container's meta ``nonce`` selects the
    frame's keyed transform, undone after extraction. A container without a nonce is dropped, and so
    is one whose nonce repeats one of the last ``replay_window`` seen (a replay or a reused nonce),
    with a log line each (``n_replayed`` counts the latter).

    Args:
        jscc_path: DeepJSCC model file ('' = shipped deepjscc-bcr12); gives the latent shape.
        inn_path: steganography model file ('' = shipped stego-l3_2).
        lost: 'zeros' or 'gaussian'.
        seed: seed of the 'gaussian' estimate.
        threads: torch CPU threads (0 = leave as is).
        secure: False for the plain DeepJSCC baseline (forward to ``private``).
        key_file: the shared key of a keyed model ('' for the unkeyed ones); never logged.
        replay_window: nonces remembered for the replay check.
    """

    def __init__(self, jscc_path="", inn_path="", lost="zeros", seed=0, threads=0, secure=True, key_file="",
                 replay_window=65536):
        PduBlock.__init__(self, "stegsem_inn_extract", threads)
        if lost not in LOST_MODES:
            raise ValueError(f"inn_extract: lost must be one of {', '.join(LOST_MODES)}, got {lost!r}")
        self.secure = bool(secure)
        self.system = load_system("inn_extract", jscc_path, inn_path, need_inn=self.secure)
        self._key = block_key("inn_extract", key_file, self.system) if self.secure else None
        if int(replay_window) < 1:
            raise ValueError(f"inn_extract: replay_window must be >= 1, got {replay_window}")
        self._replay = ReplayGuard(int(replay_window))
        self.n_replayed = 0
        self.lost = lost
        self.generator = torch.Generator().manual_seed(int(seed))
        self._input("in", self._handle)
        self._output("host")
        self._output("private")

    def _handle(self, msg):
        f = parse_symbol_pdu(msg, self.system.jscc.config)
        if not self.secure:
            if f.secure:
                raise ValueError(f"frame {f.frame_id} is an INN container but this receiver has secure=False")
            self._publish("private", symbol_pdu(f.symbols, f.frame_id, f.size, f.latent, False, "private", f.meta))
            return
        if not f.secure:
            raise ValueError(f"frame {f.frame_id} is not a container (meta secure is not True)")
        nonce = None
        if self._key is not None:
            try:
                nonce = frame_nonce(f, self._replay, "a keyed container")
            except Replayed as e:
                self.n_replayed += 1
                self._drop(str(e))
                return
        with torch.inference_mode():
            zh, zp = self.system.extract(f.real_latent(), self.lost, self.generator)
            if nonce is not None:
                zp = self.system.unscramble_private(zp, self._key, nonce)
            sh, sp = to_complex(zh), to_complex(zp)
        self._publish("host", symbol_pdu(sh, f.frame_id, f.size, f.latent, False, "host", f.meta))
        self._publish("private", symbol_pdu(sp, f.frame_id, f.size, f.latent, False, "private", f.meta))


class jscc_decoder(PduBlock):
    """DeepJSCC decoder (Bob): symbol PDU on ``in`` -> image PDU on ``out``.

    The image is cropped to the original height x width (pixels) from meta; frame_id, role and
    other meta keys are carried (the latent-shape keys are removed).

    Args:
        model_path: DeepJSCC model file ('' = shipped deepjscc-bcr12).
        threads: torch CPU threads (0 = leave as is).
    """

    def __init__(self, model_path="", threads=0):
        PduBlock.__init__(self, "stegsem_jscc_decoder", threads)
        self.system = load_system("jscc_decoder", model_path)
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_symbol_pdu(msg, self.system.jscc.config)
        with torch.inference_mode():
            x = self.system.decode(f.real_latent(), f.size)[0]
        self._publish("out", image_pdu(x, f.frame_id, meta=f.meta))
