"""Bob's PSNR gap of candidate steganography models to plain DeepJSCC, PSNR only (fast).

A quick model-selection check (no LPIPS / MS-SSIM, so it runs where only torch is installed, e.g.
on a GPU training server); the full measurement is ``stegsem eval`` (tools/reproduce_paper.sh).

  python tools/gap_check.py --inn models/stego-l3_2 --inn other/stego-l3_2 \
      --data ../shared/data/faces/test --hosts ../shared/data/scenes/test --limit 50

Pairs, noise and SNRs are identical for every model (seeded per SNR).

``--equivalent`` adds two numbers that describe the steganography as a power split: the *equivalent SNR*
of each stego reconstruction (the SNR at which plain DeepJSCC reaches the same PSNR on the same images,
interpolated on a 1-dB grid, so ``SNR - equivalent`` is the SNR the hiding costs that image), and the
container's distortion of the host latent, ||z_c - z_h||^2 / ||z_h||^2 in dB (z_c power-normalised).

``--genie`` splits Bob's loss into its causes: his PSNR when he is given the true lost information l
instead of l_hat, and when he is also given the container's power before normalisation (so he can undo
it). What a genie does not recover is lost to the channel noise; add a large SNR (e.g. 60) to see the
noiseless case.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bob_experiment, also when imported (tests)
from gr_stegsem.metrics import psnr  # noqa: E402
from gr_stegsem.models.deepjscc import normalize_power  # noqa: E402
from gr_stegsem.system import StegoSystem, default_model  # noqa: E402

from bob_experiment import test_pairs  # noqa: E402


GRID = (-10, 30)  # dB, the SNR grid of the DeepJSCC curve for --equivalent


def equivalent_snr(curve: dict[float, tuple[float, float]], which: int, value: float) -> float:
    """The SNR (dB) at which the DeepJSCC curve reaches ``value`` dB PSNR (linear interpolation; +-inf off the grid)."""
    snr = np.array(sorted(curve))
    ps = np.array([curve[s][which] for s in snr])
    keep = np.concatenate([[True], ps[1:] > np.maximum.accumulate(ps)[:-1]])  # the first SNR reaching each PSNR
    snr, ps = snr[keep], ps[keep]
    if value < ps[0]:
        return -math.inf
    if value > ps[-1]:
        return math.inf
    return float(np.interp(value, ps, snr))


def rate_ratio(snr_db: float, eq_private_db: float, eq_host_db: float) -> float:
    """Sum of the two images' Gaussian rates log2(1 + SNR_eq) over the channel capacity log2(1 + SNR).

    A unit-variance i.i.d. Gaussian latent sent uncoded over AWGN at SNR s is received at the rate-distortion
    optimum, R = log2(1 + s) bits per symbol (Shannon); two such latents in one symbol stream need the sum of
    their rates. Above 1 the INN is exploiting the latents' redundancy (they are not i.i.d. Gaussian)."""
    def rate(db):
        return math.log2(1 + 10 ** (db / 10))
    return (rate(eq_private_db) + rate(eq_host_db)) / rate(snr_db)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jscc", default=str(default_model("deepjscc-bcr12")))
    ap.add_argument("--inn", action="append", required=True, help="steganography model path (repeat)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--snrs", default="5,10,15,20")
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--genie", action="store_true",
                    help="also Bob's PSNR given the true lost information, and given the container's power too")
    ap.add_argument("--equivalent", action="store_true",
                    help="also the equivalent DeepJSCC SNR of each reconstruction and the container distortion")
    a = ap.parse_args(argv)
    snrs = [float(s) for s in a.snrs.split(",")]
    plain = StegoSystem.load(a.jscc)
    systems = {path: StegoSystem.load(a.jscc, path) for path in a.inn}  # every model checked before any work
    xp, xh = test_pairs(a.data, a.hosts, a.limit)
    size = tuple(xp.shape[-2:])

    def batches(snr: float):
        """(first index, noise generator, private, host) per batch; the noise is seeded by SNR and index only,
        so every model and every measurement meets the same noise."""
        for i in range(0, len(xp), a.batch):
            yield i, torch.Generator().manual_seed(int(snr * 1000) + i), xp[i:i + a.batch], xh[i:i + a.batch]

    def run(system: StegoSystem, snrs=snrs) -> dict[float, tuple[float, float]]:
        res = {}
        for snr in snrs:
            sp = sh = 0.0
            for i, g, p, h in batches(snr):
                if system.secure:
                    out = system.bob(system.channel(system.alice(h, p), snr, generator=g), size)
                    sp += psnr(out["private"], p).sum().item()
                    sh += psnr(out["host"], h).sum().item()
                else:
                    g2 = torch.Generator().manual_seed(int(snr * 1000) + i + 7)
                    sp += psnr(system.bob(system.channel(system.encode(p), snr, generator=g), size)["private"],
                               p).sum().item()
                    sh += psnr(system.bob(system.channel(system.encode(h), snr, generator=g2), size)["private"],
                               h).sum().item()
            res[snr] = (sp / len(xp), sh / len(xp))
        return res

    @torch.inference_mode()
    def genie(system: StegoSystem) -> dict[str, dict[float, tuple[float, float]]]:
        """Bob's PSNR with the true l, and with the true l and the container power (the same noise as run)."""
        res = {"true l": {}, "true l + container power": {}}
        for snr in snrs:
            sums = {k: [0.0, 0.0] for k in res}
            for _, g, p, h in batches(snr):
                zc, lost = system.inn.embed(system.encode(h), system.encode(p))
                power = zc.pow(2).flatten(1).mean(1).view(-1, 1, 1, 1) * 2  # mean |z_c|^2 per image
                y = system.channel(normalize_power(zc), snr, generator=g)
                for what, received in (("true l", y), ("true l + container power", y * power.sqrt())):
                    zh_hat, zp_hat = system.inn.extract(received, lost)
                    sums[what][0] += psnr(system.decode(zp_hat, size), p).sum().item()
                    sums[what][1] += psnr(system.decode(zh_hat, size), h).sum().item()
            for what in res:
                res[what][snr] = (sums[what][0] / len(xp), sums[what][1] / len(xp))
        return res

    base = run(plain)
    if a.equivalent:
        curve = run(plain, [float(s) for s in range(GRID[0], GRID[1] + 1)])
        # the DeepJSCC latents every steganography model embeds
        zh = torch.cat([plain.encode(xh[i:i + a.batch]) for i in range(0, len(xh), a.batch)])
        zp = torch.cat([plain.encode(xp[i:i + a.batch]) for i in range(0, len(xp), a.batch)])
    print(f"{len(xp)} pairs, {size[0]}x{size[1]} px; PSNR dB (gap to DeepJSCC) at SNR " + "/".join(a.snrs.split(",")))
    print("deepjscc        private " + " ".join(f"{base[s][0]:6.2f}" for s in snrs)
          + " | host " + " ".join(f"{base[s][1]:6.2f}" for s in snrs))
    for path, system in systems.items():
        r = run(system)
        print(f"{Path(path).parent.name}/{Path(path).name}: private "
              + " ".join(f"{r[s][0]:6.2f} ({base[s][0] - r[s][0]:+.2f})" for s in snrs)
              + " | host " + " ".join(f"{r[s][1]:6.2f} ({base[s][1] - r[s][1]:+.2f})" for s in snrs), flush=True)
        if a.genie:
            for what, g in genie(system).items():
                print(f"    genie: {what:<24s} private " + " ".join(f"{g[s][0]:6.2f}" for s in snrs)
                      + " | host " + " ".join(f"{g[s][1]:6.2f}" for s in snrs), flush=True)
        if a.equivalent:
            zc = torch.cat([system.embed(zh[i:i + a.batch], zp[i:i + a.batch]) for i in range(0, len(zh), a.batch)])
            dist = ((zc - zh).pow(2).flatten(1).sum(1) / zh.pow(2).flatten(1).sum(1)).mean().item()
            eq = {s: (equivalent_snr(curve, 0, r[s][0]), equivalent_snr(curve, 1, r[s][1])) for s in snrs}
            print(f"    container distortion of the host latent {10 * math.log10(dist):+.1f} dB; equivalent DeepJSCC"
                  " SNR dB: private " + " ".join(f"{eq[s][0]:5.1f}" for s in snrs)
                  + " | host " + " ".join(f"{eq[s][1]:5.1f}" for s in snrs)
                  + "; rate ratio " + " ".join(f"{rate_ratio(s, *eq[s]):.2f}" for s in snrs), flush=True)
    if a.equivalent:
        need = {s: (equivalent_snr(curve, 0, base[s][0] - 1.5), equivalent_snr(curve, 1, base[s][1] - 1.5))
                for s in snrs}
        print("both images within 1.5 dB of DeepJSCC would need equivalent SNR dB: private "
              + " ".join(f"{need[s][0]:5.1f}" for s in snrs) + " | host " + " ".join(f"{need[s][1]:5.1f}" for s in snrs)
              + "; rate ratio " + " ".join(f"{rate_ratio(s, *need[s]):.2f}" for s in snrs))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, OSError) as e:  # a missing model or folder, an image that is not one: one line
        sys.exit(f"gap_check: error: {e}")
