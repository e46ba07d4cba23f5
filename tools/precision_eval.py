"""``stegsem eval`` in fp32 and in bf16 on the same images, seeds and noise: Bob's and Eve's PSNR per SNR.

    .venv/bin/python tools/precision_eval.py --data ../shared/data/faces/test --hosts ../shared/data/scenes/test
        [--limit 8] [--snrs 0,5,10,15,20] [--systems deepjscc,stego-l3_2] [--attacks naive,mia]
        [--mia-steps 50] [--mia-limit 4] [--out /tmp/precision_eval]

Runs :func:`gr_stegsem.evaluate.evaluate` (what ``stegsem eval --precision P`` runs) once per precision
into OUT/fp32 and OUT/bf16 and prints, for every (system, receiver, target, SNR), both PSNRs (dB), their
difference, and the largest |difference| per receiver; exits 1 when one exceeds ``--bound`` dB
(default 0.05 for Bob and the naive Eve, ``--mia-bound`` 0.1 for the model inversion).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gr_stegsem.evaluate import EvalSettings, evaluate  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--hosts", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=8)
    ap.add_argument("--snrs", default="0,5,10,15,20")
    ap.add_argument("--systems", default="deepjscc,stego-l3_2")
    ap.add_argument("--attacks", default="naive,mia")
    ap.add_argument("--mia-steps", type=int, default=50)
    ap.add_argument("--mia-limit", type=int, default=4)
    ap.add_argument("--bound", type=float, default=0.05)
    ap.add_argument("--mia-bound", type=float, default=0.1)
    ap.add_argument("--out", type=Path, default=Path("/tmp/precision_eval"))
    a = ap.parse_args()
    recs = {}
    for p in ("fp32", "bf16"):
        s = EvalSettings(data=a.data, hosts=a.hosts, out=a.out / p, limit=a.limit,
                         snrs=tuple(float(v) for v in a.snrs.split(",")), mia_steps=a.mia_steps,
                         mia_limit=a.mia_limit, systems=tuple(a.systems.split(",")),
                         attacks=tuple(a.attacks.split(",")), precision=p)
        recs[p] = {(r["system"], r["receiver"], r["target"], r["snr_db"]): r for r in evaluate(s, progress=False)
                   if r.get("psnr") is not None}
    print("| system | receiver | target | SNR (dB) | PSNR fp32 | PSNR bf16 | Δ (dB) |\n|---|---|---|---|---|---|---|")
    worst: dict[str, float] = {}
    for key in sorted(recs["fp32"]):
        if key not in recs["bf16"]:
            continue
        p32, p16 = recs["fp32"][key]["psnr"], recs["bf16"][key]["psnr"]
        worst[key[1]] = max(worst.get(key[1], 0.0), abs(p16 - p32))
        print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]:g} | {p32:.3f} | {p16:.3f} | {p16 - p32:+.3f} |")
    print("\nlargest |Δ PSNR| per receiver: " + ", ".join(f"{k} {v:.3f} dB" for k, v in sorted(worst.items())))
    bad = [k for k, v in worst.items() if v > (a.mia_bound if k == "eve-mia" else a.bound)]
    if bad:
        print(f"over the bound: {', '.join(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
