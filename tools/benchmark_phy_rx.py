#!/usr/bin/env python3
"""The PHY receiver's processing rate (M samples/s, one core) per kind of input, before and after, in
one run (so the ratios hold on a shared, loaded machine), and its detection figures before and after.

    .venv/bin/python tools/benchmark_phy_rx.py [--samples 2000000] [--old-rev d43b3f7] [--core 0]
        [--duties 0.1,0.5,1] [--chunk 8192] [--reps 3] [--no-flowgraph] [--buffers 65536]
        [--detection [--segments 200]
        [--noise-seconds 10] [--only-detection]] [--json OUT] [--write-golden JSON]

Inputs (unit-power bursts; noise at 20 dB data SNR as in tools/measure_phy.py; DC and tone -10 dB re
the bursts): noise alone, a DC offset, a CW tone (0.01 cycles/sample), and 3,680-symbol bursts (7,616
samples each) in noise at each duty cycle of ``--duties`` (fraction of the samples inside bursts; 1 =
back to back), with CFO 0.002 cycles/sample and the 3-tap multipath of gr_stegsem.phy.radio.

Receivers: ``old`` = gr_stegsem/phy/{fec,header,ofdm}.py of ``--old-rev`` (read with ``git show`` and
loaded as a separate package, so the whole old receiver runs), ``new`` = this checkout's. Each runs
* bare: ``OfdmReceiver.feed`` in chunks of ``--chunk`` samples, then ``flush``;
* flowgraph (unless ``--no-flowgraph``): ``blocks.vector_source_c`` -> the ``ofdm_receiver`` block
  (its ``rx`` the old or new receiver) -> ``blocks.message_debug`` in a GNU Radio top block,
  ``tb.run()`` timed; with GNU Radio's default buffer (8,191 samples per work call) and with the
  source buffers of ``--buffers``; and, for reference, the same flowgraph with a Python sink that
  does nothing (GNU Radio's own cost).
The process is pinned to one core (``--core``; GNU Radio's threads inherit it) and numpy to one
thread; the rate is samples per second of the process's CPU time (all its threads: on a loaded
machine the wall-clock time also counts the waits for the core), the best of ``--reps`` (old and
new in turn). Each row also checks detection: old and new must decode the same segments (headers,
first samples, validity) with the same soft values, CFO and SNR estimates (to rounding) -- ``same``
or the first difference, and the largest soft-value difference.

``--detection``: tools/measure_phy.py's detection() and false_alarms() with either receiver (the
figures of the README's PHY section). ``--write-golden``: the old receiver's results on
:func:`golden_input`, the reference of tests/test_phy_receiver_equivalence.py.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from gr_stegsem.phy import OfdmParams, SegmentHeader, modulate, ofdm, radio  # noqa: E402

OLD_REV = "d43b3f7"  # the last commit before the fast receiver
P = OfdmParams()


def load_old(rev: str):
    """The receiver module (ofdm) of ``rev``, with that revision's fec and header, as a package of its own."""
    pkg = "gr_stegsem._phy_old"
    mod = types.ModuleType(pkg)
    mod.__path__ = []
    sys.modules[pkg] = mod
    out = None
    for name in ("fec", "header", "ofdm"):
        src = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:gr_stegsem/phy/{name}.py"], check=True,
                             capture_output=True, text=True).stdout
        spec = importlib.util.spec_from_loader(f"{pkg}.{name}", loader=None)
        m = importlib.util.module_from_spec(spec)
        m.__package__ = pkg
        sys.modules[spec.name] = m
        exec(compile(src, f"{rev}:gr_stegsem/phy/{name}.py", "exec"), m.__dict__)  # noqa: S102
        setattr(mod, name, m)
        out = m
    return out


