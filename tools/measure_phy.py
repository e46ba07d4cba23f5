#!/usr/bin/env python3
"""Measure the OFDM PHY over GNU Radio's channels.channel_model with every impairment on.

1. Detection: fraction of segments whose burst is found and whose header decodes, per data Es/N0;
   false detections on 10 s of pure noise (at 1 MS/s = 1e7 samples).
2. Image quality through the PHY vs the ideal symbol channel (gr_stegsem.channel.awgn) at the same
   data Es/N0: Bob (plain DeepJSCC private; stego host and private) and Eve's naive decoding.
3. Graceful degradation: PSNR vs the fraction of segments dropped (0, 5, 10, 20 %) at 10 dB, the mean
   over several random drop patterns.

Impairments: CFO +-0.002 cycles/sample (sign alternating per run), sample-clock offset +-50 ppm
(channel_model epsilon), the 3-tap multipath of gr_stegsem.phy.radio, AWGN. The receiver is the
same code the phy_rx block runs (gr_stegsem.phy.OfdmReceiver + Reassembler).

    .venv/bin/python tools/measure_phy.py --images 8 --out out/phy
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gnuradio import blocks, channels, gr  # noqa: E402

from gr_stegsem.images import list_images, load_image  # noqa: E402
from gr_stegsem.metrics import psnr  # noqa: E402
from gr_stegsem.models.deepjscc import from_complex, to_complex  # noqa: E402
from gr_stegsem.phy import OfdmParams, OfdmReceiver, Reassembler, SegmentHeader, modulate, radio, split  # noqa: E402
from gr_stegsem.phy import digital as phy_digital  # noqa: E402
from gr_stegsem.phy.segments import FrameInfo  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402

P = OfdmParams()
MULTIPATH = [True]  # --flat sets it False
RX_TIME = {"samples": 0, "seconds": 0.0}  # the receiver's own processing of the image bursts


def through_channel(x: np.ndarray, snr_db: float, cfo: float, ppm: float, multipath: bool, seed: int) -> np.ndarray:
    """Samples through channels.channel_model (noise for the data Es/N0 snr_db), plus a zero tail."""
    tb = gr.top_block()
    src = blocks.vector_source_c(np.concatenate([x, np.zeros(512, np.complex64)]), False)
    cm = channels.channel_model(noise_voltage=radio.noise_voltage(snr_db) if snr_db is not None else 0.0,
                                frequency_offset=cfo, epsilon=radio.epsilon(ppm), taps=radio.multipath_taps(multipath),
                                noise_seed=seed, block_tags=False)
    snk = blocks.vector_sink_c()
    tb.connect(src, cm, snk)
    tb.run()
    return np.asarray(snk.data(), np.complex64)


def receive(y: np.ndarray, equalizer: str):
    rx = OfdmReceiver(P, equalizer=equalizer)
    segs = []
    for i in range(0, y.size, 8192):
        segs += rx.feed(y[i:i + 8192])
    return segs + rx.flush(), rx


def impairment(i: int):
    return (0.002 if i % 2 == 0 else -0.002), (50.0 if (i // 2) % 2 == 0 else -50.0)


def detection(snrs, n_segments: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for j, snr in enumerate(snrs):
        sent, parts = [], []
        for i in range(n_segments):
            n = int(rng.integers(200, P.seg_len + 1))
            # segment 0 of 2 of a 4,000-symbol frame: any length up to seg_len is a valid header
            h = SegmentHeader(frame_id=i, seg_index=0, seg_count=2, seg_len=n, height=64, width=64,
                              latent_c=2, latent_h=4, latent_w=1000, secure=False)
            d = cvec_np(n, rng)
            parts.append(modulate(P, h, d))
            parts.append(np.zeros(int(rng.integers(0, 300)), np.complex64))
            sent.append(h)
        cfo, ppm = impairment(j)
        y = through_channel(np.concatenate(parts), snr, cfo, ppm, MULTIPATH[0], seed + j)
        segs, rx = receive(y, "ummse")
        got = {s.header.frame_id for s in segs if s.header == sent[s.header.frame_id]}
        rows.append({"snr_db": snr, "segments": n_segments, "detected": len(got), "rate": len(got) / n_segments,
                     "header_failures": rx.stats.header_failures, "cfo": cfo, "ppm": ppm,
                     "wrong": sum(1 for s in segs if s.header != sent[s.header.frame_id])})
        print(f"detection at {snr:g} dB: {len(got)}/{n_segments}", flush=True)
    return rows


def false_alarms(seconds: float, rate: float, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    rx = OfdmReceiver(P)
    segs, n = [], int(seconds * rate)
    t0 = time.time()
    for i in range(0, n, 1 << 16):
        m = min(1 << 16, n - i)
        segs += rx.feed(((rng.standard_normal(m) + 1j * rng.standard_normal(m)) / np.sqrt(2)).astype(np.complex64))
    return {"samples": n, "seconds_at_rate": seconds, "rate": rate, "triggers": rx.stats.detections,
            "false_segments": len(segs), "wall_s": round(time.time() - t0, 1)}


def interference(seconds: float, rate: float, seed: int, n_bursts: int = 5) -> list[dict]:
    """The receiver's processing rate (M samples/s) on noise alone, a DC offset and a CW tone (each
    -10 dB relative to the bursts' power, plus noise at 20 dB data SNR), and the same with
    ``n_bursts`` bursts in it: how many are decoded and their symbols' error (dB)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    d = cvec_np(3680, rng)
    burst = modulate(P, SegmentHeader(frame_id=1, seg_index=0, seg_count=1, seg_len=3680, height=64, width=64,
                                      latent_c=2, latent_h=4, latent_w=920, secure=True), d)
    v = np.sqrt(10 ** (-P.sample_snr_db(20.0) / 10) / 2)
    a = np.sqrt(0.1)  # -10 dB
    out = []
    for name, tone in (("noise", None), ("DC", 0.0), ("CW tone", 0.01)):
        x = (v * (rng.standard_normal(n) + 1j * rng.standard_normal(n))).astype(np.complex64)
        if tone is not None:
            x += (a * np.exp(2j * np.pi * tone * np.arange(n))).astype(np.complex64)
        for with_bursts in (False, True):
            y = x.copy()
            if with_bursts:
                for k in range(n_bursts):
                    o = (k + 1) * n // (n_bursts + 1)
                    y[o:o + burst.size] += burst
            rx = OfdmReceiver(P)
            t0 = time.time()
            segs = []
            for i in range(0, n, 1 << 16):
                segs += rx.feed(y[i:i + (1 << 16)])
            segs += rx.flush()
            dt = time.time() - t0
            err = [float(np.mean(np.abs(sg.symbols - d) ** 2)) for sg in segs]
            out.append({"input": name + (f" + {n_bursts} bursts" if with_bursts else ""), "samples": n,
                        "msps": round(n / dt / 1e6, 2), "decoded": len(segs), "triggers": rx.stats.detections,
                        "error_db": round(10 * np.log10(np.mean(err)), 1) if err else None})
    return out


