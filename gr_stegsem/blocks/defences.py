"""Seed 004's analog defences as symbol-PDU blocks: DP noise and key-guided feature shuffling.

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
from ._base import PduBlock
from .pdus import meta_nonce, parse_symbol_pdu, symbol_pdu, with_nonce

_NO_CODEC = DeepJSCC(DeepJSCCConfig(width1=1, width=1))  # the mechanisms below never run the codec


class dp_noise(PduBlock):
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
        PduBlock.__init__(self, "stegsem_dp_noise")
        try:
            self.scheme = DPScheme(_NO_CODEC, float(epsilon), f"dp-{float(epsilon):g}", float(clip))
        except (TypeError, ValueError) as e:
            raise ValueError(f"dp_noise: {e}") from None
        if not float(clip) > 0:
            raise ValueError(f"dp_noise: clip must be > 0, got {clip}")
        self.generator = torch.Generator().manual_seed(int(seed) or secrets.randbits(62))
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_symbol_pdu(msg)
        z = self.scheme.privatize(f.real_latent(), self.generator)
        self._publish("out", symbol_pdu(to_complex(z), f.frame_id, f.size, f.latent, f.secure, f.role, f.meta))


class _shuffler(PduBlock):
    def __init__(self, name, key_file, static):
        PduBlock.__init__(self, name)
        path = str(key_file or "").strip()
        if not path:
            raise ValueError(f"{name}: key_file is required (make a key with 'stegsem keygen FILE')")
        try:
            self._key = keys.load_key(path)
        except keys.BadKey as e:
            raise ValueError(f"{name}: {e}") from None
        self.scheme = ShuffleScheme(_NO_CODEC, bool(static), "shuffle-static" if static else "shuffle")
        self._input("in", self._handle)
        self._output("out")


class feature_shuffle(_shuffler):
    """DeepJSCC-Encryption (Alice): symbol PDU -> its k complex symbols in a keyed order.

    ``static`` True: one order per key for every frame (seed 004's scheme, ``shuffle-static``);
    False: a fresh order per frame from (key, nonce), the nonce (a counter from a random 63-bit
    start) in meta ``nonce`` (``shuffle``). The key is never logged.

    Args:
        key_file: the 256-bit key shared with Bob.
        static: one static order (True) or one per frame (False).
    """

    def __init__(self, key_file="", static=False):
        _shuffler.__init__(self, "stegsem_feature_shuffle", key_file, static)
        self._next = secrets.randbits(63)

    def _handle(self, msg):
        f = parse_symbol_pdu(msg)
        meta = f.meta
        nonce = None
        if not self.scheme.static:
            nonce, self._next = self._next, self._next + 1
            meta = with_nonce(meta, nonce)
        z = self.scheme.shuffle(f.real_latent(), self._key, nonce)
        self._publish("out", symbol_pdu(to_complex(z), f.frame_id, f.size, f.latent, f.secure, f.role, meta))


class feature_unshuffle(_shuffler):
    """DeepJSCC-Encryption (Bob): received symbol PDU -> the symbols in their original order.

    Per-frame orders need meta ``nonce`` (a PDU without one is dropped, and so is a repeated nonce:
    a replay). The key is never logged.

    Args:
        key_file: the key shared with Alice.
        static: must match Alice's feature_shuffle.
        replay_window: nonces remembered for the replay check.
    """

    def __init__(self, key_file="", static=False, replay_window=65536):
        _shuffler.__init__(self, "stegsem_feature_unshuffle", key_file, static)
        self._replay = keys.ReplayGuard(int(replay_window))
        self.n_replayed = 0

    def _handle(self, msg):
        f = parse_symbol_pdu(msg)
        nonce = None
        if not self.scheme.static:
            nonce = meta_nonce(f.meta)
            if nonce is None:
                raise ValueError(f"frame {f.frame_id}: a per-frame shuffle needs its nonce (meta 'nonce' missing)")
            if not self._replay.fresh(nonce):
                self.n_replayed += 1
                self._drop(f"frame {f.frame_id}: nonce {nonce} was seen before (a replay or a reused nonce)")
                return
        z = self.scheme.unshuffle(f.real_latent(), self._key, nonce)
        self._publish("out", symbol_pdu(to_complex(z), f.frame_id, f.size, f.latent, f.secure, f.role, f.meta))
