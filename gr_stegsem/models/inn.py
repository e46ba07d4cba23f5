"""INN signal steganography (Tang, Liu, Yang, He, Niyato, GLOBECOM 2024, Section III-B).

The private latent z_p is embedded into the host latent z_h by I affine coupling blocks in
the style of HiNet (Jing et al., ICCV 2021) / Lu et al. (CVPR 2021, the paper's [16]):

  forward  (eq. 11): z_h' = z_h + Phi(z_p);  z_p' = z_p * exp(s(z_h')) + eta(z_h')
  backward (eq. 12): z_p  = (z_p' - eta(z_h')) * exp(-s(z_h'));  z_h = z_h' - Phi(z_p)

with s = alpha * tanh(rho / alpha), a soft clamp of the exponent (alpha = ``clamp``).
After I blocks z_c = z_h^(I) is the container and l = z_p^(I) the lost information.
Latents are real tensors (B, C, h, w) as produced by :class:`~gr_stegsem.models.deepjscc.Encoder`.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

LOST_MODES = ("zeros", "gaussian")


@dataclass(frozen=True)
class INNConfig:
    channels: int = 8  # real latent channels C (equals the DeepJSCC latent)
    blocks: int = 8  # I
    hidden: int = 32  # width of Phi, rho, eta
    clamp: float = 2.0  # soft clamp alpha of the exponent
    lost: str = "zeros"  # Bob's estimate l_hat: "zeros" or "gaussian"

    def to_dict(self) -> dict:
        return asdict(self)


def _subnet(c: int, hidden: int) -> nn.Sequential:
    """Phi, rho or eta: 3x3 conv -> 1x1 conv -> 3x3 conv, LeakyReLU between (lean for CPU use)."""
    net = nn.Sequential(
        nn.Conv2d(c, hidden, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(hidden, c, 3, padding=1),
    )
    nn.init.zeros_(net[-1].weight)  # each block starts as the identity
    nn.init.zeros_(net[-1].bias)
    return net


class InvertibleBlock(nn.Module):
    """One affine coupling block, eq. (11) forward and eq. (12) backward."""

    def __init__(self, channels: int, hidden: int, clamp: float):
        super().__init__()
        self.phi = _subnet(channels, hidden)
        self.rho = _subnet(channels, hidden)
        self.eta = _subnet(channels, hidden)
        self.clamp = clamp

    def _scale(self, zh: torch.Tensor) -> torch.Tensor:
        return self.clamp * torch.tanh(self.rho(zh) / self.clamp)

    def forward(self, zh: torch.Tensor, zp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zh = zh + self.phi(zp)
        zp = zp * torch.exp(self._scale(zh)) + self.eta(zh)
        return zh, zp

    def inverse(self, zh: torch.Tensor, zp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zp = (zp - self.eta(zh)) * torch.exp(-self._scale(zh))
        zh = zh - self.phi(zp)
        return zh, zp


class StegoINN(nn.Module):
    """I invertible blocks: ``embed`` (Alice) and ``extract`` (Bob)."""

    def __init__(self, config: INNConfig | None = None):
        super().__init__()
        self.config = config or INNConfig()
        c = self.config
        if c.lost not in LOST_MODES:
            raise ValueError(f"unknown l_hat mode {c.lost!r}; choose one of {', '.join(LOST_MODES)}")
        self.blocks = nn.ModuleList(InvertibleBlock(c.channels, c.hidden, c.clamp) for _ in range(c.blocks))

    def _check(self, *zs: torch.Tensor) -> None:
        for z in zs:
            if z.dim() != 4 or z.shape[1] != self.config.channels:
                raise ValueError(
                    f"INN expects latents with {self.config.channels} channels, got shape {tuple(z.shape)}"
                )
        if len(zs) == 2 and zs[0].shape != zs[1].shape:
            raise ValueError(f"host and private latents differ in shape: {tuple(zs[0].shape)} vs {tuple(zs[1].shape)}")

    def embed(self, zh: torch.Tensor, zp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_h, z_p) -> (z_c, l): container and lost information (not power-normalised)."""
        self._check(zh, zp)
        for block in self.blocks:
            zh, zp = block(zh, zp)
        return zh, zp

    def extract(self, zc: torch.Tensor, lost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_c_hat, l_hat) -> (z_h_hat, z_p_hat) by the backward pass, eq. (12)."""
        self._check(zc, lost)
        for block in reversed(self.blocks):
            zc, lost = block.inverse(zc, lost)
        return zc, lost

    def lost_estimate(self, like: torch.Tensor, mode: str | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Bob's l_hat: zeros, or N(0, 1/2) per real component (unit-power complex Gaussian)."""
        mode = mode or self.config.lost
        if mode == "zeros":
            return torch.zeros_like(like)
        if mode == "gaussian":
            return torch.randn(like.shape, generator=generator, device=like.device) * 0.5 ** 0.5
        raise ValueError(f"unknown l_hat mode {mode!r}; choose one of {', '.join(LOST_MODES)}")
