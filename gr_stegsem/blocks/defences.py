"""Seed 004's analog defences as symbol-PDU blocks: DP noise and key-guided feature shuffling, and the
scheme switches that let one flowgraph run any scheme.

Each calls the scheme module that ``stegsem eval`` measures (:mod:`gr_stegsem.schemes.dp`,
:mod:`gr_stegsem.schemes.shuffle`), on one frame per PDU; meta is carried.
"""
from __future__ import annotations

import secrets

import torch

from .. import keys
from ..models.deepjscc import DeepJSCC, DeepJSCCConfig, to_complex
from ..schemes.dp import CLIP, DPScheme
from ..schemes.shuffle import ShuffleScheme
from ._base import PduBlock, Replayed, frame_nonce, load_block_key
from .pdus import parse_symbol_pdu, symbol_pdu, with_nonce

_NO_CODEC = DeepJSCC(DeepJSCCConfig(width1=1, width=1))  # the mechanisms below never run the codec


def _pdu(f, z, meta=None):
    return symbol_pdu(to_complex(z), f.frame_id, f.size, f.latent, f.secure, f.role, f.meta if meta is None else meta)


# --- the transforms (one frame each; shared by the blocks below) -------------------------------------
class _DP:
    def __init__(self, block: str, epsilon, clip, seed):
        try:
            if not float(clip) > 0:
                raise ValueError(f"clip must be > 0, got {clip}")
            self.scheme = DPScheme(_NO_CODEC, float(epsilon), f"dp-{float(epsilon):g}", float(clip))
        except (TypeError, ValueError) as e:
            raise ValueError(f"{block}: {e}") from None
        self.generator = torch.Generator().manual_seed(int(seed) or secrets.randbits(62))

    def __call__(self, f):
        return _pdu(f, self.scheme.privatize(f.real_latent(), self.generator))


def _load_key(block: str, key_file):
    path = str(key_file or "").strip()
    if not path:
        raise ValueError(f"{block}: key_file is required (make a key with 'stegsem keygen FILE')")
    return load_block_key(block, path)


class _Shuffle:
    def __init__(self, block: str, key_file, static):
        self.key = _load_key(block, key_file)
        self.scheme = ShuffleScheme(_NO_CODEC, bool(static), "shuffle-static" if static else "shuffle")
        self._next = secrets.randbits(63)  # the per-frame nonces: a counter from a random start

    def __call__(self, f):
        meta, nonce = f.meta, None
        if not self.scheme.static:
            nonce, self._next = self._next, self._next + 1
            meta = with_nonce(meta, nonce)
        return _pdu(f, self.scheme.shuffle(f.real_latent(), self.key, nonce), meta)


class _Unshuffle:
    def __init__(self, block: str, key_file, static, replay_window):
        self.key = _load_key(block, key_file)
        self.scheme = ShuffleScheme(_NO_CODEC, bool(static), "shuffle-static" if static else "shuffle")
        if int(replay_window) < 1:
            raise ValueError(f"{block}: replay_window must be >= 1, got {replay_window}")
        self.replay = keys.ReplayGuard(int(replay_window))

    def __call__(self, f):
        nonce = None if self.scheme.static else frame_nonce(f, self.replay, "a per-frame shuffle")
        return _pdu(f, self.scheme.unshuffle(f.real_latent(), self.key, nonce))


class _Transform(PduBlock):
    """in -> out through a frame transform; a replayed frame is dropped and counted (``n_replayed``)."""

    def __init__(self, name: str, transform):
        PduBlock.__init__(self, name)
        self.transform = transform
        self.n_replayed = 0
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_symbol_pdu(msg)
        if self.transform is None:
            self._publish("out", msg)
            return
        try:
            out = self.transform(f)
        except Replayed as e:
            self.n_replayed += 1
            self._drop(str(e))
            return
        self._publish("out", out)


