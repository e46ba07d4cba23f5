"""The zoo of eavesdroppers: one module per attack, each defining ``EVE``, a subclass of
:class:`~.base.Eve`. ``stegsem eval --attacks``, ``stegsem train eve`` and the Eve blocks find
them here by name, so a new attack module needs no change elsewhere."""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from .base import Eve

__all__ = ["Eve", "get", "names", "build"]

ORDER = ("naive", "mia", "inversion", "glassbox", "chosen", "recover", "surrogate", "detect")  # report order


@lru_cache(maxsize=1)
def _all() -> dict[str, type[Eve]]:
    """{name: Eve class} of every attack module, found once (callers must not change it)."""
    out = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            cls = importlib.import_module(f"{__name__}.{info.name}").EVE
            out[cls.name] = cls
    return out


def names() -> list[str]:
    """Every attack's name: the paper's first, then the others (report order), then new ones by name."""
    found = _all()
    return [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)


def get(name: str) -> type[Eve]:
    found = _all()
    if name not in found:
        raise ValueError(f"unknown attack {name!r}; choose from {', '.join(names())}")
    return found[name]


def build(name: str, scheme, models_dir=None, **options) -> Eve:
    """Eve ``name`` against ``scheme``, with her model (if any) from ``models_dir``."""
    return get(name)(scheme, models_dir, **options)
