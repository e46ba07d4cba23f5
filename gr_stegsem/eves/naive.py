"""Naive decoding, eq. (6) of Tang et al. (2024): Eve runs the public DeepJSCC decoder on what
she hears, unaware that anything is hidden."""
from __future__ import annotations

from .. import attacks
from .base import Eve


class NaiveEve(Eve):
    name = "naive"
    title = "naive decoding"
    knows = "the public DeepJSCC decoder"

    def reconstruct(self, y, size):
        return attacks.naive_decoding(self.scheme.jscc, y, size)


EVE = NaiveEve
