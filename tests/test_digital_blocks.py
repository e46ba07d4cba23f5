"""QA for issue 13's digital blocks: vq_encoder / vq_decoder (DeepJSCC-LBVQ through gr-digital's
16-QAM constellation) and lwe_encrypt / lwe_decrypt (DeepJSCEC, public-key LWE).

The blocks compute the schemes' functions (LBVQScheme / JSCECScheme, what ``stegsem eval`` runs) on
one frame per PDU; bad input is a clear error at construction or a logged, dropped PDU. Most tests
use tiny random models by the shipped names; the last ones use the shipped models (skipped when
models/lbvq-16 or models/jscec-n512 are not there; STEGSEM_DIGITAL_MODELS names another folder).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

gr = pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402
from gnuradio import digital  # noqa: E402

from gr_stegsem import keys, lwe, schemes  # noqa: E402
from gr_stegsem import blocks as sb  # noqa: E402
from gr_stegsem.blocks import digital as dg  # noqa: E402
from gr_stegsem.blocks import pdus  # noqa: E402
from gr_stegsem.metrics import psnr  # noqa: E402
from gr_stegsem.models.deepjscc import from_complex  # noqa: E402
from gr_stegsem.models.lbvq import qam_points  # noqa: E402
from tests.conftest import MODELS, write_tiny_digital_models  # noqa: E402
from tests.test_blocks import photos, run_block, tensor  # noqa: E402,F401

HEX = "5a" * 32
OTHER = "c3" * 32
SHIPPED = Path(os.environ.get("STEGSEM_DIGITAL_MODELS") or MODELS)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    d = tmp_path_factory.mktemp("digital")
    write_tiny_digital_models(d)
    (d / "bob.key").write_text(HEX + "\n")
    (d / "other.key").write_text(OTHER + "\n")
    sk = lwe.SecretKey(keys.load_key(d / "bob.key"))
    lwe.write_public(d / "alice.pub", sk.public(256))  # frames up to 32x32 px (256 symbols)
    lwe.write_public(d / "small.pub", sk.public(64))
    lwe.write_public(d / "n256.pub", lwe.SecretKey(keys.load_key(d / "bob.key"), lwe.LWEParams(n=256)).public(256))
    return d


def _image_pdu(a, fid=0):
    return pdus.image_pdu(a, fid, role="private")


def _noisy(pdu, sigma, seed):
    """The symbol PDU with complex AWGN of std ``sigma`` per component (meta kept)."""
    f = pdus.parse_symbol_pdu(pdu)
    g = torch.Generator().manual_seed(seed)
    n = torch.complex(torch.randn(f.symbols.shape, generator=g), torch.randn(f.symbols.shape, generator=g))
    return pmt.cons(f.meta, pdus.c32vector_from_numpy((f.symbols + sigma * n).numpy()))


def _image(pdu) -> torch.Tensor:
    return pdus.parse_image_pdu(pdu).image


# --- DeepJSCC-LBVQ ------------------------------------------------------------------------------------
def test_vq_encoder_sends_the_schemes_qam_points_through_gr_digital(zoo, photos):
    enc = sb.vq_encoder("lbvq-16", str(zoo))
    assert isinstance(enc.qam.const, digital.constellation_16qam)
    gp = np.asarray(enc.qam.const.points())
    assert np.allclose(gp[enc.qam.perm] * enc.qam.gain, enc.scheme.model.points.numpy(), atol=1e-6)
    a = photos["arrays"]
    out = run_block(enc, [("in", _image_pdu(a[i], i)) for i in range(2)], expect=2)["out"]
    out.sort(key=lambda o: pdus.pdu_meta(o)["frame_id"])
    scheme = schemes.load("lbvq-16", zoo)
    for i, o in enumerate(out):
        f = pdus.parse_symbol_pdu(o)
        ref = scheme.alice(None, tensor(a[i])[None])
        assert f.latent == tuple(ref.shape[1:]) and f.secure is False and f.role == "private"
        assert torch.allclose(f.real_latent(), ref, atol=1e-6)
        idx, _ = scheme.indices(tensor(a[i])[None])  # every symbol is the constellation point of its index
        assert np.array_equal(np.array([enc.qam.const.decision_maker_v([s]) for s in f.symbols[0].tolist()]),
                              enc.qam.perm[idx[0].numpy()])


@pytest.mark.parametrize("name", ["lbvq-16", "lbvq-16-hard"])
def test_vq_decoder_is_the_schemes_bob(zoo, photos, name):
    enc = sb.vq_encoder("lbvq-16", str(zoo))
    sent = run_block(enc, [("in", _image_pdu(photos["arrays"][0], 5))])["out"][0]
    dec = sb.vq_decoder(name, str(zoo))
    assert dec.demap == ("hard" if name.endswith("-hard") else "soft")
    scheme = schemes.load(name, zoo)
    for sigma in (0.0, 0.15):
        rx = _noisy(sent, sigma, 1)
        out = run_block(dec, [("in", rx)])["out"]
        f = pdus.parse_symbol_pdu(rx)
        ref = scheme.bob(f.real_latent(), f.size)["private"][0].clamp(0, 1)
        assert pdus.pdu_meta(out[0])["frame_id"] == 5 and "latent_c" not in pdus.pdu_meta(out[0])
        assert (_image(out[0]) - ref).abs().max() <= 0.5 / 255 + 1e-6  # the same image, to u8 rounding


def test_vq_decoder_demap_parameter(zoo):
    assert sb.vq_decoder("lbvq-16", str(zoo), demap="hard").demap == "hard"
    assert sb.vq_decoder("lbvq-16-hard", str(zoo), demap="soft").demap == "soft"
    with pytest.raises(ValueError, match="vq_decoder: demap must be one of"):
        sb.vq_decoder("lbvq-16", str(zoo), demap="llr")


def test_vq_blocks_refuse_other_schemes_and_missing_models(zoo, tmp_path):
    for cls in (sb.vq_encoder, sb.vq_decoder):
        with pytest.raises(ValueError, match="must be a lbvq scheme"):
            cls("jscec-n512", str(zoo))
        with pytest.raises(ValueError, match="lbvq-16"):
            cls("lbvq-16", str(tmp_path))  # an empty folder


def test_constellation_mismatch_is_a_clear_error():
    pts = qam_points(16)
    c = digital.constellation_16qam()
    perm = dg.label_map(c, pts)
    assert sorted(perm.tolist()) == list(range(16))
    with pytest.raises(ValueError, match="not the model's QAM points"):
        dg.label_map(c, pts * 1.1)  # another scale
    with pytest.raises(ValueError, match="has 16 points, the model's QAM 4"):
        dg.label_map(c, qam_points(4))
    with pytest.raises(ValueError, match="only 16-QAM"):
        dg.constellation(64)
    # a model that sends its QAM times a fixed gain: the constellation's points scaled on the way out,
    # the received symbols unscaled before its decisions
    qam = dg._QAM("vq_encoder", pts * 1.3)
    idx = np.arange(16).repeat(3)
    assert np.allclose(qam.points(idx), (pts * 1.3).numpy()[idx], atol=1e-6)
    assert np.array_equal(qam.decide((pts * 1.3).numpy()[idx] + 0.1), idx)
    with pytest.raises(ValueError, match="vq_decoder: the model's QAM points are all zero"):
        dg._QAM("vq_decoder", pts * 0)


def test_vq_decoder_drops_corrupted_frames_and_keeps_running(zoo, photos):
    enc = sb.vq_encoder("lbvq-16", str(zoo))
    good = run_block(enc, [("in", _image_pdu(photos["arrays"][1], 7))])["out"][0]
    meta, vec = pmt.car(good), pdus.c32vector_to_numpy(pmt.cdr(good))
    short = pmt.cons(meta, pdus.c32vector_from_numpy(vec[:-3]))  # symbols lost from the index stream
    nan = vec.copy()
    nan[4] = np.nan
    bad_nan = pmt.cons(meta, pdus.c32vector_from_numpy(nan))
    wrong_latent = pmt.cons(pdus.meta_set(meta, latent_c=16, latent_h=4), pmt.cdr(good))  # not the model's
    not_symbols = _image_pdu(photos["arrays"][1], 8)
    dec = sb.vq_decoder("lbvq-16-hard", str(zoo))
    posts = [("in", p) for p in (short, bad_nan, wrong_latent, not_symbols, good)]
    out = run_block(dec, posts, expect=1, timeout=5)["out"]
    assert len(out) == 1 and pdus.pdu_meta(out[0])["frame_id"] == 7
    assert dec.n_dropped == 4 and dec.n_in == 5


# --- DeepJSCEC ------------------------------------------------------------------------------------------
def _encrypt(zoo, arrays, pub="alice.pub"):
    enc = sb.lwe_encrypt("jscec-n512", str(zoo), str(zoo / pub))
    out = run_block(enc, [("in", _image_pdu(a, i)) for i, a in enumerate(arrays)], expect=len(arrays))["out"]
    return sorted(out, key=lambda o: pdus.pdu_meta(o)["frame_id"])


def test_lwe_blocks_are_the_schemes_encryption_and_bob(zoo, photos):
    a = photos["arrays"][:2]
    sent = _encrypt(zoo, a)
    scheme = schemes.load("jscec-n512", zoo)
    key = keys.load_key(zoo / "bob.key")
    nonces = []
    for i, o in enumerate(sent):
        f = pdus.parse_symbol_pdu(o)
        c1 = dg.header_c1(f.meta, scheme.params)
        assert c1.shape == (1, scheme.params.n)
        assert torch.allclose(f.symbols.abs(), torch.ones(1), atol=1e-5)  # unit-power phases
        m, shape = scheme.plaintext(tensor(a[i])[None])
        assert f.latent == shape
        # Bob's exact decryption of the block's ciphertext recovers the scheme's plaintext, but for the
        # symbols the LWE noise (std lwe.decryption_noise_std) pushes over a level boundary (+-Δ/2)
        c2 = np.rint(np.angle(f.symbols[0].numpy().astype(np.complex128)) / (2 * np.pi) * scheme.params.q)
        dec = lwe.decrypt(scheme.secret_key(key), c1, c2.astype(np.int64)[None] % scheme.params.q)
        p = scheme.params
        expected = math.erf(p.delta / 2 / (lwe.decryption_noise_std(p) * math.sqrt(2)))
        assert abs((dec == m).mean() - expected) < 0.1, ((dec == m).mean(), expected)
        nonces.append(pdus.meta_nonce(f.meta))
    assert nonces[1] == nonces[0] + 1  # a counter
    rx = [_noisy(o, 0.05, i) for i, o in enumerate(sent)]
    dec = sb.lwe_decrypt("jscec-n512", str(zoo), str(zoo / "bob.key"))
    out = sorted(run_block(dec, [("in", r) for r in rx], expect=2)["out"], key=lambda o: pdus.pdu_meta(o)["frame_id"])
    for r, o in zip(rx, out):
        f = pdus.parse_symbol_pdu(r)
        ref = scheme.bob(f.real_latent(), f.size, key=key, c1=dg.header_c1(f.meta, scheme.params))["private"][0]
        assert (_image(o) - ref.clamp(0, 1)).abs().max() <= 0.5 / 255 + 1e-6
        assert dg.LWE_C1 not in pdus.pdu_meta(o)


def test_lwe_decrypt_drops_bad_headers_payloads_and_replays(zoo, photos):
    good = _encrypt(zoo, photos["arrays"][:1])[0]
    meta, vec = pmt.car(good), pmt.cdr(good)
    raw = bytes(pdus.u8vector_to_numpy(pdus.meta_get(meta, dg.LWE_C1)))
    big = bytearray(raw)
    big[0:2] = (4093).to_bytes(2, "little")  # an element = q
    bad = {
        "no LWE header": pmt.cons(pmt.dict_delete(meta, pmt.intern(dg.LWE_C1)), vec),
        "holds 1024 bytes": pmt.cons(pdus.meta_set(meta, lwe_c1=pdus.u8vector_from_numpy(
            np.frombuffer(raw[:-2], np.uint8))), vec),
        "not below q": pmt.cons(pdus.meta_set(meta, lwe_c1=pdus.u8vector_from_numpy(
            np.frombuffer(bytes(big), np.uint8))), vec),
        "must be a u8vector": pmt.cons(pdus.meta_set(meta, lwe_c1=pmt.from_long(3)), vec),
        "samples but latent": pmt.cons(meta, pdus.c32vector_from_numpy(pdus.c32vector_to_numpy(vec)[:-1])),
        "does not fit the model": pmt.cons(pdus.meta_set(meta, height=64), vec),
        "needs its nonce": pmt.cons(pmt.dict_delete(meta, pmt.intern("nonce")), vec),
    }
    dec = sb.lwe_decrypt("jscec-n512", str(zoo), str(zoo / "bob.key"))
    for why, pdu in bad.items():
        assert run_block(dec, [("in", pdu)], expect=1, timeout=0.3)["out"] == []
        assert why in dec.last_error, (why, dec.last_error)
        assert HEX not in dec.last_error
    out = run_block(dec, [("in", good), ("in", good)], expect=2, timeout=1)["out"]
    assert len(out) == 1 and dec.n_replayed == 1 and "seen before" in dec.last_error  # the replay dropped
    assert dec.n_dropped == len(bad) + 1


def test_lwe_decrypt_with_a_wrong_key_gives_an_image_not_a_crash(zoo, photos):
    sent = _encrypt(zoo, photos["arrays"][:1])[0]
    right = run_block(sb.lwe_decrypt("jscec-n512", str(zoo), str(zoo / "bob.key")), [("in", sent)])["out"]
    wrong_blk = sb.lwe_decrypt("jscec-n512", str(zoo), str(zoo / "other.key"))
    wrong = run_block(wrong_blk, [("in", sent)])["out"]
    assert len(right) == len(wrong) == 1 and wrong_blk.n_dropped == 0
    assert _image(wrong[0]).shape == _image(right[0]).shape
    assert not torch.equal(_image(wrong[0]), _image(right[0]))


def test_lwe_key_files_are_checked_at_construction(zoo, tmp_path):
    args = ("jscec-n512", str(zoo))
    with pytest.raises(ValueError, match="lwe_encrypt: public_key is required"):
        sb.lwe_encrypt(*args, "")
    with pytest.raises(ValueError, match="lwe_encrypt: LWE public key .* not found"):
        sb.lwe_encrypt(*args, str(tmp_path / "none.pub"))
    with pytest.raises(ValueError, match="lwe_encrypt: .*cannot read the LWE public key"):
        sb.lwe_encrypt(*args, str(zoo / "bob.key"))  # Bob's secret key is not a public key
    (tmp_path / "junk.pub").write_bytes(os.urandom(300))
    with pytest.raises(ValueError, match="lwe_encrypt: "):
        sb.lwe_encrypt(*args, str(tmp_path / "junk.pub"))
    with pytest.raises(ValueError, match="lwe_encrypt: public key .* has LWE parameters"):
        sb.lwe_encrypt(*args, str(zoo / "n256.pub"))
    with pytest.raises(ValueError, match="lwe_decrypt: key_file is required"):
        sb.lwe_decrypt(*args, "")
    with pytest.raises(ValueError, match="lwe_decrypt: .*not found"):
        sb.lwe_decrypt(*args, str(tmp_path / "none.key"))
    with pytest.raises(ValueError, match="lwe_decrypt: replay_window"):
        sb.lwe_decrypt(*args, str(zoo / "bob.key"), replay_window=0)
    for cls in (sb.lwe_encrypt, sb.lwe_decrypt):
        with pytest.raises(ValueError, match="must be a jscec scheme"):
            cls("lbvq-16", str(zoo), str(zoo / "alice.pub"))


def test_lwe_encrypt_drops_a_frame_larger_than_the_public_key(zoo, photos):
    enc = sb.lwe_encrypt("jscec-n512", str(zoo), str(zoo / "small.pub"))  # 64 symbols: 16x16 px
    assert run_block(enc, [("in", _image_pdu(photos["arrays"][0]))], timeout=0.5)["out"] == []
    assert "more than the public key's 64" in enc.last_error


# --- the shipped models ---------------------------------------------------------------------------------
def _need_shipped(*names):
    for n in names:
        if not (SHIPPED / f"{n}.safetensors").is_file():
            pytest.skip(f"model {SHIPPED}/{n}.safetensors not present")


def test_shipped_lbvq_blocks_equal_the_scheme_and_decode(photos):
    _need_shipped("deepjscc-bcr12", "lbvq-16")
    a = photos["arrays"][2]
    sent = run_block(sb.vq_encoder("lbvq-16", str(SHIPPED)), [("in", _image_pdu(a))])["out"][0]
    x = tensor(a)[None]
    for name in ("lbvq-16", "lbvq-16-hard"):
        scheme = schemes.load(name, SHIPPED)
        assert torch.allclose(pdus.parse_symbol_pdu(sent).real_latent(), scheme.alice(None, x), atol=1e-6)
        rx = _noisy(sent, 0.1, 3)  # Es/N0 17 dB
        img = _image(run_block(sb.vq_decoder(name, str(SHIPPED)), [("in", rx)])["out"][0])
        ref = scheme.bob(pdus.parse_symbol_pdu(rx).real_latent(), (32, 32))["private"][0].clamp(0, 1)
        assert (img - ref).abs().max() <= 0.5 / 255 + 1e-6
        naive = scheme.jscc.decode(from_complex(torch.zeros_like(pdus.parse_symbol_pdu(rx).symbols),
                                                pdus.parse_symbol_pdu(rx).latent), (32, 32)).clamp(0, 1)
        assert float(psnr(img[None], x)) > float(psnr(naive, x)) + 3  # it decodes the image, not a blank


def test_shipped_lwe_blocks_decode_with_the_key_only(photos, tmp_path):
    _need_shipped("deepjscc-bcr12", "jscec-n512")
    (tmp_path / "bob.key").write_text(HEX)
    (tmp_path / "other.key").write_text(OTHER)
    scheme = schemes.load("jscec-n512", SHIPPED)
    lwe.write_public(tmp_path / "alice.pub", scheme.secret_key(keys.load_key(tmp_path / "bob.key")).public(256))
    a = photos["arrays"][2]
    sent = run_block(sb.lwe_encrypt("jscec-n512", str(SHIPPED), str(tmp_path / "alice.pub")),
                     [("in", _image_pdu(a))])["out"][0]
    x = tensor(a)[None]
    got = {}
    for k in ("bob", "other"):
        out = run_block(sb.lwe_decrypt("jscec-n512", str(SHIPPED), str(tmp_path / f"{k}.key")), [("in", sent)])["out"]
        got[k] = float(psnr(_image(out[0])[None], x))
    assert got["bob"] > got["other"] + 5, got


# --- the chains and sim_awgn ------------------------------------------------------------------------------
def test_sim_awgn_runs_the_digital_schemes_end_to_end(zoo, tmp_path):
    from gr_stegsem import flowgraphs as fgs

    jscc = str(zoo / "deepjscc-bcr12.safetensors")  # the digital models come from its folder
    for scheme, key, pub in (("lbvq-16", "", ""), ("lbvq-16-hard", "", ""),
                             ("jscec-n512", str(zoo / "bob.key"), str(zoo / "alice.pub"))):
        res = fgs.run_sim(timeout=120, size=32, jscc_model=jscc, inn_model="", mia_steps=0, out=str(tmp_path / scheme),
                          scheme=scheme, key=key, public_key=pub)
        assert res.finished and len(res.records["bob_private_sink"]) == 1, scheme
        assert res.records["bob_host_sink"] == [] and len(res.records["eve_naive_sink"]) == 1


def test_chains_pick_the_digital_blocks(zoo):
    jscc = str(zoo / "deepjscc-bcr12.safetensors")
    a = sb.alice_tx(jscc, scheme="lbvq-16")
    assert isinstance(a.encoder, sb.vq_encoder) and set(a.hier_ports_in) == {"host", "private"}
    b = sb.bob_rx(jscc, scheme="lbvq-16-hard")
    assert isinstance(b.decoder, sb.vq_decoder) and b.decoder.demap == "hard"
    a = sb.alice_tx(jscc, scheme="jscec-n512", public_key=str(zoo / "alice.pub"))
    assert isinstance(a.encoder, sb.lwe_encrypt)
    b = sb.bob_rx(jscc, scheme="jscec-n512", key_file=str(zoo / "bob.key"))
    assert isinstance(b.decoder, sb.lwe_decrypt)
    with pytest.raises(ValueError, match="lwe_encrypt: public_key is required"):
        sb.alice_tx(jscc, scheme="jscec-n512")
    with pytest.raises(ValueError, match="lwe_decrypt: key_file is required"):
        sb.bob_rx_phy(jscc, scheme="jscec-n512")


def _phy_link(zoo, tmp_path, tx_scheme, rx_scheme, **kw):
    """image_source -> alice_tx_phy -> bob_rx_phy (no channel; seg_len 200) -> image sink: the top
    block, Bob's image (tensor) and the number of bursts."""
    from gnuradio import blocks as gr_blocks

    from gr_stegsem import flowgraphs as fgs

    jscc = str(zoo / "deepjscc-bcr12.safetensors")
    tb = gr.top_block()
    tb.host_src = sb.image_source("", size=32, role="host", done=True)
    tb.private_src = sb.image_source("", size=32, role="private", done=True)
    tb.alice = sb.alice_tx_phy(jscc, scheme=tx_scheme, threads=1, seg_len=200, public_key=kw.get("public_key", ""))
    tb.bob = sb.bob_rx_phy(jscc, scheme=rx_scheme, threads=1, seg_len=200, key_file=kw.get("key_file", ""))
    tb.sink = sb.image_sink(str(tmp_path), "bob_private")
    tb.bursts = gr_blocks.message_debug()
    tb.connect(tb.alice, tb.bob)
    tb.msg_connect(tb.host_src, "out", tb.alice, "host")
    tb.msg_connect(tb.private_src, "out", tb.alice, "private")
    tb.msg_connect(tb.bob, "private", tb.sink, "in")
    tb.msg_connect(tb.bob, "bursts", tb.bursts, "store")
    res = fgs.run(tb, timeout=60)
    assert res.finished
    (rec,) = res.records["sink"]  # records by the sink's attribute name
    return tb, tensor(np.array(Image.open(rec["path"]))), tb.bursts.num_messages()


