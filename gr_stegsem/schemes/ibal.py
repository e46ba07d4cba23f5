"""IBAL: DeepJSCC trained against a simulated adversary (seed 004's Scheme 3, after its ref. [11]).

The codec (encoder and Bob's decoder) is fine-tuned from the public DeepJSCC in a min-max game with
an inversion network (``stegsem train ibal``, :mod:`gr_stegsem.train.ibal`). Its security rests on
Eve not having Bob's decoder and not training a better inverter than the one it was trained against:
both are measured (the glass-box Eve holds the shipped decoder; the chosen-plaintext Eve trains a
fresh inverter against the final encoder, the standard adaptive attack). Scheme names ``ibal-*``,
one per codec file (kind ``deepjscc``) in the models folder.
"""
from __future__ import annotations

from pathlib import Path

from ..checkpoint import load_model
from ..system import StegoSystem
from .deepjscc import JSCC_FILE

ORDER = 7  # listing order in the zoo
PREFIX = "ibal-"


class IBALScheme(StegoSystem):
    """StegoSystem with the IBAL codec as its DeepJSCC (no INN); plain DeepJSCC is its cover."""

    public: StegoSystem | None = None

    @property
    def is_plain(self) -> bool:
        return False

    def plain_equivalent(self, host, private):
        return self.public.encode(private)




def label(name: str) -> str:
    return f"IBAL ({name[len(PREFIX):]})"


def load(name: str, models_dir: Path) -> IBALScheme:
    s = IBALScheme(load_model(models_dir / name, "deepjscc"), None, name)
    s.public = StegoSystem.load(models_dir / JSCC_FILE)
    if s.jscc.config != s.public.jscc.config:
        raise ValueError(f"IBAL codec {name} has {s.jscc.config}, not the public DeepJSCC's {s.public.jscc.config}")
    return s
