"""Covert INN steganography: Tang et al.'s INN (2024) trained against a steganalyser, seed 001's GAN
paradigm (a discriminator separating cover signals from stego signals, the embedder trained to fool
it; e.g. Hayes & Danezis, NeurIPS 2017, and the seed's GAN-based schemes), moved from the image to
the channel: the discriminator sees *received* containers and *received* plain DeepJSCC host
symbols at the same SNR (``stegsem train inn --covert WEIGHT``). The aim: an eavesdropper cannot
tell that anything is hidden, measured by an independently trained detector (the steganalysis
Eve, retrained from scratch against the final model), never the training discriminator.

Every weight ships; nothing is secret. Scheme names ``stego-covert-*``.
"""
from __future__ import annotations

from pathlib import Path

from ..system import StegoSystem
from .base import variant_label
from .deepjscc import JSCC_FILE

ORDER = 3  # listing order in the zoo
PREFIX = "stego-covert-"



def label(name: str) -> str:
    return variant_label("Covert stego", name, PREFIX)



def load(name: str, models_dir: Path) -> StegoSystem:
    return StegoSystem.load(models_dir / JSCC_FILE, models_dir / name)
