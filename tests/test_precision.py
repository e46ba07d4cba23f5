"""Reduced precision (gr_stegsem.precision) and frames per call (the model blocks' batch option)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from gr_stegsem import precision
from gr_stegsem.metrics import psnr
from gr_stegsem.samples import default_host, default_private
from gr_stegsem.system import StegoSystem

# bounds of bf16 against fp32 (README, "Reduced precision and frames per call")
PSNR_DB = 0.05  # Bob's reconstructions, noiseless, 64x64
CONTAINER_REL = 1e-2  # relative L2 error of the container latent (measured 4.5e-3)
ROUND_TRIP_ABS = 1e-5  # INN embed -> extract with the true lost information (fp32: ~1e-6)

needs_bf16 = pytest.mark.skipif(not precision.bf16_native(), reason="this CPU has no native bfloat16")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def shipped():
    return StegoSystem.shipped()


def test_resolve_names_and_bad_name():
    assert precision.resolve("fp32").used == "fp32"
    assert precision.resolve(None).requested in precision.PRECISIONS
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, auto"):
        precision.resolve("fp16")


def test_bf16_falls_back_to_fp32_without_native_bf16(monkeypatch, shipped):
    monkeypatch.setattr(precision, "bf16_native", lambda: False)
    for name in ("bf16", "auto"):
        p = precision.resolve(name)
        assert p.used == "fp32" and p.dtype == torch.float32 and "no native bfloat16" in p.reason
    x = default_private(32)[None]
    ref = shipped.encode(x)
    try:
        assert shipped.set_precision("bf16").used == "fp32"
        assert torch.equal(shipped.encode(x), ref)  # the fallback is the fp32 path itself
    finally:
        shipped.set_precision("fp32")


def test_auto_follows_the_probe(monkeypatch):
    monkeypatch.setattr(precision, "bf16_native", lambda: True)
    monkeypatch.setattr(precision, "bf16_pays", lambda: False)
    assert precision.resolve("auto").used == "fp32"
    monkeypatch.setattr(precision, "bf16_pays", lambda: True)
    assert precision.resolve("auto").used == "bf16"
    assert precision.resolve("bf16", device="meta").used == "fp32"  # bf16 is a CPU path


@needs_bf16
def test_bf16_matches_fp32_within_the_stated_bound(shipped):
    xh, xp = default_host(64)[None], default_private(64)[None]
    out = {}
    try:
        for name in ("fp32", "bf16"):
            assert shipped.set_precision(name).used == name
            zc = shipped.alice(xh, xp)
            rec = shipped.bob(zc, (64, 64))
            assert zc.dtype == torch.float32 and all(v.dtype == torch.float32 for v in rec.values())
            if name == "bf16":
                assert shipped._inn_fused().dtype == torch.bfloat16 and shipped._inn_fused().last_path == "fused"
            out[name] = (zc, rec)
    finally:
        shipped.set_precision("fp32")
    (zc32, rec32), (zc16, rec16) = out["fp32"], out["bf16"]
    assert 0 < ((zc16 - zc32).norm() / zc32.norm()).item() < CONTAINER_REL  # bf16 really ran, within bound
    assert 2.0 * zc16.pow(2).mean().item() == pytest.approx(1.0, abs=1e-5)  # unit power in float32
    for k, ref in (("host", xh), ("private", xp)):
        assert abs(psnr(rec16[k], ref).item() - psnr(rec32[k], ref).item()) <= PSNR_DB


@needs_bf16
def test_bf16_inn_round_trip_is_exact(shipped):
    zh, zp = (shipped.encode(x).contiguous(memory_format=torch.channels_last)
              for x in (default_host(64)[None], default_private(64)[None]))
    try:
        shipped.set_precision("bf16")
        f = shipped._inn_fused()
        with torch.inference_mode():
            zc, lost = f.embed(zh, zp)
            h, p = f.extract(zc, lost)
    finally:
        shipped.set_precision("fp32")
    assert (h - zh).abs().max().item() < ROUND_TRIP_ABS and (p - zp).abs().max().item() < ROUND_TRIP_ABS


# --- frames per call ------------------------------------------------------------------------------
gr = pytest.importorskip("gnuradio.gr")
from gnuradio import blocks as gr_blocks  # noqa: E402
import pmt  # noqa: E402

from gr_stegsem import blocks as sb  # noqa: E402
from gr_stegsem.blocks import pdus  # noqa: E402
from gr_stegsem.models.deepjscc import to_complex  # noqa: E402
from tests.conftest import write_tiny_models  # noqa: E402

SIZE = 32


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return write_tiny_models(tmp_path_factory.mktemp("models"), "jscc", ("inn",))


def run_queued(blk, posts, outs, expect, timeout=20.0):
    """Queue every PDU on ``blk`` before the flowgraph starts (so they wait together), run until
    ``expect`` PDUs came out; returns ({port: [pdu, ...]}, seconds from start to the last one)."""
    tb = gr.top_block()
    dbgs = {p: gr_blocks.message_debug() for p in outs}
    for p, d in dbgs.items():
        tb.msg_connect((blk, p), (d, "store"))
    for port, pdu in posts:
        blk.to_basic_block()._post(pmt.intern(port), pdu)
    tb.start()
    t0 = time.monotonic()
    try:
        while sum(d.num_messages() for d in dbgs.values()) < expect and time.monotonic() - t0 < timeout:
            time.sleep(0.002)
        dt = time.monotonic() - t0
    finally:
        tb.stop()
        tb.wait()
    return {p: [d.get_message(i) for i in range(d.num_messages())] for p, d in dbgs.items()}, dt


def images(n):
    g = torch.Generator().manual_seed(3)
    return [torch.rand(3, SIZE, SIZE, generator=g) for _ in range(n)]


def symbols(pdu):
    return pdus.parse_symbol_pdu(pdu).symbols


def test_encoder_batches_give_the_frames_of_one_per_call_in_order(models):
    xs = images(7)
    posts = [("in", pdus.image_pdu(x, i, "private")) for i, x in enumerate(xs)]
    one = sb.jscc_encoder(models["jscc"])
    ref, _ = run_queued(one, posts, ("out",), 7)
    many = sb.jscc_encoder(models["jscc"], batch=4)
    got, _ = run_queued(many, posts, ("out",), 7)
    assert [pdus.pdu_meta(p)["frame_id"] for p in got["out"]] == list(range(7))
    for a, b in zip(ref["out"], got["out"]):
        assert pdus.pdu_meta(a) == pdus.pdu_meta(b)
        assert torch.allclose(symbols(a), symbols(b), atol=1e-5)
    assert one.largest_batch == 1 and one.n_calls == 7
    assert many.largest_batch == 4 and many.n_calls == 2  # 4 + 3 (the rest, flushed when none waited)


def test_extract_and_decoder_batches_match_one_per_call(models):
    s = StegoSystem.load(models["jscc"], models["inn"])
    xs = images(6)
    conts = [pdus.symbol_pdu(to_complex(s.alice(xs[i][None], xs[(i + 1) % 6][None])), i, (SIZE, SIZE),
                             tuple(s.encode(xs[0][None]).shape[1:]), secure=True) for i in range(6)]
    outs = {}
    for batch in (1, 3):
        ex = sb.inn_extract(models["jscc"], models["inn"], lost="gaussian", seed=5, batch=batch)
        got, _ = run_queued(ex, [("in", c) for c in conts], ("host", "private"), 12)
        assert ex.largest_batch == batch
        dec = sb.jscc_decoder(models["jscc"], batch=batch)
        imgs, _ = run_queued(dec, [("in", p) for p in got["private"]], ("out",), 6)
        outs[batch] = (got, imgs["out"])
    (g1, i1), (g3, i3) = outs[1], outs[3]
    for port in ("host", "private"):
        assert [pdus.pdu_meta(p)["frame_id"] for p in g3[port]] == list(range(6))
        for a, b in zip(g1[port], g3[port]):  # the same gaussian l_hat draws, frame by frame
            assert torch.allclose(symbols(a), symbols(b), atol=1e-5)
    for a, b in zip(i1, i3):
        assert pdus.pdu_meta(a) == pdus.pdu_meta(b)
        diff = np.abs(pdus.parse_image_pdu(a).image.numpy() - pdus.parse_image_pdu(b).image.numpy())
        assert diff.max() <= 1 / 255 + 1e-6  # the same u8 pixels, up to a rounding step


def test_embed_batches_pairs_in_order(models):
    xs = images(5)
    enc = StegoSystem.load(models["jscc"]).encode
    lat = [pdus.symbol_pdu(to_complex(enc(x[None])), i % 5, (SIZE, SIZE), tuple(enc(x[None]).shape[1:]), False,
                           "host" if i < 5 else "private") for i, x in enumerate(xs + xs[::-1])]
    posts = [(p, lat[i if p == "host" else 5 + i]) for i in range(5) for p in ("host", "private")]
    res = {}
    for batch in (1, 8):
        emb = sb.inn_embed(models["jscc"], models["inn"], batch=batch)
        res[batch], _ = run_queued(emb, posts, ("out",), 5)
        assert emb.largest_batch == min(batch, 5)
    assert [pdus.pdu_meta(p)["frame_id"] for p in res[8]["out"]] == list(range(5))
    for a, b in zip(res[1]["out"], res[8]["out"]):
        assert torch.allclose(symbols(a), symbols(b), atol=1e-5)


def test_a_lone_frame_waits_at_most_the_delay(models):
    """batch 8 with max_delay_ms: one frame and no more: it comes out once its delay ran out (the
    timer), not at flowgraph end; with 0 ms it comes out at once."""
    x = images(1)[0]
    for delay_ms in (0.0, 300.0):
        blk = sb.jscc_encoder(models["jscc"], batch=8, max_delay_ms=delay_ms)
        got, dt = run_queued(blk, [("in", pdus.image_pdu(x, 0))], ("out",), 1)
        assert len(got["out"]) == 1 and blk.n_calls == 1
        if delay_ms:
            assert dt >= delay_ms / 1e3 - 0.02  # it waited for more frames
        assert dt < delay_ms / 1e3 + 5.0  # and did not wait for the flowgraph's end (20 s timeout)


def test_buffered_frames_are_flushed_before_done(models):
    """A finite flowgraph: the block reports done only after its buffered frames went out."""
    xs = images(3)
    tb = gr.top_block()
    blk = sb.jscc_encoder(models["jscc"], batch=16, max_delay_ms=60_000.0)
    dbg = gr_blocks.message_debug()
    tb.msg_connect(blk, "out", dbg, "store")
    for i, x in enumerate(xs):
        blk.to_basic_block()._post(pmt.intern("in"), pdus.image_pdu(x, i))
    tb.start()
    # what the scheduler sends when an upstream block finished
    blk.to_basic_block()._post(pmt.intern("system"), pmt.cons(pmt.intern("done"), pmt.from_long(1)))
    t0 = time.monotonic()
    while dbg.num_messages() < 3 and time.monotonic() - t0 < 20:
        time.sleep(0.005)
    tb.stop()
    tb.wait()
    assert time.monotonic() - t0 < 20  # flushed at done, long before the 60 s delay
    assert [pdus.pdu_meta(dbg.get_message(i))["frame_id"] for i in range(dbg.num_messages())] == [0, 1, 2]


def test_bad_batch_parameters(models):
    with pytest.raises(ValueError, match="batch must be >= 1"):
        sb.jscc_encoder(models["jscc"], batch=0)
    with pytest.raises(ValueError, match="max_delay_ms must be >= 0"):
        sb.jscc_decoder(models["jscc"], max_delay_ms=-1)
    with pytest.raises(ValueError, match="jscc_encoder: precision must be one of"):
        sb.jscc_encoder(models["jscc"], precision="int4")
