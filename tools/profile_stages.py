"""Time each stage of the chains, bare (no flowgraph): the breakdown quoted in the README.

Also prints the shipped models' parameter counts (quoted in models/README.md).

    .venv/bin/python tools/profile_stages.py [--sizes 256,512] [--threads 2] [--reps 10]

Milliseconds per call (median after two warm-up calls) for: one encoder pass, a batch-2 encoder
pass, INN embed, INN extract, one decoder pass, StegoSystem.alice / .bob, and building / parsing
an image PDU (the GNU Radio part; skipped when GNU Radio is not importable).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gr_stegsem.samples import default_host, default_private  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402


def ms(fn, reps: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--model", default="stego-l3_2")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    s = StegoSystem.shipped(a.model)
    try:
        from gr_stegsem.blocks.pdus import image_pdu, parse_image_pdu
    except ImportError:
        image_pdu = parse_image_pdu = None
    n_jscc = sum(p.numel() for p in s.jscc.parameters())
    n_inn = sum(p.numel() for p in s.inn.parameters())
    print(f"parameters: deepjscc-bcr12 {n_jscc:,}, {a.model} {n_inn:,}")
    print(f"torch threads: {a.threads}; milliseconds per call (median of {a.reps})")
    print("| size | encode x1 | encode batch 2 | INN embed | INN extract | decode x1 | alice | bob | "
          "image PDU build | image PDU parse |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in (int(v) for v in a.sizes.split(",")):
        xh, xp = default_host(size)[None], default_private(size)[None]
        x2 = torch.cat([xh, xp])
        zh, zp = s.encode(xh), s.encode(xp)
        zc = s.alice(xh, xp)
        row = [ms(lambda: s.encode(xp), a.reps), ms(lambda: s.encode(x2), a.reps),
               ms(lambda: s.embed(zh, zp), a.reps), ms(lambda: s.extract(zc), a.reps),
               ms(lambda: s.decode(zp), a.reps), ms(lambda: s.alice(xh, xp), a.reps),
               ms(lambda: s.bob(zc), a.reps)]
        if image_pdu is not None:
            pdu = image_pdu(xp[0], 0, "private")
            row += [ms(lambda: image_pdu(xp[0], 0, "private"), a.reps), ms(lambda: parse_image_pdu(pdu), a.reps)]
        else:
            row += [float("nan")] * 2
        print(f"| {size} | " + " | ".join(f"{v:.1f}" for v in row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
