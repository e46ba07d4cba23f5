"""Seconds per image of the evaluation metrics and of ``stegsem eval``, before and after the fast
metrics, measured in one run (so the ratios hold on a shared, noisy machine).

    .venv/bin/python tools/benchmark_metrics.py [--threads 1,2] [--batch 16] [--size 256] [--compares 4]
        [--eval] [--eval-threads 1] [--limit 16] [--old-rev e9413b5] [--nchw] [--json OUT]

Metrics (torch threads each of ``--threads``): a batch of ``--batch`` reference faces (256^2 crops of
../shared/data/faces/test, else random images) compared with ``--compares`` different distorted
copies, as in ``stegsem eval`` where each reference meets every (scheme, SNR, receiver):
  * old: per comparison ``pytorch_msssim.ms_ssim`` on NCHW tensors (its plain use) and on
    channels-last copies (what gr_stegsem.metrics did before), and ``lpips.LPIPS(net='alex')`` on
    both images (the reference's features recomputed every time);
  * new: :func:`gr_stegsem.metrics.all_metrics` against a :class:`Prepared` reference (its LPIPS
    features and MS-SSIM statistics computed once; that cost is included, spread over the
    comparisons), and Eve's case where the reconstruction is Prepared too (compared with the
    private image and the host: two comparisons per reconstruction).
The largest difference between the old and new values is printed (it must stay below 1e-4).

``--eval``: ``stegsem eval`` on the first ``--limit`` faces/test with scenes/test hosts (the three
default schemes, --snrs 0,10,20, --attacks naive, --mia-steps 0) with the code of ``--old-rev``
(default: the commit before the fast metrics; ``git archive`` into a temporary folder) and with this
checkout's, each in a fresh process per torch thread count of ``--eval-threads``; ``--nchw`` adds
the old code with pytorch_msssim on NCHW tensors (the state the issue measured). Per image: the
seconds of evaluate() less its figures and tables (write_outputs), divided by the images; the
records of every variant are compared with the old ones.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("STEGSEM_SHARED", ROOT.parent / "shared")) / "data"
OLD_REV = "e9413b5"  # the last commit before the fast metrics (pytorch_msssim channels-last + uncached LPIPS)


def images(n: int, size: int):
    import torch

    from gr_stegsem.images import list_images, load_image

    folder = SHARED / "faces" / "test"
    if folder.is_dir():
        files = list_images(folder)[:n]
        if len(files) == n:
            return torch.stack([load_image(f, size=(size, size)) for f in files]), "faces/test"
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0)), "random"


def timed(fns: dict, reps: int = 3) -> dict[str, float]:
    """Median seconds of each ``fns[name]()`` after one warm-up call each (oneDNN primitive
    creation), the functions taking turns in every round so that a change of the machine's load
    falls on all of them."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}


def bench_metrics(threads: int, batch: int, size: int, compares: int, reps: int) -> dict:
    import torch
    from pytorch_msssim import ms_ssim as reference_ms_ssim

    from gr_stegsem.metrics import Prepared, all_metrics, lpips_package_model, psnr

    torch.set_num_threads(threads)
    ref, source = images(batch, size)
    host = ref.flip(0)  # another reference batch for Eve's second comparison
    g = torch.Generator().manual_seed(1)
    xs = [(ref + s * torch.randn(ref.shape, generator=g)).clamp(0, 1) for s in torch.linspace(0.03, 0.2, compares)]
    model = lpips_package_model("cpu")  # the lpips package itself, as the old code ran it
    cl = torch.channels_last

    def old(msssim_layout):
        out = []
        with torch.no_grad():
            for x in xs:
                a, b = (x.contiguous(memory_format=cl), ref.contiguous(memory_format=cl)) if msssim_layout == "cl" \
                    else (x, ref)
                out.append({"psnr": psnr(x, ref),
                            "ms_ssim": reference_ms_ssim(a, b, data_range=1.0, size_average=False),
                            "lpips": model(x * 2 - 1, ref * 2 - 1).flatten()})
        return out

    def new():
        p = Prepared(ref)
        return [all_metrics(x, p) for x in xs]

    def new_eve():  # each reconstruction against the private image and the host
        p, h = Prepared(ref), Prepared(host)
        out = []
        for x in xs:
            px = Prepared(x)
            out += [all_metrics(px, p), all_metrics(px, h)]
        return out

    n = compares * batch
    res = {"threads": threads, "images": source, "batch": batch, "size": size, "compares": compares}
    t = timed({"old_nchw": lambda: old("nchw"), "old_cl": lambda: old("cl"), "new": new, "new_eve": new_eve}, reps)
    res.update({k: v / n for k, v in t.items()})
    res["old_cl_eve"] = 2 * res["old_cl"]  # the old code compares twice, as above
    want, got, got_eve = old("nchw"), new(), new_eve()
    res["max_abs_diff"] = max(float((w[k] - gn[k]).abs().max()) for w, gn in zip(want, got) for k in want[0])
    res["max_abs_diff_eve"] = max(float((w[k] - gn[k]).abs().max()) for w, gn in zip(want, got_eve[::2])
                                  for k in want[0])
    return res