def cvec_np(n, rng):
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def interference_markdown(rows) -> str:
    lines = ["### Receiver on noise, a DC offset and a CW tone (-10 dB re the bursts; 20 dB data SNR)", "",
             "| input | M samples/s | triggers | bursts decoded | symbol error (dB) |", "|---|---|---|---|---|"]
    for r in rows:
        err = "–" if r["error_db"] is None else f"{r['error_db']:g}"
        lines.append(f"| {r['input']} | {r['msps']:g} | {r['triggers']} | {r['decoded']} | {err} |")
    return "\n".join(lines) + "\n"


def segments_through_phy(latents, snr, seed, equalizer, sections=None):
    """Real latents -> symbols -> PHY bursts -> channel_model -> receiver: the received segments.
    ``sections``: per frame, the bytes of its digital section (DeepJSCEC's c1), sent ahead of it."""
    parts = []
    for fid, z in enumerate(latents):
        if sections is not None:
            parts += [modulate(P, h, d) for h, d in phy_digital.segments(fid, True, None, sections[fid], P.seg_len)]
        info = FrameInfo(fid, 256, 256, tuple(z.shape), True)
        for h, d in split(info, to_complex(z[None])[0].numpy(), P.seg_len):
            parts.append(modulate(P, h, d))
    cfo, ppm = impairment(seed)
    y = through_channel(np.concatenate(parts), snr, cfo, ppm, MULTIPATH[0], seed)
    t = time.perf_counter()
    segs, _ = receive(y, equalizer)
    RX_TIME["seconds"] += time.perf_counter() - t
    RX_TIME["samples"] += y.size
    return segs


