"""The seed 004 complexity table for gr-stegsem's schemes: parameters, FLOPs per 256x256 image
(torch.utils.flop_counter, Alice and Bob), training time per epoch (from the shipped models' CSV logs)
and inference time per image on this CPU (median of repeats, one thread).

  .venv/bin/python tools/complexity.py [--systems deepjscc,stego-l3_2,...] [--repeats 5] [--out FILE.md]

FLOPs count the model networks (a multiply-add = 2 FLOPs), plus DeepJSCEC's LWE products (numpy, counted
from their sizes by ``JSCECScheme.cipher_flops``); the keyed transform, DP noise, shuffling and QAM
mapping are O(k) index/elementwise work and are in the measured times only. An epoch is one pass over
faces/train (22,191 images) at the model's training batch size.
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gr_stegsem import keys, schemes  # noqa: E402
from gr_stegsem.system import MODELS_DIR  # noqa: E402

EPOCH_IMAGES = 22191
DEFAULT = ("deepjscc,stego-l3_2,stego-keyed-l3_2,stego-covert-l3_2,stego-cnn-l3_2,dp-0.9,shuffle,shuffle-static,ibal-b0.3,"
           "lbvq-16,jscec-n512")


def flops(fn) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


def params(s) -> int:
    return sum(p.numel() for m in s.published().models.values() for p in m.parameters())


def train_time(name: str) -> str:
    """Minutes per epoch on this CPU from the model's JSON: its CPU run's wall time per step x steps per
    epoch at its batch (the mean over that run's crops; a GPU fine-tuning is not counted)."""
    info = MODELS_DIR / f"{'deepjscc-bcr12' if name == 'deepjscc' else name}.json"
    if name != "deepjscc" and not name.startswith(("stego-", "ibal-", "lbvq-", "jscec-")):
        return "– (no training: a fixed transform around the public codec)"
    d = json.loads(info.read_text())
    per_step = d["wall_time_s"] / d["steps"]
    if d.get("init"):  # a fine-tuning: its own steps (from the run's CSV) after the model it started from
        rows = list(csv.DictReader(open(info.with_suffix(".csv"))))
        per_step = float(rows[-1]["wall_s"]) / len(rows)
    return f"{per_step * EPOCH_IMAGES / d['batch'] / 60:.1f} min (batch {d['batch']}, crop {d['crop']})"


def timed(fn, repeats: int) -> float:
    fn()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", default=DEFAULT)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    import os

    os.environ["STEGSEM_FAST_INFERENCE"] = "0"  # FLOPs: the eager INN (the fused oneDNN path is not counted)
    x = torch.rand(1, 3, a.size, a.size)
    k = keys.Key.generate()
    lines = [f"| scheme | parameters | GFLOPs Alice / Bob per {a.size}² image | training time per epoch (this CPU) | "
             "inference ms Alice / Bob (1 thread) |", "|---|---|---|---|---|"]
    for name in a.systems.split(","):
        s = schemes.load(name)
        os.environ["STEGSEM_FAST_INFERENCE"] = "0"
        if hasattr(s, "_fused"):
            s._fused = None
        host = x.flip(-1) if s.carries_host else None
        tx = s.alice(host, x, key=k, nonce=1)
        y = s.channel(tx, 10.0)

        def alice():
            return s.alice(host, x, key=k, nonce=1)

        def bob():
            return s.bob(y, (a.size, a.size), key=k, nonce=1)

        with torch.inference_mode():
            fa, fb = flops(alice), flops(bob)
            if hasattr(s, "cipher_flops"):  # products outside torch (the LWE cipher)
                ca, cb = s.cipher_flops(a.size, a.size)
                fa, fb = fa + ca, fb + cb
            os.environ["STEGSEM_FAST_INFERENCE"] = "1"  # the times: what the blocks and eval run
            if hasattr(s, "_fused"):
                s._fused = None
            ta, tb = timed(alice, a.repeats), timed(bob, a.repeats)
        lines.append(f"| {s.label} | {params(s):,} | {fa / 1e9:.2f} / {fb / 1e9:.2f} | {train_time(name)} | "
                     f"{ta * 1e3:.0f} / {tb * 1e3:.0f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines) + "\n"
    if a.out:
        a.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
