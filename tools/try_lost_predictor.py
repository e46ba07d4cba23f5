"""Experiment: can Bob predict the lost information l from the received container instead of using l_hat = 0?

The paper's Bob uses a constant (or random) l_hat. Without noise, l_hat = 0 costs the private image 1-2 dB
(``tools/gap_check.py --genie``). This script keeps DeepJSCC and the INN frozen and trains a small conv
net g on Bob's received container y (AWGN, SNR U[0, 20] dB), l_hat = g(y), with the backward-pass and
private-image terms of loss (14)-(15) and the model's own lambdas. Then it reports Bob's PSNR with
l_hat = 0 and with l_hat = g(y) on test pairs, with the same noise. g starts at zero (= l_hat = 0). Nothing is
shipped or changed.

  python tools/try_lost_predictor.py --private FACES --hosts SCENES --test-private F --test-hosts S \
      [--inn models/stego-l3_2] [--minutes 20] [--device cuda]
"""
from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gr_stegsem.checkpoint import read_info  # noqa: E402
from gr_stegsem.metrics import psnr  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402
from gr_stegsem.train.loop import cosine_lr, crop_batches  # noqa: E402

from bob_experiment import parser, test_pairs  # noqa: E402


def predictor(channels: int, hidden: int) -> nn.Sequential:
    """Four 3x3 convolutions with LeakyReLU; the last one zero-initialised, so g starts as l_hat = 0."""
    net = nn.Sequential(nn.Conv2d(channels, hidden, 3, padding=1), nn.LeakyReLU(0.2),
                        nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(0.2),
                        nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(0.2),
                        nn.Conv2d(hidden, channels, 3, padding=1))
    nn.init.zeros_(net[-1].weight)
    nn.init.zeros_(net[-1].bias)
    return net


def main(argv=None) -> int:
    ap = parser(__doc__, minutes=20.0, batch=16, lr=1e-3)
    ap.add_argument("--hidden", type=int, default=32, help="width of g")
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    torch.manual_seed(0)
    system = StegoSystem.load(a.jscc, a.inn)
    jscc, inn = system.jscc.to(dev).requires_grad_(False), system.inn.to(dev).requires_grad_(False)
    lam = read_info(a.inn)["lambdas"]
    g = predictor(inn.config.channels, a.hidden).to(dev)
    opt = torch.optim.Adam(g.parameters(), lr=a.lr)
    hb = crop_batches([a.hosts], 128, a.batch, 7, 0, dev.type == "cuda", dev)
    pb = crop_batches([a.private], 128, a.batch, 11, 0, dev.type == "cuda", dev)
    t0, step, budget = time.time(), 0, a.minutes * 60
    while time.time() - t0 < budget:  # cosine schedule over the wall-clock budget
        for group in opt.param_groups:
            group["lr"] = cosine_lr(int(1000 * (time.time() - t0) / budget), 1000, a.lr)
        xh, xp = next(hb), next(pb)
        with torch.no_grad():
            zh, zp = jscc.encoder(torch.cat([xh, xp])).chunk(2)
            y = system.channel(system.embed(zh, zp), float(torch.empty(()).uniform_(0, 20)))
        y = y.clone()  # a normal tensor (embed runs in inference mode), so g's graph can keep it
        zh_hat, zp_hat = inn.extract(y, g(y))
        n = xp[0].numel()
        loss = sum(w * (u - v).pow(2).flatten(1).sum(1).mean() / n for w, u, v in
                   ((lam[2], zp_hat, zp), (lam[3], zh_hat, zh), (lam[4], jscc.decoder(zp_hat), xp)))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 500 == 0:
            print(f"step {step}, {time.time() - t0:.0f} s, loss {loss.item():.5f}", flush=True)
    g.eval()
    xp, xh = test_pairs(a.test_private, a.test_hosts, a.limit, dev)
    size = tuple(xp.shape[-2:])
    print(f"{step} steps in {time.time() - t0:.0f} s; {len(xp)} test pairs; Bob's PSNR dB with l_hat = 0 -> g(y)")
    for snr in (5.0, 10.0, 15.0, 20.0, 60.0):
        sums = torch.zeros(4)
        for i in range(0, len(xp), 10):
            p, h = xp[i:i + 10], xh[i:i + 10]
            with torch.inference_mode():
                y = system.channel(system.alice(h, p), snr, generator=torch.Generator(dev).manual_seed(int(snr) + i))
                for j, lost in enumerate((torch.zeros_like(y), g(y))):
                    zh_hat, zp_hat = inn.extract(y, lost)
                    sums[j] += psnr(system.decode(zp_hat, size), p).sum().item()
                    sums[2 + j] += psnr(system.decode(zh_hat, size), h).sum().item()
        m = sums / len(xp)
        print(f"{snr:4.0f} dB: private {m[0]:.2f} -> {m[1]:.2f} ({m[1] - m[0]:+.2f}), "
              f"host {m[2]:.2f} -> {m[3]:.2f} ({m[3] - m[2]:+.2f})", flush=True)
    return 0 if math.isfinite(loss.item()) else 1


if __name__ == "__main__":
    sys.exit(main())
