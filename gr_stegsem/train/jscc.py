"""Train DeepJSCC end to end over a noisy channel (Bourtsoulatze et al. 2019, eq. 4: MSE).

The SNR (Es/N0, dB) is drawn uniformly from [snr_min, snr_max] once per batch.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP

from .. import channel
from ..metrics import psnr_from_mse
from ..models.deepjscc import DeepJSCC, DeepJSCCConfig, from_complex, to_complex
from .loop import LoopSettings, crop_batches, run, setup_distributed


class JSCCLink(nn.Module):
    """Encoder -> channel -> decoder, one module so DDP can wrap it."""

    def __init__(self, model: DeepJSCC, kind: str = "awgn"):
        super().__init__()
        self.model, self.kind = model, kind

    def forward(self, x: torch.Tensor, snr_db: float) -> torch.Tensor:
        z = self.model.encoder(x)
        y = channel.apply(to_complex(z), snr_db, self.kind)
        return self.model.decoder(from_complex(y, tuple(z.shape[1:])))[..., : x.shape[-2], : x.shape[-1]]


def train_jscc(data: list[str], out: str | Path, *, bcr: str = "1/12", width1: int = 16, width: int = 32,
               crop: int = 128, batch: int = 32, steps: int = 20000, lr: float = 1e-3, seed: int = 0,
               snr_range: tuple[float, float] = (0.0, 20.0), channel_kind: str = "awgn", workers: int = 1,
               save_every: int = 500, resume: bool = True, preload: bool = False,
               minutes: float | None = None) -> dict:
    ddp = setup_distributed()
    torch.manual_seed(seed)  # identical initial weights on every rank
    model = DeepJSCC(DeepJSCCConfig(bcr=bcr, width1=width1, width=width)).to(ddp.device)
    link = JSCCLink(model, channel_kind)
    net = DDP(link) if ddp.world > 1 else link
    batches = crop_batches(data, crop, batch // ddp.world, seed + 7919 * ddp.rank, workers, preload, ddp.device)
    lo, hi = snr_range

    def step(_: int):
        x = next(batches)
        snr = float(torch.empty(()).uniform_(lo, hi))
        mse = (net(x, snr) - x).pow(2).mean()
        return mse, {"snr_db": snr, "psnr": psnr_from_mse(mse.item())}

    info = {"data": [str(d) for d in data], "crop": crop, "batch": batch, "lr": lr, "seed": seed,
            "snr_range_db": list(snr_range), "channel": channel_kind, "world_size": ddp.world,
            "device": str(ddp.device)}
    settings = LoopSettings(Path(out), steps, lr, seed, save_every, resume, info, minutes)
    return run(model, model.parameters(), step, settings, ddp)