def test_lbvq_rides_the_ofdm_phy_through_the_chains(zoo, tmp_path):
    """alice_tx_phy -> bob_rx_phy with scheme lbvq-16: 32 px = 256 QAM symbols in two bursts of
    seg_len 200; Bob's image is what the scheme decodes from the QAM points the PHY returns."""
    from gr_stegsem import flowgraphs as fgs

    tb, got, bursts = _phy_link(zoo, tmp_path, "lbvq-16", "lbvq-16-hard")
    assert bursts == 2
    scheme = schemes.load("lbvq-16-hard", zoo)
    x = fgs.sent_image("", "private", 32)[None]
    ref = scheme.bob(scheme.alice(None, x), (32, 32))["private"][0]  # noiseless: hard decisions are exact
    assert (got - ref.clamp(0, 1)).abs().max() <= 0.5 / 255 + 1e-6


def test_jscec_header_rides_the_phy_as_a_digital_section(zoo, tmp_path):
    """jscec-n512 through alice_tx_phy -> bob_rx_phy: c1 (512 elements) goes ahead of the frame as a
    digital section (6,168 QPSK symbols: 31 bursts of 200) and arrives exactly: Bob decodes the image
    as over the ideal link (another encryption, so the comparison is by PSNR)."""
    from gr_stegsem import flowgraphs as fgs

    tb, got, bursts = _phy_link(zoo, tmp_path, "jscec-n512", "jscec-n512", public_key=str(zoo / "alice.pub"),
                                key_file=str(zoo / "bob.key"))
    assert bursts == 31 + 2 and tb.bob.phy.reassembler.n_sections_failed == 0
    assert tb.bob.decoder.n_dropped == 0
    x = fgs.sent_image("", "private", 32)
    sent = _encrypt(zoo, [(x.permute(1, 2, 0) * 255).round().to(torch.uint8).numpy()])[0]
    ideal = _image(run_block(sb.lwe_decrypt("jscec-n512", str(zoo), str(zoo / "bob.key")), [("in", sent)])["out"][0])
    assert float(psnr(got[None], ideal[None])) > 30


