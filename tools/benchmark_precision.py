"""Reduced precision and frames per call: bare models, FLOP ceiling, model inversion and flowgraphs, one run.

    .venv/bin/python tools/benchmark_precision.py [--size 256] [--threads 1] [--batch 4] [--reps 10]
        [--mia-steps 20] [--frames 30] [--no-flowgraph] [--json OUT]

All in one process, so that the ratios (bf16 / fp32, int8 / fp32, B frames per call / 1) compare runs on
the same, possibly loaded, machine; fp32 with one frame per call is the code's state before these options.
A precision this machine cannot run (bf16 without native bfloat16, int8 without a quantized engine) is
reported and left out. int8 is :func:`gr_stegsem.precision.int8_models` as ``--precision int8`` runs it
($STEGSEM_INT8_FLOAT keeps layers float32; its calibration time is printed).
  * machine: native bfloat16, the auto precision's probe, and the measured peak of a 1024³ matmul per
    precision on ``--threads`` threads (GFLOP/s, fastest of 10; the practical compute ceiling here);
  * FLOPs per frame (torch.utils.flop_counter on the eager models; a multiply-add = 2 FLOPs) and the
    ceiling they give: peak / FLOPs per frame * k symbols per frame;
  * bare models, ms per frame (median of ``--reps``, precisions and batch sizes interleaved in each
    repeat): encoder, INN embed / extract, decoder, Alice (2 encoders + embed) and Bob (extract +
    2 decoders), one frame per call and ``--batch`` frames per call;
  * the INN round trip per precision (embed, extract with the true lost information, no noise);
  * the fp32 default path against the same computation without the precision option's additions (no-op
    dtype casts in the fused INN, float32 layers outside autocast), interleaved;
  * a quantized x86/fbgemm convolution (requantized uint8 output) against fp32 on the encoder's layer
    shapes (the probe that preceded the int8 path);
  * model inversion (Eve's MIA; fp32 / bf16 only): seconds per image and Adam step, fp32 / bf16 autocast, one image per
    call / ``--batch``, and the PSNR of its result against the fp32 one-image run;
  * flowgraphs (tools/benchmark_chains.bench): Alice and Bob chains in GNU Radio with the blocks'
    precision and batch parameters, sustained rate over ``--frames`` frames posted at once.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Optional, Union

import torch
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from gr_stegsem import attacks, precision  # noqa: E402
from gr_stegsem.metrics import psnr  # noqa: E402
from gr_stegsem.samples import default_host, default_private  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402

PRECISIONS = ("fp32", "bf16", "int8")


def peak_gflops(dtype: torch.dtype, n: int = 1024, reps: int = 10) -> float:
    """GFLOP/s of the fastest of ``reps`` n³ matmuls (the best moment of a loaded machine)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    best = min(_time(lambda: a @ b) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def _time(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def count_flops(s: StegoSystem, size: int) -> dict:
    xh, xp = default_host(size)[None], default_private(size)[None]
    out = {}
    with torch.inference_mode():
        zh, zp = s.encode(xh), s.encode(xp)
        zc, lost = s.inn.embed(zh, zp)
        for name, fn in (("encoder", lambda: s.jscc.encoder(xp)), ("inn_embed", lambda: s.inn.embed(zh, zp)),
                         ("inn_extract", lambda: s.inn.extract(zc, lost)), ("decoder", lambda: s.jscc.decoder(zp))):
            with FlopCounterMode(display=False) as fc:
                fn()
            out[name] = fc.get_total_flops()
    out["alice"] = 2 * out["encoder"] + out["inn_embed"]
    out["bob"] = out["inn_extract"] + 2 * out["decoder"]
    return out


def bare(systems: dict, size: int, batch: int, reps: int) -> dict:
    """ms per frame: {(precision, frames per call, stage): ms}, stages interleaved in every repeat."""
    xh1, xp1 = default_host(size)[None], default_private(size)[None]
    cases = {}
    for p, s in systems.items():
        for b in sorted({1, batch}):
            xh, xp = xh1.expand(b, -1, -1, -1).clone(), xp1.expand(b, -1, -1, -1).clone()
            zh, zp = s.encode(xh), s.encode(xp)
            zc = s.embed(zh, zp)
            for stage, fn in (("encoder", lambda s=s, xp=xp: s.encode(xp)),
                              ("inn_embed", lambda s=s, zh=zh, zp=zp: s.embed(zh, zp)),
                              ("inn_extract", lambda s=s, zc=zc: s.extract(zc)),
                              ("decoder", lambda s=s, zp=zp: s.decode(zp, (size, size))),
                              ("alice", lambda s=s, xh=xh, xp=xp: s.alice(xh, xp)),
                              ("bob", lambda s=s, zc=zc: s.bob(zc, (size, size)))):
                cases[(p, b, stage)] = fn
    for fn in cases.values():  # warm-up: oneDNN primitives, packed INN weights
        fn()
        fn()
    times = {c: [] for c in cases}
    for _ in range(reps):
        for c, fn in cases.items():
            times[c].append(_time(fn))
    return {c: 1e3 * statistics.median(t) / c[1] for c, t in times.items()}


def round_trip(systems: dict, size: int) -> dict:
    """INN embed -> extract with the true lost information, no noise, per precision: max |error|, relative L2
    error and the fraction of values off by more than 1e-5 (host and private latents)."""
    from gr_stegsem.schemes.base import channels_last

    out = {}
    for p, s in systems.items():
        zh, zp = (channels_last(s.encode(x[None])) for x in (default_host(size), default_private(size)))
        f = s._inn_fused()
        with torch.inference_mode():
            zc, lost = f.embed(zh, zp)
            h, q = f.extract(zc, lost)
        out[p] = {k: {"max": (got - ref).abs().max().item(), "rel": ((got - ref).norm() / ref.norm()).item(),
                      "frac": ((got - ref).abs() > 1e-5).float().mean().item()}
                  for k, got, ref in (("host", h, zh), ("private", q, zp))}
    return out


def int8_convs(reps: int) -> list[tuple[str, float, float]]:
    """(layer, fp32 ms, int8 ms incl. quantize/dequantize) for the encoder's conv shapes at 256x256."""
    import torch.ao.nn.quantized as nnq

    if "x86" in torch.backends.quantized.supported_engines:
        torch.backends.quantized.engine = "x86"
    out = []
    for cin, cout, hw, st in ((3, 16, 256, 2), (16, 32, 128, 2), (32, 32, 64, 1), (32, 8, 64, 1)):
        conv = torch.nn.Conv2d(cin, cout, 5, st, 2).eval()
        x = torch.rand(1, cin, hw, hw).contiguous(memory_format=torch.channels_last)
        q = nnq.Conv2d(cin, cout, 5, st, 2)
        w = torch.quantize_per_channel(conv.weight.detach(), conv.weight.detach().abs().amax((1, 2, 3)) / 127,
                                       torch.zeros(cout, dtype=torch.long), 0, torch.qint8)
        q.set_weight_bias(w, conv.bias.detach())
        q.scale, q.zero_point = 0.05, 128
        with torch.inference_mode():
            f = lambda: conv(x)  # noqa: E731
            g = lambda: q(torch.quantize_per_tensor(x, 1 / 255, 0, torch.quint8)).dequantize()  # noqa: E731
            f(), g()
            t32 = statistics.median(_time(f) for _ in range(reps))
            t8 = statistics.median(_time(g) for _ in range(reps))
        out.append((f"{cin}->{cout} 5x5 s{st} on {hw}²", 1e3 * t32, 1e3 * t8))
    return out


def _embed_without_casts(zh, zp, w: list[torch.Tensor], b: list[torch.Tensor], clamp: float):
    """The fused INN embed as it was before the precision option (no dtype casts), for the overhead check."""
    for i in range(len(w) // 9):
        j = 9 * i
        zh = zh + _sub_without_casts(zp, w, b, j)
        zp = zp * torch.exp(clamp * torch.tanh(_sub_without_casts(zh, w, b, j + 3) / clamp)) + \
            _sub_without_casts(zh, w, b, j + 6)
    return zh, zp


def _sub_without_casts(x, w: list[torch.Tensor], b: list[torch.Tensor], j: int):
    lr: list[Optional[Union[float, int, complex]]] = [0.2]
    no: list[Optional[Union[float, int, complex]]] = []
    x = torch.ops.mkldnn._convolution_pointwise(x, w[j], b[j], [1, 1], [1, 1], [1, 1], 1, "leaky_relu", lr, "")
    x = torch.ops.mkldnn._convolution_pointwise(x, w[j + 1], b[j + 1], [0, 0], [1, 1], [1, 1], 1, "leaky_relu", lr,
                                                "")
    return torch.ops.mkldnn._convolution_pointwise(x, w[j + 2], b[j + 2], [1, 1], [1, 1], [1, 1], 1, "none", no, "")


def overhead(s: StegoSystem, size: int, reps: int) -> dict:
    """fp32 default path, ms per call: what the precision option added (no-op casts, float32 layers kept
    outside autocast) against the same computation without it, interleaved in one process."""
    from gr_stegsem.models import inn as inn_mod
    from gr_stegsem.models.deepjscc import normalize_power, pad_to_stride

    x = default_private(size)[None].contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        z = s.encode(x)
        zc = z.contiguous(memory_format=torch.channels_last)
        f = s._inn_fused()
        ws, bs = f._weights(tuple(zc.shape))
        new_k = inn_mod._kernels()[0]
        torch.jit.script(_sub_without_casts)
        old_k = torch.jit.script(_embed_without_casts)
        enc, dec = s.jscc.encoder, s.jscc.decoder
        cases = {"INN embed (fused kernel)": (lambda: new_k(zc, zc, ws, bs, 2.0), lambda: old_k(zc, zc, ws, bs, 2.0)),
                 "encoder forward": (lambda: enc(x), lambda: normalize_power(enc.net(pad_to_stride(x) * 2.0 - 1.0))),
                 "decoder forward": (lambda: dec(zc), lambda: dec.net(zc))}
        out = {}
        for name, (new, old) in cases.items():
            new(), old(), new(), old()
            tn, to = [], []
            for _ in range(reps):
                tn.append(_time(new))
                to.append(_time(old))
            out[name] = (1e3 * statistics.median(to), 1e3 * statistics.median(tn))
    return out


def mia(s: StegoSystem, size: int, batch: int, steps: int) -> list[dict]:
    """Model inversion of Alice's container at 10 dB: s per image-step and PSNR vs the private image."""
    xh, xp = default_host(size)[None], default_private(size)[None]
    y = s.channel(s.alice(xh, xp), 10.0, generator=torch.Generator().manual_seed(1))
    rows = []
    for p in ("fp32", "bf16"):
        for b in sorted({1, batch}):
            yb = y.expand(b, -1, -1, -1).clone()
            with precision.autocast(p):
                t = time.perf_counter()
                img = attacks.model_inversion(s.jscc, yb, (size, size), steps=steps, seed=0).images
                dt = time.perf_counter() - t
            rows.append({"precision": p, "batch": b, "s_per_image_step": dt / (b * steps),
                         "psnr_private": psnr(img[:1].float(), xp).item(), "psnr_host": psnr(img[:1].float(), xh).item()})
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--fg-threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--mia-steps", type=int, default=20, help="Adam steps per MIA timing (0: skip the MIA)")
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--model", default="stego-l3_2")
    ap.add_argument("--no-flowgraph", action="store_true")
    ap.add_argument("--rounds", type=int, default=1, help="repeat the flowgraph configurations (sequential runs)")
    ap.add_argument("--no-bare", action="store_true", help="skip the bare models, FLOPs, overhead and conv probe")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    k = a.size * a.size // 4
    res: dict = {"size": a.size, "k": k, "threads": a.threads, "batch": a.batch}
    native = precision.bf16_native()
    res["bf16_native"], res["auto"] = native, precision.resolve("auto").used
    res["peak_gflops"] = {"fp32": peak_gflops(torch.float32), "bf16": peak_gflops(torch.bfloat16)}
    res["loadavg_start"] = os.getloadavg()
    print(f"CPU: {os.cpu_count()} cores, torch threads {a.threads}; native bfloat16: {native}; "
          f"VNNI: {precision.vnni()}; int8 engine: {precision.int8_engine()}; "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}; "
          f"auto precision -> {res['auto']}; matmul peak GFLOP/s: fp32 {res['peak_gflops']['fp32']:.0f}, "
          f"bf16 {res['peak_gflops']['bf16']:.0f}", flush=True)

    systems = {}
    for p in PRECISIONS:
        systems[p] = StegoSystem.shipped(a.model)
        t0 = time.perf_counter()
        used = systems[p].set_precision(p).used
        if used == "int8":
            q = systems[p].int8()
            res["int8"] = {"engine": q.engine, "bits": q.bits, "quantized": len(q.quantized),
                           "calibration_s": time.perf_counter() - t0}
            print(f"int8: engine {q.engine}, (weight, activation) bits {q.bits}, {len(q.quantized)} quantized "
                  f"convolutions, calibration {time.perf_counter() - t0:.1f} s", flush=True)
        if used != p:
            print(f"{p}: not available here ({systems[p].precision.reason}); skipped")
            del systems[p]
    if not a.no_bare:
        fl = count_flops(systems["fp32"], a.size)
        res["flops"] = fl
        print(f"\nFLOPs per {a.size}² frame (torch.utils.flop_counter): " + ", ".join(
            f"{n} {v / 1e9:.3f} G" for n, v in fl.items()))
        for chain in ("alice", "bob"):
            for p, g in res["peak_gflops"].items():
                res[f"ceiling_{chain}_{p}"] = g * 1e9 / fl[chain] * k
        print("FLOP ceiling (matmul peak / FLOPs per frame * k): " + ", ".join(
            f"{c} {p} {res[f'ceiling_{c}_{p}'] / 1e6:.2f} M/s" for c in ("alice", "bob") for p in res["peak_gflops"]))

        t = bare(systems, a.size, a.batch, a.reps)
        res["bare_ms"] = {"/".join(map(str, c)): v for c, v in t.items()}
        stages = ("encoder", "inn_embed", "inn_extract", "decoder", "alice", "bob")
        print(f"\nbare models, ms per frame (median of {a.reps}, interleaved), {a.threads} thread(s)")
        cols = [(p, b) for p in systems for b in sorted({1, a.batch})]
        low = [p for p in systems if p != "fp32"]
        print("| stage | " + " | ".join(f"{p}, {b}/call" for p, b in cols) + "".join(f" | {p} / fp32" for p in low) +
              f" | {a.batch}/call / 1/call (fp32) |")
        print("|---|" + "---|" * (len(cols) + len(low) + 1))
        for st in stages:
            print(f"| {st} | " + " | ".join(f"{t[(p, b, st)]:.2f}" for p, b in cols) +
                  "".join(f" | {t[(p, 1, st)] / t[('fp32', 1, st)]:.2f}" for p in low) +
                  f" | {t[('fp32', a.batch, st)] / t[('fp32', 1, st)]:.2f} |")
        for chain in ("alice", "bob"):
            best = min(t[(p, b, chain)] for p, b in cols)
            rate = k / (best / 1e3)
            res[f"bare_best_{chain}"] = rate
            print(f"{chain}: best bare {rate / 1e6:.2f} M/s = {rate / res[f'ceiling_{chain}_fp32']:.2f} of the fp32 "
                  f"ceiling ({res[f'ceiling_{chain}_fp32'] / 1e6:.2f} M/s); fp32 1/call "
                  f"{k / t[('fp32', 1, chain)] / 1e3:.2f} M/s = "
                  f"{k / t[('fp32', 1, chain)] * 1e3 / res[f'ceiling_{chain}_fp32']:.2f} of it")

        rt = round_trip(systems, a.size)
        res["round_trip"] = rt
        print(f"\nINN round trip (embed, extract with the true lost information, no noise), {a.size}²")
        print("| precision | latent | max abs error | relative L2 error | values off > 1e-5 |\n|---|---|---|---|---|")
        for p, r in rt.items():
            for k, v in r.items():
                print(f"| {p} | {k} | {v['max']:.2e} | {v['rel']:.2e} | {100 * v['frac']:.2f} % |")

        ov = overhead(systems["fp32"], a.size, 3 * a.reps)
        res["fp32_overhead_ms"] = ov
        print(f"\nfp32 default path: before the precision option / now, ms per call (median of {3 * a.reps}, "
              "interleaved)")
        print("| call | before | now | now / before |\n|---|---|---|---|")
        for name, (t_old, t_new) in ov.items():
            print(f"| {name} | {t_old:.2f} | {t_new:.2f} | {t_new / t_old:.3f} |")

        q = int8_convs(a.reps)
        res["int8_convs"] = q
        print("\nint8 convolutions (quantize + conv + dequantize) vs fp32, ms, encoder layer shapes")
        print("| layer | fp32 | int8 | int8 / fp32 |\n|---|---|---|---|")
        for name, t32, t8 in q:
            print(f"| {name} | {t32:.3f} | {t8:.3f} | {t8 / t32:.2f} |")

    if a.mia_steps > 0:
        rows = mia(systems["fp32"], a.size, a.batch, a.mia_steps)
        res["mia"] = rows
        ref = rows[0]
        print(f"\nmodel inversion ({a.mia_steps} Adam steps, container at 10 dB, {a.size}²)")
        print("| precision | images per call | ms per image and step | vs fp32 1/call | PSNR private (dB) | "
              "Δ PSNR vs fp32 1/call (dB) |\n|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['precision']} | {r['batch']} | {1e3 * r['s_per_image_step']:.1f} | "
                  f"{r['s_per_image_step'] / ref['s_per_image_step']:.2f} | {r['psnr_private']:.3f} | "
                  f"{r['psnr_private'] - ref['psnr_private']:+.3f} |")

    if not a.no_flowgraph:
        from benchmark_chains import bench

        print(f"\nflowgraphs, {a.size}², {a.frames} frames, blocks on {a.fg_threads} torch thread(s); "
              f"bare: {a.threads} thread(s), one frame per call, same precision")
        print("| precision | frames per call | Alice bare | Alice flowgraph | fg / bare | Bob bare | Bob flowgraph | "
              "fg / bare | Alice latency ms | Bob latency ms |\n|---|---|---|---|---|---|---|---|---|---|")
        res["flowgraph"] = []
        once = [(p, b) for b in sorted({1, a.batch}) for p in systems]  # every precision this CPU runs
        for p, b in a.rounds * once:
            r = bench(a.size, a.frames, ("deepjscc-bcr12", a.model), a.threads, a.fg_threads, p, b, plain=False)
            torch.set_num_threads(a.threads)
            res["flowgraph"].append(r)
            print(f"| {p} | {b} | {r['bare_alice'] / 1e6:.2f} | {r['fg_alice_rate'] / 1e6:.2f} | "
                  f"{r['fg_alice_rate'] / r['bare_alice']:.2f} | {r['bare_bob'] / 1e6:.2f} | "
                  f"{r['fg_bob_rate'] / 1e6:.2f} | {r['fg_bob_rate'] / r['bare_bob']:.2f} | "
                  f"{1e3 * r['fg_alice_latency']:.0f} | {1e3 * r['fg_bob_latency']:.0f} |", flush=True)
    res["loadavg_end"] = os.getloadavg()
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in res['loadavg_end'])}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