def inputs(n: int, duties, seed: int) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    v = np.sqrt(10 ** (-P.sample_snr_db(20.0) / 10) / 2)
    noise = lambda: (v * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)  # noqa: E731
    a = np.sqrt(0.1)
    t = np.arange(n)
    out = [("noise", noise()),
           ("DC", noise() + np.complex64(a)),
           ("CW tone", noise() + (a * np.exp(2j * np.pi * 0.01 * t)).astype(np.complex64))]
    taps = np.asarray(radio.multipath_taps(True), complex)
    for duty in duties:
        y = noise()
        k = 0
        pos = int(rng.integers(0, 2000))
        blen = P.burst_len(3680)
        gap = blen * (1 - duty) / duty if duty < 1 else 0.0
        while pos + blen + 8 <= n:
            h = SegmentHeader(frame_id=k, seg_index=0, seg_count=1, seg_len=3680, height=64, width=64,
                              latent_c=2, latent_h=4, latent_w=920, secure=True)
            d = ((rng.standard_normal(3680) + 1j * rng.standard_normal(3680)) / np.sqrt(2)).astype(np.complex64)
            b = np.convolve(modulate(P, h, d), taps)[:blen]
            y[pos:pos + blen] += b * np.exp(2j * np.pi * 0.002 * np.arange(pos, pos + blen))
            k += 1
            pos += blen + int(rng.uniform(0.5, 1.5) * gap)
        out.append((f"bursts, duty {duty:g} ({k})", y))
    return out


