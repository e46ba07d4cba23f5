"""Time each stage of the chains, bare (no flowgraph): the breakdown quoted in the README.

Also prints the shipped models' parameter counts (quoted in models/README.md).

    .venv/bin/python tools/profile_stages.py [--sizes 256,512] [--threads 2] [--reps 10] [--device cuda]

Milliseconds per call (median after two warm-up calls) for: one encoder pass, a batch-2 encoder
pass, INN embed, INN extract, one decoder pass, StegoSystem.alice / .bob, and building / parsing
an image PDU (the GNU Radio part; skipped when GNU Radio is not importable). A second table gives
the sustained rates of Alice's and Bob's chains in complex symbols per second, one frame per call and
``--batch`` frames per call (what a GPU needs to be busy).
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


SYNC = lambda: None  # noqa: E731  (torch.cuda.synchronize on a GPU)


def ms(fn, reps: int) -> float:
    fn()
    fn()
    SYNC()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        SYNC()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--model", default="stego-l3_2")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--batch", type=int, default=8, help="frames per call for the batched rates")
    a = ap.parse_args()
    global SYNC
    torch.set_num_threads(a.threads)
    dev = torch.device(a.device)
    s = StegoSystem.shipped(a.model)
    s.jscc.to(dev)
    s.inn.to(dev)
    if dev.type == "cuda":
        SYNC = torch.cuda.synchronize
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(dev)}")
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
    rates = []
    for size in (int(v) for v in a.sizes.split(",")):
        xh, xp = default_host(size)[None].to(dev), default_private(size)[None].to(dev)
        x2 = torch.cat([xh, xp])
        zh, zp = s.encode(xh), s.encode(xp)
        zc = s.alice(xh, xp)
        row = [ms(lambda: s.encode(xp), a.reps), ms(lambda: s.encode(x2), a.reps),
               ms(lambda: s.embed(zh, zp), a.reps), ms(lambda: s.extract(zc), a.reps),
               ms(lambda: s.decode(zp), a.reps), ms(lambda: s.alice(xh, xp), a.reps),
               ms(lambda: s.bob(zc), a.reps)]
        k = zc.numel() // 2  # complex symbols per frame
        bh, bp = xh.expand(a.batch, -1, -1, -1).clone(), xp.expand(a.batch, -1, -1, -1).clone()
        bc = s.alice(bh, bp)
        t_alice, t_bob = ms(lambda: s.alice(bh, bp), a.reps), ms(lambda: s.bob(bc), a.reps)
        t_enc, t_dec = ms(lambda: s.encode(bp), a.reps), ms(lambda: s.decode(s.encode(bp)), a.reps)
        rates.append((size, k, row[5], row[6], t_alice / a.batch, t_bob / a.batch, t_enc / a.batch,
                      t_dec / a.batch - t_enc / a.batch))
        if image_pdu is not None and dev.type == "cpu":
            pdu = image_pdu(xp[0], 0, "private")
            row += [ms(lambda: image_pdu(xp[0], 0, "private"), a.reps), ms(lambda: parse_image_pdu(pdu), a.reps)]
        else:
            row += [float("nan")] * 2
        print(f"| {size} | " + " | ".join(f"{v:.1f}" for v in row) + " |")
    print(f"\nsustained rates, M complex symbols/s (x1: one frame per call; x{a.batch}: {a.batch} frames per call)")
    print(f"| size | symbols/frame | alice x1 | bob x1 | alice x{a.batch} | bob x{a.batch} | "
          f"bare encoder x{a.batch} | bare decoder x{a.batch} |")
    print("|---|---|---|---|---|---|---|---|")
    for size, k, *t in rates:
        print(f"| {size} | {k} | " + " | ".join(f"{k / (1e3 * v):.2f}" for v in t) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
