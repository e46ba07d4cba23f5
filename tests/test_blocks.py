"""QA for the GNU Radio message blocks (gr_stegsem.blocks) with tiny random models on 32x32 images."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

gr = pytest.importorskip("gnuradio.gr")
from gnuradio import blocks as gr_blocks  # noqa: E402
import pmt  # noqa: E402

from gr_stegsem import blocks as sb  # noqa: E402
from gr_stegsem.attacks import model_inversion, naive_decoding  # noqa: E402
from gr_stegsem.checkpoint import CheckpointError  # noqa: E402
from gr_stegsem.images import tensor_to_array  # noqa: E402
from gr_stegsem.models import DeepJSCCConfig  # noqa: E402
from gr_stegsem.models.deepjscc import num_symbols, to_complex  # noqa: E402
from gr_stegsem.blocks import pdus  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402
from tests.conftest import TINY_JSCC, write_tiny_models  # noqa: E402

CFG = DeepJSCCConfig(**TINY_JSCC)
SIZE = 32


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny random DeepJSCC and INN (every INN block perturbed so it is not the identity)."""
    return write_tiny_models(tmp_path_factory.mktemp("models"), "jscc", ("inn",))


@pytest.fixture(scope="module")
def system(models):
    return StegoSystem.load(models["jscc"], models["inn"])


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Four 32x32 crops of scikit-image's astronaut as u8 arrays, also written as PNGs."""
    from skimage import data

    a = data.astronaut()
    crops = [np.ascontiguousarray(a[y:y + 64:2, x:x + 64:2]) for y, x in ((0, 0), (100, 200), (250, 150), (380, 400))]
    d = tmp_path_factory.mktemp("photos")
    for i, c in enumerate(crops):
        Image.fromarray(c).save(d / f"p{i}.png")
    return {"arrays": crops, "dir": d}


def tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a).permute(2, 0, 1).float() / 255.0


def pdu_array(pdu) -> np.ndarray:
    return np.asarray(pmt.to_python(pmt.cdr(pdu)))


def post(blk, port: str, pdu) -> None:
    blk.to_basic_block()._post(pmt.intern(port), pdu)


def run_block(blk, posts, outs=("out",), expect=1, timeout=10.0, extra=None, after=None):
    """Run ``blk`` in a top block, post [(port, pdu), ...] to it, wait until ``expect`` messages
    arrived on the output ports ``outs`` (or ``timeout`` s); returns {port: [pdu, ...]}."""
    tb = gr.top_block()
    dbgs = {p: gr_blocks.message_debug() for p in outs}
    for p, d in dbgs.items():
        tb.msg_connect((blk, p), (d, "store"))
    tb.start()
    try:
        for port, pdu in posts:
            if port == "sleep":
                time.sleep(pdu)
            else:
                post(blk, port, pdu)
        t0 = time.monotonic()
        while sum(d.num_messages() for d in dbgs.values()) < expect and time.monotonic() - t0 < timeout:
            time.sleep(0.01)
        if after:
            after()
    finally:
        tb.stop()
        tb.wait()
    return {p: [d.get_message(i) for i in range(d.num_messages())] for p, d in dbgs.items()}


# --- PDU helpers -------------------------------------------------------------------------------
def test_image_pdu_roundtrip_and_layout(photos):
    a = photos["arrays"][0]
    p = pdus.image_pdu(a, 7, role="host")
    meta = pmt.car(p)
    assert pmt.is_integer(pmt.dict_ref(meta, pmt.intern("frame_id"), pmt.PMT_NIL))
    assert pmt.is_symbol(pmt.dict_ref(meta, pmt.intern("role"), pmt.PMT_NIL))
    assert pdus.pdu_meta(p) == {"frame_id": 7, "height": 32, "width": 32, "role": "host"}
    assert pmt.is_u8vector(pmt.cdr(p)) and pmt.length(pmt.cdr(p)) == 32 * 32 * 3
    assert np.array_equal(pdu_array(p).reshape(32, 32, 3), a)  # RGB, row-major
    f = pdus.parse_image_pdu(p)
    assert (f.frame_id, f.size, f.role) == (7, (32, 32), "host")
    assert np.array_equal(tensor_to_array(f.image), a)
    assert np.array_equal(pdu_array(pdus.image_pdu(f.image, 7)), a.reshape(-1))  # tensor -> same bytes


