"""Plain DeepJSCC, the no-security baseline (Bourtsoulatze, Kurka, Gündüz, IEEE TCCN 2019).

Alice sends the private image's own latent; Bob and every Eve decode it with the public decoder.
Nothing is secret. Scheme name: ``deepjscc``.
"""
from __future__ import annotations

from pathlib import Path

from ..system import StegoSystem

ORDER = 0  # listing order in the zoo
JSCC_FILE = "deepjscc-bcr12"  # the public codec every scheme of the zoo builds on


def names(models_dir: Path) -> list[str]:
    """Names of this module's schemes with model files in ``models_dir``."""
    return ["deepjscc"] if (models_dir / f"{JSCC_FILE}.safetensors").is_file() else []


def match(name: str) -> bool:
    return name == "deepjscc"


def load(name: str, models_dir: Path) -> StegoSystem:
    return StegoSystem.load(models_dir / JSCC_FILE)