# run in a fresh interpreter with PYTHONPATH set to the code under test; prints one JSON line
EVAL_SNIPPET = r"""
import json, sys, time
import torch
cfg = json.loads(sys.argv[1])
torch.set_num_threads(cfg["threads"])
from gr_stegsem import evaluate as ev, metrics
if cfg["nchw"]:
    from pytorch_msssim import ms_ssim as _ms
    metrics.ms_ssim = lambda x, y: _ms(x.float(), y.float(), data_range=1.0, size_average=False)
spent = {"outputs": 0.0}
_write = ev.write_outputs
def write_outputs(*a, **k):
    t = time.perf_counter(); _write(*a, **k); spent["outputs"] += time.perf_counter() - t
ev.write_outputs = write_outputs
s = ev.EvalSettings(data=cfg["data"], hosts=cfg["hosts"], out=cfg["out"], limit=cfg["limit"], snrs=(0.0, 10.0, 20.0),
                    mia_steps=0, attacks=("naive",), models_dir=cfg["models"])
flops = None
if cfg.get("flops"):  # count every torch FLOP of evaluate(); the fused INN's oneDNN kernels are not
    from torch.utils.flop_counter import FlopCounterMode  # counted, so the eager INN runs instead
    from gr_stegsem.system import StegoSystem
    StegoSystem._inn_fused = lambda self: self.inn
    counter = FlopCounterMode(display=False)
    counter.__enter__()
t = time.perf_counter()
ev.evaluate(s, progress=False)
total = time.perf_counter() - t
if cfg.get("flops"):
    counter.__exit__(None, None, None)
    flops = counter.get_total_flops()
print("RESULT " + json.dumps({"evaluate_s": total, "outputs_s": spent["outputs"], "module": ev.__file__,
                              "flops": flops}))
"""