def test_symbol_pdu_roundtrip(system, photos):
    x = tensor(photos["arrays"][1])[None]
    z = system.encode(x)
    p = pdus.symbol_pdu(to_complex(z), 3, (32, 32), tuple(z.shape[1:]), secure=True)
    m = pdus.pdu_meta(p)
    assert m == {"frame_id": 3, "height": 32, "width": 32, "latent_c": 8, "latent_h": 8, "latent_w": 8,
                 "secure": True}
    f = pdus.parse_symbol_pdu(p, CFG)
    assert f.secure and f.latent == (8, 8, 8) and f.symbols.shape == (1, 256)
    assert torch.equal(f.real_latent(), z)


def _bad_image_pdus(a):
    good = pdus.image_pdu(a, 0)
    meta, vec = pmt.car(good), pmt.cdr(good)
    return {
        "not a pair": pmt.intern("hello"),
        "wrong vector type": pmt.cons(meta, pmt.init_c32vector(3, [1j, 2, 3])),
        "wrong length": pmt.cons(meta, pmt.init_u8vector(10, [0] * 10)),
        "missing key": pmt.cons(pmt.dict_delete(meta, pmt.intern("height")), vec),
        "bad role": pmt.cons(pmt.dict_add(meta, pmt.intern("role"), pmt.intern("eve")), vec),
        "meta not a dict": pmt.cons(pmt.from_long(3), vec),
    }


def _bad_symbol_pdus(good):
    meta, vec = pmt.car(good), pmt.cdr(good)
    s = np.asarray(pmt.c32vector_elements(vec), dtype=np.complex64)
    nan, inf = s.copy(), s.copy()
    nan[5] = complex(np.nan, 0)
    inf[7] = complex(0, np.inf)
    return {
        "not a pair": pmt.PMT_T,
        "wrong vector type": pmt.cons(meta, pmt.init_u8vector(len(s), [1] * len(s))),
        "wrong length": pmt.cons(meta, pmt.init_c32vector(len(s) - 1, s[:-1].tolist())),
        "NaN samples": pmt.cons(meta, pmt.init_c32vector(len(s), nan.tolist())),
        "Inf samples": pmt.cons(meta, pmt.init_c32vector(len(s), inf.tolist())),
        "missing key": pmt.cons(pmt.dict_delete(meta, pmt.intern("latent_c")), vec),
        "latent does not fit the model": pmt.cons(pdus.meta_set(meta, latent_c=16, latent_h=4), vec),
    }


def test_parsers_reject_malformed(system, photos):
    a = photos["arrays"][0]
    for why, bad in _bad_image_pdus(a).items():
        with pytest.raises(ValueError):
            pdus.parse_image_pdu(bad)
    z = system.encode(tensor(a)[None])
    good = pdus.symbol_pdu(to_complex(z), 0, (32, 32), tuple(z.shape[1:]))
    for why, bad in _bad_symbol_pdus(good).items():
        with pytest.raises(ValueError, match=r"PDU|pair|NaN|latent|symbol"):
            pdus.parse_symbol_pdu(bad, CFG)


# --- blocks --------------------------------------------------------------------------------------
def test_encoder_symbols_and_power(models, system, photos):
    enc = sb.jscc_encoder(models["jscc"])
    a = photos["arrays"][2]
    out = run_block(enc, [("in", pdus.image_pdu(a, 4, role="private"))])["out"]
    assert len(out) == 1
    vec = pmt.cdr(out[0])
    assert pmt.is_c32vector(vec)
    k = num_symbols(32, 32, CFG)
    assert pmt.length(vec) == k == 256
    s = np.asarray(pmt.c32vector_elements(vec))
    assert np.mean(np.abs(s) ** 2) == pytest.approx(1.0, abs=1e-4)
    m = pdus.pdu_meta(out[0])
    assert m["frame_id"] == 4 and m["role"] == "private" and m["secure"] is False
    assert (m["height"], m["width"], m["latent_c"], m["latent_h"], m["latent_w"]) == (32, 32, 8, 8, 8)
    ref = to_complex(system.encode(tensor(a)[None]))[0].numpy()
    assert np.array_equal(s.astype(np.complex64), ref)  # the library's encoder, same numbers


