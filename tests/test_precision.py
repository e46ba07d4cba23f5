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
ROUND_TRIP_ABS = 1e-5  # INN embed -> extract with the true lost information, fp32 (measured ~1e-6)
# the same in bf16: exact but where a sub-network input that differs by float32 rounding rounds to another
# bfloat16 (a 2^-8 step) and the difference spreads through the later blocks (AMX CPU, README: at 128x128
# relative L2 1.4e-3 / 2.0e-3 host / private, max 1.8e-2; at 64x64 no value crossed and it was exact)
BF16_ROUND_TRIP_REL = 3e-3

# bounds of int8 against fp32 (README): container latent, Bob's PSNR noiseless at 64x64, and the INN round trip
INT8_CONTAINER_REL = 0.15  # relative L2 error of the container latent (measured 0.038 at 64x64, 0.052 at 256x256)
INT8_PSNR_DB = 0.2  # |PSNR(int8) - PSNR(fp32)| of Bob's host and private, noiseless, 64x64 (measured <= 0.034)
# quantized INN embed -> extract with the true lost information: exact but where a sub-network input crosses
# a uint8 rounding boundary (measured at 256x256: 1-2 % of the values, max 1.2e-2, relative L2 3.4e-4)
INT8_ROUND_TRIP_REL = 1e-3
INT8_ROUND_TRIP_ABS = 5e-2

needs_bf16 = pytest.mark.skipif(not precision.bf16_native(), reason="this CPU has no native bfloat16")
needs_int8 = pytest.mark.skipif(precision.int8_engine() is None, reason="this torch has no quantized engine")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def shipped():
    return StegoSystem.shipped()


def test_resolve_names_and_bad_name():
    assert precision.resolve("fp32").used == "fp32"
    assert precision.resolve(None).requested in precision.PRECISIONS
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, int8, auto"):
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
def test_bf16_inn_round_trip_within_the_stated_bound(shipped):
    zh, zp = (shipped.encode(x).contiguous(memory_format=torch.channels_last)
              for x in (default_host(128)[None], default_private(128)[None]))
    err = {}
    try:
        for name in ("fp32", "bf16"):
            shipped.set_precision(name)
            f = shipped._inn_fused()
            with torch.inference_mode():
                zc, lost = f.embed(zh, zp)
                err[name] = [(got - ref) for got, ref in zip(f.extract(zc, lost), (zh, zp))]
    finally:
        shipped.set_precision("fp32")
    assert all(e.abs().max().item() < ROUND_TRIP_ABS for e in err["fp32"])
    for e, ref in zip(err["bf16"], (zh, zp)):
        assert (e.norm() / ref.norm()).item() < BF16_ROUND_TRIP_REL


# --- int8 -----------------------------------------------------------------------------------------
def test_int8_falls_back_to_fp32_without_a_quantized_engine(monkeypatch):
    monkeypatch.setattr(precision, "int8_engine", lambda: None)
    p = precision.resolve("int8")
    assert p.used == "fp32" and p.dtype == torch.float32 and "no working quantized engine" in p.reason
    s = StegoSystem.shipped("deepjscc")
    assert s.set_precision("int8").used == "fp32" and s._q8 is None  # nothing calibrated
    assert precision.resolve("int8", device="meta").used == "fp32"  # int8 is a CPU path


def test_auto_never_picks_int8(monkeypatch):
    monkeypatch.setattr(precision, "bf16_native", lambda: False)
    assert precision.resolve("auto").used == "fp32"


def test_int8_bits_avoid_int16_saturation_without_vnni(monkeypatch):
    monkeypatch.setattr(precision, "vnni", lambda: False)
    wbits, abits = precision.int8_bits()
    assert 2 * (2 ** abits - 1) * (2 ** (wbits - 1) - 1) <= 32767  # vpmaddubsw adds two u8 x s8 products
    monkeypatch.setattr(precision, "vnni", lambda: True)
    assert precision.int8_bits() == (8, 8)


