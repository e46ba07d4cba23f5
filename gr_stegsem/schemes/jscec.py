"""DeepJSCEC: DeepJSCC with public-key LWE encryption of its quantised symbols (seed 003: Tung &
Gündüz, ICC 2023; the cipher and its parameters: :mod:`gr_stegsem.lwe`). Trained by ``stegsem train
jscec``. A research reproduction, not vetted cryptography.

Alice quantises each DeepJSCC symbol's phase to p = 16 levels (m in Z_16), encrypts the frame under
Bob's public key and sends c2 as unit-power phases exp(2πi c2/q); c1 (n elements) is the frame's
digital header. Bob derotates by S^T c1 and decodes; an Eve without S sees LWE ciphertext: uniform
phases, whatever weights and plaintext pairs she holds (chosen plaintexts included: the
encryption is randomised and IND-CPA under LWE). What is not hidden: that a frame is a ciphertext
(constant envelope, measured by the detectors), its length and timing.

``key`` is Bob's 256-bit :class:`~gr_stegsem.keys.Key` (S and the public key are derived from it) or,
for Alice, an :class:`~gr_stegsem.lwe.PublicKey`. Offline, the header of each frame travels from
:meth:`alice` to :meth:`bob` by its nonce (:attr:`headers`, the error-free digital side channel);
over GNU Radio it is a PDU's ``lwe_c1`` meta field. Schemes ``jscec-*``, one per codec file
(kind ``deepjscc`` with an ``lwe`` entry in its JSON).
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import keys as _keys
from .. import lwe
from ..checkpoint import CheckpointError, load_model, read_info
from ..models.deepjscc import DeepJSCC, from_complex, to_complex
from ..system import StegoSystem
from .base import Published, Scheme, channels_last
from .deepjscc import JSCC_FILE

ORDER = 9  # listing order in the zoo
PREFIX = "jscec-"
HEADERS_KEPT = 4096  # frames whose header the offline side channel remembers


@dataclass
class JSCECScheme(Scheme):
    jscc: DeepJSCC  # the fine-tuned codec (shipped, so public)
    public: StegoSystem
    params: lwe.LWEParams = lwe.DEFAULT
    name: str = "jscec"
    keyed = True
    headers: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _secret: dict = field(default_factory=dict, repr=False)

    def published(self) -> Published:
        return Published({"jscc": self.jscc}, ("key",))  # Bob's 256-bit key: S derives from it

    def secret_key(self, key) -> lwe.SecretKey:
        """Bob's :class:`~gr_stegsem.lwe.SecretKey` for a 256-bit key (cached: S is derived once)."""
        k = _keys.load_key(key)
        if k not in self._secret:
            self._secret = {k: lwe.SecretKey(k, self.params)}
        return self._secret[k]

    def public_key(self, key, length: int) -> lwe.PublicKey:
        if isinstance(key, lwe.PublicKey):
            if key.params != self.params:
                raise ValueError(f"public key has LWE parameters {key.params}, the scheme {self.params}")
            return key
        return self.secret_key(key).public(length)

    @torch.inference_mode()
    def plaintext(self, private: torch.Tensor) -> tuple[np.ndarray, tuple[int, int, int]]:
        """Images -> quantised phases m in Z_p (B, L) and the latent shape."""
        z = self.jscc.encode(channels_last(private))
        m, _ = lwe.quantise_phase(to_complex(z), self.params)
        return m.cpu().numpy(), tuple(z.shape[1:])

    def encrypt(self, m: np.ndarray, shape, key, seed: bytes | None = None) -> tuple[np.ndarray, torch.Tensor]:
        """Plaintext (B, L) -> (headers c1 (B, n), the transmitted latent of the payload phases)."""
        if key is None:
            raise _keys.BadKey(f"scheme {self.name} encrypts to Bob's public key: give his key "
                               "(make one with 'stegsem keygen FILE')")
        c1, c2 = lwe.encrypt(self.public_key(key, m.shape[1]), m, seed)
        return c1, from_complex(lwe.to_phase(c2, self.params.q), tuple(shape))

    def alice(self, host, private, key=None, nonce=None):
        if nonce is None:
            raise ValueError(f"scheme {self.name}: every frame needs its nonce (it names the frame's header)")
        m, shape = self.plaintext(private)
        c1, z = self.encrypt(m, shape, key)
        for n, h in zip(_keys.nonces_for(nonce, len(c1)), c1):
            self.headers[n] = h
            self.headers.move_to_end(n)
        while len(self.headers) > HEADERS_KEPT:
            self.headers.popitem(last=False)
        return z.to(private.device)  # the LWE arithmetic runs on the CPU; the latent goes where the images are

    def header(self, nonce, batch: int) -> np.ndarray:
        try:
            return np.stack([self.headers[n] for n in _keys.nonces_for(nonce, batch)])
        except KeyError as e:
            raise ValueError(f"scheme {self.name}: no LWE header (c1) for frame nonce {e.args[0]}") from None

    @torch.inference_mode()
    def derotate(self, y: torch.Tensor, c1: np.ndarray, sk: lwe.SecretKey) -> torch.Tensor:
        """Received payload latent (B, C, h, w) -> Bob's decrypted symbols (latent), y exp(-2πi S^T c1 / q)."""
        s = to_complex(y)
        mask = lwe.unmask(sk, np.asarray(c1), s.shape[1])
        return from_complex(s * lwe.to_phase(-mask, self.params.q).to(s.device), tuple(y.shape[1:]))

    @torch.inference_mode()
    def bob(self, y, size=None, lost=None, generator=None, key=None, nonce=None, c1=None):
        if key is None:
            raise _keys.BadKey(f"scheme {self.name} decrypts with Bob's secret key: give his key file")
        c1 = self.header(nonce, y.shape[0]) if c1 is None else c1
        return {"private": self.decode(self.derotate(y, c1, self.secret_key(key)), size)}

    def bob_without_secrets(self, y, size=None, lost=None, generator=None):
        """Bob's receiver with a guessed secret key and the true headers (they are public)."""
        c1 = np.stack(list(self.headers.values())[-y.shape[0]:]) if self.headers else None
        if c1 is None or len(c1) != y.shape[0]:
            c1 = np.zeros((y.shape[0], self.params.n), dtype=np.int64)
        sk = lwe.SecretKey(_keys.guessed(generator), self.params)
        return {"private": self.decode(self.derotate(y, c1, sk), size)}

    def plain_equivalent(self, host, private):
        return self.public.encode(private)

    def cover(self, host):
        return self.public.encode(host)

    def bandwidth(self, height: int, width: int) -> dict:
        """Channel uses per frame: the payload (k symbols, DeepJSCC's) and the header (n ⌈log2 q⌉ bits,
        counted at 1 bit per channel use: QPSK with a rate-1/2 code, what it needs to arrive exactly)."""
        k = self.jscc.config.latent_channels // 2 * math.ceil(height / 4) * math.ceil(width / 4)
        hdr = lwe.header_bits(self.params)
        return {"payload": k, "header": hdr, "ratio": (k + hdr) / (3 * height * width)}

    def cipher_flops(self, height: int, width: int) -> tuple[int, int]:
        """FLOPs of the cipher's products per frame (a multiply-add = 2): Alice A^T r and B^T r, Bob S^T c1."""
        n, length = self.params.n, self.bandwidth(height, width)["payload"]
        return 2 * (n * n + n * length), 2 * n * length


def names(models_dir: Path) -> list[str]:
    return sorted(p.name[: -len(".safetensors")] for p in models_dir.glob(f"{PREFIX}*.safetensors"))


def label(name: str) -> str:
    return f"DeepJSCEC ({name[len(PREFIX):]})"


def load(name: str, models_dir: Path) -> JSCECScheme:
    path = models_dir / name
    info = read_info(path).get("lwe")
    if not isinstance(info, dict):
        raise CheckpointError(f"{path}.json: no 'lwe' parameters (a DeepJSCEC codec is written by 'stegsem train jscec')")
    try:
        params = lwe.LWEParams(**{k: info[k] for k in ("n", "q", "p", "sigma")})
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"{path}.json: bad 'lwe' parameters ({e})") from None
    codec = load_model(path, "deepjscc")
    public = StegoSystem.load(models_dir / JSCC_FILE)
    if codec.config != public.jscc.config:
        raise ValueError(f"DeepJSCEC codec {name} has {codec.config}, not the public DeepJSCC's {public.jscc.config}")
    return JSCECScheme(codec, public, params, name)