def golden_input(seed: int = 21) -> tuple[np.ndarray, list[int]]:
    """A recorded-like stream for the equivalence test (tests/test_phy_receiver_equivalence.py) and the
    chunk sizes it is fed in: noise with bursts at 20, 8 and 0 dB data SNR (CFO 0.002, 3-tap
    multipath, a +50 ppm clock drift by linear interpolation), one burst on a DC offset and one on a CW
    tone, a NaN sample inside a burst, a burst cut off mid-way followed by another, and a stream that
    ends inside a burst."""
    rng = np.random.default_rng(seed)
    taps = np.asarray(radio.multipath_taps(True), complex)
    sym = lambda n: ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2))  # noqa: E731

    def burst(fid, n):
        h = SegmentHeader(frame_id=fid, seg_index=0, seg_count=1, seg_len=n, height=64, width=64,
                          latent_c=2, latent_h=4, latent_w=n // 4, secure=bool(fid % 2))
        return np.convolve(modulate(P, h, sym(n)), taps)

    std = lambda snr: np.sqrt(10 ** (-P.sample_snr_db(snr) / 10) / 2)  # noqa: E731  per real dimension
    parts, noise = [], []  # noise-free pieces and the noise std over each
    for fid, (n, snr) in enumerate([(3680, 20.0), (1000, 8.0), (2000, 0.0), (3680, 20.0), (400, 8.0)]):
        gap = np.zeros(int(rng.integers(200, 3000)))
        parts += [gap, burst(fid, n)]
        noise += [std(20.0)] * gap.size + [std(snr)] * parts[-1].size
    cut = burst(5, 3680)
    for piece in (np.zeros(1500), cut[:cut.size // 2], np.zeros(700), burst(6, 1000), np.zeros(900)):
        parts.append(piece)
        noise += [std(20.0)] * piece.size
    x = np.concatenate(parts)
    t = np.arange(0, x.size - 1, 1 + 50e-6)  # +50 ppm sample clock
    x = np.interp(t, np.arange(x.size), x.real) + 1j * np.interp(t, np.arange(x.size), x.imag)
    x *= np.exp(2j * np.pi * 0.002 * np.arange(x.size))
    x += np.asarray(noise[:x.size]) * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))
    tail = np.zeros(40000, complex)
    tail[:20000] += np.sqrt(0.1)  # DC (-10 dB re the bursts), then a CW tone, each with a burst on it
    tail[20000:] += np.sqrt(0.1) * np.exp(2j * np.pi * 0.01 * np.arange(20000))
    for o, fid in ((5000, 7), (25000, 8)):
        b = burst(fid, 1000)
        tail[o:o + b.size] += b
    tail += std(20.0) * (rng.standard_normal(tail.size) + 1j * rng.standard_normal(tail.size))
    end = burst(9, 3680)[:5000]  # the stream ends inside this burst
    end += std(20.0) * (rng.standard_normal(end.size) + 1j * rng.standard_normal(end.size))
    y = np.concatenate([x, tail, std(20.0) * sym(3000) * np.sqrt(2), end]).astype(np.complex64)
    y[24500] = np.nan  # a NaN sample in the data of burst 3
    chunks = [int(c) for c in rng.integers(1, 20000, y.size // 5000)]
    return y, chunks


def golden_record(mod, y: np.ndarray, chunks: list[int]) -> dict:
    """What a receiver of module ``mod`` (``ofdm``) makes of ``y`` fed in ``chunks`` (then the rest,
    then flush): per segment the header, first sample, CFO, SNR estimate, validity count and soft-value
    checksums; the receiver's counters."""
    rx = mod.OfdmReceiver(P)
    segs, pos = [], 0
    for c in chunks:
        segs += rx.feed(y[pos:pos + c])
        pos += c
    segs += rx.feed(y[pos:]) + rx.flush()
    out = []
    for s in segs:
        sym = np.asarray(s.symbols, np.complex128)
        out.append({"header": dataclasses.asdict(s.header), "start": int(s.start), "cfo": float(s.cfo),
                    "snr_db": float(s.snr_db), "valid": int(np.sum(s.valid)), "sum_re": float(sym.sum().real),
                    "sum_im": float(sym.sum().imag), "energy": float(np.sum(np.abs(sym) ** 2)),
                    "first": [[float(v.real), float(v.imag)] for v in sym[:4]]})
    return {"segments": out, "stats": dataclasses.asdict(rx.stats)}


def key(segs):
    """(header fields, first sample, CFO, SNR estimate, soft values, validity) per decoded segment."""
    return [(dataclasses.astuple(s.header), int(s.start), float(s.cfo), float(s.snr_db), np.asarray(s.symbols),
             np.asarray(s.valid)) for s in segs]


def bare(mod, y: np.ndarray, chunk: int):
    rx = mod.OfdmReceiver(P)
    t = time.process_time()
    segs = []
    for i in range(0, y.size, chunk):
        segs += rx.feed(y[i:i + chunk])
    segs += rx.flush()
    return time.process_time() - t, segs


def flowgraph(mod, y: np.ndarray, buffer: int = 0):
    from gnuradio import blocks, gr

    from gr_stegsem.blocks.pdus import c32vector_to_numpy, u8vector_to_numpy
    from gr_stegsem.phy.blocks import HEADER_KEYS, ofdm_receiver

    tb = gr.top_block()
    src = blocks.vector_source_c(y, False)
    if buffer:  # larger chunks per work call: fewer calls through GNU Radio's Python gateway
        src.set_min_output_buffer(buffer)
    rx = ofdm_receiver()
    rx.rx = mod.OfdmReceiver(P)
    dbg = blocks.message_debug()
    tb.connect(src, rx)
    tb.msg_connect(rx, "segments", dbg, "store")
    t = time.process_time()
    tb.run()
    dt = time.process_time() - t
    import pmt

    out = []
    for i in range(dbg.num_messages()):
        msg = dbg.get_message(i)
        meta = pmt.car(msg)
        get = lambda k: pmt.dict_ref(meta, pmt.intern(k), pmt.PMT_NIL)  # noqa: E731
        hdr = tuple(pmt.to_long(get(k)) for k in HEADER_KEYS)
        out.append((hdr, pmt.to_uint64(get("sample")), pmt.to_double(get("cfo")), pmt.to_double(get("snr_db")),
                    c32vector_to_numpy(pmt.cdr(msg)), u8vector_to_numpy(get("valid")).astype(bool)))
    return dt, out


def flowgraph_floor(y: np.ndarray, buffer: int = 0) -> float:
    """Samples per CPU second of the same flowgraph with a Python sink that does nothing: what GNU Radio
    and its Python gateway cost alone, the ceiling of any Python receiver block fed this way."""
    from gnuradio import blocks, gr

    class nop(gr.sync_block):
        def __init__(self):
            gr.sync_block.__init__(self, name="nop", in_sig=[np.complex64], out_sig=None)

        def work(self, input_items, output_items):
            return len(input_items[0])

    tb = gr.top_block()
    src, snk = blocks.vector_source_c(y, False), nop()  # held: a Python block collected while running crashes
    if buffer:
        src.set_min_output_buffer(buffer)
    tb.connect(src, snk)
    t = time.process_time()
    tb.run()
    return y.size / (time.process_time() - t)


def compare(a, b) -> tuple[str, float]:
    """"same" when both found the same segments (headers, first samples, validity) with soft values,
    CFO and SNR estimates equal to rounding (|difference| < 1e-4, 1e-9 cycles/sample, 1e-6 dB), or the
    first difference; and the largest soft-value difference."""
    if len(a) != len(b):
        return f"{len(a)} vs {len(b)} segments", float("nan")
    worst = 0.0
    for i, (x, y) in enumerate(zip(a, b)):
        if x[0] != y[0] or x[1] != y[1] or not np.array_equal(x[5], y[5]):
            return f"segment {i}: header, start or validity differ", float("nan")
        dev = float(np.max(np.abs(x[4] - y[4]), initial=0.0))
        worst = max(worst, dev)
        if dev > 1e-4 or abs(x[2] - y[2]) > 1e-9 or abs(x[3] - y[3]) > 1e-6:
            return f"segment {i}: values differ by {dev:.1e}", worst
    return "same", worst


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2_000_000)
    ap.add_argument("--old-rev", default=OLD_REV)
    ap.add_argument("--core", type=int, default=0, help="the core to pin the process to (-1: none)")
    ap.add_argument("--duties", default="0.1,0.5,1")
    ap.add_argument("--chunk", type=int, default=8192)
    ap.add_argument("--reps", type=int, default=1, help="repetitions per row (the fastest counts)")
    ap.add_argument("--no-flowgraph", action="store_true")
    ap.add_argument("--buffers", default="65536",
                    help="also flowgraphs whose source buffer holds this many samples (comma-separated; '' none)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--detection", action="store_true", help="measure_phy's detection, old vs new")
    ap.add_argument("--detect-snrs", default="0,5,10,15,20")
    ap.add_argument("--segments", type=int, default=200, help="segments per SNR for --detection")
    ap.add_argument("--noise-seconds", type=float, default=10.0, help="seconds of noise (1 MS/s) for --detection")
    ap.add_argument("--only-detection", action="store_true", help="skip the rate table")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--write-golden", type=Path, metavar="JSON",
                    help="write the old receiver's results on golden_input() (the test's reference)")
    args = ap.parse_args(argv)
    if args.write_golden:
        rec = golden_record(load_old(args.old_rev), *golden_input())
        rec["receiver"] = f"gr_stegsem/phy/ofdm.py of {args.old_rev} (tools/benchmark_phy_rx.py --write-golden)"
        args.write_golden.write_text(json.dumps(rec, indent=1) + "\n")
        print(f"wrote {args.write_golden}: {len(rec['segments'])} segments, {rec['stats']}")
        return 0
    if args.core >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})
    if not args.no_flowgraph:
        from gnuradio import gr

        gr.logging().set_default_level(gr.log_levels.warn)  # not one info line per set_min_output_buffer
    old = load_old(args.old_rev)
    impls = [("old", old), ("new", ofdm)]
    rows = []
    print(f"receiver rate, M samples/s on one core (old = {args.old_rev}, new = this checkout; "
          f"{args.samples:,} samples per input, chunks of {args.chunk}; load average "
          f"{os.getloadavg()[0]:.1f})", flush=True)
    print("| input | mode | old | new | new/old | segments | old = new | max soft-value difference |\n"
          "|---|---|---|---|---|---|---|---|", flush=True)
    for name, y in ([] if args.only_detection else inputs(args.samples, [float(d) for d in args.duties.split(",")],
                                                             args.seed)):
        modes = [("bare", lambda m: bare(m, y, args.chunk))]
        if not args.no_flowgraph:
            modes.append(("flowgraph", lambda m: flowgraph(m, y)))
            for buf in [int(b) for b in args.buffers.split(",") if b]:
                modes.append((f"flowgraph, {buf:,}-sample buffer", lambda m, buf=buf: flowgraph(m, y, buf)))
        for mode, fn in modes:
            best, outs = {}, {}
            for _ in range(args.reps):  # old and new in turn, so that a change in the load hits both
                for label, m in impls:
                    dt, outs[label] = fn(m)
                    best[label] = min(best.get(label, dt), dt)
            res = {label: (y.size / best[label] / 1e6, outs[label]) for label, _ in impls}
            same, dev = compare(key(res["old"][1]) if mode == "bare" else res["old"][1],
                                key(res["new"][1]) if mode == "bare" else res["new"][1])
            r = {"input": name, "mode": mode, "old_msps": round(res["old"][0], 3), "new_msps": round(res["new"][0], 3),
                 "ratio": round(res["new"][0] / res["old"][0], 2), "segments": len(res["new"][1]), "same": same,
                 "max_soft_value_difference": dev}
            rows.append(r)
            print(f"| {name} | {mode} | {r['old_msps']:.2f} | {r['new_msps']:.2f} | {r['ratio']:.1f}x | "
                  f"{r['segments']} | {same} | {dev:.1e} |", flush=True)
    if not args.no_flowgraph and not args.only_detection:
        y = inputs(args.samples, [], args.seed)[0][1]
        for buf in [0] + [int(b) for b in args.buffers.split(",") if b]:
            floor = max(flowgraph_floor(y, buf) for _ in range(args.reps)) / 1e6
            what = f"a {buf:,}-sample source buffer" if buf else "the default buffer"
            print(f"GNU Radio alone (vector_source_c -> a Python sink that does nothing, {what}): "
                  f"{floor:.1f} M samples/s", flush=True)
            rows.append({"input": "noise", "mode": f"no-op Python sink, buffer {buf or 'default'}",
                         "msps": round(floor, 2)})
    det = detection(old, args) if args.detection else []
    if args.json:
        args.json.write_text(json.dumps({"old_rev": args.old_rev, "samples": args.samples, "rows": rows,
                                         "detection": det}, indent=1))
    return 0 if all(r.get("same", "same") == "same" for r in rows) and all(d["same"] for d in det) else 1


