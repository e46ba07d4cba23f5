"""Bob: INN extraction and DeepJSCC decoding, as message blocks."""
from __future__ import annotations

import torch

from ..models.deepjscc import to_complex
from ..models.inn import LOST_MODES
from ..keys import ReplayGuard
from ._base import PduBlock, Replayed, block_key, frame_nonce, load_system, same_shape_runs
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
        precision: 'fp32', 'bf16', 'int8' or 'auto' (:mod:`gr_stegsem.precision`).
        batch: at most this many containers (of one size) per INN call; 1 = one per call.
        max_delay_ms: how long the oldest container may wait for more (0: only those already queued).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' (:mod:`gr_stegsem.device`; a CUDA device torch cannot use
            fails here); the PDUs stay on the CPU.
    """

    def __init__(self, jscc_path="", inn_path="", lost="zeros", seed=0, threads=0, secure=True, key_file="",
                 replay_window=65536, precision="fp32", batch=1, max_delay_ms=0.0, device="cpu"):
        PduBlock.__init__(self, "stegsem_inn_extract", threads)
        if lost not in LOST_MODES:
            raise ValueError(f"inn_extract: lost must be one of {', '.join(LOST_MODES)}, got {lost!r}")
        self.secure = bool(secure)
        self.system = load_system("inn_extract", jscc_path, inn_path, need_inn=self.secure, precision=precision,
                                  device=device, decodes=False)
        self._batching(batch, max_delay_ms, ("in",), self._extract)
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
        y = f.real_latent()
        # Bob's l_hat is drawn per frame, in arrival order, whatever the batch (the same draws as one per call)
        self._enqueue((f, y, self.system.inn.lost_estimate(y, self.lost, self.generator), nonce))

    def _extract(self, items) -> None:
        for run in same_shape_runs(items, lambda it: it[0].latent):
            with torch.inference_mode():
                cat = (lambda ts: torch.cat(ts)) if len(run) > 1 else (lambda ts: ts[0])
                zh, zp = self.system.extract_given(cat([it[1] for it in run]), cat([it[2] for it in run]))
                out = []
                for i, (f, _, _, nonce) in enumerate(run):
                    zpi = zp[i:i + 1]
                    if nonce is not None:
                        zpi = self.system.unscramble_private(zpi, self._key, nonce)
                    out.append((f, to_complex(zh[i:i + 1]), to_complex(zpi)))
            for f, sh, sp in out:
                self._publish("host", symbol_pdu(sh, f.frame_id, f.size, f.latent, False, "host", f.meta))
                self._publish("private", symbol_pdu(sp, f.frame_id, f.size, f.latent, False, "private", f.meta))


class jscc_decoder(PduBlock):
    """DeepJSCC decoder (Bob): symbol PDU on ``in`` -> image PDU on ``out``.

    The image is cropped to the original height x width (pixels) from meta; frame_id, role and
    other meta keys are carried (the latent-shape keys are removed).

    Args:
        model_path: DeepJSCC model file ('' = shipped deepjscc-bcr12).
        threads: torch CPU threads (0 = leave as is).
        precision: 'fp32', 'bf16', 'int8' or 'auto' (:mod:`gr_stegsem.precision`).
        batch: at most this many frames (of one size) per decoder call; 1 = one per call.
        max_delay_ms: how long the oldest frame may wait for more (0: batch only frames already queued).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' (:mod:`gr_stegsem.device`; a CUDA device torch cannot use
            fails here); the PDUs stay on the CPU.
    """

    def __init__(self, model_path="", threads=0, precision="fp32", batch=1, max_delay_ms=0.0, device="cpu"):
        PduBlock.__init__(self, "stegsem_jscc_decoder", threads)
        self.system = load_system("jscc_decoder", model_path, precision=precision, device=device)
        self._batching(batch, max_delay_ms, ("in",), self._decode)
        self._input("in", lambda msg: self._enqueue(parse_symbol_pdu(msg, self.system.jscc.config)))
        self._output("out")

    def _decode(self, frames) -> None:
        for run in same_shape_runs(frames, lambda f: (f.latent, f.size)):
            with torch.inference_mode():
                z = torch.cat([f.real_latent() for f in run]) if len(run) > 1 else run[0].real_latent()
                x = self.system.decode(z, run[0].size)
            for i, f in enumerate(run):
                self._publish("out", image_pdu(x[i], f.frame_id, meta=f.meta))