def test_digital_section_round_trip_and_failures():
    from gr_stegsem.phy import Reassembler
    from gr_stegsem.phy import digital as pd

    rng = np.random.default_rng(5)
    raw = rng.integers(0, 4093, 512).astype("<u2").tobytes()
    sym, latent, n = pd.encode(raw)
    assert (n, latent, sym.size) == (512, (24, 1, 514), 6168)  # 12 bits per word: 6,144 + 22 QPSK symbols
    assert np.allclose(np.abs(sym[:6166]), 1)
    segs = pd.segments(9, False, 77, raw, 3680)
    assert [h.height for h, _ in segs] == [pd.DIGITAL] * 2 and all(pd.is_digital(h) and h.nonce == 77 for h, _ in segs)

    def received(keep, noise=0.0, flip=None):
        r = Reassembler(timeout=None)
        out = []
        for i, (h, d) in enumerate(segs):
            d = d + noise * (rng.standard_normal(d.size) + 1j * rng.standard_normal(d.size))
            if flip is not None and i == 0:
                d = d.copy()
                d[flip] = -d[flip]
            if i in keep:
                out += r.add(h, d.astype(np.complex64))
        return pd.decode((out + r.flush())[0])

    assert received({0, 1}) == raw
    assert received({0, 1}, noise=0.3) == raw  # Es/N0 7.4 dB: the code corrects the errors
    assert received({0}) is None  # 40 % of the section lost: the CRC refuses it
    assert received({0, 1}, flip=np.arange(0, 3000, 2)) is None  # half the symbols inverted
    big = np.array([5000] * 4, "<u2").tobytes()
    assert pd.encode(big)[1][0] == 32  # a word >= 4096: 16 bits per word
    for bad in (b"", b"abc", bytes(2 * 4096)):
        with pytest.raises(ValueError, match="digital section holds"):
            pd.encode(bad)


