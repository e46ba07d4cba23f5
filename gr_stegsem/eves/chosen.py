"""Chosen-plaintext Eve: she has query access to a captured Alice transmitter (not its weights):
for (host, private) pairs of her choice she sees the transmitted latents, adds her channel and
trains a network container -> private image on them (the inverter of
:mod:`~gr_stegsem.eves.inversion`, MSE + LPIPS, optionally started from the closed-box inverter).
Against a keyed scheme the transmitter runs under a key she never sees and numbers its frames
(fresh nonces): she learns from (private, container) pairs of other frames under that key.
Trained against each scheme: model file ``models/eve-chosen-<scheme>``.
"""
from __future__ import annotations

from .inversion import InversionEve


class ChosenPlaintextEve(InversionEve):
    name = "chosen"
    title = "chosen plaintext (captured transmitter)"
    knows = "query access to Alice's transmitter, public images"

    @classmethod
    def model_name(cls, scheme_name):
        return f"eve-chosen-{scheme_name}"

    @classmethod
    def pairs(cls, scheme, xh, xp, tx):
        return tx(xh if scheme.carries_host else None, xp), xp


EVE = ChosenPlaintextEve
