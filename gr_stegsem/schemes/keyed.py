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

Bob's decoder: Bob's residual error after T^-1 is white (the transform spreads the INN's structured
error over the whole latent), which the frozen DeepJSCC decoder handles worse than the unkeyed INN's
error. A model may ship with a companion ``bob-decoder-<name>`` beside it (a DeepJSCC model: the
public encoder and a decoder fine-tuned on Bob's un-scrambled private latents,
``tools/try_bob_decoder.py --keyed --private-only --out``); Bob then decodes the private image with
it, the host with the public decoder. It is shipped and public like every weight: without the key it
decodes a wrongly un-scrambled latent, as the public decoder does (the glass-box Eve uses it too).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .. import keys as _keys
from .. import precision as _precision
from ..checkpoint import CheckpointError, load_model, read_info
from ..device import on_model_device
from ..models.deepjscc import DeepJSCC
from ..system import StegoSystem
from .base import Published, variant_label
from .deepjscc import JSCC_FILE

ORDER = 2  # listing order in the zoo
PREFIX = "stego-keyed-"
BOB_DECODER = "bob-decoder-"  # + the keyed model's name: its optional companion decoder (see above)


def bob_decoder_path(inn_path) -> Path | None:
    """The companion ``bob-decoder-<name>.safetensors`` beside a keyed model file, if there is one."""
    p = Path(inn_path)
    name = p.name[: -len(".safetensors")] if p.name.endswith(".safetensors") else p.name
    companion = p.parent / f"{BOB_DECODER}{name}.safetensors"
    if not companion.is_file():
        return None
    try:
        keyed = read_info(p).get("keyed") is True
    except CheckpointError:
        return None
    return companion if keyed else None


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
    bob_decoder: DeepJSCC | None = None  # the companion decoder of Bob's private image, when shipped

    def published(self) -> Published:
        models = {"jscc": self.jscc, "inn": self.inn}
        if self.bob_decoder is not None:
            models["bob_decoder"] = self.bob_decoder
        return Published(models, ("key",))

    def attach_bob_decoder(self, path) -> None:
        """Decode Bob's private image with the DeepJSCC model at ``path`` (its decoder), which must have
        the public model's configuration."""
        dec = load_model(path, "deepjscc")
        if dec.config != self.jscc.config:
            raise CheckpointError(f"Bob's decoder {Path(path).name} has DeepJSCC {dec.config.to_dict()}, not the "
                                  f"public model's {self.jscc.config.to_dict()}")
        self.bob_decoder = dec.eval().requires_grad_(False).to(memory_format=torch.channels_last).to(self.device)

    @torch.inference_mode()
    @on_model_device
    def decode_private(self, z: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Bob's un-scrambled private latent -> image (the companion decoder if attached)."""
        if self.bob_decoder is None:
            return self.decode(z, size)
        with _precision.autocast(self.precision):
            return self.decode_with(self.bob_decoder, z, size)

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
        return {"host": self.decode(zh, size),
                "private": self.decode_private(self.unscramble_private(zp_t, key, nonce), size)}

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
