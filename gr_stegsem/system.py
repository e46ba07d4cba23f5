"""The paper's system as functions on tensors: Alice, the channel, Bob and Eve.

:class:`StegoSystem` is the scheme of plain DeepJSCC (``inn is None``) and of the INN steganography of
Tang et al. (2024); the zoo entries :mod:`gr_stegsem.schemes.deepjscc` and
:mod:`gr_stegsem.schemes.tang2024` name it. One implementation used by ``stegsem eval``, the
training scripts and the GNU Radio blocks.
Images are float (B, 3, H, W) in [0, 1]; channel symbols are complex (B, k) with mean |z|^2 = 1;
SNR is Es/N0 in dB.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import attacks
from . import precision as _precision
from .checkpoint import CheckpointError, load_model, read_info
from .device import on_model_device
from .models.deepjscc import DeepJSCC, all_finite, check_images, normalize_power
from .models.inn import FusedINN, StegoINN
from .resources import models_dir
from .schemes.base import Published, Scheme, channels_last as _cl

MODELS_DIR = models_dir()  # the checkout's models/ or the installed package data (gr_stegsem.resources)


def default_model(name: str) -> Path:
    """Path (without suffix) of a shipped model, e.g. ``default_model('stego-l3_2')``."""
    return MODELS_DIR / name


@dataclass
class StegoSystem(Scheme):
    """DeepJSCC alone (``inn is None``: the no-security baseline) or DeepJSCC + INN steganography.

    Both publish every weight (the INN ships in ``models/``) and keep no secret: their security
    rests on Eve not running the INN (Tang et al. 2024); the glass-box Eve measures that.
    """

    jscc: DeepJSCC
    inn: StegoINN | None = None
    name: str = "deepjscc"
    _fused: FusedINN | None = field(default=None, init=False, repr=False, compare=False)
    # the precision inference runs in (gr_stegsem.precision; fp32 unless set_precision chose bf16 or int8)
    precision: _precision.Precision = field(default_factory=lambda: _precision.resolve("fp32"), init=False,
                                            repr=False, compare=False)
    _q8: tuple | None = field(default=None, init=False, repr=False, compare=False)  # (models' key, Int8Models)

    def __post_init__(self):
        # inference only; channels-last halves the INN's time on CPUs (its 1x1 convolutions
        # otherwise take PyTorch's slow NCHW path) and speeds the DeepJSCC convolutions
        self.jscc.eval().requires_grad_(False).to(memory_format=torch.channels_last)
        if self.inn is not None:
            self.inn.eval().requires_grad_(False).to(memory_format=torch.channels_last)
            if self.inn.config.channels != self.jscc.config.latent_channels:
                raise CheckpointError(
                    f"steganography model {self.name} works on {self.inn.config.channels}-channel latents but the "
                    f"DeepJSCC model (bcr {self.jscc.config.bcr}) has {self.jscc.config.latent_channels}"
                )

    def _inn_fused(self) -> FusedINN:
        """The INN's inference path (:class:`~gr_stegsem.models.inn.FusedINN`: fused oneDNN kernels,
        eager where those do not apply; precision int8: the quantized StegoINN); offline evaluation and
        the GNU Radio blocks both run it."""
        if self.precision.used == "int8" and self.int8().inn is not None:
            return self.int8().inn
        dtype = self.precision.dtype
        if self._fused is None or self._fused.inn is not self.inn or self._fused.dtype != dtype:
            self._fused = FusedINN(self.inn, dtype)
        return self._fused

    def set_precision(self, name: str | None) -> _precision.Precision:
        """Run inference in 'fp32', 'bf16', 'int8' or 'auto' (:func:`gr_stegsem.precision.resolve`, which
        falls back to fp32 where bf16 is not native or, for auto, not faster, and where int8 has no
        quantized engine); returns what is used and why. int8 calibrates its quantized copies here."""
        self.precision = _precision.resolve(name, next(self.jscc.parameters()).device)
        if self.precision.used == "int8":
            self.int8()
        return self.precision

    def set_device(self, name="cpu") -> "torch.device":
        """:meth:`Scheme.set_device`, then the precision resolved again for the device (bf16 and int8 run
        on CPUs only: elsewhere they fall back to fp32, :func:`gr_stegsem.precision.resolve`)."""
        old = self.device
        dev = super().set_device(name)
        if dev != old:  # the packed / quantized copies were made for the other device
            self._fused, self._q8 = None, None
            self.set_precision(self.precision.requested)
        return dev

    def int8(self) -> _precision.Int8Models:
        """The int8 copies of the models (:func:`gr_stegsem.precision.int8_models`), calibrated once and
        rebuilt when a parameter changes."""
        params = list(self.jscc.parameters()) + (list(self.inn.parameters()) if self.inn is not None else [])
        key = (id(self.jscc), id(self.inn), tuple((id(p), p._version) for p in params))
        if self._q8 is None or self._q8[0] != key:
            self._q8 = (key, _precision.int8_models(self.jscc, self.inn))
        return self._q8[1]

    # --- the public codec in the chosen precision (results are float32) ----------------------
    @torch.inference_mode()
    @on_model_device
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        if self.precision.used == "int8":
            check_images(x)
            return self.int8().jscc.encoder(_cl(x))
        with _precision.autocast(self.precision):
            return super().encode(x)

    @torch.inference_mode()
    @on_model_device
    def decode(self, z: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if self.precision.used == "int8":
            return self.decode_with(self.int8().jscc, z, size)
        with _precision.autocast(self.precision):
            return super().decode(z, size)

    @classmethod
    def load(cls, jscc_path, inn_path=None, companion: bool = True) -> "StegoSystem":
        """``companion`` False: a keyed model's shipped Bob decoder is not loaded (for code that
        never decodes, e.g. the embedding and extraction blocks)."""
        jscc = load_model(jscc_path, "deepjscc")
        inn = None
        name = "deepjscc"
        klass = cls
        if inn_path is not None:
            try:
                info = read_info(inn_path)
            except CheckpointError:  # a missing or broken model: load_model below names the problem
                info = {}
            if info.get("kind") == "stego-cnn" and not getattr(cls, "cnn", False):
                from .schemes.cnn_stego import CNNStegoScheme  # the non-invertible baseline

                klass = CNNStegoScheme
            inn = load_model(inn_path, "stego-cnn" if getattr(klass, "cnn", False) else "stego-inn")
            if info.get("keyed") is True and klass is cls and not cls.keyed:
                from .schemes.keyed import KeyedStego  # a model trained for a key is only used with one

                klass = KeyedStego
            name = Path(inn_path).with_suffix("").name if Path(inn_path).suffix == ".safetensors" else Path(inn_path).name
            want = read_info(inn_path).get("jscc_config")
            if want is not None and want != jscc.config.to_dict():
                raise CheckpointError(
                    f"steganography model {name} was trained with DeepJSCC {want}, not {jscc.config.to_dict()}"
                )
        system = klass(jscc, inn, name)
        if companion and getattr(system, "keyed", False):
            from .schemes.keyed import bob_decoder_path

            path = bob_decoder_path(inn_path)
            if path is not None:
                system.attach_bob_decoder(path)
        return system

    @classmethod
    def shipped(cls, name: str = "stego-l3_2", jscc: str = "deepjscc-bcr12") -> "StegoSystem":
        """A shipped model from ``models/``: 'deepjscc' for the baseline or 'stego-l3_2' / 'stego-l3_4'."""
        inn = None if name == "deepjscc" else default_model(name)
        return cls.load(default_model(jscc), inn)

    @property
    def carries_host(self) -> bool:
        return self.inn is not None

    @property
    def is_plain(self) -> bool:
        return self.inn is None

    def published(self) -> Published:
        models = {"jscc": self.jscc} if self.inn is None else {"jscc": self.jscc, "inn": self.inn}
        return Published(models, ())

    # --- Alice -----------------------------------------------------------------------------
    @torch.inference_mode()
    @on_model_device
    def embed(self, zh: torch.Tensor, zp: torch.Tensor) -> torch.Tensor:
        """Host and private latents -> power-normalised container latent z_c (mean |z_c|^2 = 1)."""
        if self.inn is None:
            raise ValueError("this system has no steganography model (plain DeepJSCC)")
        with _precision.autocast(self.precision):  # for an eager model (CNN baseline); FusedINN casts itself
            zc, _ = self._inn_fused().embed(_cl(zh), _cl(zp))
        return normalize_power(zc.float()).contiguous()

    @torch.inference_mode()
    @on_model_device
    def alice(self, host: torch.Tensor | None, private: torch.Tensor, key=None, nonce=None) -> torch.Tensor:
        """Transmitted latent: the container of (host, private), or the plain private latent (no key)."""
        if self.inn is None:
            return self.encode(private)
        check_images(host)
        check_images(private)
        if host.shape != private.shape:
            raise ValueError(f"host {tuple(host.shape)} and private {tuple(private.shape)} images differ in size")
        # two batch-1 passes, like the flowgraph's blocks; one batch-2 pass was no faster on the
        # 2-core CPU (tools/profile_stages.py)
        return self.embed(self.encode(host), self.encode(private))

    # --- Bob -------------------------------------------------------------------------------
    @torch.inference_mode()
    @on_model_device
    def extract(self, y: torch.Tensor, lost: str | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Received container latent -> (z_h_hat, z_p_hat) by the INN backward pass with l_hat."""
        if self.inn is None:
            raise ValueError("this system has no steganography model (plain DeepJSCC)")
        if not all_finite(y):
            raise ValueError("received symbols contain NaN or Inf values")
        return self.extract_given(y, self.inn.lost_estimate(y, lost, generator))

    @torch.inference_mode()
    @on_model_device
    def extract_given(self, y: torch.Tensor, l_hat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`extract` with Bob's estimate l_hat given (the blocks draw it per frame when they batch)."""
        if not all_finite(y):
            raise ValueError("received symbols contain NaN or Inf values")
        with _precision.autocast(self.precision):
            zh, zp = self._inn_fused().extract(_cl(y), _cl(l_hat))
        return zh.float().contiguous(), zp.float().contiguous()

    @torch.inference_mode()
    @on_model_device
    def bob(self, y: torch.Tensor, size: tuple[int, int] | None = None, lost: str | None = None,
            generator: torch.Generator | None = None, key=None, nonce=None) -> dict[str, torch.Tensor]:
        """Bob's reconstructions: {'host', 'private'} (secure) or {'private'} (plain DeepJSCC)."""
        if self.inn is None:
            return {"private": self.decode(y, size)}
        zh, zp = self.extract(y, lost, generator)
        return {"host": self.decode(zh, size), "private": self.decode(zp, size)}

    # --- Eve -------------------------------------------------------------------------------
    @on_model_device
    def eve_naive(self, y: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Eq. (6): the legitimate decoder on Eve's received symbols."""
        return attacks.naive_decoding(self.jscc, y, size)

    @on_model_device
    def eve_mia(self, y: torch.Tensor, size: tuple[int, int], steps: int = 200, lr: float = 0.05,
                seed: int = 0, tv_weight: float = 1.0, progress: bool = False) -> torch.Tensor:
        """Eq. (7): model inversion of the encoder against Eve's received symbols."""
        return attacks.model_inversion(self.jscc, y, size, steps=steps, lr=lr, seed=seed, tv_weight=tv_weight,
                                       progress=progress).images
