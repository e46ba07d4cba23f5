"""Fuzz: random PMT structures thrown at every message block of gr-stegsem in a running flowgraph.

Each block gets ``STEGSEM_FUZZ`` (default 40; e.g. 2000 for a long run) random messages from a seeded
generator -- random dicts, pairs, uniform vectors of every type and length, symbols, numbers, NaN/Inf,
PDUs with plausible but wrong meta -- and then one valid PDU: the block must still be running and must
process it (issue 16: a block that receives a malformed PDU logs it and keeps running).
"""
from __future__ import annotations

import math
import os
import time

import numpy as np
import pytest
import torch

gr = pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402
from gnuradio import blocks as gr_blocks  # noqa: E402

from gr_stegsem import blocks as sb  # noqa: E402
from gr_stegsem import keys  # noqa: E402
from gr_stegsem.blocks import pdus  # noqa: E402
from gr_stegsem.models.deepjscc import to_complex  # noqa: E402
from gr_stegsem.phy import blocks as pb  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402
from tests.conftest import write_tiny_models  # noqa: E402

N = int(os.environ.get("STEGSEM_FUZZ", "40"))
KEYS = ("frame_id", "height", "width", "latent_c", "latent_h", "latent_w", "secure", "role", "nonce", "seg_index",
        "seg_count", "seg_len", "attack", "score", "snr_db", "keyed", "x")


def rnd_value(rng, depth=0):
    k = rng.integers(0, 14 if depth < 2 else 9)
    if k == 0:
        return pmt.from_long(int(rng.choice([0, 1, -1, 7, 2**31, -2**40, 2**62])))
    if k == 1:
        return pmt.from_double(float(rng.choice([0.0, -1.5, math.nan, math.inf, -math.inf, 1e300])))
    if k == 2:
        return pmt.intern(str(rng.choice(["host", "private", "", "../x", "é", "bob"])))
    if k == 3:
        return pmt.from_bool(bool(rng.integers(0, 2)))
    if k == 4:
        return pmt.PMT_NIL
    if k == 5:
        return pmt.from_uint64(int(rng.integers(0, 2**63)) * 2)
    if k == 6:
        n = int(rng.choice([0, 1, 3, 64, 1000]))
        return pmt.init_u8vector(n, list(rng.integers(0, 256, n)))
    if k == 7:
        n = int(rng.choice([0, 1, 5, 256, 1024, 3072]))
        v = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
        if n and rng.integers(0, 3) == 0:
            v[rng.integers(0, n)] = complex(math.nan, math.inf)
        return pmt.init_c32vector(n, list(v))
    if k == 8:
        n = int(rng.choice([0, 2, 17]))
        return pmt.init_f32vector(n, list(rng.standard_normal(n)))
    if k == 9:
        return pmt.cons(rnd_value(rng, depth + 1), rnd_value(rng, depth + 1))
    if k == 10:
        return rnd_dict(rng, depth + 1)
    if k == 11:
        return pmt.make_tuple(rnd_value(rng, depth + 1), rnd_value(rng, depth + 1))
    if k == 12:
        return pmt.init_s32vector(3, [1, -2, 3])
    return pmt.make_vector(2, rnd_value(rng, depth + 1))


def rnd_dict(rng, depth=0):
    d = pmt.make_dict()
    for _ in range(int(rng.integers(0, 8))):
        d = pmt.dict_add(d, pmt.intern(str(rng.choice(KEYS))), rnd_value(rng, depth + 1))
    return d


def rnd_message(rng):
    """Mostly PDU-shaped (dict, vector) with random meta; sometimes anything at all."""
    if rng.integers(0, 4) == 0:
        return rnd_value(rng)
    return pmt.cons(rnd_dict(rng), rnd_value(rng, 2))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz")
    m = write_tiny_models(d)
    keys.write_key(d / "k.key")
    s = StegoSystem.load(m["jscc"], m["inn"])
    x = torch.rand(1, 3, 32, 32)
    z = s.encode(x)
    sym = pdus.symbol_pdu(to_complex(z), 1, (32, 32), tuple(z.shape[1:]), role="private")
    zc = s.embed(z, z)
    container = pdus.symbol_pdu(to_complex(zc), 1, (32, 32), tuple(zc.shape[1:]), secure=True)
    img = pdus.image_pdu(x[0], 1, role="private")
    return {"m": m, "dir": d, "sym": sym, "container": container, "img": img, "key": str(d / "k.key")}


def _cases(env):
    m, k = env["m"], env["key"]
    return {
        "jscc_encoder": (lambda: sb.jscc_encoder(m["jscc"]), "in", env["img"], "out"),
        "inn_extract": (lambda: sb.inn_extract(m["jscc"], m["inn"]), "in", env["container"], "private"),
        "jscc_decoder": (lambda: sb.jscc_decoder(m["jscc"]), "in", env["sym"], "out"),
        "symbol_channel": (lambda: sb.symbol_channel(10.0), "in", env["sym"], "out"),
        "eve_naive": (lambda: sb.eve_naive(m["jscc"]), "in", env["container"], "out"),
        "image_sink": (lambda: sb.image_sink(str(env["dir"] / "sink"), prefix="fuzz"), "in", env["img"], "done"),
        "burst_framer": (lambda: sb.burst_framer(16, 4096), "in", env["container"], "out"),
        "dp_noise": (lambda: sb.dp_noise(0.9), "in", env["sym"], "out"),
        "feature_shuffle": (lambda: sb.feature_shuffle(k), "in", env["sym"], "out"),
        "feature_unshuffle": (lambda: sb.feature_unshuffle(k, static=True), "in", env["sym"], "out"),
        "scheme_tx": (lambda: sb.scheme_tx("shuffle-static", k), "in", env["sym"], "out"),
        "ofdm_modulator": (lambda: pb.ofdm_modulator(), "in", env["container"], "out"),
    }


