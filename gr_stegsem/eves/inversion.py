"""Learned inversion, closed box (Guo et al., seed 004's black-box inversion attacker): Eve knows
only the public DeepJSCC encoder. From public images she makes her own (image, received latent)
pairs at SNRs drawn uniformly from her training range and trains an inversion network
(:class:`~gr_stegsem.models.eve_nets.Inverter`, 2.3x the decoder's parameters) with
MSE + ``perceptual`` x LPIPS (AlexNet features, loaded offline). One model serves every scheme:
she does not know the scheme's secret parts. Model file: ``models/eve-inversion``.
"""
from __future__ import annotations

import torch

from ..metrics import lpips_model
from ..models.eve_nets import Inverter, InverterConfig
from .base import Eve

PERCEPTUAL = 0.02  # weight of the LPIPS term next to the per-pixel MSE (images in [0, 1])


class InversionEve(Eve):
    name = "inversion"
    title = "learned inversion (closed box)"
    knows = "the public DeepJSCC encoder and public images"
    trainable = True
    kind = "eve-inverter"

    @classmethod
    def model_name(cls, scheme_name):
        return "eve-inversion"

    def reconstruct(self, y, size):
        self.check(y)
        with torch.inference_mode():
            return self.net(y.float(), size).contiguous()

    # --- training -----------------------------------------------------------------------------
    @classmethod
    def pairs(cls, scheme, xh: torch.Tensor, xp: torch.Tensor, tx=None) -> tuple[torch.Tensor, torch.Tensor]:
        """(transmitted latent, target image) for one batch of Eve's own public images: here the
        public encoder on the private-like images (she knows nothing else; ``tx``, a captured
        transmitter, is for the Eves that have one)."""
        return scheme.encode(xp), xp

    @classmethod
    def build_model(cls, scheme) -> torch.nn.Module:
        return Inverter(InverterConfig(channels=scheme.jscc.config.latent_channels))

    @classmethod
    def loss(cls, model, y, target, perceptual: float = PERCEPTUAL):
        out = model(y, tuple(target.shape[-2:]))
        mse = (out - target).pow(2).mean()
        lp = lpips_model(str(target.device))(out * 2 - 1, target * 2 - 1).mean() if perceptual > 0 else mse * 0
        return mse + perceptual * lp, {"mse": mse.item(), "lpips": lp.item()}


EVE = InversionEve