def reassemble(latents, segs, drop=0.0, rng=None, sections=None):
    """Received segments (a fraction ``drop`` thrown away at random) -> latents, SNR estimates, and
    the fraction of segments actually dropped. A dict ``sections`` gets each frame's decoded digital
    section (bytes, or None when it failed its CRC or was lost)."""
    r = Reassembler(max_pending=len(latents) + 1, timeout=None)
    r2 = Reassembler(max_pending=len(latents) + 1, timeout=None)
    out, dropped, digital_frames = {}, 0, []
    for s in segs:
        if drop and rng.random() < drop:
            dropped += 1
            continue
        if phy_digital.is_digital(s.header):
            digital_frames += r2.add(s.header, s.symbols, s.valid, s.snr_db)
            continue
        for f in r.add(s.header, s.symbols, s.valid, s.snr_db):
            out[f.info.frame_id] = f
    for f in r.flush():
        out[f.info.frame_id] = f
    if sections is not None:
        sections.update({f.info.frame_id: phy_digital.decode(f) for f in digital_frames + r2.flush()})
    res = []
    for fid, z in enumerate(latents):
        f = out.get(fid)
        sym = f.symbols if f is not None else np.zeros(to_complex(z[None]).shape[1], np.complex64)
        res.append(from_complex(torch.from_numpy(sym)[None], tuple(z.shape))[0])
    est = [out[f].snr_db if f in out else float("nan") for f in range(len(latents))]
    return torch.stack(res), est, dropped / max(len(segs), 1)


def frames_through_phy(latents, snr, seed, equalizer):
    y, est, _ = reassemble(latents, segments_through_phy(latents, snr, seed, equalizer))
    return y, est


def ideal(latents, snr, seed):
    return StegoSystem.channel(latents, snr, generator=torch.Generator().manual_seed(seed))


def transmitted(private, hosts, names=("deepjscc", "stego-l3_2"), models_dir=None, seed=0):
    """(name, system, transmitted latents) for plain DeepJSCC ('deepjscc'), the shipped stego-l3_2, and
    any other scheme of the zoo by name (e.g. lbvq-16: its QAM frames; its ``bob`` decodes them)."""
    from gr_stegsem import schemes

    out = []
    for name in names:
        if name == "deepjscc":
            folder = Path(models_dir) if models_dir else ROOT / "models"
            jscc = StegoSystem.load(folder / "deepjscc-bcr12.safetensors")
            out.append((name, jscc, jscc.encode(private)))
        elif name == "stego-l3_2":
            stego = StegoSystem.shipped("stego-l3_2")
            out.append((name, stego, torch.cat([stego.alice(hosts[i:i + 1], private[i:i + 1])
                                                for i in range(len(private))])))
        elif name.startswith("jscec-"):
            link = LWELink(schemes.load(name, models_dir), private, seed)
            out.append((name, link, link.latents))
        else:
            sch = schemes.load(name, models_dir)
            if getattr(sch, "keyed", False):
                raise SystemExit(f"measure_phy: scheme {name} is keyed; the PHY measurement runs unkeyed schemes "
                                 "and jscec-*")
            out.append((name, sch, torch.cat([sch.alice(hosts[i:i + 1], private[i:i + 1])
                                              for i in range(len(private))])))
    return out


