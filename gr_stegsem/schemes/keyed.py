"""Keyed INN steganography: the security of Tang et al. (2024) moved from the weights into a key.

gr-stegsem's own design (no seed does it). Alice applies the frame's secret transform T_(key, nonce)
of :mod:`gr_stegsem.keys` (a keyed permutation of the n real latent values with sign flips, derived
with HMAC-SHA256 and ChaCha20) to the private latent before the INN embeds it, and sends the frame's
nonce in the clear; Bob extracts with the INN, applies T^-1 and decodes. The INN (fine-tuned with a
uniformly random transform per frame, ``stegsem train inn --keyed``) ships with the source; the key
does not (Kerckhoffs). The host path is the paper's: an Eve decoding the container sees the host.

An Eve with every shipped file but no key extracts T(z_p) and decodes it as if T were the identity,
or with a key of her own (:meth:`KeyedStego.bob_without_secrets`: a random key, what Bob with a wrong
key does). Scheme names ``stego-keyed-*``: one per model file whose JSON says ``"keyed": true``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import keys as _keys
from ..system import StegoSystem
from .base import Published, variant_label
from .deepjscc import JSCC_FILE

ORDER = 2  # listing order in the zoo
PREFIX = "stego-keyed-"


# --- the transform on latent tensors (training draws it at random, use derives it from the key) -----
def random_transforms(batch: int, n: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """A uniformly random (perm, signs) per frame: (B, n) int64 and (B, n) float of ±1."""
    perm = torch.argsort(torch.rand(batch, n, device=device), dim=1)
    signs = torch.randint(0, 2, (batch, n), device=device).float().mul_(2).sub_(1)
    return perm, signs


def keyed_transforms(key, nonces: list[int], n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The frames' (perm, signs) from (key, nonce), stacked: (B, n) int64 and (B, n) float32."""
    ps = [_keys.frame_transform(key, x, n) for x in nonces]
    return (torch.from_numpy(np.stack([p for p, _ in ps])).long(),
            torch.from_numpy(np.stack([s for _, s in ps])))


def scramble(z: torch.Tensor, perm: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """T(z) = signs * z.flatten()[perm], per frame; z is (B, C, h, w)."""
    flat = z.reshape(z.shape[0], -1)
    return (flat.gather(1, perm.to(z.device)) * signs.to(z.device, z.dtype)).reshape(z.shape)


def unscramble(u: torch.Tensor, perm: torch.Tensor, signs: torch.Tensor) -> torch.Tensor:
    """T^-1(u): out.flatten()[perm] = signs * u, per frame."""
    flat = u.reshape(u.shape[0], -1) * signs.to(u.device, u.dtype)
    out = torch.empty_like(flat).scatter_(1, perm.to(u.device), flat)
    return out.reshape(u.shape)


class KeyedStego(StegoSystem):
    """INN steganography whose private latent is scrambled by a per-frame keyed transform.

    ``key`` (a :class:`~gr_stegsem.keys.Key`, a key file or 64 hex digits) and ``nonce`` (an int: the
    first frame's, numbering the batch; or one per frame) are required by :meth:`alice` and :meth:`bob`.
    """

    keyed = True

    def published(self) -> Published:
        return Published({"jscc": self.jscc, "inn": self.inn}, ("key",))

    def scramble_private(self, zp: torch.Tensor, key, nonce) -> torch.Tensor:
        """Alice: T_(key, nonce)(z_p) per frame, before embedding."""
        return scramble(zp, *self._transforms(zp, key, nonce))

    def unscramble_private(self, zp_t: torch.Tensor, key, nonce) -> torch.Tensor:
        """Bob: T_(key, nonce)^-1 of the extracted private latent, before decoding."""
        return unscramble(zp_t, *self._transforms(zp_t, key, nonce))

    def _transforms(self, z: torch.Tensor, key, nonce):
        if key is None:
            raise _keys.BadKey(f"scheme {self.name} is keyed: Alice and Bob need its 256-bit key "
                               "(make one with 'stegsem keygen FILE' and pass it with --key FILE)")
        if nonce is None:
            raise ValueError(f"scheme {self.name} is keyed: every frame needs its nonce (missing)")
        k = _keys.load_key(key)
        return keyed_transforms(k, _keys.nonces_for(nonce, z.shape[0]), z[0].numel())

    @torch.inference_mode()
    def alice(self, host, private, key=None, nonce=None):
        if host is None:
            raise ValueError(f"scheme {self.name} hides a private image in a host image: give both")
        return self.embed(self.encode(host), self.scramble_private(self.encode(private), key, nonce))

    @torch.inference_mode()
    def bob(self, y, size=None, lost=None, generator=None, key=None, nonce=None):
        zh, zp_t = self.extract(y, lost, generator)
        return {"host": self.decode(zh, size), "private": self.decode(self.unscramble_private(zp_t, key, nonce), size)}

    def bob_without_secrets(self, y, size=None, lost=None, generator=None):
        """Bob's receiver with a key drawn at random (what Bob with a wrong key, or an Eve who has
        every shipped file and guesses the key, gets)."""
        return self.bob(y, size, lost, generator, key=_keys.guessed(generator), nonce=0)




def label(name: str) -> str:
    return variant_label("Keyed stego", name, PREFIX)



def load(name: str, models_dir: Path) -> KeyedStego:
    s = StegoSystem.load(models_dir / JSCC_FILE, models_dir / name)
    if not s.keyed:
        raise ValueError(f"model {name} was not trained for a key (its JSON lacks \"keyed\": true); "
                         "keyed schemes are made by 'stegsem train inn --keyed'")
    return s
