"""The secure SemCom system as functions on tensors: Alice, the channel, Bob and Eve.

One implementation used by ``stegsem eval``, the training scripts and the GNU Radio blocks.
Images are float (B, 3, H, W) in [0, 1]; channel symbols are complex (B, k) with mean |z|^2 = 1;
SNR is Es/N0 in dB.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from . import attacks, channel
from .checkpoint import CheckpointError, load_model, read_info
from .models.deepjscc import DeepJSCC, all_finite, check_images, from_complex, normalize_power, to_complex
from .models.inn import FusedINN, StegoINN

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


def default_model(name: str) -> Path:
    """Path (without suffix) of a shipped model, e.g. ``default_model('stego-l3_2')``."""
    return MODELS_DIR / name


def _cl(t: torch.Tensor) -> torch.Tensor:
    """Channels-last view of a 4-D batch (other shapes pass unchanged, for the callee's checks)."""
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


@dataclass
class StegoSystem:
    """DeepJSCC alone (``inn is None``: the no-security baseline) or DeepJSCC + INN steganography."""

    jscc: DeepJSCC
    inn: StegoINN | None = None
    name: str = "deepjscc"
    _fused: FusedINN | None = field(default=None, init=False, repr=False, compare=False)

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
        eager where those do not apply); offline evaluation and the GNU Radio blocks both run it."""
        if self._fused is None or self._fused.inn is not self.inn:
            self._fused = FusedINN(self.inn)
        return self._fused

    @classmethod
    def load(cls, jscc_path, inn_path=None) -> "StegoSystem":
        jscc = load_model(jscc_path, "deepjscc")
        inn = None
        name = "deepjscc"
        if inn_path is not None:
            inn = load_model(inn_path, "stego-inn")
            name = Path(inn_path).with_suffix("").name if Path(inn_path).suffix == ".safetensors" else Path(inn_path).name
            want = read_info(inn_path).get("jscc_config")
            if want is not None and want != jscc.config.to_dict():
                raise CheckpointError(
                    f"steganography model {name} was trained with DeepJSCC {want}, not {jscc.config.to_dict()}"
                )
        return cls(jscc, inn, name)

    @classmethod
    def shipped(cls, name: str = "stego-l3_2", jscc: str = "deepjscc-bcr12") -> "StegoSystem":
        """A shipped model from ``models/``: 'deepjscc' for the baseline or 'stego-l3_2' / 'stego-l3_4'."""
        inn = None if name == "deepjscc" else default_model(name)
        return cls.load(default_model(jscc), inn)

    @property
    def secure(self) -> bool:
        return self.inn is not None

    # --- Alice -----------------------------------------------------------------------------
    @torch.inference_mode()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images -> power-normalised real latents (B, C, h, w)."""
        check_images(x)
        return self.jscc.encoder(_cl(x))

    @torch.inference_mode()
    def embed(self, zh: torch.Tensor, zp: torch.Tensor) -> torch.Tensor:
        """Host and private latents -> power-normalised container latent z_c (mean |z_c|^2 = 1)."""
        if self.inn is None:
            raise ValueError("this system has no steganography model (plain DeepJSCC)")
        zc, _ = self._inn_fused().embed(_cl(zh), _cl(zp))
        return normalize_power(zc).contiguous()

    @torch.inference_mode()
    def alice(self, host: torch.Tensor | None, private: torch.Tensor) -> torch.Tensor:
        """Transmitted latent: the container of (host, private), or the plain private latent."""
        if self.inn is None:
            return self.encode(private)
        check_images(host)
        check_images(private)
        if host.shape != private.shape:
            raise ValueError(f"host {tuple(host.shape)} and private {tuple(private.shape)} images differ in size")
        # two batch-1 passes, like the flowgraph's blocks; one batch-2 pass was no faster on the
        # 2-core CPU (tools/profile_stages.py)
        return self.embed(self.encode(host), self.encode(private))

    # --- channel ---------------------------------------------------------------------------
    @staticmethod
    def channel(z: torch.Tensor, snr_db: float, kind: str = "awgn",
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Real latent -> channel (symbols, Es/N0 = snr_db) -> received real latent."""
        y = channel.apply(to_complex(z), snr_db, kind, generator)
        return from_complex(y, tuple(z.shape[1:]))

    # --- Bob -------------------------------------------------------------------------------
    @torch.inference_mode()
    def extract(self, y: torch.Tensor, lost: str | None = None,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Received container latent -> (z_h_hat, z_p_hat) by the INN backward pass with l_hat."""
        if self.inn is None:
            raise ValueError("this system has no steganography model (plain DeepJSCC)")
        if not all_finite(y):
            raise ValueError("received symbols contain NaN or Inf values")
        zh, zp = self._inn_fused().extract(_cl(y), _cl(self.inn.lost_estimate(y, lost, generator)))
        return zh.contiguous(), zp.contiguous()

    @torch.inference_mode()
    def decode(self, z: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if not all_finite(z):
            raise ValueError("received symbols contain NaN or Inf values")
        return self.jscc.decode(_cl(z), size).contiguous()

    @torch.inference_mode()
    def bob(self, y: torch.Tensor, size: tuple[int, int] | None = None, lost: str | None = None,
            generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Bob's reconstructions: {'host', 'private'} (secure) or {'private'} (plain DeepJSCC)."""
        if self.inn is None:
            return {"private": self.decode(y, size)}
        zh, zp = self.extract(y, lost, generator)
        return {"host": self.decode(zh, size), "private": self.decode(zp, size)}

    # --- Eve -------------------------------------------------------------------------------
    def eve_naive(self, y: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Eq. (6): the legitimate decoder on Eve's received symbols."""
        return attacks.naive_decoding(self.jscc, y, size)

    def eve_mia(self, y: torch.Tensor, size: tuple[int, int], steps: int = 200, lr: float = 0.05,
                seed: int = 0, tv_weight: float = 1.0, progress: bool = False) -> torch.Tensor:
        """Eq. (7): model inversion of the encoder against Eve's received symbols."""
        return attacks.model_inversion(self.jscc, y, size, steps=steps, lr=lr, seed=seed, tv_weight=tv_weight,
                                       progress=progress).images
