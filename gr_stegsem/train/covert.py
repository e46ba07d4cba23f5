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
* the INN's adversarial term, over the members at least ``warm`` steps old (none before that: a
  random detector says nothing), is either the mean non-saturating generator loss -log(1 - D(y))
  (``objective="gan"``) or feature matching (``"features"``, Salimans et al., NeurIPS 2016,
  "Improved Techniques for Training GANs", Sec. 3.1, with the detector's pooled statistics as the
  features): per member, mean_f (E_batch s_f(y) - E_batch s_f(cover))^2 / mean_f var_batch s_f(cover),
  s = the per-channel spatial mean and standard deviation of its last feature map (the vector its
  head classifies); a ratio, so a fresh detector's feature scale does not set the weight.

The members' weights and ages are checkpointed with the INN; their optimiser moments are not (a resumed
run restarts them; a few steps of Adam warm-up).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.eve_nets import Detector, DetectorConfig, pooled_statistics
from .loop import through_frozen

DISC_LR = 1e-3  # the steganalysis Eve's learning rate (gr_stegsem/train/eve.py)
OBJECTIVES = ("gan", "features")


def pooled_features(det: Detector, y: torch.Tensor) -> torch.Tensor:
    """(B, 4w): what the detector's head sees, with its weights detached (gradient to ``y`` only)."""
    return pooled_statistics(through_frozen(det.features, y).float())


def feature_gap(det: Detector, y: torch.Tensor, cover: torch.Tensor) -> torch.Tensor:
    """Squared difference of the batch means of ``pooled_features`` (y vs cover), averaged over the
    features and divided by the cover's mean within-batch variance (a pooled Fisher ratio: scale-free,
    and not blown up by the near-constant features of a fresh detector)."""
    sy, sc = pooled_features(det, y), pooled_features(det, cover).detach()
    return (sy.mean(0) - sc.mean(0)).pow(2).mean() / (sc.var(0).mean() + 1e-6)


class DiscriminatorPool(nn.Module):
    """K steganalysers, restarted in turn; ``terms(y, cover)`` steps them and returns the INN's term."""

    def __init__(self, channels: int, members: int = 3, life: int = 1500, warm: int = 300, lr: float = DISC_LR,
                 objective: str = "gan"):
        super().__init__()
        if objective not in OBJECTIVES:
            raise ValueError(f"the adversarial objective must be one of {OBJECTIVES}, got {objective!r}")
        self.objective = objective
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
        scored = mature or [int(torch.argmin(self.ages))]  # whose accuracy is reported
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
            if i in scored:
                accs.append(((logits.detach() > 0).float() == labels).float().mean())
        self.ages += 1
        self.steps += 1
        if mature and self.objective == "features":
            g = torch.stack([feature_gap(self.members[i], y, cover) for i in mature]).mean()
        elif mature:
            gen = [through_frozen(self.members[i], y).float() for i in mature]
            g = torch.stack([F.binary_cross_entropy_with_logits(l, torch.zeros_like(l)) for l in gen]).mean()
        else:
            g = y.sum() * 0.0  # keeps the graph; no adversarial pull yet
        return {"adv": g, "disc": torch.stack(d_losses).mean(), "disc_acc": torch.stack(accs).mean(),
                "disc_mature": torch.tensor(float(len(mature)))}