@needs_int8
def test_int8_conv_is_the_quantized_function():
    """One quantized convolution against the same arithmetic in float32 (inputs rounded to the uint8 grid,
    weights to the int8 grid): equal up to float rounding (int32 accumulation, no saturation)."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(16, 32, 5, padding=2)
    x = torch.randn(1, 16, 24, 24).contiguous(memory_format=torch.channels_last)
    inq = precision._qparams(x.min(), x.max())
    wbits, _ = precision.int8_bits()
    wmax = 2 ** (wbits - 1) - 1
    q = precision._QConv(conv, inq, precision._qparams(-20, 20), precision.int8_engine(), wmax)
    w = conv.weight.detach()
    ws = (w.abs().flatten(1).amax(1) / wmax).view(-1, 1, 1, 1)
    ref = torch.nn.functional.conv2d(torch.fake_quantize_per_tensor_affine(x, inq[0], inq[1], 0, 255),
                                     (w / ws).round() * ws, conv.bias, 1, 2)
    with torch.inference_mode():
        out = q(x)
    assert out.dtype == torch.float32
    tol = 1e-4 if q.engine == "onednn" else 0.6 * q.q.scale  # x86 / fbgemm round the output to uint8
    assert (out - ref).abs().max().item() < tol


@needs_int8
def test_int8_transposed_stride1_conv_as_conv():
    t = torch.nn.ConvTranspose2d(8, 16, 5, padding=2)
    x = torch.randn(1, 8, 12, 12)
    with torch.no_grad():
        assert torch.allclose(precision._as_conv(t)(x), t(x), atol=1e-5)


@pytest.mark.parametrize("k, s, p, op", [(5, 2, 2, 1), (3, 2, 1, 1), (4, 2, 1, 0), (7, 2, 1, 1), (5, 3, 2, 2)])
def test_int8_strided_transposed_conv_as_phases(k, s, p, op):
    """A strided ConvTranspose2d (the decoder's upsampling) as one convolution of its output phases,
    pixel-shuffled and cropped: the same function in float32."""
    torch.manual_seed(k + s)
    t = torch.nn.ConvTranspose2d(6, 5, k, s, p, output_padding=op)
    x = torch.randn(2, 6, 9, 7)
    with torch.no_grad():
        got, ref = precision._Polyphase(t, lambda conv: conv)(x), t(x)
    assert got.shape == ref.shape and torch.allclose(got, ref, atol=1e-5)


@pytest.fixture(scope="module")
def int8_system():
    s = StegoSystem.shipped()
    assert s.set_precision("int8").used == "int8"
    return s


@needs_int8
def test_int8_matches_fp32_within_the_stated_bound(shipped, int8_system):
    xh, xp = default_host(64)[None], default_private(64)[None]
    q = int8_system.int8()
    assert int8_system.int8() is q  # calibrated once, cached
    assert any(n.startswith("encoder.") for n in q.quantized) and any(n.startswith("decoder.") for n in q.quantized)
    assert any(n.startswith("inn.") for n in q.quantized) and "encoder.net.0" not in q.quantized  # pixels: float
    assert "decoder.net.6" in q.quantized and "decoder.net.8" not in q.quantized  # the upsampling; pixels: float
    zc32 = shipped.alice(xh, xp)
    rec32 = shipped.bob(zc32, (64, 64))
    zc8 = int8_system.alice(xh, xp)
    rec8 = int8_system.bob(zc8, (64, 64))
    assert zc8.dtype == torch.float32 and all(v.dtype == torch.float32 for v in rec8.values())
    assert 0 < ((zc8 - zc32).norm() / zc32.norm()).item() < INT8_CONTAINER_REL  # int8 really ran
    assert 2.0 * zc8.pow(2).mean().item() == pytest.approx(1.0, abs=1e-5)  # unit power in float32
    for k, ref in (("host", xh), ("private", xp)):
        assert abs(psnr(rec8[k], ref).item() - psnr(rec32[k], ref).item()) <= INT8_PSNR_DB


@needs_int8
def test_int8_inn_round_trip(int8_system):
    """The same quantized sub-networks run in both directions: the coupling stays invertible, up to the
    sub-networks' rounding of inputs that differ by float rounding (a uint8 step where one crosses a bin)."""
    s = int8_system
    zh, zp = (s.encode(x).contiguous(memory_format=torch.channels_last)
              for x in (default_host(64)[None], default_private(64)[None]))
    f = s._inn_fused()
    assert f is s.int8().inn
    with torch.inference_mode():
        zc, lost = f.embed(zh, zp)
        h, p = f.extract(zc, lost)
    for got, ref in ((h, zh), (p, zp)):
        assert (got - ref).abs().max().item() < INT8_ROUND_TRIP_ABS
        assert ((got - ref).norm() / ref.norm()).item() < INT8_ROUND_TRIP_REL


@needs_int8
def test_int8_recalibrates_when_the_weights_change():
    s = StegoSystem.shipped("deepjscc")
    s.set_precision("int8")
    q = s.int8()
    with torch.no_grad():
        s.jscc.encoder.net[2].weight.mul_(1.0)  # a new version of the parameter
    assert s.int8() is not q


def test_calibration_images_are_fixed():
    x = precision.calibration_images(32)
    assert x.shape == (4, 3, 32, 32) and torch.equal(x, precision.calibration_images(32))
    assert torch.equal(x[2], x[0].flip(-1))


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


@needs_int8
def test_blocks_accept_int8(models):
    """The four model blocks run int8 (calibrated at construction) and give the frames of fp32 closely."""
    x = images(1)[0]
    enc8 = sb.jscc_encoder(models["jscc"], precision="int8")
    enc32 = sb.jscc_encoder(models["jscc"])
    assert enc8.system.precision.used == "int8" and enc8.system._q8 is not None
    got8, _ = run_queued(enc8, [("in", pdus.image_pdu(x, 0))], ("out",), 1)
    got32, _ = run_queued(enc32, [("in", pdus.image_pdu(x, 0))], ("out",), 1)
    a, b = symbols(got8["out"][0]), symbols(got32["out"][0])
    assert 0 < ((a - b).abs().norm() / b.abs().norm()).item() < INT8_CONTAINER_REL
    for blk in (sb.inn_embed(models["jscc"], models["inn"], precision="int8"),
                sb.inn_extract(models["jscc"], models["inn"], precision="int8"),
                sb.jscc_decoder(models["jscc"], precision="int8")):
        assert blk.system.precision.used == "int8"


def test_bf16_decoder_last_layer_as_phases_is_the_same_function():
    """In bf16 inference the decoder's float32 last layer runs as its polyphase convolution: the same
    values as the transposed convolution (float rounding), and rebuilt when the weights change."""
    from gr_stegsem.models.deepjscc import DeepJSCC, DeepJSCCConfig

    torch.manual_seed(0)
    dec = DeepJSCC(DeepJSCCConfig(width1=8, width=16)).decoder.requires_grad_(False)
    z = torch.randn(2, 8, 9, 7).contiguous(memory_format=torch.channels_last)  # odd sizes: cropped phases

    def run(grad):  # with gradients on, the transposed layer itself runs
        with torch.set_grad_enabled(grad), torch.autocast("cpu", torch.bfloat16):
            return dec(z)

    assert torch.allclose(run(False), run(True), atol=1e-5) and run(False).shape == (2, 3, 36, 28)
    with torch.no_grad():
        dec.net[-2].weight.mul_(-1.0)
    assert torch.allclose(run(False), run(True), atol=1e-5)
    assert "_phases" not in dict(dec.named_modules()) and not any("phases" in k for k in dec.state_dict())
