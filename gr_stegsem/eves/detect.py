"""Steganalysis Eve (detection): is anything hidden? A CNN steganalyser
(:class:`~gr_stegsem.models.eve_nets.Detector`; seed 001's steganalysers) on what she receives at
her SNR, trained on balanced batches of containers of the scheme (she can make them with a
captured transmitter) and plain DeepJSCC symbols of the same public host images, with BCE.
A covert scheme is one she cannot tell apart (accuracy 50 %, AUC 0.5). Model file
``models/eve-detect-<scheme>``; applies to every scheme but plain DeepJSCC (against one that
carries no host it tells the scheme's frames from plain DeepJSCC of the same images).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..models.eve_nets import Detector, DetectorConfig
from .base import Eve


class DetectEve(Eve):
    name = "detect"
    title = "steganalysis (detection)"
    knows = "the scheme's containers and plain DeepJSCC symbols of public images"
    output = "score"
    trainable = True
    kind = "eve-detector"

    @classmethod
    def applies(cls, scheme):
        return not scheme.is_plain

    @classmethod
    def model_name(cls, scheme_name):
        return f"eve-detect-{scheme_name}"

    def score(self, y):
        self.check(y)
        with torch.inference_mode():
            return torch.sigmoid(self.net(y.float()))

    # --- training -----------------------------------------------------------------------------
    @classmethod
    def build_model(cls, scheme):
        return Detector(DetectorConfig(channels=scheme.jscc.config.latent_channels))

    @classmethod
    def pairs(cls, scheme, xh, xp, tx):
        """(latents, labels): the transmitter ``tx``'s frames (1) and plain DeepJSCC of the same images (0:
        the hosts of a scheme that carries one, else the private images)."""
        z = torch.cat([tx(xh, xp), scheme.plain_equivalent(xh, xp)])
        return z, torch.cat([torch.ones(len(xh)), torch.zeros(len(xh))]).to(z.device)

    @classmethod
    def loss(cls, model, y, labels):
        logit = model(y)
        loss = F.binary_cross_entropy_with_logits(logit, labels)
        acc = ((logit > 0).float() == labels).float().mean()
        return loss, {"accuracy": acc.item()}


EVE = DetectEve
