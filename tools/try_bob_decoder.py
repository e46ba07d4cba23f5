"""Experiment: how much of Bob's private-image gap would a decoder fine-tuned for the stego path close?

The paper (and the shipped system) decodes Bob's extracted latents with the frozen DeepJSCC decoder.
This script keeps DeepJSCC's encoder and the INN frozen, fine-tunes a copy of the decoder on Bob's
extracted private and host latents (AWGN, SNR U[0, 20] dB, MSE), then reports Bob's PSNR with the
original and the fine-tuned decoder on test pairs. Nothing is shipped or changed; it answers whether
a separate Bob decoder is worth building. Runs on a GPU (--device cuda) or the CPU.

  python tools/try_bob_decoder.py --private FACES --hosts SCENES --test-private F --test-hosts S \
      [--inn models/stego-l3_2] [--minutes 7] [--device cuda]
"""
from __future__ import annotations

import copy
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gr_stegsem.checkpoint import load_model  # noqa: E402
from gr_stegsem.images import PreloadedCrops  # noqa: E402
from gr_stegsem.metrics import psnr  # noqa: E402
from gr_stegsem.models.deepjscc import normalize_power  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402
from gr_stegsem.train.loop import budget_steps, cosine_lr  # noqa: E402

from bob_experiment import parser, test_pairs  # noqa: E402


def bob_latents(jscc, inn, xh, xp, snr, gen=None):
    """Alice -> AWGN -> Bob's INN extraction: (z_h_hat, z_p_hat), all frozen."""
    with torch.no_grad():
        zh, zp = jscc.encoder(torch.cat([xh, xp])).chunk(2)
        zc, _ = inn.embed(zh, zp)
        zc = normalize_power(zc)
        y = StegoSystem.channel(zc, snr, generator=gen)
        return inn.extract(y, inn.lost_estimate(y))


def main(argv=None) -> int:
    ap = parser(__doc__, minutes=7.0, batch=64, lr=1e-4)
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    jscc = load_model(a.jscc, "deepjscc").to(dev).eval().requires_grad_(False)
    inn = load_model(a.inn, "stego-inn").to(dev).eval().requires_grad_(False)
    dec = copy.deepcopy(jscc.decoder).train().requires_grad_(True)
    opt = torch.optim.Adam(dec.parameters(), lr=a.lr)
    hb = PreloadedCrops(a.hosts, 128, dev).batches(a.batch, 1)
    pb = PreloadedCrops(a.private, 128, dev).batches(a.batch, 2)
    t0, step, total, t20 = time.time(), 0, None, 0.0
    while True:
        if step == 20:
            t20 = time.time()
        if step == 50:  # fit the schedule to the budget from the rate of steps 20..50 (after warm-up)
            total = 50 + budget_steps(a.minutes, t0, t20, 30)[1]
        if total is not None and step >= total:
            break
        for g in opt.param_groups:
            g["lr"] = cosine_lr(step, total or 10 ** 9, a.lr)
        xh, xp = next(hb), next(pb)
        zh, zp = bob_latents(jscc, inn, xh, xp, float(torch.empty(()).uniform_(0, 20)))
        loss = (dec(zp) - xp).pow(2).mean() + (dec(zh) - xh).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if step % 500 == 0:
            print(f"step {step}/{total} loss {loss.item():.5f}", flush=True)
    dec.eval()
    xp, xh = test_pairs(a.test_private, a.test_hosts, a.limit, dev)
    print(f"{step} steps in {time.time() - t0:.0f} s; {len(xp)} test pairs; PSNR dB, Bob with the frozen / "
          f"fine-tuned decoder; plain DeepJSCC for reference")
    for snr in (5.0, 10.0, 15.0, 20.0):
        g = torch.Generator(device=dev).manual_seed(int(snr))
        with torch.no_grad():
            zh, zp = bob_latents(jscc, inn, xh, xp, snr, g)
            z = jscc.encoder(xp)
            plain = jscc.decoder(StegoSystem.channel(z, snr, generator=g))
            row = [psnr(jscc.decoder(zp), xp).mean(), psnr(dec(zp), xp).mean(), psnr(jscc.decoder(zh), xh).mean(),
                   psnr(dec(zh), xh).mean(), psnr(plain, xp).mean()]
        print(f"{snr:4.0f} dB: private {row[0]:.2f} -> {row[1]:.2f}, host {row[2]:.2f} -> {row[3]:.2f}, "
              f"DeepJSCC private {row[4]:.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