def test_measure_phy_degradation_of_lbvq(zoo, tiny_images, tmp_path):
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    import measure_phy

    assert measure_phy.main(["--degradation-only", "--systems", "deepjscc,lbvq-16,jscec-n512", "--models", str(zoo),
                             "--private", str(tiny_images / "set0"), "--hosts", str(tiny_images / "set1"),
                             "--images", "1", "--drops", "0,0.5", "--drop-runs", "2", "--threads", "1",
                             "--out", str(tmp_path)]) == 0
    res = json.loads((tmp_path / "degradation.json").read_text())
    rows = {(r["system"], r["drop"]): r for r in res["degradation"]}
    assert set(rows) == {(s, p) for s in ("deepjscc", "lbvq-16", "jscec-n512") for p in (0.0, 0.5)}
    assert rows["lbvq-16", 0.0]["dropped"] == 0 and rows["lbvq-16", 0.5]["dropped"] > 0
    assert rows["jscec-n512", 0.0]["frames_lost"] == 0  # the header arrived: the frame decrypted
    assert rows["lbvq-16", 0.5]["frames_lost"] == 0 and np.isfinite(rows["jscec-n512", 0.0]["psnr"])
    assert "| lbvq-16 | private |" in (tmp_path / "degradation.md").read_text()


@pytest.mark.parametrize("name", ["vq_decoder", "lwe_decrypt", "vq_encoder"])
def test_digital_blocks_survive_random_messages(zoo, photos, name):
    """Random PDUs (meta with the blocks' keys, lwe_c1 and nonce included, and random values), then a
    valid frame: every bad one is dropped and the valid one still decodes."""
    from tests.test_fuzz_blocks import rnd_message

    rng = np.random.default_rng(11)
    img = _image_pdu(photos["arrays"][0], 4)
    if name == "vq_decoder":
        blk = sb.vq_decoder("lbvq-16", str(zoo))
        good = run_block(sb.vq_encoder("lbvq-16", str(zoo)), [("in", img)])["out"][0]
    elif name == "lwe_decrypt":
        blk, good = sb.lwe_decrypt("jscec-n512", str(zoo), str(zoo / "bob.key")), _encrypt(zoo, photos["arrays"][:1])[0]
    else:
        blk, good = sb.vq_encoder("lbvq-16", str(zoo)), img
    meta = pmt.car(good)
    msgs = [rnd_message(rng) for _ in range(150)]
    for _ in range(50):  # the valid frame's meta with one field replaced by a random value
        m = pmt.dict_add(meta, pmt.intern(str(rng.choice(["lwe_c1", "nonce", "latent_c", "height", "width"]))),
                         rnd_message(rng))
        msgs.append(pmt.cons(m, pmt.cdr(good)))
    out = run_block(blk, [("in", m) for m in msgs] + [("in", good)], expect=1, timeout=60)["out"]
    assert any(pdus.pdu_meta(o)["frame_id"] == pdus.pdu_meta(good)["frame_id"] for o in out)
    assert blk.n_in == len(msgs) + 1 and HEX not in blk.last_error