class LWELink:
    """DeepJSCEC through the PHY: frames encrypted to a test key's public key, each frame's header c1
    as its digital section (``sections``, gr_stegsem.phy.digital); Bob decrypts a frame only when its
    section arrived and decoded (CRC)."""

    def __init__(self, scheme, private, seed: int = 0):
        import hashlib

        from gr_stegsem import keys, lwe

        self.scheme, self.key, self.lwe = scheme, keys.guessed(torch.Generator().manual_seed(13 + seed)), lwe
        m, shape = scheme.plaintext(private)
        # Alice's encryption randomness from --seed (reproducible runs) instead of the OS
        c1, self.latents = scheme.encrypt(m, shape, self.key, hashlib.sha256(b"measure_phy %d" % seed).digest())
        self.sections = [lwe.pack_c1(c, scheme.params) for c in c1]

    def bob_frames(self, y, sections):
        """Received latents and each frame's decoded section (None: lost) -> ({'private': images of the
        frames that could be decrypted}, mask of those frames)."""
        c1, ok = [], np.zeros(len(sections), bool)
        for i, raw in enumerate(sections):
            try:
                c1.append(self.lwe.unpack_c1(raw, self.scheme.params))
                ok[i] = True
            except (ValueError, TypeError):
                pass
        if not ok.any():
            return {}, ok
        rec = self.scheme.bob(y[torch.from_numpy(ok)], key=self.key, c1=np.stack(c1))
        return {"private": rec["private"]}, ok


def quality(private, hosts, systems, snrs, equalizer, seed) -> list[dict]:
    rows = []
    for snr in snrs:
        for name, sysm, z in systems:
            for path in ("phy", "ideal"):
                if path == "phy":
                    y, est = frames_through_phy(list(z), snr, seed, equalizer)
                else:
                    y, est = ideal(z, snr, seed), [snr] * len(z)
                rec = sysm.bob(y)
                rows.append({"system": name, "receiver": "bob", "target": "private", "path": path, "snr_db": snr,
                             "psnr": float(psnr(rec["private"], private).mean()), "snr_est": float(np.nanmean(est))})
                if "host" in rec:
                    rows.append({"system": name, "receiver": "bob", "target": "host", "path": path, "snr_db": snr,
                                 "psnr": float(psnr(rec["host"], hosts).mean())})
                    naive = sysm.eve_naive(y)
                    for target, ref in (("private", private), ("host", hosts)):
                        rows.append({"system": name, "receiver": "eve-naive", "target": target, "path": path,
                                     "snr_db": snr, "psnr": float(psnr(naive, ref).mean())})
        print(f"quality at {snr:g} dB done", flush=True)
    return rows


def degradation(private, hosts, systems, drops, snr, equalizer, seed, runs) -> list[dict]:
    """PSNR vs the fraction of segments dropped: one pass through the channel, then ``runs`` random
    drop patterns per rate (averaged: with ~5 segments per image one pattern is a noisy estimate)."""
    rows = []
    systems = [(name, sysm, list(z), segments_through_phy(list(z), snr, seed, equalizer,
                                                          getattr(sysm, "sections", None)))
               for name, sysm, z in systems]
    for p in drops:
        for name, sysm, z, segs in systems:
            acc: dict[str, list] = {}
            fractions, lost = [], []
            for k in range(runs if p else 1):
                got = {} if hasattr(sysm, "sections") else None
                y, _, frac = reassemble(z, segs, drop=p, rng=np.random.default_rng([seed, int(p * 1000), k]),
                                        sections=got)
                fractions.append(frac)
                if got is None:
                    rec, ok = sysm.bob(y), np.ones(len(z), bool)
                else:  # DeepJSCEC: a frame whose header did not arrive cannot be decrypted (lost)
                    rec, ok = sysm.bob_frames(y, [got.get(i) for i in range(len(z))])
                lost.append(1 - ok.mean())
                for target in rec:
                    ref = (private if target == "private" else hosts)[torch.from_numpy(ok)]
                    if len(ref):
                        acc.setdefault(target, []).append(float(psnr(rec[target], ref).mean()))
            for target in acc or {"private": []}:
                vals = acc.get(target) or [float("nan")]
                rows.append({"system": name, "target": target, "drop": p, "snr_db": snr, "psnr": float(np.mean(vals)),
                             "psnr_min": float(np.min(vals)), "psnr_max": float(np.max(vals)), "runs": len(vals),
                             "dropped": float(np.mean(fractions)), "frames_lost": float(np.mean(lost))})
        print(f"drop {p:.0%} done", flush=True)
    return rows