def _symbols(system, a, frame_id, role=None):
    z = system.encode(tensor(a)[None])
    return pdus.symbol_pdu(to_complex(z), frame_id, (32, 32), tuple(z.shape[1:]), role=role)


def test_embed_pairs_by_frame_id_and_drops_unpaired(models, system, photos):
    # (timeout and sleep wide enough that a loaded machine's delays between the posts below do not
    # expire frames 1 and 2 too: 0.3 / 0.5 s lost frame 1 once with both cores busy)
    emb = sb.inn_embed(models["jscc"], models["inn"], timeout=1.5)
    h, p = photos["arrays"][0], photos["arrays"][1]
    posts = [
        ("host", _symbols(system, h, 0, "host")),  # never gets a partner
        ("sleep", 2.0),
        ("private", _symbols(system, p, 1, "private")),  # frame 0 expires on this arrival
        ("host", _symbols(system, h, 2)),
        ("host", _symbols(system, h, 1, "host")),  # pairs with private 1
        ("private", _symbols(system, p, 2)),  # pairs with host 2 (private arrived second)
        ("private", _symbols(system, p, 3, "host")),  # role contradicts the port: dropped
        ("host", _symbols(system, h, 9)),  # still waiting at stop(): dropped there
    ]
    seen = {}

    def pending_after_all_handled():  # the two outputs can come before host 9 has been handled
        n = sum(1 for port, _ in posts if port != "sleep")
        t0 = time.monotonic()
        while emb.n_in < n and time.monotonic() - t0 < 10:
            time.sleep(0.01)
        seen.update(pending=emb.pending)

    out = run_block(emb, posts, expect=2, after=pending_after_all_handled)["out"]
    # (the scheduler serves the two input queues in its own order, so the outputs may come either way)
    assert sorted(pdus.pdu_meta(o)["frame_id"] for o in out) == [1, 2]
    assert seen["pending"] == [9]
    assert emb.n_unpaired == 2 and emb.n_dropped == 3 and emb.pending == []
    zh, zp = system.encode(tensor(h)[None]), system.encode(tensor(p)[None])
    ref = to_complex(system.embed(zh, zp))[0].numpy()
    for o in out:
        m = pdus.pdu_meta(o)
        assert m["secure"] is True and "role" not in m
        s = np.asarray(pmt.c32vector_elements(pmt.cdr(o)), dtype=np.complex64)
        assert np.mean(np.abs(s) ** 2) == pytest.approx(1.0, abs=1e-4)
        assert np.array_equal(s, ref)  # StegoSystem.embed, same numbers


def test_extract_decode_matches_offline(models, system, photos):
    """Container PDU -> inn_extract -> two jscc_decoders == the offline StegoSystem path, no channel."""
    h, p = photos["arrays"][2], photos["arrays"][3]
    xh, xp = tensor(h)[None], tensor(p)[None]
    zc = system.alice(xh, xp)
    container = pdus.symbol_pdu(to_complex(zc), 5, (32, 32), tuple(zc.shape[1:]), secure=True)
    ex = sb.inn_extract(models["jscc"], models["inn"])
    sym = run_block(ex, [("in", container)], outs=("host", "private"), expect=2)
    assert len(sym["host"]) == len(sym["private"]) == 1
    assert pdus.pdu_meta(sym["host"][0])["role"] == "host"
    assert pdus.pdu_meta(sym["private"][0])["role"] == "private"
    zh, zp = system.extract(zc)
    for role, z in (("host", zh), ("private", zp)):
        s = np.asarray(pmt.c32vector_elements(pmt.cdr(sym[role][0])), dtype=np.complex64)
        assert np.array_equal(s, to_complex(z)[0].numpy())
    dec = sb.jscc_decoder(models["jscc"])
    imgs = run_block(dec, [("in", sym["host"][0]), ("in", sym["private"][0])], expect=2)["out"]
    got = {pdus.pdu_meta(i)["role"]: pdu_array(i).reshape(32, 32, 3) for i in imgs}
    for role, z in (("host", zh), ("private", zp)):
        assert np.array_equal(got[role], tensor_to_array(system.decode(z, (32, 32))[0]))
    bob = system.bob(zc, (32, 32))  # the batched offline path: within one grey level
    for role in ("host", "private"):
        diff = np.abs(got[role].astype(int) - tensor_to_array(bob[role][0]).astype(int))
        assert diff.max() <= 1
    assert pdus.pdu_meta(imgs[0])["frame_id"] == 5 and "latent_c" not in pdus.pdu_meta(imgs[0])


