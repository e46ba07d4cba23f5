"""Model inversion, eq. (7) of Tang et al. (2024) (Chen et al., GLOBECOM 2023): Eve optimises an
image whose public-encoder latent matches what she hears (Adam, TV prior; :mod:`gr_stegsem.attacks`).

Options: ``mia_steps`` (Adam steps), ``mia_lr``, ``mia_tv`` (TV weight), ``seed`` (start image).
"""
from __future__ import annotations

from .. import attacks
from .base import Eve


class MIAEve(Eve):
    name = "mia"
    title = "model inversion"
    knows = "the public DeepJSCC encoder (white-box gradients)"

    def reconstruct(self, y, size):
        o = self.options
        return attacks.model_inversion(self.scheme.jscc, y, size, steps=int(o.get("mia_steps", 200)),
                                       lr=float(o.get("mia_lr", 0.05)), seed=int(o.get("seed", 0)),
                                       tv_weight=float(o.get("mia_tv", 1.0))).images


EVE = MIAEve