def markdown(res) -> str:
    chan = "3-tap multipath" if res["multipath"] else "no multipath"
    lines = [f"### Detection (segments found with a correct header; CFO +-0.002, +-50 ppm, {chan})", "",
             "| data Es/N0 (dB) | detected | header failures |", "|---|---|---|"]
    for r in res["detection"]:
        lines.append(f"| {r['snr_db']:g} | {r['detected']}/{r['segments']} ({r['rate']:.1%}) | {r['header_failures']} |")
    fa = res["false_alarms"]
    rate = res.get("rx_rate_msps")
    lines += ["", f"Pure noise, {fa['samples']:,} samples ({fa['seconds_at_rate']:g} s at 1 MS/s): {fa['triggers']} preamble triggers, "
              f"**{fa['false_segments']} false segments**.", "",
              f"Receiver speed on the image bursts (one process, all stages from detection to soft values): "
              f"{rate} M samples/s." if rate else "", "",
              f"### Bob and Eve through the PHY vs the ideal symbol channel ({res['images']} images, equalizer "
              f"{res['equalizer']})", "", "| system | receiver | target | SNR (dB) | PSNR ideal | PSNR PHY | PHY - ideal |",
              "|---|---|---|---|---|---|---|"]
    q = res["quality"]
    for r in q:
        if r["path"] != "phy":
            continue
        i = next(x for x in q if x["path"] == "ideal" and all(x[k] == r[k] for k in ("system", "receiver", "target", "snr_db")))
        lines.append(f"| {r['system']} | {r['receiver']} | {r['target']} | {r['snr_db']:g} | {i['psnr']:.2f} | "
                     f"{r['psnr']:.2f} | {r['psnr'] - i['psnr']:+.2f} |")
    runs = max(r["runs"] for r in res["degradation"])
    lines += ["", f"### Graceful degradation at {res['drop_snr']:g} dB (segments dropped at random; mean PSNR over "
              f"{runs} drop patterns, range in brackets)", "",
              "| system | target | " + " | ".join(f"{p:.0%} dropped" for p in res["drops"]) + " |",
              "|---|---|" + "---|" * len(res["drops"])]
    keys = sorted({(r["system"], r["target"]) for r in res["degradation"]})
    for s, t in keys:
        rows = [next(r for r in res["degradation"] if r["system"] == s and r["target"] == t and r["drop"] == p)
                for p in res["drops"]]
        lines.append(f"| {s} | {t} | " + " | ".join(
            f"{r['psnr']:.2f}" + (f" [{r['psnr_min']:.1f}, {r['psnr_max']:.1f}]" if r["runs"] > 1 else "")
            for r in rows) + " |")
    return "\n".join(lines) + "\n"


