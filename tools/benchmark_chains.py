"""Throughput of Alice's and Bob's chains in real GNU Radio flowgraphs vs the bare models.

    .venv/bin/python tools/benchmark_chains.py [--sizes 256,512] [--frames 40] [--threads 2] [--fg-threads 1]
                                              [--precision fp32|bf16|int8|auto] [--batch N] [--json OUT]

For each image size, in one process and one run (so the ratios are comparable on a noisy machine):
  * bare models (torch ``--threads``): StegoSystem.alice (2 encoder passes + INN embed) and
    StegoSystem.bob (INN extract + 2 decoder passes), and plain DeepJSCC encode / decode;
  * flowgraphs: image PDUs posted into jscc_encoder x2 -> inn_embed (Alice) and container PDUs into
    inn_extract -> jscc_decoder x2 (Bob), plain jscc_encoder / jscc_decoder alone; PDUs out are
    counted at blocks.message_debug. The blocks get ``threads=--fg-threads`` like the flowgraphs'
    ``torch_threads`` parameter (default 1; 0 keeps ``--threads``).
Rates are complex channel samples per second (k = H*W/4 per image at bcr 1/12: the container of a
pair is k samples), sustained: all frames are posted at once and the rate is taken between the first
and the last frame out, (frames - 1) * k / that time, so the pipeline's filling (the first frame's
latency) does not count. Latency: one frame through an idle flowgraph.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gnuradio import blocks, gr  # noqa: E402
import pmt  # noqa: E402

from gr_stegsem.blocks import inn_embed, inn_extract, jscc_decoder, jscc_encoder  # noqa: E402
from gr_stegsem.blocks.pdus import image_pdu, symbol_pdu  # noqa: E402
from gr_stegsem.models.deepjscc import to_complex  # noqa: E402
from gr_stegsem.precision import PRECISIONS  # noqa: E402
from gr_stegsem.samples import default_host, default_private  # noqa: E402
from gr_stegsem.system import StegoSystem, default_model  # noqa: E402


def bare_rate(fn, k: int, reps: int) -> float:
    """k / (median seconds per call), after two warm-up calls (oneDNN primitive creation)."""
    fn()
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return k / statistics.median(times)


def run_graph(tb, dbg, posts, n_out: int, timeout: float = 300.0, per_frame: int = 1) -> float:
    """Start ``tb``, post all PDUs at once, wait for n_out PDUs at ``dbg`` (``per_frame`` per frame).
    Returns seconds per frame: for one frame its latency, for several the time between the first output
    and the last frame out divided by the frames that came out after the first output (the sustained
    period; with frames per call > 1 the first output is a whole batch)."""
    tb.start()
    t = time.perf_counter()
    for blk, port, pdu in posts:
        blk.to_basic_block()._post(pmt.intern(port), pdu)
    first, n_first = None, 0
    while dbg.num_messages() < n_out and time.perf_counter() - t < timeout:
        if first is None and dbg.num_messages() >= per_frame:
            first, n_first = time.perf_counter(), dbg.num_messages()
        time.sleep(0.0005)
    end = time.perf_counter()
    tb.stop()
    tb.wait()
    if dbg.num_messages() < n_out:
        raise RuntimeError(f"only {dbg.num_messages()} of {n_out} PDUs came out in {timeout} s")
    frames = n_out // per_frame
    if frames == 1 or first is None:
        return end - t
    # the frames after the first output (a block that batches emits several at once: all of them
    # count as the first output, so that a batch's burst is not taken for throughput)
    after = (n_out - n_first) / per_frame
    return (end - first) / after if after > 0 else end - t


def bench(size: int, frames: int, secure_models: tuple[str, str], threads: int, fg_threads: int,
          precision: str = "fp32", batch: int = 1, max_delay_ms: float = 0.0, plain: bool = True) -> dict:
    """One size's rates; ``precision``, ``batch`` and ``max_delay_ms`` are the model blocks' parameters
    (and the bare models' precision); ``plain`` False skips the plain encoder / decoder."""
    jscc, inn = (str(default_model(m)) for m in secure_models)
    torch.set_num_threads(threads)  # the blocks of a previous size set the flowgraph's count
    system = StegoSystem.load(jscc, inn)
    system.set_precision(precision)
    opts = dict(precision=precision, batch=batch, max_delay_ms=max_delay_ms)
    xh, xp = default_host(size)[None], default_private(size)[None]
    k = size * size // 4
    zc = system.alice(xh, xp)
    zp = system.encode(xp)
    res = {"size": size, "k": k, "frames": frames, "threads": torch.get_num_threads(),
           "fg_threads": fg_threads or threads, "precision": system.precision.used, "batch": batch}
    reps = max(5, frames)
    res["bare_alice"] = bare_rate(lambda: system.alice(xh, xp), k, reps)
    res["bare_bob"] = bare_rate(lambda: system.bob(zc, (size, size)), k, reps)
    res["bare_encode"] = bare_rate(lambda: system.encode(xp), k, reps)
    res["bare_decode"] = bare_rate(lambda: system.decode(zp, (size, size)), k, reps)

    pdus_h = [image_pdu(xh[0], i, "host") for i in range(frames)]
    pdus_p = [image_pdu(xp[0], i, "private") for i in range(frames)]
    cont = [symbol_pdu(to_complex(zc), i, (size, size), tuple(zc.shape[1:]), secure=True) for i in range(frames)]
    plain = [symbol_pdu(to_complex(zp), i, (size, size), tuple(zp.shape[1:]), secure=False) for i in range(frames)]

    def alice_graph():
        tb = gr.top_block()
        eh, ep = jscc_encoder(jscc, threads=fg_threads, **opts), jscc_encoder(jscc, threads=fg_threads, **opts)
        emb, dbg = inn_embed(jscc, inn, timeout=60, threads=fg_threads, **opts), blocks.message_debug()
        tb.msg_connect(eh, "out", emb, "host")
        tb.msg_connect(ep, "out", emb, "private")
        tb.msg_connect(emb, "out", dbg, "store")
        alice_graph.blocks = (eh, ep)
        return tb, dbg

    def bob_graph():
        tb = gr.top_block()
        ex, dbg = inn_extract(jscc, inn, threads=fg_threads, **opts), blocks.message_debug()
        dh, dp = jscc_decoder(jscc, threads=fg_threads, **opts), jscc_decoder(jscc, threads=fg_threads, **opts)
        tb.msg_connect(ex, "host", dh, "in")
        tb.msg_connect(ex, "private", dp, "in")
        tb.msg_connect(dh, "out", dbg, "store")
        tb.msg_connect(dp, "out", dbg, "store")
        bob_graph.blocks = (ex,)
        return tb, dbg

    def single(cls):
        def build():
            tb = gr.top_block()
            b, dbg = cls(jscc, threads=fg_threads, **opts), blocks.message_debug()
            tb.msg_connect(b, "out", dbg, "store")
            build.block = b
            return tb, dbg
        return build

    def alice_posts(pairs_h, pairs_p):
        eh, ep = alice_graph.blocks
        return [x for i in range(len(pairs_h)) for x in ((eh, "in", pairs_h[i]), (ep, "in", pairs_p[i]))]

    for label, n in (("latency", 1), ("rate", frames)):
        # Alice
        dt = run_graph(*alice_graph(), alice_posts(pdus_h[:n], pdus_p[:n]), n)
        res[f"fg_alice_{label}"] = dt if label == "latency" else k / dt
        # Bob: 2 images out per container
        dt = run_graph(*bob_graph(), [(bob_graph.blocks[0], "in", c) for c in cont[:n]], 2 * n, per_frame=2)
        res[f"fg_bob_{label}"] = dt if label == "latency" else k / dt
        if not plain:
            continue
        enc = single(jscc_encoder)
        dt = run_graph(*enc(), [(enc.block, "in", p) for p in pdus_p[:n]], n)
        res[f"fg_encode_{label}"] = dt if label == "latency" else k / dt
        dec = single(jscc_decoder)
        dt = run_graph(*dec(), [(dec.block, "in", p) for p in plain[:n]], n)
        res[f"fg_decode_{label}"] = dt if label == "latency" else k / dt
    return res


def report(rows: list[dict]) -> str:
    lines = ["| size | chain | bare models (M samples/s) | flowgraph (M samples/s) | flowgraph / bare | "
             "latency (ms) | cost of steganography (plain / stego rate, flowgraph) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        for chain, plain in (("alice", "encode"), ("bob", "decode")):
            lines.append(
                f"| {r['size']} | {chain} | {r[f'bare_{chain}'] / 1e6:.3f} | {r[f'fg_{chain}_rate'] / 1e6:.3f} | "
                f"{r[f'fg_{chain}_rate'] / r[f'bare_{chain}']:.2f} | {1e3 * r[f'fg_{chain}_latency']:.0f} | "
                f"{r[f'fg_{plain}_rate'] / r[f'fg_{chain}_rate']:.2f}x |")
            lines.append(
                f"| {r['size']} | plain {plain} | {r[f'bare_{plain}'] / 1e6:.3f} | {r[f'fg_{plain}_rate'] / 1e6:.3f} | "
                f"{r[f'fg_{plain}_rate'] / r[f'bare_{plain}']:.2f} | {1e3 * r[f'fg_{plain}_latency']:.0f} | – |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="256,512")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads of the bare models")
    ap.add_argument("--fg-threads", type=int, default=1,
                    help="torch threads given to the flowgraph blocks (their torch_threads; 0 = --threads)")
    ap.add_argument("--model", default="stego-l3_2")
    ap.add_argument("--precision", default="fp32", choices=PRECISIONS,
                    help="the model blocks' (and bare models') precision")
    ap.add_argument("--batch", type=int, default=1, help="the model blocks' frames per call")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    rows = [bench(int(s), a.frames, ("deepjscc-bcr12", a.model), a.threads, a.fg_threads, a.precision, a.batch)
            for s in a.sizes.split(",")]
    print(f"torch threads: bare models {a.threads}, flowgraph blocks {a.fg_threads or a.threads}; "
          f"device: cpu ({os.cpu_count()} cores)")
    print(report(rows))
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