def test_decoder_crops_to_original_size(models, system):
    x = torch.rand(1, 3, 30, 27)
    z = system.encode(x)
    dec = sb.jscc_decoder(models["jscc"])
    out = run_block(dec, [("in", pdus.symbol_pdu(to_complex(z), 0, (30, 27), tuple(z.shape[1:])))])["out"]
    m = pdus.pdu_meta(out[0])
    assert (m["height"], m["width"]) == (30, 27) and pmt.length(pmt.cdr(out[0])) == 30 * 27 * 3


def test_eve_naive(models, system, photos):
    zc = system.alice(tensor(photos["arrays"][0])[None], tensor(photos["arrays"][1])[None])
    eve = sb.eve_naive(models["jscc"])
    out = run_block(eve, [("in", pdus.symbol_pdu(to_complex(zc), 0, (32, 32), (8, 8, 8), secure=True))])["out"]
    ref = tensor_to_array(naive_decoding(system.jscc, zc, (32, 32))[0])
    assert np.array_equal(pdu_array(out[0]).reshape(32, 32, 3), ref)


def test_eve_mia_drops_when_busy_and_still_inverts(models, system, photos):
    mia = sb.eve_mia(models["jscc"], steps=8, lr=0.05, seed=1, queue_size=1)
    z = system.encode(tensor(photos["arrays"][0])[None])
    posts = [("in", pdus.symbol_pdu(to_complex(z), i, (32, 32), (8, 8, 8))) for i in range(6)]
    t0 = time.monotonic()
    done = {}

    def wait_all():  # every frame is either inverted or counted as dropped
        while mia.n_out + mia.n_overflow < 6 and time.monotonic() - t0 < 20:
            time.sleep(0.01)
        done["n"] = mia.n_out + mia.n_overflow

    out = run_block(mia, posts, expect=1, after=wait_all)["out"]
    assert done["n"] == 6
    assert mia.n_overflow >= 1 and len(out) >= 1 and len(out) == mia.n_out
    assert mia._worker is None  # joined in stop()
    ref = model_inversion(system.jscc, z, (32, 32), steps=8, lr=0.05, seed=1).images[0]
    assert np.array_equal(pdu_array(out[0]).reshape(32, 32, 3), tensor_to_array(ref))


def test_image_sink_writes_pngs_and_metrics(tmp_path, photos):
    sink = sb.image_sink(tmp_path / "out", prefix="bob", reference=str(photos["dir"]))
    a0, a1 = photos["arrays"][0], photos["arrays"][1]
    noisy = np.clip(a1.astype(int) + 20, 0, 255).astype(np.uint8)
    res = run_block(sink, [("in", pdus.image_pdu(a0, 0, role="private")), ("in", pdus.image_pdu(noisy, 1))],
                    outs=("metrics",), expect=2)["metrics"]
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "bob_00000.png")), a0)
    assert (tmp_path / "out" / "bob_00001.png").is_file()
    m0, m1 = (pdus.pdu_meta(r) for r in res)
    assert m0["frame_id"] == 0 and m0["psnr"] >= 90 and m0["lpips"] == pytest.approx(0, abs=1e-5)
    assert m0["role"] == "private" and np.isnan(m0["ms_ssim"])  # 32 px: too small for MS-SSIM
    assert 10 < m1["psnr"] < 40 and m1["lpips"] > 0
    assert pmt.length(pmt.cdr(res[0])) == 0
    assert [r["frame_id"] for r in sink.records] == [0, 1] and sink.records[1]["psnr"] == pytest.approx(m1["psnr"])