def degradation_markdown(res) -> str:
    runs = max(r["runs"] for r in res["degradation"])
    chan = "3-tap multipath" if res["multipath"] else "no multipath"
    lines = [f"### Graceful degradation at {res['drop_snr']:g} dB data Es/N0 ({res['images']} images, {chan}, CFO, "
             f"clock offset; segments dropped at random, mean PSNR over {runs} drop patterns, range in brackets)", "",
             "| system | target | " + " | ".join(f"{p:.0%} dropped" for p in res["drops"]) + " |",
             "|---|---|" + "---|" * len(res["drops"])]
    for s, t in sorted({(r["system"], r["target"]) for r in res["degradation"]}):
        rows = [next(r for r in res["degradation"] if r["system"] == s and r["target"] == t and r["drop"] == p)
                for p in res["drops"]]
        lines.append(f"| {s} | {t} | " + " | ".join(
            f"{r['psnr']:.2f}" + (f" [{r['psnr_min']:.1f}, {r['psnr_max']:.1f}]" if r["runs"] > 1 else "")
            + (f", {r['frames_lost']:.0%} of frames lost" if r.get("frames_lost") else "")
            for r in rows) + " |")
    lost = [r for r in res["degradation"] if r["system"].startswith("jscec-")]
    if lost:
        lines += ["", "jscec-*: a frame whose LWE header (its digital section, sent ahead of it) did not arrive "
                  "cannot be decrypted: it is lost, and its PSNR is the mean over the frames that were decrypted."]
    return "\n".join(lines) + "\n"


def digital_sections(snrs, n: int, seed: int) -> list[dict]:
    """Fraction of digital sections (random c1 of n = 512 elements below q = 4093: 2 segments) that
    arrive exactly, per data Es/N0, through channel_model with the impairments of ``impairment``."""
    rng = np.random.default_rng(seed)
    rows = []
    for j, snr in enumerate(snrs):
        raws = [rng.integers(0, 4093, 512).astype("<u2").tobytes() for _ in range(n)]
        x = np.concatenate([modulate(P, h, d) for i, raw in enumerate(raws)
                            for h, d in phy_digital.segments(i, False, None, raw, P.seg_len)])
        cfo, ppm = impairment(j)
        segs, _ = receive(through_channel(x, snr, cfo, ppm, MULTIPATH[0], seed + j), "ummse")
        got: dict = {}
        reassemble([torch.zeros(2, 1, 1)] * n, segs, sections=got)
        ok = sum(got.get(i) == raws[i] for i in range(n))
        rows.append({"snr_db": snr, "sections": n, "exact": int(ok), "rate": ok / n, "cfo": cfo, "ppm": ppm})
        print(f"digital sections at {snr:g} dB: {ok}/{n}", flush=True)
    return rows


