"""Glass-box Eve: she installed gr-stegsem and holds every file it ships (the INN included), the
source, and none of the scheme's secrets; she runs Bob's receiver herself at her own SNR.

This measures what a scheme's security rests on (the journal version of Tang et al., arXiv
2503.23103, calls her the glass-box eavesdropper). Against a scheme with no secrets she is Bob.
Option ``lost``: her estimate of the lost information ('zeros' or 'gaussian'; default: the model's).
"""
from __future__ import annotations

import torch

from .base import Eve


class GlassboxEve(Eve):
    name = "glassbox"
    title = "glass-box (shipped weights)"
    knows = "every shipped model file and the source, no key"

    def reconstruct(self, y, size):
        self.check(y)
        g = torch.Generator().manual_seed(int(self.options.get("seed", 0)))
        return self.scheme.bob_without_secrets(y, size, lost=self.options.get("glassbox_lost"), generator=g)["private"]


EVE = GlassboxEve