def detection(old, args) -> list[dict]:
    """tools/measure_phy.py's detection rates (segments per data Es/N0 through channels.channel_model
    with CFO, clock offset and multipath) and its false alarms on pure noise, with the old and the new
    receiver: the figures must be the same."""
    import measure_phy as mp

    from gr_stegsem.phy import SegmentHeader as NewHeader

    snrs = [float(s) for s in args.detect_snrs.split(",")]
    res = {}
    est = {"decoded": [], "not": []}  # the new receiver's LTF SNR estimate (dB) per trigger it acquired

    class gated(ofdm.OfdmReceiver):
        """The new receiver, noting each acquired trigger's LTF estimate (what min_snr_db compares)."""

        def _acquire(self, d, cfo):
            b = super()._acquire(d, cfo)
            if b is not None:
                h = self.p.smoother @ b.h_ltf
                est["decoded" if b.header else "not"].append(10 * np.log10(np.mean(np.abs(h) ** 2) / b.noise))
            return b

    for label, rx, hdr, mod in (("old", old.OfdmReceiver, old.SegmentHeader, old.modulate),
                                ("new", gated, NewHeader, modulate)):
        mp.OfdmReceiver, mp.SegmentHeader, mp.modulate = rx, hdr, mod
        t = time.process_time()
        rows = mp.detection(snrs, args.segments, 0)
        decoded = list(est["decoded"])
        est["not"].clear()
        fa = mp.false_alarms(args.noise_seconds, 1e6, 99)
        res[label] = (rows, fa, time.process_time() - t)
    print(f"\ndetection (tools/measure_phy.py's detection() with {args.segments} segments per SNR, and "
          f"false_alarms() on {args.noise_seconds:g} s of noise at 1 MS/s), old vs new:\n"
          "| data Es/N0 (dB) | detected old | detected new | header failures old | new | wrong | same |\n"
          "|---|---|---|---|---|---|---|")
    out = []
    for o, n in zip(res["old"][0], res["new"][0]):
        same = all(o[k] == n[k] for k in ("detected", "wrong", "header_failures"))
        out.append({"snr_db": o["snr_db"], "old": o, "new": n, "same": same})
        print(f"| {o['snr_db']:g} | {o['detected']}/{o['segments']} | {n['detected']}/{n['segments']} | "
              f"{o['header_failures']} | {n['header_failures']} | {o['wrong']} / {n['wrong']} | {same} |")
    fo, fn = res["old"][1], res["new"][1]
    same = (fo["triggers"], fo["false_segments"]) == (fn["triggers"], fn["false_segments"])
    out.append({"false_alarms": True, "old": fo, "new": fn, "same": same})
    print(f"| noise, {fo['samples']:,} samples | triggers {fo['triggers']} | {fn['triggers']} | "
          f"false segments {fo['false_segments']} | {fn['false_segments']} | | {same} |")
    print(f"CPU time of the detection runs: old {res['old'][2]:.1f} s, new {res['new'][2]:.1f} s")
    noise = est["not"]
    print(f"LTF SNR estimates (data Es/N0, dB; the new receiver skips the header below min_snr_db = "
          f"{ofdm.OfdmReceiver(P).min_snr_db:g}): lowest of the {len(decoded)} segments decoded in the detection "
          f"runs {min(decoded):.1f}; the {len(noise)} triggers on noise {np.median(noise):.1f} median, "
          f"{max(noise):.1f} highest")
    out.append({"ltf_snr_db": {"decoded_min": min(decoded), "noise_median": float(np.median(noise)),
                               "noise_max": max(noise), "noise_triggers": len(noise)}, "same": True})
    return out


if __name__ == "__main__":
    sys.exit(main())