def degradation_only(args) -> int:
    """--degradation-only: the PSNR vs segments-dropped table of --systems, written to OUT/degradation.*."""
    MULTIPATH[0] = not args.flat
    drops = [float(s) for s in args.drops.split(",")]
    priv = torch.stack([load_image(p, (256, 256)) for p in list_images(args.private)[:args.images]])
    hosts = torch.stack([load_image(p, (256, 256)) for p in list_images(args.hosts)[:args.images]])
    t0 = time.time()
    systems = transmitted(priv, hosts, args.systems.split(","), args.models, args.seed)
    res = {"images": args.images, "equalizer": args.equalizer, "multipath": MULTIPATH[0], "drops": drops,
           "drop_snr": 10.0, "systems": args.systems.split(",")}
    res["degradation"] = degradation(priv, hosts, systems, drops, 10.0, args.equalizer, args.seed, args.drop_runs)
    if args.section_snrs:
        res["sections"] = digital_sections([float(v) for v in args.section_snrs.split(",")], args.sections,
                                           args.seed + 3)
    res["wall_s"] = round(time.time() - t0, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "degradation.json").write_text(json.dumps(res, indent=1))
    md = degradation_markdown(res)
    if res.get("sections"):
        md += ("\n### DeepJSCEC's LWE header as the PHY's digital section (c1: 512 x 12 bits, CRC-16, rate-1/2, QPSK; "
               "2 segments)\n\n| data Es/N0 (dB) | sections exact |\n|---|---|\n" + "".join(
                   f"| {r['snr_db']:g} | {r['exact']}/{r['sections']} ({r['rate']:.0%}) |\n" for r in res["sections"]))
    (args.out / "degradation.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'degradation.json'} and {args.out / 'degradation.md'} ({res['wall_s']} s)")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--private", type=Path, default=ROOT.parent / "shared/data/faces/test")
    ap.add_argument("--hosts", type=Path, default=ROOT.parent / "shared/data/scenes/test")
    ap.add_argument("--images", type=int, default=8)
    ap.add_argument("--snrs", default="5,10,15,20")
    ap.add_argument("--detect-snrs", default="0,5,10,15,20")
    ap.add_argument("--segments", type=int, default=200, help="segments per SNR for the detection rate")
    ap.add_argument("--noise-seconds", type=float, default=10.0)
    ap.add_argument("--drops", default="0,0.05,0.1,0.2")
    ap.add_argument("--drop-runs", type=int, default=8, help="random drop patterns per rate (averaged)")
    ap.add_argument("--equalizer", default="ummse", choices=["ummse", "mmse", "zf"])
    ap.add_argument("--flat", action="store_true", help="no multipath (CFO, clock offset and noise only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "out/phy")
    ap.add_argument("--interference-seconds", type=float, default=2.0,
                    help="seconds (at 1 MS/s) of noise / DC / tone input for the receiver's rate")
    ap.add_argument("--interference-only", action="store_true", help="measure only the receiver on DC and tones")
    ap.add_argument("--systems", default="deepjscc,stego-l3_2",
                    help="what goes through the PHY: deepjscc, stego-l3_2, or any unkeyed scheme of the zoo (lbvq-16, "
                         "lbvq-16-hard: 16-QAM on the data carriers)")
    ap.add_argument("--models", type=Path, default=None, help="models folder of --systems (default: the shipped one)")
    ap.add_argument("--degradation-only", action="store_true",
                    help="only the PSNR vs segments dropped table (no detection, noise, quality or interference runs)")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    ap.add_argument("--section-snrs", default="", help="--degradation-only: also the digital section's (LWE header's) "
                    "exact-arrival rate at these data Es/N0 (dB)")
    ap.add_argument("--sections", type=int, default=20, help="digital sections per SNR for --section-snrs")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.degradation_only:
        return degradation_only(args)
    inter = interference(args.interference_seconds, 1e6, args.seed + 7)
    print(interference_markdown(inter), flush=True)
    if args.interference_only:
        return 0
    MULTIPATH[0] = not args.flat
    snrs = [float(s) for s in args.snrs.split(",")]
    drops = [float(s) for s in args.drops.split(",")]
    priv = torch.stack([load_image(p, (256, 256)) for p in list_images(args.private)[:args.images]])
    hosts = torch.stack([load_image(p, (256, 256)) for p in list_images(args.hosts)[:args.images]])
    t0 = time.time()
    res = {"images": args.images, "equalizer": args.equalizer, "multipath": MULTIPATH[0], "drops": drops, "drop_snr": 10.0,
           "overhead_256px": P.overhead(16384)}
    res["detection"] = detection([float(s) for s in args.detect_snrs.split(",")], args.segments, args.seed)
    res["false_alarms"] = false_alarms(args.noise_seconds, 1e6, args.seed + 99)
    print(f"false alarms: {res['false_alarms']}", flush=True)
    systems = transmitted(priv, hosts, args.systems.split(","), args.models, args.seed)  # computed once
    res["quality"] = quality(priv, hosts, systems, snrs, args.equalizer, args.seed)
    res["degradation"] = degradation(priv, hosts, systems, drops, 10.0, args.equalizer, args.seed, args.drop_runs)
    res["rx_rate_msps"] = round(RX_TIME["samples"] / max(RX_TIME["seconds"], 1e-9) / 1e6, 2)
    res["interference"] = inter
    res["wall_s"] = round(time.time() - t0, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "phy.json").write_text(json.dumps(res, indent=1))
    md = markdown(res) + "\n" + interference_markdown(inter)
    (args.out / "phy.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'phy.json'} and {args.out / 'phy.md'} ({res['wall_s']} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
