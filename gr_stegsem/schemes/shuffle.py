"""DeepJSCC-Encryption: key-guided shuffling of the transmitted features (seed 004's Scheme 2,
"DeepJSCC + encryption algorithm" that changes the semantic order, after its ref. [10]).

Alice permutes the k complex channel symbols of the DeepJSCC latent with a permutation derived from
the shared 256-bit key (:mod:`gr_stegsem.keys`: HMAC-SHA256 + ChaCha20, its own domain label), Bob
applies the inverse. Two variants:

* ``shuffle-static``: one permutation per key, the same for every frame (the seed's description:
  a fixed secret order). A linear, static secret: an Eve with chosen or known plaintexts learns it.
* ``shuffle``: a fresh permutation per frame from (key, nonce), the nonce public in the frame
  header like the keyed steganography's.

Both leave every symbol's value, and so the latent's histogram and power, unchanged; no host is
carried (what Eve sees is obviously not plain DeepJSCC of a natural image).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .. import keys as _keys
from ..models.deepjscc import DeepJSCC, from_complex, to_complex
from ..system import StegoSystem
from .base import Published, Scheme
from .deepjscc import JSCC_FILE

ORDER = 6  # listing order in the zoo
PREFIX = "shuffle"
DOMAIN = b"gr-stegsem/feature-shuffle/v1"
VARIANTS = ("shuffle", "shuffle-static")


@dataclass
class ShuffleScheme(Scheme):
    jscc: DeepJSCC
    static: bool = False
    name: str = "shuffle"
    keyed = True

    def published(self) -> Published:
        return Published({"jscc": self.jscc}, ("key",))

    def _perms(self, n: int, batch: int, key, nonce) -> torch.Tensor:
        if key is None:
            raise _keys.BadKey(f"scheme {self.name} shuffles with a key: give Alice's and Bob's 256-bit key "
                               "(make one with 'stegsem keygen FILE')")
        k = _keys.load_key(key)
        if self.static:
            p = _keys.frame_transform(k, 0, n, DOMAIN + b"/static")[0]
            return torch.from_numpy(np.stack([p] * batch))
        if nonce is None:
            raise ValueError(f"scheme {self.name} shuffles per frame: every frame needs its nonce (missing)")
        return torch.from_numpy(np.stack([_keys.frame_transform(k, x, n, DOMAIN)[0]
                                          for x in _keys.nonces_for(nonce, batch)]))

    def shuffle(self, z: torch.Tensor, key, nonce=None) -> torch.Tensor:
        """Latents (B, C, h, w) -> the same latents with their complex symbols permuted."""
        s = to_complex(z)
        perm = self._perms(s.shape[1], s.shape[0], key, nonce).to(s.device)
        return from_complex(s.gather(1, perm), tuple(z.shape[1:]))

    def unshuffle(self, y: torch.Tensor, key, nonce=None) -> torch.Tensor:
        s = to_complex(y)
        perm = self._perms(s.shape[1], s.shape[0], key, nonce).to(s.device)
        return from_complex(torch.empty_like(s).scatter_(1, perm, s), tuple(y.shape[1:]))

    @torch.inference_mode()
    def alice(self, host, private, key=None, nonce=None):
        return self.shuffle(self.encode(private), key, nonce)

    @torch.inference_mode()
    def bob(self, y, size=None, lost=None, generator=None, key=None, nonce=None):
        return {"private": self.decode(self.unshuffle(y, key, nonce), size)}

    def bob_without_secrets(self, y, size=None, lost=None, generator=None):
        """Bob's receiver with a random key guess (a wrong key)."""
        return self.bob(y, size, key=_keys.guessed(generator), nonce=0)

    def cover(self, host):
        return self.encode(host)


def names(models_dir: Path) -> list[str]:
    return list(VARIANTS) if (models_dir / f"{JSCC_FILE}.safetensors").is_file() else []


def match(name: str) -> bool:
    return name in VARIANTS


def label(name: str) -> str:
    return "DeepJSCC-shuffle (static key)" if name.endswith("static") else "DeepJSCC-shuffle (per frame)"


def load(name: str, models_dir: Path) -> ShuffleScheme:
    return ShuffleScheme(StegoSystem.load(models_dir / JSCC_FILE).jscc, name == "shuffle-static", name)
