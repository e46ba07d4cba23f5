"""The DeepJSCEC parameter trade-off: security (primal-uSVP core-SVP estimate) against decryption noise.

    .venv/bin/python tools/lwe_parameters.py [--n 192,256,384,512,640] [--sigma 3.54,8.87]

For each LWE dimension n and error std σ (q = 4093, p = 16, ternary secrets): the BKZ block size β and
its classical / quantum core-SVP cost (:func:`gr_stegsem.lwe.core_svp`), the decryption noise std in Z_q
units and as a phase (rad), the Es/N0 at which AWGN alone would give that phase noise (the floor the
cipher puts under Bob: 1 / (2 std^2)), and the header c1's size in bits. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gr_stegsem import lwe  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", default="192,256,384,512,640")
    ap.add_argument("--sigma", default="3.54,8.87")
    a = ap.parse_args(argv)
    print("| n | σ | β | core-SVP bits classical / quantum | decryption noise std (Z_q) | phase std (rad) "
          "| Es/N0 floor (dB) | header c1 (bits) |")
    print("|---|---|---|---|---|---|---|---|")
    for sigma in (float(s) for s in a.sigma.split(",")):
        for n in (int(v) for v in a.n.split(",")):
            p = lwe.LWEParams(n=n, sigma=sigma)
            est = lwe.core_svp(p)
            ph = lwe.phase_noise_std(p)
            floor = 10 * math.log10(1 / (2 * ph ** 2))
            print(f"| {n} | {sigma:g} | {est['beta']} | {est['classical_bits']:.0f} / {est['quantum_bits']:.0f} | "
                  f"{lwe.decryption_noise_std(p):.0f} | {ph:.3f} | {floor:.1f} | {lwe.header_bits(p):,} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
