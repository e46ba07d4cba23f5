"""DeepJSCC-LBVQ: learned vector quantisation, indices sent as 16-QAM (seed 004's Scheme 4, after
its ref. [13]; :mod:`gr_stegsem.models.lbvq`). Trained by ``stegsem train lbvq``.

Its privacy rests on the discreteness of what is sent, nothing secret: the codebook, the QAM map and
the decoder are shipped, so the glass-box Eve *is* Bob at her SNR (measured). Schemes ``lbvq-*``, one
per model file (kind ``lbvq``); ``lbvq-*-hard`` is the same model with hard QAM decisions at Bob.
The transmitted latent holds the QAM points times the model's fixed gain (Es = 1 on average over the
training crops; :meth:`LBVQScheme.frame_power` measures it per frame).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..checkpoint import load_model
from ..models.deepjscc import DeepJSCC, from_complex, to_complex
from ..models.lbvq import LBVQ
from ..system import StegoSystem
from .base import Published, Scheme, channels_last
from .deepjscc import JSCC_FILE

ORDER = 8  # listing order in the zoo
PREFIX = "lbvq-"
HARD = "-hard"


@dataclass
class LBVQScheme(Scheme):
    model: LBVQ
    public: StegoSystem
    name: str = "lbvq"
    demap: str = "soft"
    jscc: DeepJSCC = field(init=False)

    def __post_init__(self):
        self.jscc = self.model.jscc  # what a naive Eve runs: the shipped decoder on the raw QAM symbols
        if self.model.config.jscc != self.public.jscc.config:
            raise ValueError(f"LBVQ {self.name} has codec {self.model.config.jscc}, not the public "
                             f"DeepJSCC's {self.public.jscc.config}")

    def published(self) -> Published:
        return Published({"lbvq": self.model}, ())  # its codec and codebook; nothing secret

    @torch.inference_mode()
    def indices(self, x: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int, int]]:
        """Images -> codebook indices (B, k) int64 and the latent shape (the digital payload)."""
        return self.model.indices(channels_last(x))

    def modulate(self, idx: torch.Tensor, shape) -> torch.Tensor:
        """Indices (B, k) -> the transmitted real latent of their (scaled) QAM points."""
        return from_complex(self.model.points[idx], tuple(shape))

    @torch.inference_mode()
    def alice(self, host, private, key=None, nonce=None):
        return self.modulate(*self.indices(private))

    @torch.inference_mode()
    def bob(self, y, size=None, lost=None, generator=None, key=None, nonce=None):
        shape = tuple(y.shape[1:])
        feats = self.model.features(to_complex(y), self.demap)
        return {"private": self.model.decode(feats, shape, size).contiguous()}

    def frame_power(self, private: torch.Tensor) -> torch.Tensor:
        """Es per frame (B,) of what Alice sends (1 on average over the training crops)."""
        idx, _ = self.indices(private)
        return self.model.points[idx].abs().pow(2).mean(1)

    def plain_equivalent(self, host, private):
        return self.public.encode(private)

    def cover(self, host):
        return self.public.encode(host)


def names(models_dir: Path) -> list[str]:
    out = []
    for p in sorted(models_dir.glob(f"{PREFIX}*.safetensors")):
        n = p.name[: -len(".safetensors")]
        out += [n, n + HARD]
    return out


def label(name: str) -> str:
    hard = name.endswith(HARD)
    base = name[: -len(HARD)] if hard else name
    return f"DeepJSCC-LBVQ (K={base[len(PREFIX):]}{', hard' if hard else ''})"


def load(name: str, models_dir: Path) -> LBVQScheme:
    hard = name.endswith(HARD)
    base = name[: -len(HARD)] if hard else name
    model = load_model(models_dir / base, "lbvq").requires_grad_(False)
    return LBVQScheme(model, StegoSystem.load(models_dir / JSCC_FILE), name, "hard" if hard else "soft")