class dp_noise(_Transform):
    """DeepJSCC-DP (Alice): symbol PDU -> the same frame with ε-DP Laplace noise, power renormalised.

    Each real component is clipped to ±``clip`` and gets Laplace(0, 2 clip / ε) noise (the scheme
    ``dp-<ε>``); the frame is then scaled to mean |z|^2 = 1. Insert between jscc_encoder and the
    channel; Bob decodes with the plain jscc_decoder.

    Args:
        epsilon: the privacy budget ε (> 0; the seed's 0.05, 0.1, 0.9).
        clip: the clipping bound C of each real component.
        seed: seed of the noise generator (0: fresh randomness from the OS).
    """

    def __init__(self, epsilon=0.9, clip=CLIP, seed=0):
        _Transform.__init__(self, "stegsem_dp_noise", _DP("dp_noise", epsilon, clip, seed))


class feature_shuffle(_Transform):
    """DeepJSCC-Encryption (Alice): symbol PDU -> its k complex symbols in a keyed order.

    ``static`` True: one order per key for every frame (seed 004's scheme, ``shuffle-static``);
    False: a fresh order per frame from (key, nonce), the nonce (a counter from a random 63-bit
    start) in meta ``nonce`` (``shuffle``). The key is never logged.

    Args:
        key_file: the 256-bit key shared with Bob.
        static: one static order (True) or one per frame (False).
    """

    def __init__(self, key_file="", static=False):
        _Transform.__init__(self, "stegsem_feature_shuffle", _Shuffle("feature_shuffle", key_file, static))


class feature_unshuffle(_Transform):
    """DeepJSCC-Encryption (Bob): received symbol PDU -> the symbols in their original order.

    Per-frame orders need meta ``nonce`` (a PDU without one is dropped, and so is a repeated nonce:
    a replay). The key is never logged.

    Args:
        key_file: the key shared with Alice.
        static: must match Alice's feature_shuffle.
        replay_window: nonces remembered for the replay check.
    """

    def __init__(self, key_file="", static=False, replay_window=65536):
        _Transform.__init__(self, "stegsem_feature_unshuffle",
                            _Unshuffle("feature_unshuffle", key_file, static, replay_window))


def link_transform(scheme: str) -> str:
    """What the scheme switches do for a scheme name: 'dp' (DP noise), 'shuffle' (keyed order), or ''
    (nothing: plain DeepJSCC and the INN schemes, whose codec and INN blocks do the work)."""
    s = str(scheme or "").strip()
    if s.startswith("dp-"):
        return "dp"
    if s in ("shuffle", "shuffle-static"):
        return "shuffle"
    return ""


class scheme_tx(_Transform):
    """A flowgraph's scheme switch on Alice's side (symbol PDU -> symbol PDU): seed 004's DP noise for
    ``dp-<ε>``, the keyed shuffle for ``shuffle`` / ``shuffle-static`` (as dp_noise / feature_shuffle),
    and the frame unchanged for every other scheme ('' included), so one flowgraph runs any scheme.

    Args:
        scheme: the scheme's name ('' = as the INN and codec blocks are set).
        key_file: the shuffles' key (ignored by the others).
        seed: the DP noise's seed (0: fresh randomness).
    """

    def __init__(self, scheme="", key_file="", seed=0):
        kind, t = link_transform(scheme), None
        if kind == "dp":
            try:
                eps = float(str(scheme)[3:])
            except ValueError:
                raise ValueError(f"scheme_tx: a DP scheme is named dp-<ε>, got {scheme!r}") from None
            t = _DP("scheme_tx", eps, CLIP, seed)
        elif kind == "shuffle":
            t = _Shuffle("scheme_tx", key_file, str(scheme).endswith("static"))
        self.kind = kind
        _Transform.__init__(self, "stegsem_scheme_tx", t)


class scheme_rx(_Transform):
    """The scheme switch on Bob's side: un-shuffles ``shuffle`` / ``shuffle-static`` frames (as
    feature_unshuffle: a missing or replayed nonce is dropped) and passes every other scheme's frames.

    Args:
        scheme: the scheme's name, as Alice's scheme_tx.
        key_file: the shuffles' key (ignored by the others).
        replay_window: nonces remembered for the replay check.
    """

    def __init__(self, scheme="", key_file="", replay_window=65536):
        self.kind = link_transform(scheme)
        t = (_Unshuffle("scheme_rx", key_file, str(scheme).endswith("static"), replay_window)
             if self.kind == "shuffle" else None)
        _Transform.__init__(self, "stegsem_scheme_rx", t)
