"""Eavesdroppers' networks: a learned inverter (received latent -> image) and a steganalyser
(received latent -> logit that a container is hidden in it).

The inverter is the black-box inversion network of Guo et al. (seed 004, after He, Zhang, Lee,
"Model inversion attacks against collaborative inference", ACSAC 2019): a residual trunk on the
latent grid and two stride-2 transposed convolutions back to pixels, larger than the DeepJSCC
decoder it competes with. The detector is a small CNN with mean and standard-deviation pooling,
in the spirit of the CNN steganalysers of the survey (seed 001, e.g. Xu-Net).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class InverterConfig:
    channels: int = 8  # real latent channels C of the DeepJSCC it attacks
    width: int = 48  # trunk width
    blocks: int = 3  # residual blocks on the latent grid

    def to_dict(self) -> dict:
        return asdict(self)


class _Res(nn.Module):
    def __init__(self, w: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(w, w, 3, padding=1), nn.PReLU(w), nn.Conv2d(w, w, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class Inverter(nn.Module):
    """Received real latent (B, C, h, w) -> image (B, 3, 4h, 4w) in [0, 1]."""

    def __init__(self, config: InverterConfig | None = None):
        super().__init__()
        self.config = c = config or InverterConfig()
        w = c.width
        self.net = nn.Sequential(
            nn.Conv2d(c.channels, w, 3, padding=1), nn.PReLU(w),
            *[_Res(w) for _ in range(c.blocks)],
            nn.ConvTranspose2d(w, w // 2, 5, stride=2, padding=2, output_padding=1), nn.PReLU(w // 2),
            nn.ConvTranspose2d(w // 2, w // 3, 5, stride=2, padding=2, output_padding=1), nn.PReLU(w // 3),
            nn.Conv2d(w // 3, 3, 3, padding=1), nn.Sigmoid(),
        )

    def forward(self, y: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if y.dim() != 4 or y.shape[1] != self.config.channels:
            raise ValueError(f"the inverter takes latents with {self.config.channels} channels, got {tuple(y.shape)}")
        x = self.net(y)
        return x if size is None else x[..., : size[0], : size[1]]


def pooled_statistics(f: torch.Tensor) -> torch.Tensor:
    """Feature maps (B, C, h, w) -> (B, 2C): the per-channel spatial mean and standard deviation,
    what the detector's head classifies."""
    f = f.flatten(2)
    return torch.cat([f.mean(2), f.std(2)], 1)


@dataclass(frozen=True)
class DetectorConfig:
    channels: int = 8
    width: int = 32

    def to_dict(self) -> dict:
        return asdict(self)


class Detector(nn.Module):
    """Received real latent (B, C, h, w) -> (B,) logit of 'a container, something is hidden'."""

    def __init__(self, config: DetectorConfig | None = None):
        super().__init__()
        self.config = c = config or DetectorConfig()
        w = c.width
        self.features = nn.Sequential(
            nn.Conv2d(c.channels, w, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, w, 3, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(w, 2 * w, 3, stride=2, padding=1), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.LeakyReLU(0.2),
        )
        self.head = nn.Sequential(nn.Linear(4 * w, w), nn.LeakyReLU(0.2), nn.Linear(w, 1))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if y.dim() != 4 or y.shape[1] != self.config.channels:
            raise ValueError(f"the detector takes latents with {self.config.channels} channels, got {tuple(y.shape)}")
        return self.head(pooled_statistics(self.features(y))).squeeze(1)
