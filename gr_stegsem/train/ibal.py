"""Train IBAL: DeepJSCC fine-tuned against a simulated adversary (seed 004's Scheme 3, after its
ref. [11]: information-bottleneck adversarial learning for privacy in task-oriented SemCom).

A min-max game, one optimiser step for both players per batch:
  adversary  A: an inversion network (:class:`~gr_stegsem.models.eve_nets.Inverter`) on the received
                latent (detached), minimising MSE(A(y), x);
  codec  (E, D): minimising MSE(D(y), x) + beta * relu(tau - MSE(A'(y), x)), with A' a frozen copy of A's
                weights (its gradient reaches only the encoder): Bob's reconstruction stays good while
                the adversary's is pushed down to a distortion of ``tau`` (MSE on [0, 1] images; 0.06 ~
                12 dB PSNR, the level of an unrelated image), where the hinge stops rewarding more.
SNR uniform per batch (Es/N0, dB). The codec is written as a ``deepjscc`` model (scheme ``ibal-*``);
the adversary is checkpointed for resuming, not exported: the evaluation's Eves train a fresh one.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .. import channel
from ..checkpoint import load_model
from ..metrics import psnr_from_mse
from ..models.deepjscc import from_complex, to_complex
from ..models.eve_nets import Inverter, InverterConfig
from .loop import LoopSettings, crop_batches, run, setup_distributed, through_frozen


def train_ibal(jscc_init: str | Path, data: list[str], out: str | Path, *, beta: float = 1.0, tau: float = 0.06,
               crop: int = 128, batch: int = 16, steps: int = 5000, lr: float = 2e-4, seed: int = 0,
               snr_range: tuple[float, float] = (0.0, 20.0), workers: int = 1, save_every: int = 250,
               resume: bool = True, preload: bool = False, minutes: float | None = None,
               adversary_init: str | Path | None = None) -> dict:
    if not beta > 0 or not tau > 0:
        raise ValueError(f"IBAL needs beta > 0 and tau > 0, got beta {beta}, tau {tau}")
    ddp = setup_distributed()
    torch.manual_seed(seed)
    codec = load_model(jscc_init, "deepjscc").to(ddp.device).train().requires_grad_(True)
    adv = Inverter(InverterConfig(channels=codec.config.latent_channels)).to(ddp.device)
    if adversary_init is not None:
        adv.load_state_dict(load_model(adversary_init, "eve-inverter").state_dict())
    batches = crop_batches(data, crop, batch, seed + 7919, workers, preload, ddp.device)
    lo, hi = snr_range

    def step(_: int):
        x = next(batches)
        snr = float(torch.empty(()).uniform_(lo, hi))
        z = codec.encoder(x)
        y = from_complex(channel.apply(to_complex(z), snr), tuple(z.shape[1:]))
        size = tuple(x.shape[-2:])
        bob = F.mse_loss(codec.decode(y, size), x)
        adv_loss = F.mse_loss(adv(y.detach(), size), x)  # the adversary's own step
        eve = F.mse_loss(through_frozen(adv, y, size), x)
        loss = bob + beta * F.relu(tau - eve) + adv_loss
        return loss, {"bob_psnr": psnr_from_mse(bob.item()), "eve_psnr": psnr_from_mse(eve.item()),
                      "adv_mse": adv_loss.item(), "snr_db": snr}

    adv_from = None if adversary_init is None else str(adversary_init)
    info = {"ibal": {"beta": beta, "tau": tau, "adversary_init": adv_from}, "init": str(jscc_init),
            "data": [str(d) for d in data], "crop": crop, "batch": batch, "lr": lr, "seed": seed,
            "snr_range_db": list(snr_range), "device": str(ddp.device)}
    both = nn.ModuleDict({"codec": codec, "adversary": adv})
    settings = LoopSettings(Path(out), steps, lr, seed, save_every, resume, info, minutes)
    return run(both, both.parameters(), step, settings, ddp, export=codec)
