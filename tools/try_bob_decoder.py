"""Experiment: how much of Bob's private-image gap would a decoder fine-tuned for the stego path close?

The paper (and the shipped system) decodes Bob's extracted latents with the frozen DeepJSCC decoder.
This script keeps DeepJSCC's encoder and the INN frozen, fine-tunes a copy of the decoder on Bob's
extracted private and host latents (AWGN, SNR U[0, 20] dB, MSE), then reports Bob's PSNR with the
original and the fine-tuned decoder on test pairs: whether a separate Bob decoder is worth building.
With ``--keyed --private-only --out`` it made the keyed model's shipped companion
``models/bob-decoder-stego-keyed-l3_2`` (tools/train_stego_variants.sh keyed-bob). Runs on a GPU
(--device cuda) or the CPU.
``--keyed`` (with a keyed INN, e.g. models/stego-keyed-l3_2): Alice scrambles the private latent with a
uniformly random keyed transform per frame and Bob unscrambles it after extraction (the keyed scheme's
path, whose residual error after T^-1 is white); ``--out`` writes the fine-tuned decoder (kind
``deepjscc``: the public encoder with that decoder).

  python tools/try_bob_decoder.py --private FACES --hosts SCENES --test-private F --test-hosts S \
      [--inn models/stego-l3_2] [--keyed] [--minutes 7] [--device cuda] [--out out/bob-decoder]
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
from gr_stegsem.checkpoint import save_model  # noqa: E402
from gr_stegsem.models.deepjscc import normalize_power  # noqa: E402
from gr_stegsem.schemes.keyed import random_transforms, scramble, unscramble  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402
from gr_stegsem.train.loop import budget_steps, cosine_lr  # noqa: E402

from bob_experiment import parser, test_pairs  # noqa: E402


def bob_latents(jscc, inn, xh, xp, snr, gen=None, keyed=False):
    """Alice -> AWGN -> Bob's INN extraction: (z_h_hat, z_p_hat), all frozen (keyed: the private
    latent scrambled by a random transform per frame before embedding, unscrambled after)."""
    with torch.no_grad():
        zh, zp = jscc.encoder(torch.cat([xh, xp])).chunk(2)
        if keyed:
            g = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,), generator=gen).item())) if gen else None
            if g is not None:
                perm = torch.argsort(torch.rand(zp.shape[0], zp[0].numel(), generator=g), dim=1).to(zp.device)
                signs = torch.randint(0, 2, perm.shape, generator=g).float().mul_(2).sub_(1).to(zp.device)
            else:
                perm, signs = random_transforms(zp.shape[0], zp[0].numel(), zp.device)
            zp = scramble(zp, perm, signs)
        zc, _ = inn.embed(zh, zp)
        zc = normalize_power(zc)
        y = StegoSystem.channel(zc, snr, generator=gen)
        zh_hat, zp_hat = inn.extract(y, inn.lost_estimate(y))
        return zh_hat, unscramble(zp_hat, perm, signs) if keyed else zp_hat


def main(argv=None) -> int:
    ap = parser(__doc__, minutes=7.0, batch=64, lr=1e-4)
    ap.add_argument("--keyed", action="store_true", help="the keyed scheme's path (a keyed INN)")
    ap.add_argument("--private-only", action="store_true", help="train the decoder on the private path only")
    ap.add_argument("--out", default=None, help="write the fine-tuned codec (kind deepjscc) here")
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
        zh, zp = bob_latents(jscc, inn, xh, xp, float(torch.empty(()).uniform_(0, 20)), keyed=a.keyed)
        loss = (dec(zp) - xp).pow(2).mean()
        if not a.private_only:
            loss = loss + (dec(zh) - xh).pow(2).mean()
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
            zh, zp = bob_latents(jscc, inn, xh, xp, snr, g, keyed=a.keyed)
            z = jscc.encoder(xp)
            plain = jscc.decoder(StegoSystem.channel(z, snr, generator=g))
            row = [psnr(jscc.decoder(zp), xp).mean(), psnr(dec(zp), xp).mean(), psnr(jscc.decoder(zh), xh).mean(),
                   psnr(dec(zh), xh).mean(), psnr(plain, xp).mean()]
        print(f"{snr:4.0f} dB: private {row[0]:.2f} -> {row[1]:.2f}, host {row[2]:.2f} -> {row[3]:.2f}, "
              f"DeepJSCC private {row[4]:.2f}", flush=True)
    if a.out:
        out = copy.deepcopy(jscc).cpu()
        out.decoder.load_state_dict(dec.cpu().state_dict())
        save_model(out, a.out, steps=step, wall_time_s=round(time.time() - t0, 1), inn=str(a.inn), keyed=a.keyed,
                   private_only=a.private_only, batch=a.batch, lr=a.lr)
        print(f"wrote {a.out}.safetensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
