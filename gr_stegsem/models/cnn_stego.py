"""Non-invertible CNN steganography over DeepJSCC latents: seed 001's first paradigm (CNN-based
embedding and extraction networks, e.g. Baluja, NeurIPS 2017, in the image domain), here on the
latents of the INN's place, as the baseline that says what invertibility buys.

  container  z_c = z_h + E([z_h, z_p])       (E: conv net, 2C -> C channels, last layer zero-init)
  extraction [z_h_hat, z_p_hat] = [y, 0] + X(y)   (X: conv net, C -> 2C channels)

Nothing is lost by construction (no lost-information variable l): the extractor must learn to pull
z_p out of the noisy container. The same interface as :class:`~gr_stegsem.models.inn.StegoINN`
(``embed`` -> (z_c, l) with an empty l, ``extract(y, l_hat)``, ``lost_estimate``), so the INN's
trainer and scheme code run it unchanged. Latents are real (B, C, h, w).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class CNNStegoConfig:
    channels: int = 8  # real latent channels C (the DeepJSCC latent)
    width: int = 48  # hidden channels of both networks
    layers: int = 3  # hidden 3x3 conv layers of each network (besides its input and output layers)
    lost: str = "zeros"  # interface compatibility with the INN (nothing is lost)

    def to_dict(self) -> dict:
        return asdict(self)


def _net(cin: int, cout: int, width: int, layers: int) -> nn.Sequential:
    mods = [nn.Conv2d(cin, width, 3, padding=1), nn.LeakyReLU(0.2)]
    for _ in range(layers):
        mods += [nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2)]
    mods.append(nn.Conv2d(width, cout, 3, padding=1))
    nn.init.zeros_(mods[-1].weight)  # starts as 'container = host, private = 0'
    nn.init.zeros_(mods[-1].bias)
    return nn.Sequential(*mods)


class CNNStego(nn.Module):
    """Embedding network E (Alice) and extraction network X (Bob)."""

    def __init__(self, config: CNNStegoConfig | None = None):
        super().__init__()
        self.config = c = config or CNNStegoConfig()
        self.embedder = _net(2 * c.channels, c.channels, c.width, c.layers)
        self.extractor = _net(c.channels, 2 * c.channels, c.width, c.layers)

    def _check(self, *zs: torch.Tensor) -> None:
        for z in zs:
            if z.dim() != 4 or z.shape[1] != self.config.channels:
                raise ValueError(f"expected latents (B, {self.config.channels}, h, w), got {tuple(z.shape)}")

    def embed(self, zh: torch.Tensor, zp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_c, l): the container and an empty lost-information tensor (B, 0, h, w)."""
        self._check(zh, zp)
        zc = zh + self.embedder(torch.cat([zh, zp], 1))
        return zc, zh.new_zeros(zh.shape[0], 0, *zh.shape[2:])

    def extract(self, y: torch.Tensor, lost: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Received container -> (z_h_hat, z_p_hat); ``lost`` is ignored."""
        self._check(y)
        d = self.extractor(y)
        c = self.config.channels
        return y + d[:, :c], d[:, c:]

    def lost_estimate(self, like: torch.Tensor, mode: str | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        return like.new_zeros(like.shape[0], 0, *like.shape[2:])