def test_malformed_pdus_are_dropped_and_next_good_one_processed(models, system, photos):
    a = photos["arrays"][0]
    good_img = pdus.image_pdu(a, 0)
    good_sym = _symbols(system, a, 0)
    zc = system.alice(tensor(a)[None], tensor(photos["arrays"][1])[None])
    good_con = pdus.symbol_pdu(to_complex(zc), 0, (32, 32), (8, 8, 8), secure=True)
    bad_img = list(_bad_image_pdus(a).values())
    bad_sym = list(_bad_symbol_pdus(good_sym).values())
    cases = [
        (sb.jscc_encoder(models["jscc"]), "in", bad_img, good_img, ("out",)),
        (sb.jscc_decoder(models["jscc"]), "in", bad_sym, good_sym, ("out",)),
        (sb.inn_extract(models["jscc"], models["inn"]), "in", bad_sym + [good_sym], good_con, ("host", "private")),
        (sb.eve_naive(models["jscc"]), "in", bad_sym, good_con, ("out",)),
        (sb.eve_mia(models["jscc"], steps=2, queue_size=4), "in", bad_sym, good_con, ("out",)),
        (sb.symbol_channel(10.0), "in", bad_sym[:-1], good_sym, ("out",)),  # the channel knows no model
    ]
    for blk, port, bad, good, outs in cases:
        out = run_block(blk, [(port, b) for b in bad] + [(port, good)], outs=outs, expect=len(outs))
        assert all(len(v) == 1 for v in out.values()), blk.name()
        assert blk.n_dropped == len(bad) and blk.last_error, blk.name()
    emb = sb.inn_embed(models["jscc"], models["inn"])
    posts = [("host", b) for b in bad_sym] + [("private", b) for b in bad_sym]
    out = run_block(emb, posts + [("host", good_sym), ("private", _symbols(system, a, 0, "private"))])["out"]
    assert len(out) == 1 and emb.n_dropped == 2 * len(bad_sym)


def test_malformed_pdu_is_logged(models, capfd):
    enc = sb.jscc_encoder(models["jscc"])
    run_block(enc, [("in", pmt.cons(pmt.make_dict(), pmt.init_u8vector(3, [1, 2, 3])))], expect=1, timeout=0.3)
    cap = capfd.readouterr()
    log = cap.out + cap.err  # GNU Radio's console logger writes to stdout
    assert "stegsem_jscc_encoder" in log and "dropped: malformed PDU on 'in'" in log and "frame_id" in log


def test_missing_or_wrong_model_fails_at_construction(models, tmp_path):
    missing = str(tmp_path / "nope.safetensors")
    for make in (lambda: sb.jscc_encoder(missing), lambda: sb.jscc_decoder(missing),
                 lambda: sb.eve_naive(missing), lambda: sb.eve_mia(missing),
                 lambda: sb.inn_embed(models["jscc"], missing), lambda: sb.inn_extract(missing, models["inn"])):
        with pytest.raises(CheckpointError, match=r"^(jscc_encoder|jscc_decoder|eve_naive|eve_mia|inn_embed|"
                                                  r"inn_extract): model file not found: .*nope\.safetensors"):
            make()
    with pytest.raises(CheckpointError, match="jscc_encoder: .* holds a stego-inn model, not a deepjscc model"):
        sb.jscc_encoder(models["inn"])
    with pytest.raises(ValueError, match="lost must be one of"):
        sb.inn_extract(models["jscc"], models["inn"], lost="ones")


def test_image_source_folder_resize_role(photos, tmp_path):
    src = sb.image_source(str(photos["dir"]), size=16, role="host")
    out = run_block(src, [], expect=4)["out"]
    assert [pdus.pdu_meta(o)["frame_id"] for o in out] == [0, 1, 2, 3]
    assert all(pdus.pdu_meta(o)["role"] == "host" and pmt.length(pmt.cdr(o)) == 16 * 16 * 3 for o in out)
    src = sb.image_source([str(photos["dir"] / "p1.png")], loop=True, interval=0.01)
    out = run_block(src, [], expect=5)["out"]
    assert len(out) >= 5 and [pdus.pdu_meta(o)["frame_id"] for o in out[:5]] == [0, 1, 2, 3, 4]
    assert np.array_equal(pdu_array(out[3]).reshape(32, 32, 3), photos["arrays"][1])
    with pytest.raises(FileNotFoundError):
        sb.image_source(str(tmp_path / "none"))


