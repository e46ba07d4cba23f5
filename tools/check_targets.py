"""Check the evaluation against the targets of the neural-system issue; prints a table, exits 1 on a miss.

    python tools/check_targets.py out/paper/results.json [out/kodak/results.json]
"""
import json
import sys


def get(recs, system, receiver, target, snr, metric):
    for r in recs:
        if (r["system"], r["receiver"], r["target"], r["snr_db"]) == (system, receiver, target, snr):
            return r[metric]
    raise KeyError(f"no record {system}/{receiver}/{target} at {snr} dB")


def main(paper, kodak=None) -> int:
    recs = json.load(open(paper))
    rows, ok = [], True

    def check(name, value, cond, bound):
        nonlocal ok
        good = cond(value)
        ok &= good
        rows.append(f"| {name} | {value:.3f} | {bound} | {'yes' if good else 'NO'} |")

    snrs = sorted({r["snr_db"] for r in recs if r["receiver"] == "bob" and r["snr_db"] >= 5})
    for v in ("stego-l3_2", "stego-l3_4"):
        for snr in snrs:
            base = get(recs, "deepjscc", "bob", "private", snr, "psnr")
            check(f"{v} Bob private PSNR gap to DeepJSCC at {snr:g} dB",
                  base - get(recs, v, "bob", "private", snr, "psnr"), lambda d: d <= 1.5, "≤ 1.5 dB")
            hbase = get(recs, "deepjscc", "bob", "host", snr, "psnr")
            check(f"{v} Bob host PSNR gap to DeepJSCC at {snr:g} dB",
                  hbase - get(recs, v, "bob", "host", snr, "psnr"), lambda d: d <= 1.5, "≤ 1.5 dB")
        check(f"{v} Eve naive MS-SSIM(private) at 5 dB", get(recs, v, "eve-naive", "private", 5.0, "ms_ssim"),
              lambda x: x <= 0.30, "≤ 0.30")
        check(f"{v} Eve MIA MS-SSIM(private) at 5 dB", get(recs, v, "eve-mia", "private", 5.0, "ms_ssim"),
              lambda x: x <= 0.20, "≤ 0.20")
        check(f"{v} Eve naive MS-SSIM(host) at 5 dB", get(recs, v, "eve-naive", "host", 5.0, "ms_ssim"),
              lambda x: x >= 0.90, "≥ 0.90")
    check("DeepJSCC Eve naive MS-SSIM(private) at 5 dB (the leak)",
          get(recs, "deepjscc", "eve-naive", "private", 5.0, "ms_ssim"), lambda x: x >= 0.90, "≥ 0.90")
    if kodak:
        k = json.load(open(kodak))
        rows.append(f"| DeepJSCC on Kodak at 10 dB, PSNR | {get(k, 'deepjscc', 'bob', 'private', 10.0, 'psnr'):.2f} | "
                    "≥ 27 dB (Bourtsoulatze et al.) | reported |")
    print("| target | measured | bound | met |\n|---|---|---|---|")
    print("\n".join(rows))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
