"""A pool of steganalysers with staggered restarts, for the covert INN (``stegsem train inn --covert W
--discriminators K``).

One discriminator trained alongside the INN is beaten at its current weakness, not at detection: the
shipped ``stego-covert-l3_2`` kept its co-trained discriminator near 55-61 % while a detector trained
from scratch afterwards found every container. The pool targets that detector directly (the
"restart the discriminator" remedy of GAN practice, e.g. the discriminator ensembles of Durugkar et
al., ICLR 2017, "Generative Multi-Adversarial Networks"):

* K detectors (the steganalysis Eve's architecture, :class:`~gr_stegsem.models.eve_nets.Detector`),
  each with its own Adam optimiser at the Eve's learning rate, stepped once per INN step on the
  detached received containers (1) and received plain host symbols (0) of that batch;
* member ``i`` is re-initialised from scratch every ``life`` steps, at offsets ``i * life / K``, so a
  fresh detector -- what the evaluation trains -- is always among them;
* the INN's adversarial term is the mean non-saturating generator loss -log(1 - D(y)) over the
  members at least ``warm`` steps old (none before that: a random detector says nothing).

The members' weights and ages are checkpointed with the INN; their optimiser moments are not (a resumed
run restarts them; a few steps of Adam warm-up).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.eve_nets import Detector, DetectorConfig
from .loop import through_frozen

DISC_LR = 1e-3  # the steganalysis Eve's learning rate (gr_stegsem/train/eve.py)


class DiscriminatorPool(nn.Module):
    """K steganalysers, restarted in turn; ``terms(y, cover)`` steps them and returns the INN's term."""

    def __init__(self, channels: int, members: int = 3, life: int = 1500, warm: int = 300, lr: float = DISC_LR):
        super().__init__()
        if members < 1:
            raise ValueError(f"a discriminator pool needs at least one member, got {members}")
        if not 0 <= warm < life:
            raise ValueError(f"need 0 <= warm < life (steps), got warm={warm}, life={life}")
        self.life, self.warm, self.lr = life, warm, lr
        self.members = nn.ModuleList(Detector(DetectorConfig(channels=channels)) for _ in range(members))
        self.register_buffer("ages", torch.zeros(members, dtype=torch.long))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))
        self._opts = [self._optimiser(m) for m in self.members]

    def _optimiser(self, m: nn.Module) -> torch.optim.Optimizer:
        return torch.optim.Adam(m.parameters(), lr=self.lr)

    @staticmethod
    def _reinit(m: nn.Module) -> None:
        """A fresh detector, initialised as the steganalysis Eve's (PyTorch's default layer init)."""
        for layer in m.modules():
            if layer is not m and hasattr(layer, "reset_parameters"):
                layer.reset_parameters()

    def _restart_due(self) -> None:
        k, step = len(self.members), int(self.steps)
        for i, m in enumerate(self.members):
            if step > 0 and step % self.life == (i * self.life) // k:
                self._reinit(m)
                self.ages[i] = 0
                self._opts[i] = self._optimiser(m)

    def terms(self, y: torch.Tensor, cover: torch.Tensor) -> dict[str, torch.Tensor]:
        """One step of every member on (y detached: 1, cover: 0), then the INN's generator term over
        the mature members (zero when none is); ``disc_acc`` is the mature members' mean accuracy
        on this batch before their step (the newest member's when none is mature)."""
        self._restart_due()
        x = torch.cat([y.detach(), cover.detach()])
        labels = torch.cat([torch.ones(len(y)), torch.zeros(len(cover))]).to(y.device)
        mature = [i for i in range(len(self.members)) if int(self.ages[i]) >= self.warm]
        d_losses, accs = [], []
        for i, (m, opt) in enumerate(zip(self.members, self._opts)):
            with torch.enable_grad():
                logits = m(x).float()
                d_loss = F.binary_cross_entropy_with_logits(logits, labels)
                grads = torch.autograd.grad(d_loss, list(m.parameters()))
            for p, g in zip(m.parameters(), grads):
                p.grad = g
            opt.step()
            for p in m.parameters():
                p.grad = None
            d_losses.append(d_loss.detach())
            if i in mature or (not mature and i == int(torch.argmin(self.ages))):
                accs.append(((logits.detach() > 0).float() == labels).float().mean())
        self.ages += 1
        self.steps += 1
        if mature:
            gen = [through_frozen(self.members[i], y).float() for i in mature]
            g = torch.stack([F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)) for l in gen]).mean()
        else:
            g = y.sum() * 0.0  # keeps the graph; no adversarial pull yet
        return {"adv": g, "disc": torch.stack(d_losses).mean(), "disc_acc": torch.stack(accs).mean(),
                "disc_mature": torch.tensor(float(len(mature)))}