def test_secure_chain_runs_to_completion(models, photos, tmp_path):
    """Two sources with done=True: the message-only flowgraph ends by itself with every frame through."""
    J, I = models["jscc"], models["inn"]
    tb = gr.top_block()
    hs = sb.image_source(str(photos["dir"]), role="host", done=True)
    ps = sb.image_source(str(photos["dir"]), role="private", done=True, interval=0.02)
    he, pe = sb.jscc_encoder(J), sb.jscc_encoder(J)
    emb, ch, ex = sb.inn_embed(J, I, timeout=2), sb.symbol_channel(30.0, seed=1), sb.inn_extract(J, I)
    dec, eve, mia = sb.jscc_decoder(J), sb.eve_naive(J), sb.eve_mia(J, steps=3, queue_size=8)
    bob_sink = sb.image_sink(tmp_path, "bob", reference=str(photos["dir"]))
    eve_sink, mia_sink = sb.image_sink(tmp_path, "eve"), sb.image_sink(tmp_path, "mia")
    for a, pa, b, pb in [(hs, "out", he, "in"), (ps, "out", pe, "in"), (he, "out", emb, "host"),
                         (pe, "out", emb, "private"), (emb, "out", ch, "in"), (ch, "out", ex, "in"),
                         (ch, "out", eve, "in"), (ch, "out", mia, "in"), (ex, "private", dec, "in"),
                         (dec, "out", bob_sink, "in"), (eve, "out", eve_sink, "in"), (mia, "out", mia_sink, "in")]:
        tb.msg_connect((a, pa), (b, pb))
    tb.start()
    t0 = time.monotonic()
    while not (hs.finished.is_set() and ps.finished.is_set()) and time.monotonic() - t0 < 10:
        time.sleep(0.01)
    tb.wait()
    assert time.monotonic() - t0 < 15
    assert sorted(r["frame_id"] for r in bob_sink.records) == [0, 1, 2, 3]
    assert len(eve_sink.records) == len(mia_sink.records) == 4
    assert all(r["role"] == "private" for r in bob_sink.records)
    assert sorted(p.name for p in tmp_path.glob("bob_*.png")) == [f"bob_0000{i}.png" for i in range(4)]


# --- the no-security baseline, embedded default images, default references -------------------------------
def test_insecure_embed_and_extract_forward_the_private_symbols(models, system, photos):
    """secure=False: inn_embed sends the private PDU as the frame (host ignored), inn_extract forwards it to
    'private' only; no INN is loaded (a missing INN file is fine)."""
    a, b = photos["arrays"][0], photos["arrays"][1]
    host, private = _symbols(system, a, 4, "host"), _symbols(system, b, 4, "private")
    emb = sb.inn_embed(models["jscc"], "/nonexistent/inn.safetensors", secure=False)
    assert emb.system.inn is None
    out = run_block(emb, [("host", host), ("private", private)])["out"]
    assert len(out) == 1 and emb.n_dropped == 0
    m = pdus.pdu_meta(out[0])
    assert m["frame_id"] == 4 and m["secure"] is False and "role" not in m
    assert np.array_equal(pdu_array(out[0]), pdu_array(private))
    ex = sb.inn_extract(models["jscc"], "/nonexistent/inn.safetensors", secure=False)
    res = run_block(ex, [("in", out[0])], outs=("host", "private"))
    assert res["host"] == [] and len(res["private"]) == 1
    assert pdus.pdu_meta(res["private"][0])["role"] == "private"
    assert np.array_equal(pdu_array(res["private"][0]), pdu_array(private))
    zc = system.alice(tensor(a)[None], tensor(b)[None])
    container = pdus.symbol_pdu(to_complex(zc), 0, (32, 32), (8, 8, 8), secure=True)
    ex2 = sb.inn_extract(models["jscc"], "", secure=False)
    run_block(ex2, [("in", container)], outs=("host", "private"), expect=1, timeout=0.3)
    assert ex2.n_dropped == 1 and "container" in ex2.last_error


