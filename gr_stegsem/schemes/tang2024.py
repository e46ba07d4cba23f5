"""INN signal steganography over DeepJSCC (Tang, Liu, Yang, He, Niyato, GLOBECOM 2024, eq. 11-16).

Alice embeds the private latent in the host latent with an invertible network and sends the
container; Bob runs the backward pass with an estimate of the lost information. Every weight,
the INN included, ships with gr-stegsem: nothing is secret (Published.secrets is empty).
Scheme names: ``stego-*``, one per INN model file in the models folder (shipped: stego-l3_2, _4, _8, _16).
"""
from __future__ import annotations

from pathlib import Path

from ..system import StegoSystem
from .deepjscc import JSCC_FILE

ORDER = 1  # listing order in the zoo
PREFIX = "stego-"




def load(name: str, models_dir: Path) -> StegoSystem:
    return StegoSystem.load(models_dir / JSCC_FILE, models_dir / name)  # a missing one: 'model file not found'
