"""Seed 003's baseline for orientation: separate source and channel coding at DeepJSCC's bandwidth.

    .venv/bin/python tools/separate_coding.py [--data ../shared/data/faces/test] [--limit 100]
                                              [--snrs 0,5,10,15,20] [--out out/separate.json]

For each image (H x W) and SNR (Es/N0, dB), the link offers k = 3 H W / 12 complex channel uses (the
bandwidth ratio 1/12 of every scheme here). Two channel-code budgets (``--budget``):

* ``capacity``: k log2(1 + SNR) bits (Shannon; an upper bound no real code reaches);
* ``dvbs2``: k times the spectral efficiency of the best DVB-S2 MODCOD (LDPC + BCH, 64,800-bit frames)
  whose quasi-error-free threshold is at or below the SNR (ETSI EN 302 307-1, Table 13, AWGN):
  a real, standard code family, 0.9-2.2 dB from capacity at these rates; below -2.35 dB nothing.

The source coder is a real codec, JPEG or WebP from Pillow, at the highest
quality whose file (plus 28 bytes for AES-256-GCM's nonce and tag, the encryption the seed pairs it
with) fits that budget; when none fits, nothing is decoded (the digital cliff: Bob shows a mid-grey
image). This is the *best case* of the separate chain: the budget is capacity, and its decoding is
error-free up to it. Prints a table of PSNR / MS-SSIM / LPIPS per SNR and writes them as JSON.
"""
from __future__ import annotations

import argparse
import io
import itertools
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gr_stegsem.images import array_to_tensor, list_images, load_image, tensor_to_array  # noqa: E402
from gr_stegsem.metrics import all_metrics  # noqa: E402

AEAD_BYTES = 28  # AES-256-GCM: 12-byte nonce + 16-byte tag
# DVB-S2 MODCODs: (ideal Es/N0 for quasi-error-free operation, dB; spectral efficiency, bits per symbol),
# ETSI EN 302 307-1 V1.4.1, Table 13 (normal FECFRAME, AWGN, no pilots)
DVBS2 = [(-2.35, 0.490243), (-1.24, 0.656448), (-0.30, 0.789412), (1.00, 0.988858), (2.23, 1.188304),
         (3.10, 1.322253), (4.03, 1.487473), (4.68, 1.587196), (5.18, 1.654663), (6.20, 1.766451),
         (6.42, 1.788612), (5.50, 1.779991), (6.62, 1.980636), (7.91, 2.228124), (9.35, 2.478562),
         (10.69, 2.646012), (10.98, 2.679207), (8.97, 2.637201), (10.21, 2.966728), (11.03, 3.165623),
         (11.61, 3.300184), (12.89, 3.523143), (13.13, 3.567342), (12.73, 3.703295), (13.64, 3.951571),
         (14.28, 4.119540), (15.69, 4.397854), (16.05, 4.453027)]


def capacity_bits(k: int, snr_db: float) -> float:
    """Bits that k complex AWGN channel uses carry at capacity, k log2(1 + 10^(SNR/10))."""
    return k * math.log2(1 + 10 ** (snr_db / 10))


def dvbs2_bits(k: int, snr_db: float) -> float:
    """Bits that k channel uses carry with the best DVB-S2 MODCOD that works at ``snr_db`` (0 if none)."""
    return k * max((eff for thr, eff in DVBS2 if thr <= snr_db), default=0.0)


def encode(img: Image.Image, codec: str, quality: int) -> bytes:
    buf = io.BytesIO()
    if codec == "jpeg":
        img.save(buf, "JPEG", quality=quality, optimize=True)
    else:
        img.save(buf, "WEBP", quality=quality, method=6)
    return buf.getvalue()


def best_fit(img: Image.Image, codec: str, budget_bytes: float) -> bytes | None:
    """The largest-quality encoding that fits ``budget_bytes`` (binary search over quality 1..95)."""
    lo, hi, best = 1, 95, None
    while lo <= hi:
        q = (lo + hi) // 2
        data = encode(img, codec, q)
        if len(data) + AEAD_BYTES <= budget_bytes:
            best, lo = data, q + 1
        else:
            hi = q - 1
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/faces/test")
    ap.add_argument("--limit", type=int, default=100)
    ap.add_argument("--snrs", default="0,5,10,15,20")
    ap.add_argument("--out", default="out/separate.json")
    ap.add_argument("--budget", default="capacity,dvbs2", help="channel-code budgets: capacity, dvbs2 or both")
    a = ap.parse_args(argv)
    snrs = [float(s) for s in a.snrs.split(",")]
    paths = list_images(a.data)[: a.limit]
    if not paths:
        print(f"no images in {a.data}", file=sys.stderr)
        return 1
    rows = []
    budgets = {"capacity": capacity_bits, "dvbs2": dvbs2_bits}
    for budget_name, codec in itertools.product(a.budget.split(","), ("jpeg", "webp")):
        bits_of = budgets[budget_name]
        for snr in snrs:
            recs, refs, fit = [], [], 0
            bpp = []
            for p in paths:
                x = load_image(p)
                h, w = x.shape[-2:]
                k = 3 * h * w // 12
                budget = bits_of(k, snr) / 8
                img = Image.fromarray(tensor_to_array(x))  # the same pixels, not a second read of the file
                data = best_fit(img, codec, budget)
                if data is None:
                    rec = torch.full_like(x, 0.5)
                else:
                    fit += 1
                    bpp.append(8 * len(data) / (h * w))
                    rec = array_to_tensor(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")))
                recs.append(rec)
                refs.append(x)
            m = all_metrics(torch.stack(recs), torch.stack(refs))
            row = {"budget": budget_name, "codec": codec, "snr_db": snr, "images": len(paths), "decoded": fit,
                   "bpp": sum(bpp) / len(bpp) if bpp else 0.0,
                   **{key: float(v.mean()) for key, v in m.items()}}
            rows.append(row)
            print(f"{budget_name:8s} {codec:5s} {snr:5.1f} dB  fit {fit}/{len(paths)}  {row['bpp']:.3f} bpp  "
                  f"PSNR {row['psnr']:.2f}  MS-SSIM {row['ms_ssim']:.4f}  LPIPS {row['lpips']:.4f}", flush=True)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(rows, indent=1) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
