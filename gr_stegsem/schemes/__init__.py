"""The zoo of secure-SemCom schemes: one module per paper, each under :class:`~.base.Scheme`.

A scheme module defines ``PREFIX`` (the names it owns start with it; the longest matching prefix
wins) and ``load(name, models_dir) -> Scheme``; optionally ``match(name) -> bool`` (default: the
name starts with ``PREFIX``), ``names(models_dir) -> list`` (the schemes it has model files for;
default: every ``PREFIX*.safetensors`` there) and ``label(name)`` (its display name). ``stegsem eval``, the CLI
and the blocks find schemes here by name, so a new module needs no change elsewhere.
"""
from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path

from .base import Published, Scheme

__all__ = ["Scheme", "Published", "UnknownScheme", "load", "available", "modules"]


class UnknownScheme(ValueError):
    """No scheme module matches the name; ``known`` lists the names with model files here."""

    def __init__(self, name: str, known: list[str]):
        self.known = known
        super().__init__(f"unknown scheme {name!r}; known here: {', '.join(known) or 'none'}")


@lru_cache(maxsize=1)
def modules() -> tuple:
    """The scheme modules of this package (every module but ``base``), by their ``ORDER`` (listing
    order: baselines first; default 100), then name; found once."""
    out = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name != "base" and not info.name.startswith("_"):
            out.append(importlib.import_module(f"{__name__}.{info.name}"))
    return tuple(sorted(out, key=lambda m: (getattr(m, "ORDER", 100), m.__name__)))


def _models_dir(models_dir) -> Path:
    from ..system import MODELS_DIR

    return Path(models_dir) if models_dir else MODELS_DIR


def _matches(m, name: str) -> bool:
    return m.match(name) if hasattr(m, "match") else name.startswith(m.PREFIX)


def _names(m, d: Path) -> list[str]:
    """A module's scheme names with model files in ``d``: its ``names``, or its PREFIX's model files."""
    if hasattr(m, "names"):
        return m.names(d)
    return sorted(p.name[: -len(".safetensors")] for p in d.glob(f"{m.PREFIX}*.safetensors"))


def _module_for(name: str):
    """The module that owns ``name``: of those that match it, the one with the longest ``PREFIX``
    (``stego-keyed-x`` belongs to the keyed module, not to the ``stego-`` one)."""
    found = [m for m in modules() if _matches(m, name)]
    return max(found, key=lambda m: len(getattr(m, "PREFIX", ""))) if found else None


def label(name: str) -> str | None:
    """The display name a scheme module gives ``name`` (its ``label(name)``), or None."""
    m = _module_for(name)
    return m.label(name) if m is not None and hasattr(m, "label") else None


def available(models_dir=None) -> list[str]:
    """Every scheme name with model files in ``models_dir`` (default: the shipped ``models/``)."""
    d = _models_dir(models_dir)
    return [n for m in modules() for n in _names(m, d) if _module_for(n) is m]


def load(name: str, models_dir=None) -> Scheme:
    """The scheme ``name`` with its models from ``models_dir``; ValueError for an unknown name."""
    d = _models_dir(models_dir)
    m = _module_for(name)
    if m is None:
        raise UnknownScheme(name, available(d))
    return m.load(name, d)
