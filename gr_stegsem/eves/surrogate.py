"""Surrogate-INN Eve: she knows the method (Tang et al. 2024) and public data, trains her own INN
with the paper's recipe (loss 13-16, the public DeepJSCC frozen, her own seed) and extracts with it.
Model file ``models/eve-surrogate`` (a stego-inn model); applies to schemes that carry a host.
"""
from __future__ import annotations

import torch

from ..system import StegoSystem
from .base import Eve


class SurrogateEve(Eve):
    name = "surrogate"
    title = "surrogate INN (own training)"
    knows = "the paper's method, the public DeepJSCC and public images"
    trainable = True
    kind = "stego-inn"

    def __init__(self, scheme, models_dir=None, **options):
        super().__init__(scheme, models_dir, **options)
        self.system = StegoSystem(scheme.jscc, self.net, "eve-surrogate")
        self.system.set_device(getattr(scheme, "device", "cpu"))  # where the scheme's codec and her net are

    @classmethod
    def applies(cls, scheme):
        return scheme.carries_host

    @classmethod
    def model_name(cls, scheme_name):
        return "eve-surrogate"

    def reconstruct(self, y, size):
        self.check(y)
        g = torch.Generator().manual_seed(int(self.options.get("seed", 0)))
        return self.system.bob(y, size, generator=g)["private"]


EVE = SurrogateEve