def test_image_source_default_images_and_sink_default_reference(tmp_path):
    from gr_stegsem.samples import default_host, default_private

    for role, ref in (("host", default_host(32)), ("private", default_private(32))):
        src = sb.image_source("", size=32, role=role)
        (o,) = run_block(src, [], expect=1)["out"][:1]
        assert pdus.pdu_meta(o)["role"] == role
        assert np.array_equal(pdu_array(o).reshape(32, 32, 3), tensor_to_array(ref))
        sink = sb.image_sink(tmp_path / role, prefix="x", reference=f"default:{role}", save=False)
        run_block(sink, [("in", o)], outs=("metrics",), expect=1)
        assert sink.records[0]["psnr"] >= 90 and sink.records[0]["path"] is None
        assert not (tmp_path / role).exists()  # save=False writes nothing
    assert pdus.pdu_meta(run_block(sb.image_source("", role="host"), [], expect=1)["out"][0])["height"] == 256
    with pytest.raises(ValueError, match="role 'host' or 'private'"):
        sb.image_source("")
    with pytest.raises(ValueError, match="default:host"):
        sb.image_sink(tmp_path, reference="default:eve")


def test_eve_outputs_say_which_attack_and_mia_can_be_off(models, system, photos):
    zc = system.alice(tensor(photos["arrays"][0])[None], tensor(photos["arrays"][1])[None])
    con = pdus.symbol_pdu(to_complex(zc), 2, (32, 32), (8, 8, 8), secure=True)
    out = run_block(sb.eve_naive(models["jscc"]), [("in", con)])["out"]
    assert pdus.pdu_meta(out[0])["attack"] == "naive"
    out = run_block(sb.eve_mia(models["jscc"], steps=1), [("in", con)])["out"]
    assert pdus.pdu_meta(out[0])["attack"] == "mia"
    off = sb.eve_mia(models["jscc"], steps=0)
    assert run_block(off, [("in", con)], expect=1, timeout=0.3)["out"] == [] and off.n_dropped == 0
    with pytest.raises(ValueError, match=">= 0"):
        sb.eve_mia(models["jscc"], steps=-1)


def test_sink_logs_name_the_sink(capfd, photos, tmp_path):
    """Six image sinks in one flowgraph: each log line says which one (issue 14)."""
    img = pdus.image_pdu(tensor(photos["arrays"][0]), 0)
    sink = sb.image_sink(str(tmp_path), prefix="eve_mia", save=False, reference=str(photos["dir"] / "p0.png"))

    def wait():
        t0 = time.monotonic()
        while not sink.records and time.monotonic() - t0 < 10:
            time.sleep(0.01)

    run_block(sink, [("in", img)], outs=("metrics",), expect=1, after=wait)
    log = "".join(capfd.readouterr())
    assert sink.records and "stegsem_image_sink eve_mia" in log


def test_image_sink_counts_frames_that_never_arrived(photos, tmp_path, capfd):
    """Frames 0, 1, 3, 7 (and a late 2): 4 ids never arrived (2 counted, then 4, 5, 6 ... 2 came late:
    not taken back, a late frame is not a gap), logged and summed at stop."""
    sink = sb.image_sink(str(tmp_path), prefix="bob_private", save=False)
    posts = [("in", pdus.image_pdu(tensor(photos["arrays"][0]), fid)) for fid in (0, 1, 3, 7, 2)]
    run_block(sink, posts, outs=("done",), expect=5)
    assert [r["frame_id"] for r in sink.records] == [0, 1, 3, 7, 2]
    assert sink.n_missing == 4
    log = "".join(capfd.readouterr())
    assert "frames after 3 up to 7 never arrived (3; 4 missing so far)" in log
    assert "5 frames received, 4 frame ids never arrived (ids 0 to 7)" in log
