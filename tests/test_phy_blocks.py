"""The PHY's GNU Radio blocks: loopback through channels.channel_model with every impairment,
sim_radio end to end with SigMF recording, replay giving identical images, malformed segment PDUs."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402
from gnuradio import blocks, channels, gr  # noqa: E402

from gr_stegsem import flowgraphs as fgs  # noqa: E402
from gr_stegsem.blocks.pdus import meta_set, pdu_meta, symbol_pdu  # noqa: E402
from gr_stegsem.phy import blocks as phy  # noqa: E402
from gr_stegsem.phy import radio  # noqa: E402
from tests.conftest import write_tiny_models  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def cvec(n, seed):
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def wait_for(pred, timeout):
    t0 = time.monotonic()
    while not pred() and time.monotonic() - t0 < timeout:
        time.sleep(0.02)
    return pred()


def test_loopback_through_channel_model_with_all_impairments():
    """Data Es/N0 15 dB, CFO 0.002 cycles/sample, +50 ppm clock, 3-tap multipath: both frames complete,
    soft symbols within 3 dB of the channel SNR, SNR estimate within 1.5 dB."""
    tb = gr.top_block()
    tx, rx = phy.phy_tx(), phy.phy_rx(timeout=0)
    cm = channels.channel_model(noise_voltage=radio.noise_voltage(15.0), frequency_offset=0.002,
                                epsilon=radio.epsilon(50), taps=radio.multipath_taps(), noise_seed=5, block_tags=False)
    dbg = blocks.message_debug()
    tb.connect(tx, cm, rx)
    tb.msg_connect(rx, "out", dbg, "store")
    sent = [cvec(4096, s) for s in range(2)]
    tb.start()
    try:
        for fid, s in enumerate(sent):
            tx.modulator._post(pmt.intern("in"), symbol_pdu(s, fid, (128, 128), (8, 32, 32), secure=True))
        assert wait_for(lambda: dbg.num_messages() == 2, 30)
    finally:
        tb.stop()
        tb.wait()
    for i in range(2):
        m = dbg.get_message(i)
        meta = pdu_meta(m)
        r = np.asarray(pmt.c32vector_elements(pmt.cdr(m)))
        assert meta["phy_lost"] == 0.0 and list(meta["phy_segments"]) == [1, 1]
        assert meta["latent_c"] == 8 and meta["secure"] is True
        eff = -10 * np.log10(np.mean(np.abs(r - sent[meta["frame_id"]]) ** 2))
        assert eff > 12.0, eff
        assert abs(meta["snr_db"] - 15.0) < 1.5
    assert rx.receiver.stats.header_failures == 0


def test_reassembler_drops_malformed_segment_pdus_and_keeps_running():
    tb = gr.top_block()
    re = phy.segment_reassembler(timeout=0)
    dbg = blocks.message_debug()
    tb.msg_connect(re, "out", dbg, "store")
    tb.start()
    try:
        bad = [pmt.intern("junk"), pmt.cons(pmt.make_dict(), pmt.init_c32vector(3, [0j, 1j, 1]))]
        meta = pmt.to_pmt({"frame_id": 1, "seg_index": 0, "seg_count": 1, "seg_len": 4, "height": 8, "width": 8,
                           "latent_c": 2, "latent_h": 2, "latent_w": 2})
        bad.append(pmt.cons(meta, pmt.init_c32vector(4, [0j, np.nan, 1, 1])))
        for m in bad:
            re.to_basic_block()._post(pmt.intern("in"), m)
        re.to_basic_block()._post(pmt.intern("in"), pmt.cons(meta, pmt.init_c32vector(4, [1j, 1, 1, 1])))
        assert wait_for(lambda: dbg.num_messages() == 1, 10)
    finally:
        tb.stop()
        tb.wait()
    assert re.n_dropped == 3 and "NaN" in re.last_error


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return write_tiny_models(tmp_path_factory.mktemp("phy_models"))


def test_sim_radio_records_and_replay_gives_identical_images(models, tmp_path):
    common = dict(jscc_model=models["jscc"], mia_steps=0)
    res = fgs.run(fgs.build("sim_radio", size=64, inn_model=models["inn"], out=str(tmp_path / "sim"),
                            record=str(tmp_path / "rec"), snr_bob=12.0, **common), timeout=90)
    assert res.finished
    (bob,) = res.records["bob_private_sink"]
    (eve,) = res.records["eve_naive_sink"]
    tx_meta, bob_meta, eve_meta = (validated(tmp_path / f"rec_{suffix}") for suffix in ("tx", "bob", "eve"))
    assert tx_meta["annotations"] == [] and "sim_radio: what Alice sends" in tx_meta["global"]["core:description"]
    for meta, who in ((bob_meta, "Bob"), (eve_meta, "Eve")):  # annotated by their own PHY receiver
        ann = meta["annotations"]
        labels = [f"frame 0 seg {i}" for i in range(ann[0]["stegsem:seg_count"])] if ann else None
        assert [a["core:label"] for a in ann] == labels
        assert all(abs(a["stegsem:cfo"] - 0.002) < 2e-4 for a in ann)  # sim_radio's default freq_offset
        assert f"sim_radio: what {who} hears" in meta["global"]["core:description"]
    assert "data Es/N0 12 dB" in bob_meta["global"]["core:description"]
    assert all(abs(a["stegsem:snr_db"] - 12.0) < 2.0 for a in bob_meta["annotations"])
    rb = fgs.run(fgs.build("replay_bob", recording=str(tmp_path / "rec_bob"), inn_model=models["inn"],
                           out=str(tmp_path / "rb"), jscc_model=models["jscc"]), timeout=60)
    re_ = fgs.run(fgs.build("replay_eve", recording=str(tmp_path / "rec_eve"), out=str(tmp_path / "re"), **common),
                  timeout=60)
    assert rb.finished and re_.finished
    (rbob,) = rb.records["bob_private_sink"]
    (reve,) = re_.records["eve_naive_sink"]
    assert np.array_equal(np.asarray(Image.open(bob["path"])), np.asarray(Image.open(rbob["path"])))
    assert np.array_equal(np.asarray(Image.open(eve["path"])), np.asarray(Image.open(reve["path"])))
    assert rbob["psnr"] == bob["psnr"]


def test_modulator_drops_bad_symbol_pdus_and_keeps_transmitting():
    """Wrong length for the latent, NaN samples, not a PDU: each logged and dropped; the next good frame
    still goes out and is received."""
    tb = gr.top_block()
    tx, rx = phy.phy_tx(), phy.phy_rx(timeout=0)
    dbg = blocks.message_debug()
    tb.connect(tx, rx)
    tb.msg_connect(rx, "out", dbg, "store")
    good = symbol_pdu(cvec(512, 1), 4, (32, 32), (8, 8, 16))
    wrong_len = pmt.cons(pmt.car(good), pmt.init_c32vector(500, cvec(500, 2).tolist()))
    nan = cvec(512, 3)
    nan[7] = np.nan
    tb.start()
    try:
        for m in (wrong_len, symbol_pdu(nan, 5, (32, 32), (8, 8, 16)), pmt.intern("junk"), good):
            tx.modulator._post(pmt.intern("in"), m)
        assert wait_for(lambda: dbg.num_messages() == 1, 20)
    finally:
        tb.stop()
        tb.wait()
    assert tx.modulator.n_dropped == 3 and "not a PDU" in tx.modulator.last_error
    assert pdu_meta(dbg.get_message(0))["frame_id"] == 4


def test_bad_phy_settings_and_missing_recording_are_clear_errors(tmp_path, models):
    with pytest.raises(ValueError, match="equalizer"):
        phy.phy_rx(equalizer="dfe")
    with pytest.raises(ValueError, match="amplitude"):
        phy.phy_rx(amplitude=0.0)
    with pytest.raises(ValueError, match="segment length"):
        phy.phy_tx(seg_len=0).modulator._handle(symbol_pdu(cvec(512, 1), 0, (32, 32), (8, 8, 16)))
    with pytest.raises(ValueError, match="no SigMF metadata"):
        fgs.build("replay_bob", recording=str(tmp_path / "nothing"), jscc_model=models["jscc"],
                  inn_model=models["inn"], out=str(tmp_path))


def test_receiver_in_a_flowgraph_survives_nan_samples():
    """phy_rx's receiver in a running flowgraph: NaN samples before and between bursts do not blind
    the detector (issue 16, case 9); both bursts come out with finite symbols, the NaNs counted."""
    from gr_stegsem.phy import OfdmParams, SegmentHeader, modulate

    p = OfdmParams()
    hdr = [SegmentHeader(frame_id=i, seg_index=0, seg_count=1, seg_len=920, height=64, width=64, latent_c=2,
                         latent_h=4, latent_w=230, secure=True) for i in range(2)]
    x = np.concatenate([np.zeros(400, np.complex64), modulate(p, hdr[0], cvec(920, 1)),
                        np.zeros(400, np.complex64), modulate(p, hdr[1], cvec(920, 2)), np.zeros(400, np.complex64)])
    x = (x + 0.01 * cvec(x.size, 3)).astype(np.complex64)
    x[100] = np.nan
    x[400 + (x.size - 1200) // 2 + 300] = np.nan  # in the gap between the bursts
    tb = gr.top_block()
    src = blocks.vector_source_c(x.tolist(), False)
    rx = phy.ofdm_receiver(seg_len=920)
    dbg = blocks.message_debug()
    tb.connect(src, rx)
    tb.msg_connect((rx, "segments"), (dbg, "store"))
    tb.run()
    assert dbg.num_messages() == 2 and rx.stats.nonfinite == 2
    for i in range(2):
        sym = np.asarray(pmt.c32vector_elements(pmt.cdr(dbg.get_message(i))))
        assert np.isfinite(sym).all() and sym.size == 920


def test_receiver_in_a_flowgraph_decodes_bursts_on_a_cw_tone():
    """A CW tone at -10 dB under two bursts through ofdm_receiver in a running flowgraph (issue 16,
    case 4): both bursts decode and the tone alone triggers nothing."""
    from gr_stegsem.phy import OfdmParams, SegmentHeader, modulate

    p = OfdmParams()
    hdr = [SegmentHeader(frame_id=i, seg_index=0, seg_count=1, seg_len=920, height=64, width=64, latent_c=2,
                         latent_h=4, latent_w=230, secure=True) for i in range(2)]
    bursts = [modulate(p, h, cvec(920, i + 1)) for i, h in enumerate(hdr)]
    x = np.concatenate([np.zeros(5000, np.complex64), bursts[0], np.zeros(5000, np.complex64), bursts[1],
                        np.zeros(5000, np.complex64)])
    x = (x + np.sqrt(0.1) * np.exp(2j * np.pi * 0.01 * np.arange(x.size)) + 0.01 * cvec(x.size, 3)).astype(np.complex64)
    tb = gr.top_block()
    src = blocks.vector_source_c(x.tolist(), False)
    rx = phy.ofdm_receiver(seg_len=920)
    dbg = blocks.message_debug()
    tb.connect(src, rx)
    tb.msg_connect((rx, "segments"), (dbg, "store"))
    tb.run()
    assert dbg.num_messages() == 2 and rx.stats.detections == 2



def test_nonce_goes_through_the_phy_and_bad_nonces_are_dropped():
    """A symbol PDU's meta ``nonce`` (pmt uint64, or a non-negative long) rides in every segment header
    and comes out of phy_rx as a uint64 ``nonce``; a frame without one comes out without the key; a
    nonce that is not an integer in [0, 2^64) makes the PDU malformed (logged, dropped)."""
    tb = gr.top_block()
    tx, rx = phy.phy_tx(), phy.phy_rx(timeout=0)
    dbg = blocks.message_debug()
    tb.connect(tx, rx)
    tb.msg_connect(rx, "out", dbg, "store")
    sent = {fid: cvec(4096, fid) for fid in range(3)}  # 4,096 symbols: 2 segments each

    def frame(fid, nonce=None):
        meta = pmt.make_dict() if nonce is None else pmt.dict_add(pmt.make_dict(), pmt.intern("nonce"), nonce)
        return symbol_pdu(sent.get(fid, cvec(4096, fid)), fid, (128, 128), (8, 32, 32), secure=True, meta=meta)

    msgs = [frame(0, pmt.from_uint64(2**63 + 5)), frame(1), frame(2, pmt.from_long(7)),
            frame(10, pmt.from_long(-1)), frame(11, pmt.intern("x")), frame(12, pmt.from_double(3.0))]
    tb.start()
    try:
        for m in msgs:
            tx.modulator._post(pmt.intern("in"), m)
        assert wait_for(lambda: dbg.num_messages() == 3, 30)
        time.sleep(0.2)
    finally:
        tb.stop()
        tb.wait()
    assert dbg.num_messages() == 3 and tx.modulator.n_dropped == 3 and "nonce" in tx.modulator.last_error
    out = {pdu_meta(dbg.get_message(i))["frame_id"]: dbg.get_message(i) for i in range(3)}
    assert sorted(out) == [0, 1, 2]
    for fid, m in out.items():
        meta = pdu_meta(m)
        assert meta["phy_lost"] == 0.0 and list(meta["phy_segments"]) == [1, 1]
        r = np.asarray(pmt.c32vector_elements(pmt.cdr(m)))
        assert np.mean(np.abs(r - sent[fid]) ** 2) < 1e-3
    n0 = pmt.dict_ref(pmt.car(out[0]), pmt.intern("nonce"), pmt.PMT_NIL)
    assert pmt.is_uint64(n0) and pmt.to_uint64(n0) == 2**63 + 5
    assert "nonce" not in pdu_meta(out[1])
    assert pdu_meta(out[2])["nonce"] == 7


def test_segment_pdus_carry_keyed_and_nonce():
    """ofdm_receiver's segment PDUs hold the header's keyed flag and nonce; parse_segment_pdu reads them
    back (defaults: not keyed, nonce 0) and rejects a bad nonce or a nonce without the keyed flag."""
    from gr_stegsem.phy import OfdmParams, SegmentHeader, modulate

    p = OfdmParams()
    hdr = [SegmentHeader(frame_id=i, seg_index=0, seg_count=1, seg_len=920, height=64, width=64, latent_c=2,
                         latent_h=4, latent_w=230, secure=True, nonce=n, keyed=k)
           for i, (n, k) in enumerate([(2**64 - 1, True), (0, False)])]
    x = np.concatenate([np.zeros(400, np.complex64), modulate(p, hdr[0], cvec(920, 1)),
                        np.zeros(400, np.complex64), modulate(p, hdr[1], cvec(920, 2)), np.zeros(400, np.complex64)])
    tb = gr.top_block()
    src = blocks.vector_source_c((x + 0.01 * cvec(x.size, 3)).astype(np.complex64).tolist(), False)
    rx = phy.ofdm_receiver(seg_len=920)
    dbg = blocks.message_debug()
    tb.connect(src, rx)
    tb.msg_connect((rx, "segments"), (dbg, "store"))
    tb.run()
    assert dbg.num_messages() == 2
    m0, m1 = dbg.get_message(0), dbg.get_message(1)
    assert pdu_meta(m0)["keyed"] is True and pdu_meta(m0)["nonce"] == 2**64 - 1
    assert pdu_meta(m1)["keyed"] is False and pdu_meta(m1)["nonce"] == 0
    assert phy.parse_segment_pdu(m0)[0] == hdr[0] and phy.parse_segment_pdu(m1)[0] == hdr[1]
    # without the keys (an older or hand-made segment PDU): not keyed, nonce 0
    bare = pmt.dict_delete(pmt.dict_delete(pmt.car(m0), pmt.intern("keyed")), pmt.intern("nonce"))
    h = phy.parse_segment_pdu(pmt.cons(bare, pmt.cdr(m0)))[0]
    assert h.keyed is False and h.nonce == 0
    for key, value, match in (("nonce", pmt.from_long(-1), "nonce"), ("nonce", pmt.intern("x"), "nonce"),
                              ("keyed", pmt.PMT_F, "not keyed")):
        meta = pmt.dict_add(pmt.car(m0), pmt.intern(key), value)
        with pytest.raises(ValueError, match=match):
            phy.parse_segment_pdu(pmt.cons(meta, pmt.cdr(m0)))


# --- SigMF recordings: one annotation per decoded burst ---------------------------------------------
def validated(base, reader: bool = True) -> dict:
    """The recording's metadata, checked by the sigmf library's validator (an undeclared extension
    namespace, which sigmf only warns about today, fails too); ``reader``: also opened and validated
    by sigmf's reader (which maps the data file: not while it is still empty)."""
    import json
    import warnings

    from sigmf import sigmffile
    from sigmf import validate as sigmf_validate

    from gr_stegsem.phy import sigmf_io

    meta = json.loads(sigmf_io.meta_path(base).read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sigmf_validate.validate(meta)
        if reader:
            sigmffile.fromfile(str(sigmf_io.base_path(base)), skip_checksum=True).validate()
    return meta


def _bursts(specs, gap=3000):
    """Clean stream: gap zeros, then each burst followed by gap zeros; [(burst start, length)]."""
    from gr_stegsem.phy import OfdmParams, modulate

    p = OfdmParams()
    parts, where, at = [np.zeros(gap, np.complex64)], [], gap
    for i, h in enumerate(specs):
        b = modulate(p, h, cvec(h.seg_len, 10 + i))
        where.append((at + p.guard, b.size - 2 * p.guard))
        parts += [b, np.zeros(gap, np.complex64)]
        at += b.size + gap
    return np.concatenate(parts), where


def test_sigmf_sink_annotates_each_burst_phy_rx_decodes(tmp_path):
    """Three bursts (frame 12 segments 0 and 1, keyed frame 13) with CFO 0.001 cycles/sample and a data
    Es/N0 of 21 dB -> phy_rx and a sigmf_sink on the same stream, phy_rx's 'bursts' into the sink's:
    one annotation per burst whose range holds that burst's energy, with its header fields, SNR and
    CFO; the recording is the stream itself and validates."""
    from gr_stegsem import __version__
    from gr_stegsem.phy import OfdmParams, SegmentHeader, sigmf_io

    hdr = [SegmentHeader(frame_id=12, seg_index=i, seg_count=2, seg_len=920, height=64, width=64, latent_c=4,
                         latent_h=4, latent_w=230, secure=True) for i in range(2)]
    hdr.append(SegmentHeader(frame_id=13, seg_index=0, seg_count=1, seg_len=460, height=32, width=32, latent_c=2,
                             latent_h=4, latent_w=115, secure=True, keyed=True, nonce=2**63 + 9))
    clean, where = _bursts(hdr)
    cfo = 0.001
    x = (clean * np.exp(2j * np.pi * cfo * np.arange(clean.size)) + 0.1 * cvec(clean.size, 4)).astype(np.complex64)
    tb = gr.top_block()
    src = blocks.vector_source_c(x.tolist(), False)
    rx = phy.phy_rx(seg_len=920, timeout=0)
    rec = phy.sigmf_sink(str(tmp_path / "rec"), 1e6, 0.0, "test: what the receiver hears", 920, 1.0, interval=0.05)
    tb.connect(src, rx)
    tb.connect(src, rec)
    tb.msg_connect(rx, "bursts", rec, "bursts")
    tb.run()
    meta = validated(tmp_path / "rec")
    data = np.fromfile(tmp_path / "rec.sigmf-data", np.complex64)
    assert np.array_equal(data, x)  # the recording is the receiver's stream, sample for sample
    g = meta["global"]
    assert g["core:sample_rate"] == 1e6 and g["stegsem:seg_len"] == 920
    for needle in ("test: what the receiver hears", "OFDM", "920 JSCC symbols", "1 MS/s", f"gr-stegsem {__version__}"):
        assert needle in g["core:description"], needle
    assert "core:frequency" not in meta["captures"][0]  # baseband: no RF centre frequency
    ann = meta["annotations"]
    assert [a["core:label"] for a in ann] == ["frame 12 seg 0", "frame 12 seg 1", "frame 13 seg 0"]
    for a, h, (start, n) in zip(ann, hdr, where):
        s, c = a["core:sample_start"], a["core:sample_count"]
        assert abs(s - start) <= 2 and c == n, (s, c, start, n)
        inside = np.sum(np.abs(clean[s:s + c]) ** 2)
        assert inside >= 0.995 * np.sum(np.abs(clean[start:start + n]) ** 2)  # the burst's energy is in the range
        assert np.mean(np.abs(data[s:s + c]) ** 2) > 20 * np.mean(np.abs(data[s - 60:s - 4]) ** 2)  # guard: noise
        assert (a["stegsem:frame_id"], a["stegsem:seg_index"], a["stegsem:seg_count"], a["stegsem:seg_len"]) == \
            (h.frame_id, h.seg_index, h.seg_count, h.seg_len)
        assert a["stegsem:latent"] == [h.latent_c, h.latent_h, h.latent_w] and a["stegsem:width"] == h.width
        assert abs(a["stegsem:snr_db"] - OfdmParams().data_snr_db(20.0)) < 2.0
        assert abs(a["stegsem:cfo"] - cfo) < 1e-4 and a["stegsem:cfo_hz"] == pytest.approx(a["stegsem:cfo"] * 1e6)
        assert a["stegsem:valid"] == 1.0
        assert a["core:freq_lower_edge"] < a["stegsem:cfo_hz"] < a["core:freq_upper_edge"]
    assert ann[2]["stegsem:keyed"] is True and ann[2]["stegsem:nonce"] == 2**63 + 9
    assert ann[0]["stegsem:keyed"] is False and "stegsem:nonce" not in ann[0]
    info = sigmf_io.read_info(tmp_path / "rec")  # the player's reader
    assert info["center_freq"] is None and len(info["annotations"]) == 3


def test_sigmf_recording_without_bursts_validates(tmp_path):
    """Noise only through phy_rx into a recorder at 2.45 GHz: a valid recording, the centre frequency in
    its capture, no annotations."""
    tb = gr.top_block()
    src = blocks.vector_source_c((0.1 * cvec(20000, 6)).tolist(), False)
    rx = phy.phy_rx(seg_len=920, timeout=0)
    rec = phy.sigmf_sink(str(tmp_path / "quiet"), 2e6, 2.45e9, "usrp_bob: what Bob's USRP hears", 920, 0.25)
    tb.connect(src, rx)
    tb.connect(src, rec)
    tb.msg_connect(rx, "bursts", rec, "bursts")
    tb.run()
    meta = validated(tmp_path / "quiet")
    assert meta["annotations"] == [] and meta["captures"][0]["core:frequency"] == 2.45e9
    assert "centre frequency 2.45 GHz" in meta["global"]["core:description"]
    assert "TX amplitude 0.25" in meta["global"]["core:description"] and meta["global"]["stegsem:amplitude"] == 0.25


def _segment_pdu(fid: int, start, n: int = 64):
    meta = meta_set(pmt.make_dict(), frame_id=fid, seg_index=0, seg_count=1, seg_len=n, height=8, width=8,
                        latent_c=2, latent_h=4, latent_w=n // 4, secure=True, keyed=False,
                        nonce=pmt.from_uint64(0), snr_db=9.5, cfo=-2e-4)
    if start is not None:
        meta = meta_set(meta, sample=pmt.from_uint64(start))
    return pmt.cons(meta, pmt.init_c32vector(n, [1j] * n))


def test_sigmf_meta_is_rewritten_while_running_and_at_stop(tmp_path):
    """The annotator rewrites the .sigmf-meta while bursts come (a receiver killed now leaves these
    annotations in a valid file), in sample order, and once more at stop; a segment PDU without its
    first sample is dropped and logged."""
    tb = gr.top_block()
    src = blocks.throttle(gr.sizeof_gr_complex, 20000)  # a stream that goes on until stopped
    rx = phy.phy_rx(seg_len=920, timeout=0)
    rec = phy.sigmf_sink(str(tmp_path / "live"), 1e6, interval=0.05)
    tb.connect(blocks.null_source(gr.sizeof_gr_complex), src, rx)
    tb.connect(src, rec)
    tb.msg_connect(rx, "bursts", rec, "bursts")
    ann = rec.annotator
    tb.start()
    try:
        for m in (_segment_pdu(4, 1400), _segment_pdu(3, 500), _segment_pdu(5, None)):
            ann.to_basic_block()._post(pmt.intern("bursts"), m)
        # before stop (what a killed receiver leaves; the buffered data file may still be empty)
        assert wait_for(lambda: len(validated(tmp_path / "live", False)["annotations"]) == 2, 10)
        on_disk = validated(tmp_path / "live", False)["annotations"]
        assert [a["core:label"] for a in on_disk] == ["frame 3 seg 0", "frame 4 seg 0"]
        assert on_disk[0]["stegsem:cfo_hz"] == -200.0 and on_disk[0]["stegsem:snr_db"] == 9.5
        assert ann.n_dropped == 1 and "sample" in ann.last_error
        ann.to_basic_block()._post(pmt.intern("bursts"), _segment_pdu(6, 1800))
        assert wait_for(lambda: len(rec.writer) == 3 and rec.sink.nitems_read(0) > 5000, 10)  # bursts recorded
    finally:
        tb.stop()
        tb.wait()
    assert [a["stegsem:frame_id"] for a in validated(tmp_path / "live")["annotations"]] == [3, 4, 6]


def test_burst_offsets_stay_absolute_after_a_receiver_error():
    """ofdm_receiver resynchronises after an error in its first chunk: the 'sample' of a later burst is
    still its index in the stream (what a recording of the stream annotates)."""
    from gr_stegsem.phy import SegmentHeader

    h = SegmentHeader(frame_id=1, seg_index=0, seg_count=1, seg_len=460, height=32, width=32, latent_c=2,
                      latent_h=4, latent_w=115, secure=True)
    clean, where = _bursts([h], gap=12000)
    tb = gr.top_block()
    src = blocks.vector_source_c((clean + 0.01 * cvec(clean.size, 8)).astype(np.complex64).tolist(), False)
    rx = phy.ofdm_receiver(seg_len=460)
    feed, calls = rx.rx.feed, []

    def failing_once(x):
        calls.append(len(x))
        if len(calls) == 1:
            raise RuntimeError("injected")
        return feed(x)

    rx.rx.feed = failing_once
    dbg = blocks.message_debug()
    tb.connect(src, rx)
    tb.msg_connect((rx, "segments"), (dbg, "store"))
    tb.run()
    assert len(calls) > 2 and calls[0] < where[0][0] and dbg.num_messages() == 1  # the error came before the burst
    assert abs(pdu_meta(dbg.get_message(0))["sample"] - where[0][0]) <= 2
