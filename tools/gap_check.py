"""Bob's PSNR gap of candidate steganography models to plain DeepJSCC, PSNR only (fast).

A quick model-selection check (no LPIPS / MS-SSIM, so it runs where only torch is installed, e.g.
on a GPU training server); the full measurement is ``stegsem eval`` (tools/reproduce_paper.sh).

  python tools/gap_check.py --inn models/stego-l3_2 --inn other/stego-l3_2 \
      --data ../shared/data/faces/test --hosts ../shared/data/scenes/test --limit 50

Pairs, noise and SNRs are identical for every model (seeded per SNR).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gr_stegsem.evaluate import EvalSettings, load_pairs  # noqa: E402
from gr_stegsem.metrics import psnr  # noqa: E402
from gr_stegsem.system import StegoSystem, default_model  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jscc", default=str(default_model("deepjscc-bcr12")))
    ap.add_argument("--inn", action="append", required=True, help="steganography model path (repeat)")
    ap.add_argument("--data", required=True)
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--limit", type=int, default=50)
    ap.add_argument("--snrs", default="5,10,15,20")
    ap.add_argument("--batch", type=int, default=10)
    a = ap.parse_args(argv)
    snrs = [float(s) for s in a.snrs.split(",")]
    pairs = load_pairs(EvalSettings(data=Path(a.data), hosts=Path(a.hosts), out=Path("."), limit=a.limit))
    xp = torch.stack([p[0] for p in pairs])
    xh = torch.stack([p[1] for p in pairs])
    size = tuple(xp.shape[-2:])

    def run(system: StegoSystem) -> dict[float, tuple[float, float]]:
        res = {}
        for snr in snrs:
            sp = sh = 0.0
            for i in range(0, len(xp), a.batch):
                g = torch.Generator().manual_seed(int(snr * 1000) + i)
                p, h = xp[i:i + a.batch], xh[i:i + a.batch]
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

    base = run(StegoSystem.load(a.jscc))
    print(f"{len(xp)} pairs, {size[0]}x{size[1]} px; PSNR dB (gap to DeepJSCC) at SNR " + "/".join(a.snrs.split(",")))
    print("deepjscc        private " + " ".join(f"{base[s][0]:6.2f}" for s in snrs)
          + " | host " + " ".join(f"{base[s][1]:6.2f}" for s in snrs))
    for path in a.inn:
        r = run(StegoSystem.load(a.jscc, path))
        print(f"{Path(path).parent.name}/{Path(path).name}: private "
              + " ".join(f"{r[s][0]:6.2f} ({base[s][0] - r[s][0]:+.2f})" for s in snrs)
              + " | host " + " ".join(f"{r[s][1]:6.2f} ({base[s][1] - r[s][1]:+.2f})" for s in snrs), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
