"""Order recovery: a chosen-plaintext Eve against keyed reorderings (shuffles, keyed transforms).

She has query access to a captured transmitter (its output before the channel, noise-free; never its
key) and every shipped file. She sends one probe (a public image of her choice, and a public host for
a scheme that carries one) and sorts what comes out against what the public encoder makes of the
probe (after the shipped INN's extraction for INN schemes): equal values give the order and the signs,
exactly for a static order (DeepJSCC-Encryption as seed 004 describes it: one order per key) from a
single frame. Then she applies that order's inverse to every frame she receives and decodes with the
public decoder. Against a fresh order per frame (per-frame nonces) the order she recovered belongs to
her probe's frame only, and she decodes noise: what a nonce buys. Applies to the keyed schemes.
"""
from __future__ import annotations

import torch

from .base import Eve


class OrderRecoveryEve(Eve):
    name = "recover"
    title = "order recovery (chosen plaintext)"
    knows = "a captured transmitter's noise-free output for one probe of her choice, every shipped file"

    @classmethod
    def applies(cls, scheme):
        return bool(getattr(scheme, "keyed", False))

    def __init__(self, scheme, models_dir=None, **options):
        super().__init__(scheme, models_dir, **options)
        if getattr(scheme, "keyed", False) and options.get("device_key") is None:
            raise ValueError("the order-recovery Eve queries a captured transmitter: it runs where one is "
                             "simulated with Alice's key ('stegsem eval'), not on received samples alone")
        self._order = {}  # image size -> (source index of each received value, sign)

    def _probe(self, size):
        from ..samples import default_image

        device = self.scheme.transmitter(self.options.get("device_key"), nonce=int(self.options.get("device_nonce",
                                                                                                   2**62)))
        xp = default_image("private", size)[None]
        xh = default_image("host", size)[None] if self.scheme.carries_host else None
        sent = device(xh, xp)
        inn = getattr(self.scheme, "inn", None)
        got = self.scheme.extract(sent)[1] if inn is not None else sent  # what the order acts on
        want = self.scheme.encode(xp)
        g, w = got.flatten(), want.flatten()
        og, ow = torch.argsort(g.abs()), torch.argsort(w.abs())  # equal |values| pair up
        src = torch.empty_like(og)
        src[og] = ow
        sign = torch.sign(g) * torch.sign(w[src])
        return src, torch.where(sign == 0, torch.ones_like(sign), sign)

    def reconstruct(self, y, size):
        self.check(y)
        size = tuple(size)
        if size not in self._order:
            self._order[size] = self._probe(size)
        src, sign = self._order[size]
        with torch.inference_mode():
            inn = getattr(self.scheme, "inn", None)
            u = self.scheme.extract(y)[1] if inn is not None else y
            flat = u.reshape(u.shape[0], -1) * sign.to(u.device)  # the probe ran on the CPU
            z = torch.empty_like(flat)
            z[:, src.to(u.device)] = flat
            return self.scheme.decode(z.reshape(u.shape), size)


EVE = OrderRecoveryEve
