"""CNN steganography over DeepJSCC: seed 001's first paradigm (a convolutional embedding network and a
convolutional extraction network, not invertible), on the latents where Tang et al. (2024) put the
INN, trained with their losses (13)-(16) where they apply (no lost-information term), the same
data and a comparable budget (``stegsem train inn --arch cnn``). It answers seed 001's Table II
question in numbers: what does invertibility buy at the same bandwidth?

Every weight ships: like the INN scheme it keeps no secret. Scheme names ``stego-cnn-*``.
Networks: :mod:`gr_stegsem.models.cnn_stego`.
"""
from __future__ import annotations

from pathlib import Path

from ..system import StegoSystem
from .base import variant_label
from .deepjscc import JSCC_FILE

ORDER = 4  # listing order in the zoo
PREFIX = "stego-cnn-"


class CNNStegoScheme(StegoSystem):
    """DeepJSCC + CNN embedding/extraction (the :class:`StegoSystem` interface; no fused INN path)."""

    cnn = True

    def _inn_fused(self):
        return self.inn



def label(name: str) -> str:
    return variant_label("CNN stego", name, PREFIX)



def load(name: str, models_dir: Path) -> CNNStegoScheme:
    s = StegoSystem.load(models_dir / JSCC_FILE, models_dir / name)
    if not isinstance(s, CNNStegoScheme):
        raise ValueError(f"model {name} is not a CNN steganography model (kind stego-cnn)")
    return s
