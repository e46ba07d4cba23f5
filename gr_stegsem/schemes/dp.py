"""DeepJSCC-DP: Laplace noise on the transmitted features for a privacy budget ε (seed 004's
Scheme 1, "DeepJSCC + differential privacy", after its ref. [12]; the seed's budgets 0.05, 0.1, 0.9).

The seed leaves sensitivity and clipping open. Here, per real component v of the power-normalised
latent (mean |z|^2 = 1 per complex symbol, so E v^2 = 1/2):

    v_c = clip(v, -C, C),  C = 1.5  (2.1 standard deviations; 3.4 % of components are clipped)
    u   = v_c + Laplace(0, b),  b = Δ / ε,  Δ = 2C = 3  (the range of v_c: its L1 sensitivity)
    z   = u / sqrt(mean |u|^2)  (the power constraint again: mean |z|^2 = 1 per frame)

which makes each transmitted real value ε-differentially private with respect to the value it
carries (Dwork & Roth 2014, Theorem 3.6); a frame of n values is nε-DP for the whole image by basic
composition. The noise is fresh per frame and known to no one: Bob has no secret, decodes with the
public decoder (no fine-tuned decoder here) and is no better off than an Eve at his SNR. At these
ε the noise is 10-36 dB above the signal: the formal guarantee costs all the utility (measured).
Scheme names ``dp-<ε>`` (listed: the seed's three; any ε > 0 loads).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..models.deepjscc import DeepJSCC, normalize_power
from ..system import StegoSystem
from .base import Published, Scheme
from .deepjscc import JSCC_FILE

ORDER = 5  # listing order in the zoo
PREFIX = "dp-"
SEED_BUDGETS = (0.05, 0.1, 0.9)
CLIP = 1.5  # C: bound of each real component
_NAME = re.compile(r"dp-(\d+(?:\.\d+)?(?:e-?\d+)?)")


@dataclass
class DPScheme(Scheme):
    """DeepJSCC with ε-DP Laplace noise on each transmitted real value (see the module docstring)."""

    jscc: DeepJSCC
    epsilon: float
    name: str = "dp"
    clip: float = CLIP
    _plain: StegoSystem = field(default=None, init=False, repr=False)
    _gen: torch.Generator = field(default=None, init=False, repr=False)

    def __post_init__(self):
        if not (isinstance(self.epsilon, (int, float)) and math.isfinite(self.epsilon) and self.epsilon > 0):
            raise ValueError(f"the privacy budget ε must be > 0, got {self.epsilon}")
        self._plain = StegoSystem(self.jscc)
        self._gen = torch.Generator().manual_seed(0)  # Alice's noise: reproducible runs, unknown to all

    @property
    def scale(self) -> float:
        """The Laplace scale b = Δ / ε with Δ = 2C."""
        return 2 * self.clip / self.epsilon

    def published(self) -> Published:
        return Published({"jscc": self.jscc}, ())

    @torch.inference_mode()
    def privatize(self, z: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The DP mechanism on latents (B, C, h, w): clip, add Laplace(0, b), renormalise the power."""
        # Laplace by inversion of U(-1/2, 1/2), kept off its ends (u = -1/2 gives an infinite sample;
        # torch.rand draws 0 about once in 2^24 values, so in every few training batches)
        u = torch.rand(z.shape, generator=generator or self._gen).clamp_(1e-7, 1 - 1e-7).to(z.device) - 0.5
        noise = -self.scale * torch.sign(u) * torch.log1p(-2 * u.abs())
        return normalize_power(z.clamp(-self.clip, self.clip) + noise)

    def alice(self, host, private, key=None, nonce=None, generator=None):
        return self.privatize(self.encode(private), generator)

    def bob(self, y, size=None, lost=None, generator=None, key=None, nonce=None):
        return {"private": self.decode(y, size)}

    def cover(self, host):
        return self.encode(host)


def names(models_dir: Path) -> list[str]:
    if not (models_dir / f"{JSCC_FILE}.safetensors").is_file():
        return []
    return [f"dp-{e:g}" for e in SEED_BUDGETS]


def match(name: str) -> bool:
    return name.startswith(PREFIX)


def label(name: str) -> str:
    return f"DeepJSCC-DP ε={name[len(PREFIX):]}"


def load(name: str, models_dir: Path) -> DPScheme:
    m = _NAME.fullmatch(name)
    if m is None:
        raise ValueError(f"a DP scheme is named dp-<ε> with ε > 0 (e.g. dp-0.1), got {name!r}")
    eps = float(m.group(1))
    if not eps > 0:
        raise ValueError(f"the privacy budget ε must be > 0, got {eps:g} ({name})")
    return DPScheme(StegoSystem.load(models_dir / JSCC_FILE).jscc, eps, name)
