"""``stegsem eval`` in fp32 and in a reduced precision (bf16 or int8) on the same images, seeds and noise.

    .venv/bin/python tools/precision_eval.py --data ../shared/data/faces/test --hosts ../shared/data/scenes/test
        [--precision bf16|int8] [--int8-float LAYERS ...] [--int8-observer minmax|histogram]
        [--limit 8] [--snrs 0,5,10,15,20]
        [--systems deepjscc,stego-l3_2] [--attacks naive,mia] [--mia-steps 50] [--mia-limit 4]
        [--out /tmp/precision_eval]

Runs :func:`gr_stegsem.evaluate.evaluate` (what ``stegsem eval --precision P`` runs) once in fp32 and once per
variant of ``--precision`` into OUT/<variant> and prints, for every (system, receiver, target, SNR), both
PSNRs (dB) and their difference, then the largest |difference| per system and receiver; exits 1 when one
exceeds ``--bound`` dB (default 0.05 for Bob and the naive Eve, ``--mia-bound`` 0.1 for the model inversion).
For int8 each ``--int8-float`` value (comma-separated layer prefixes, e.g. ``inn`` or ``encoder,inn``; ``''``
for none) is one variant, run with $STEGSEM_INT8_FLOAT set to it (gr_stegsem.precision.int8_models), and
``--int8-observer`` sets $STEGSEM_INT8_OBSERVER (how the activation ranges are calibrated) for all of them.
The naive Eve decodes with the public fp32 models in every run (her models are hers); under int8 her
PSNR moves only with Alice's int8 container.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gr_stegsem import precision  # noqa: E402
from gr_stegsem.evaluate import EvalSettings, evaluate  # noqa: E402


def run(a, p: str, label: str) -> dict:
    s = EvalSettings(data=a.data, hosts=a.hosts, out=a.out / label, limit=a.limit,
                     snrs=tuple(float(v) for v in a.snrs.split(",")), mia_steps=a.mia_steps,
                     mia_limit=a.mia_limit, systems=tuple(a.systems.split(",")),
                     attacks=tuple(a.attacks.split(",")), precision=p)
    return {(r["system"], r["receiver"], r["target"], r["snr_db"]): r for r in evaluate(s, progress=False)
            if r.get("psnr") is not None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--hosts", type=Path, required=True)
    ap.add_argument("--precision", default="bf16", choices=("bf16", "int8"))
    ap.add_argument("--int8-float", action="append", default=None,
                    help="layers int8 keeps float32 ($STEGSEM_INT8_FLOAT); repeat for several variants")
    ap.add_argument("--int8-observer", choices=("minmax", "histogram"), default=None,
                    help="activation-range observer of int8 ($STEGSEM_INT8_OBSERVER; default minmax)")
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
    if a.int8_observer:
        os.environ[precision.INT8_OBSERVER_ENV] = a.int8_observer
    ref = run(a, "fp32", "fp32")
    variants = [(a.precision, None)] if a.precision != "int8" else [("int8", v) for v in (a.int8_float or [""])]
    bad_any = False
    for p, keep in variants:
        obs = f", {a.int8_observer}" if a.int8_observer else ""
        label = p if keep is None else f"int8[{keep or 'all quantized'}{obs}]"
        old = os.environ.get(precision.INT8_FLOAT_ENV)
        if keep is not None:
            os.environ[precision.INT8_FLOAT_ENV] = keep
        try:
            got = run(a, p, label.replace(",", "+").replace(" ", "_"))
        finally:
            if keep is not None:
                if old is None:
                    os.environ.pop(precision.INT8_FLOAT_ENV, None)
                else:
                    os.environ[precision.INT8_FLOAT_ENV] = old
        print(f"\n{label}\n| system | receiver | target | SNR (dB) | PSNR fp32 | PSNR {p} | Δ (dB) |\n"
              "|---|---|---|---|---|---|---|")
        worst: dict[tuple[str, str], float] = {}
        for key in sorted(ref):
            if key not in got:
                continue
            p32, pq = ref[key]["psnr"], got[key]["psnr"]
            worst[key[:2]] = max(worst.get(key[:2], 0.0), abs(pq - p32))
            print(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]:g} | {p32:.3f} | {pq:.3f} | {pq - p32:+.3f} |")
        print(f"\n{label}: largest |Δ PSNR| per system and receiver (every target and SNR): " + ", ".join(
            f"{s} {r} {v:.3f} dB" for (s, r), v in sorted(worst.items())))
        bad = [f"{s} {r}" for (s, r), v in worst.items() if v > (a.mia_bound if r == "eve-mia" else a.bound)]
        if bad:
            print(f"{label}: over the bound: {', '.join(bad)}")
            bad_any = True
    return 1 if bad_any else 0


if __name__ == "__main__":
    sys.exit(main())