def bench_eval(code: Path, threads: int, limit: int, out: Path, nchw: bool = False, flops: bool = False) -> dict:
    cfg = {"threads": threads, "nchw": nchw, "limit": limit, "out": str(out), "models": str(ROOT / "models"),
           "flops": flops,
           "data": str(SHARED / "faces" / "test"), "hosts": str(SHARED / "scenes" / "test")}
    env = dict(os.environ, PYTHONPATH=str(code), OMP_NUM_THREADS=str(threads))
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", EVAL_SNIPPET, json.dumps(cfg)], env=env, capture_output=True,
                       text=True, cwd=code)
    wall = time.perf_counter() - t
    line = next((ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if p.returncode != 0 or line is None:
        raise RuntimeError(f"eval with {code} failed:\n{p.stderr[-3000:]}")
    r = json.loads(line[len("RESULT "):])
    if not r["module"].startswith(str(code)):
        raise RuntimeError(f"the eval ran {r['module']}, not the code under {code}")
    r.update(wall_s=wall, per_image_s=(r["evaluate_s"] - r["outputs_s"]) / limit, threads=threads)
    r["records"] = json.loads((out / "results.json").read_text())
    return r


def floor(runs: dict, threads: int, limit: int, out: Path) -> dict:
    """The eval's FLOPs per image (this checkout, counted in a separate run) and the seconds they take at
    this core's fp32 matmul peak (best of 10 1024³ matmuls, ``threads`` torch threads): the bound on the
    time per image of any implementation that computes the same numbers the same way in fp32."""
    import torch

    sys.path.insert(0, str(ROOT / "tools"))
    from benchmark_precision import peak_gflops

    torch.set_num_threads(threads)
    peak = peak_gflops(torch.float32)
    counted = bench_eval(ROOT, threads, limit, out, flops=True)
    per_image = counted["flops"] / limit
    floor_s = per_image / (peak * 1e9)
    res = {"threads": threads, "gflop_per_image": per_image / 1e9, "peak_gflops": peak, "floor_s_per_image": floor_s,
           "records_max_diff_vs_old": records_diff(runs["old"]["records"], counted["records"])}
    old_s, new_s = runs["old"]["per_image_s"], runs["new"]["per_image_s"]
    print(f"  floor: {res['gflop_per_image']:.1f} GFLOP per image; at {peak:.0f} GFLOP/s ({threads} thread(s)) "
          f"{floor_s:.3f} s/image: old {old_s:.3f} s is {old_s / floor_s:.1f}x the floor (the most any fp32 "
          f"implementation of these numbers can gain), new {new_s:.3f} s is {new_s / floor_s:.1f}x; "
          f"5x of old = {old_s / 5:.3f} s/image")
    return res


def records_diff(a: list[dict], b: list[dict]) -> float:
    """Largest difference of PSNR / MS-SSIM / LPIPS / id_rate between two runs' records."""
    if [(r["system"], r["receiver"], r["target"], r["snr_db"]) for r in a] != \
            [(r["system"], r["receiver"], r["target"], r["snr_db"]) for r in b]:
        return float("inf")
    return max(abs((x.get(k) or 0) - (y.get(k) or 0)) for x, y in zip(a, b)
               for k in ("psnr", "ms_ssim", "lpips", "id_rate"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", default="1,2", help="torch thread counts of the metrics benchmark")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--compares", type=int, default=4, help="distorted copies compared with each reference")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--no-metrics", action="store_true", help="only the eval timing")
    ap.add_argument("--eval", action="store_true", help="also time stegsem eval, old code vs new")
    ap.add_argument("--eval-threads", default="1")
    ap.add_argument("--limit", type=int, default=16)
    ap.add_argument("--old-rev", default=OLD_REV)
    ap.add_argument("--nchw", action="store_true", help="also the old code with pytorch_msssim on NCHW tensors")
    ap.add_argument("--floor", action="store_true",
                    help="with --eval: count the FLOPs of this checkout's eval (torch.utils.flop_counter, eager INN) "
                         "and the seconds per image they take at this core's fp32 matmul peak")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    try:
        threads = [int(t) for t in a.threads.split(",")]
        eval_threads = [int(t) for t in a.eval_threads.split(",")]
    except ValueError:
        print("benchmark_metrics: --threads / --eval-threads are comma-separated integers", file=sys.stderr)
        return 2
    report = {"metrics": [], "eval": []}
    if not a.no_metrics:
        print(f"metrics: seconds per image comparison (batch {a.batch}, {a.size}^2, {a.compares} comparisons "
              "per reference)")
        for n in threads:
            r = bench_metrics(n, a.batch, a.size, a.compares, a.reps)
            report["metrics"].append(r)
            print(f"  threads {n} ({r['images']}): old NCHW {r['old_nchw']:.4f}  old channels-last {r['old_cl']:.4f}"
                  f"  new {r['new']:.4f}  ->  {r['old_nchw'] / r['new']:.1f}x vs NCHW, {r['old_cl'] / r['new']:.1f}x"
                  f" vs channels-last; Eve (2 refs) old {r['old_cl_eve']:.4f} new {r['new_eve']:.4f} "
                  f"({r['old_cl_eve'] / r['new_eve']:.1f}x); "
                  f"max |new - old| {max(r['max_abs_diff'], r['max_abs_diff_eve']):.1e}")
    if a.eval:
        if not (SHARED / "faces" / "test").is_dir() or not (SHARED / "scenes" / "test").is_dir():
            print(f"benchmark_metrics: --eval needs {SHARED}/faces/test and scenes/test", file=sys.stderr)
            return 2
        with tempfile.TemporaryDirectory() as tmp:
            old = Path(tmp) / "old"
            old.mkdir()
            arch = subprocess.run(["git", "-C", str(ROOT), "archive", a.old_rev, "gr_stegsem"], capture_output=True)
            if arch.returncode != 0:
                print(f"benchmark_metrics: git archive {a.old_rev} failed: {arch.stderr.decode().strip()}",
                      file=sys.stderr)
                return 2
            with tarfile.open(fileobj=io.BytesIO(arch.stdout)) as tf:
                tf.extractall(old)  # this repository's own files
            variants = [("old", old, False)] + ([("old-nchw", old, True)] if a.nchw else []) + [("new", ROOT, False)]
            print(f"stegsem eval, {a.limit} faces x 3 schemes x SNRs 0,10,20 (+5 for Eve), naive Eve; "
                  f"old = {a.old_rev}")
            for n in eval_threads:
                runs = {}
                for name, code, nchw in variants:
                    runs[name] = bench_eval(code, n, a.limit, Path(tmp) / f"{name}-{n}", nchw)
                base = runs["old"]
                for name, r in runs.items():
                    r["records_max_diff_vs_old"] = records_diff(base["records"], r["records"])
                    print(f"  threads {n} {name:8s}: {r['per_image_s']:.3f} s/image (evaluate {r['evaluate_s']:.1f} s, "
                          f"of which figures {r['outputs_s']:.1f} s; process {r['wall_s']:.1f} s)  "
                          f"{base['per_image_s'] / r['per_image_s']:.2f}x; records max |diff| vs old "
                          f"{r['records_max_diff_vs_old']:.1e}")
                    report["eval"].append({k: v for k, v in r.items() if k != "records"} | {"variant": name})
                if a.floor:
                    report["floor"] = floor(runs, n, a.limit, Path(tmp) / f"flops-{n}")
    if a.json:
        a.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