@pytest.mark.parametrize("name", ["jscc_encoder", "inn_extract", "jscc_decoder", "symbol_channel", "eve_naive",
                                  "image_sink", "burst_framer", "dp_noise", "feature_shuffle", "feature_unshuffle",
                                  "scheme_tx", "ofdm_modulator"])
def test_block_survives_random_messages(env, name):
    torch.set_num_threads(1)
    make, port, good, out = _cases(env)[name]
    blk = make()
    tb = gr.top_block()
    dbg = gr_blocks.message_debug()
    tb.msg_connect((blk, out), (dbg, "store"))
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    tb.start()
    try:
        for _ in range(N):
            blk.to_basic_block()._post(pmt.intern(port), rnd_message(rng))
        blk.to_basic_block()._post(pmt.intern(port), good)
        t0 = time.monotonic()
        while dbg.num_messages() == 0 and time.monotonic() - t0 < 60:
            time.sleep(0.02)
    finally:
        tb.stop()
        tb.wait()
    assert dbg.num_messages() >= 1, f"{name} did not process the valid PDU after {N} random ones: {blk.last_error}"
    assert blk.n_in >= N + 1


def _junk_stream(rng, n):
    """Noise, silence, DC, tones, huge values, NaN/Inf runs and isolated spikes, in random segments."""
    out = []
    while sum(len(c) for c in out) < n:
        m = int(rng.integers(50, 3000))
        k = rng.integers(0, 7)
        t = np.arange(m)
        if k == 0:
            c = rng.standard_normal(m) + 1j * rng.standard_normal(m)
        elif k == 1:
            c = np.zeros(m, complex)
        elif k == 2:
            c = np.full(m, complex(rng.standard_normal(), rng.standard_normal()))
        elif k == 3:
            c = np.exp(2j * np.pi * rng.uniform(-0.5, 0.5) * t)
        elif k == 4:
            c = (rng.standard_normal(m) + 0j) * 1e30
        elif k == 5:
            c = np.full(m, complex(np.nan, np.inf))
        else:
            c = np.zeros(m, complex)
            c[rng.integers(0, m, 5)] = 1e6
        out.append(c)
    return np.concatenate(out)[:n].astype(np.complex64)


def test_phy_receiver_survives_random_streams_and_then_decodes():
    """Random sample streams into the PHY receiver in a running flowgraph, then a valid burst: it is
    still decoded (STEGSEM_FUZZ scales the junk's length)."""
    from gnuradio import blocks

    from gr_stegsem.phy import OfdmParams, SegmentHeader, modulate

    rng = np.random.default_rng(16)
    p = OfdmParams()
    hdr = SegmentHeader(frame_id=5, seg_index=0, seg_count=1, seg_len=920, height=64, width=64, latent_c=2,
                        latent_h=4, latent_w=230, secure=True)
    data = (rng.standard_normal(920) + 1j * rng.standard_normal(920)).astype(np.complex64) / np.sqrt(2)
    x = np.concatenate([_junk_stream(rng, 2500 * N), np.zeros(2000, np.complex64), modulate(p, hdr, data),
                        np.zeros(2000, np.complex64)])
    tb = gr.top_block()
    src = blocks.vector_source_c(x.tolist(), False)
    rx = pb.ofdm_receiver(seg_len=920)
    dbg = blocks.message_debug()
    tb.connect(src, rx)
    tb.msg_connect((rx, "segments"), (dbg, "store"))
    tb.run()
    got = [dbg.get_message(i) for i in range(dbg.num_messages())]
    ids = [pmt.to_long(pmt.dict_ref(pmt.car(g), pmt.intern("frame_id"), pmt.PMT_NIL)) for g in got]
    assert 5 in ids, f"the valid burst after {x.size - 4000} junk samples was not decoded ({rx.stats})"


def test_burst_to_pdu_survives_random_tags_and_then_delivers():
    """Random tag keys, types and values on a stream into burst_to_pdu, then a well-tagged burst."""
    from gnuradio import blocks

    rng = np.random.default_rng(17)
    n_junk = 200 * N
    x = rng.standard_normal(n_junk + 300).astype(np.complex64)
    tags = []
    for _ in range(N):
        t = gr.tag_t()
        t.offset = int(rng.integers(0, n_junk))
        t.key = pmt.intern(str(rng.choice(["packet_len", "guard", "frame_id", "meta", "x"])))
        t.value = rnd_value(rng)
        tags.append(t)
    good = gr.tag_t()
    good.offset = n_junk + 50
    good.key = pmt.intern("packet_len")
    good.value = pmt.from_long(200)
    tags.append(good)
    tb = gr.top_block()
    src = blocks.vector_source_c(x.tolist(), False, 1, tags)
    b2p = sb.burst_to_pdu(delay=0)
    dbg = blocks.message_debug()
    tb.connect(src, b2p)
    tb.msg_connect((b2p, "pdus"), (dbg, "store"))
    tb.run()
    sizes = [pmt.length(pmt.cdr(dbg.get_message(i))) for i in range(dbg.num_messages())]
    assert sizes and sizes[-1] >= 1, f"no PDU after the random tags ({b2p.last_error})"
