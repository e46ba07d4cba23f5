"""The OFDM PHY without GNU Radio: FEC, header CRC, loopback over an impaired channel, reassembly,
cut-off bursts, SigMF round trip."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from gr_stegsem.phy import OfdmParams, OfdmReceiver, Reassembler, SegmentHeader, modulate, split
from gr_stegsem.phy.fec import bits_to_int, conv_encode, crc16, int_to_bits, viterbi_decode
from gr_stegsem.phy.header import HEADER_BITS, INFO_BITS, VERSION, HeaderError, segment_plan
from gr_stegsem.phy.segments import FrameInfo, interleaver

P = OfdmParams()


def cvec(n, rng):
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def resample(x, ratio, taps=16):
    """x at times n * ratio (windowed-sinc interpolation): a sample-clock offset."""
    t = np.arange(0, (x.size - taps - 1) / ratio) * ratio
    i0 = np.floor(t).astype(int)
    k = np.arange(-taps + 1, taps + 1)
    arg = k[None] - (t - i0)[:, None]
    w = np.sinc(arg) * (0.5 + 0.5 * np.cos(np.pi * arg / taps))
    xp = np.concatenate([x, np.zeros(2 * taps)])
    return (xp[np.clip(i0[:, None] + k[None], 0, None)] * w).sum(1)


def impair(x, data_snr_db, rng, cfo=0.0, ppm=0.0, taps=(1.0,)):
    x = np.asarray(x, complex)
    if ppm:
        x = resample(x, 1 + ppm * 1e-6)
    t = np.asarray(taps, complex)
    x = np.convolve(x, t / np.linalg.norm(t))[:x.size] * np.exp(2j * np.pi * cfo * np.arange(x.size))
    v2 = 10 ** (-P.sample_snr_db(data_snr_db) / 10)
    return x + np.sqrt(v2 / 2) * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))


def header(n, fid=5, idx=0, count=1):
    return SegmentHeader(frame_id=fid, seg_index=idx, seg_count=count, seg_len=n, height=64, width=64,
                         latent_c=2, latent_h=4, latent_w=n // 4 if count == 1 else 1000, secure=True)


def receive(y, chunk=3000, **kw):
    rx = OfdmReceiver(P, **kw)
    segs = []
    for i in range(0, y.size, chunk):
        segs += rx.feed(y[i:i + chunk])
    return segs + rx.flush(), rx


def test_crc_and_viterbi():
    b = np.concatenate([int_to_bits(c, 8) for c in b"123456789"])
    assert bits_to_int(crc16(b)) == 0x29B1  # CRC-16/CCITT-FALSE check value
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, 128)
    llr = 1.0 - 2 * conv_encode(bits)
    llr[::7] *= -0.5  # some wrong, weak decisions
    assert np.array_equal(viterbi_decode(llr * 4, 128), bits)


def test_header_round_trip_and_crc_rejects_corruption():
    h = header(1000)
    bits = h.to_bits()
    assert SegmentHeader.from_bits(bits) == h
    for i in (0, 17, 60, 127, 150, 191):
        bad = bits.copy()
        bad[i] ^= 1
        with pytest.raises(HeaderError):
            SegmentHeader.from_bits(bad)
    with pytest.raises(ValueError, match="out of range"):
        SegmentHeader(70000, 0, 1, 10, 8, 8, 2, 1, 10, False).to_bits()


@pytest.mark.parametrize("nonce", [0, 1, 2**63 + 5, 2**64 - 1])
def test_header_v2_carries_the_nonce(nonce):
    """Version 2: 176 info bits (keyed flag + 64-bit nonce) + CRC-16 = 192; the nonce and keyed flag
    round-trip, every nonce bit is covered by the CRC."""
    assert (VERSION, INFO_BITS, HEADER_BITS) == (2, 176, 192)
    h = SegmentHeader(frame_id=3, seg_index=1, seg_count=2, seg_len=100, height=64, width=64, latent_c=8,
                      latent_h=16, latent_w=16, secure=True, nonce=nonce, keyed=True)
    bits = h.to_bits()
    assert bits.size == 192 and bits_to_int(bits[112:176]) == nonce
    back = SegmentHeader.from_bits(bits)
    assert back == h and back.keyed is True and back.nonce == nonce
    for i in (112, 140, 175):
        bad = bits.copy()
        bad[i] ^= 1
        with pytest.raises(HeaderError):
            SegmentHeader.from_bits(bad)
    # defaults: not keyed, nonce 0 -- what existing callers get
    plain = header(100)
    assert plain.keyed is False and plain.nonce == 0
    assert SegmentHeader.from_bits(plain.to_bits()) == plain and SegmentHeader.from_bits(plain.to_bits()).keyed is False
    assert plain != dataclasses.replace(plain, keyed=True)  # keyed with nonce 0 is another header


def test_header_rejects_bad_nonces_and_version_1():
    kw = dict(frame_id=3, seg_index=0, seg_count=1, seg_len=100, height=64, width=64, latent_c=2,
              latent_h=10, latent_w=10, secure=False, keyed=True)
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match="out of range"):
            SegmentHeader(**kw, nonce=bad).to_bits()
    with pytest.raises(ValueError):
        SegmentHeader(**kw, nonce=1.5).to_bits()
    with pytest.raises(ValueError, match="not keyed"):  # a nonce needs the keyed flag
        SegmentHeader(**{**kw, "keyed": False}, nonce=7).to_bits()
    with pytest.raises(HeaderError, match="not keyed"):
        SegmentHeader(**{**kw, "keyed": False}, nonce=7).check()
    # a version-1 header (or any other version) with a valid CRC: unknown version
    info = SegmentHeader(**kw, nonce=9).to_bits()[:INFO_BITS].copy()
    info[:2] = int_to_bits(1, 2)
    with pytest.raises(HeaderError, match="unknown header version"):
        SegmentHeader.from_bits(np.concatenate([info, crc16(info)]))
    # not keyed but a nonce on the air (CRC valid): inconsistent
    info = SegmentHeader(**kw, nonce=9).to_bits()[:INFO_BITS].copy()
    assert info[105] == 1  # the keyed bit (after secure, at 104)
    info[105] = 0
    with pytest.raises(HeaderError, match="not keyed"):
        SegmentHeader.from_bits(np.concatenate([info, crc16(info)]))
    # the old 128-bit size is refused
    with pytest.raises(HeaderError, match="192 bits"):
        SegmentHeader.from_bits(np.zeros(128, np.int8))


def test_segment_plan_and_overhead():
    assert segment_plan(10000, 3680) == [(0, 3680), (3680, 3680), (7360, 2640)]
    ov = P.overhead(16384)  # a 256 x 256 image at 1/12
    assert ov["segments"] == 5 and ov["data"] == 16384
    assert ov["total"] == sum(P.burst_len(n) for _, n in segment_plan(16384, P.seg_len))
    assert 0.4 < ov["efficiency"] < 0.6
    # header v2 (192 bits): 9 header symbols per burst (6 with the 128-bit v1 header)
    assert P.header_symbols == 9 and P.burst_len(P.seg_len) == 7616
    assert ov["header"] == 5 * 9 * P.symbol_len and ov["total"] == 35056


def test_power_is_normalised():
    rng = np.random.default_rng(1)
    x = modulate(P, header(3680), cvec(3680, rng))[P.guard:-P.guard]
    assert abs(np.mean(np.abs(x) ** 2) - 1) < 0.03
    assert abs(P.data_snr_db(0.0) - 10 * np.log10(128 / 100)) < 1e-9


@pytest.mark.parametrize("cfo,ppm", [(0.002, 50.0), (-0.002, -50.0), (0.005, 0.0)])
def test_loopback_over_impaired_channel(cfo, ppm):
    """Noise (15 dB), CFO, sample-clock offset and 3-tap multipath: the header decodes and the soft
    symbols come back within ~2.5 dB of the channel's SNR (multipath ZF loss included)."""
    rng = np.random.default_rng(2)
    d = cvec(2000, rng)
    x = np.concatenate([np.zeros(300, np.complex64), modulate(P, header(2000), d), np.zeros(200, np.complex64)])
    segs, rx = receive(impair(x, 15.0, rng, cfo=cfo, ppm=ppm, taps=(1, 0.3j, 0.1)), equalizer="zf")
    assert len(segs) == 1 and segs[0].header == header(2000) and segs[0].valid.all()
    snr = -10 * np.log10(np.mean(np.abs(segs[0].symbols - d) ** 2))
    assert snr > 12.5, snr
    assert abs(segs[0].snr_db - 15.0) < 1.5  # the estimate
    assert abs(segs[0].cfo - cfo) < 2e-4


def _channel_estimates(y, aided):
    """The receiver's channel estimate and FFT window start for each burst in y."""
    rx = OfdmReceiver(P, equalizer="zf", header_aided=aided)
    acquire, out = rx._acquire, []

    def spy(d, cfo):
        burst = acquire(d, cfo)
        out.append((burst.t0, burst.h.copy()))
        return burst

    rx._acquire = spy
    rx.feed(y)
    rx.flush()
    return out


def test_header_aided_channel_estimate_lowers_the_error():
    """Once the header passes its CRC its 9 symbols join the 2 LTFs as training: at 5 dB the channel
    estimate's error against the noiseless estimate (common phase aside: the pilots track it) drops
    well over 2x (theory: 5.5x, 11 symbols instead of 2)."""
    rng = np.random.default_rng(7)
    err = {False: 0.0, True: 0.0}
    for i in range(3):
        x = np.concatenate([np.zeros(300, np.complex64), modulate(P, header(3680, fid=i), cvec(3680, rng)),
                            np.zeros(200, np.complex64)])
        ((t_ref, h_ref),) = _channel_estimates(impair(x, 300.0, rng, taps=(1, 0.3j, 0.1)), True)
        y = impair(x, 5.0, rng, taps=(1, 0.3j, 0.1))
        for aided in (False, True):
            ((t0, h),) = _channel_estimates(y, aided)
            assert t0 == t_ref
            rot = np.vdot(h, h_ref)
            err[aided] += np.mean(np.abs(h * rot / abs(rot) - h_ref) ** 2)
    assert err[True] < err[False] / 2, err


def test_receiver_output_does_not_depend_on_chunk_sizes():
    """The same samples fed in chunks of 64 ... 100,000 give bit-identical segments (what makes a live
    receiver and the replay of its recording agree byte for byte)."""
    rng = np.random.default_rng(3)
    parts = [np.zeros(777, np.complex64)]
    for i in range(6):
        parts += [modulate(P, header(256, fid=i), cvec(256, rng)), np.zeros(int(rng.integers(50, 3000)), np.complex64)]
    y = impair(np.concatenate(parts), 8.0, rng, cfo=0.002, ppm=50, taps=(1, 0.3j, 0.1)).astype(np.complex64)
    runs = []
    for chunk in (64, 1000, 4096, 100000):
        segs, _ = receive(y, chunk=chunk)
        runs.append([(s.header, s.start, s.cfo, s.snr_db, s.symbols.tobytes(), s.valid.tobytes()) for s in segs])
    assert len(runs[0]) == 6 and all(r == runs[0] for r in runs[1:])


def test_equalizers_keep_soft_values_and_ummse_is_scaled_lmmse():
    """Same burst, three equalisers: all soft (never sliced); 'ummse' is LMMSE times one constant
    per burst (> 1: the weights rescaled to unit mean), and on a faded channel at 5 dB both LMMSE
    forms have a lower error than ZF."""
    rng = np.random.default_rng(11)
    d = cvec(3680, rng)
    x = np.concatenate([np.zeros(300, np.complex64), modulate(P, header(3680), d), np.zeros(200, np.complex64)])
    y = impair(x, 5.0, rng, taps=(1, 0.3j, 0.1))
    out = {eq: receive(y, equalizer=eq)[0][0].symbols for eq in ("zf", "mmse", "ummse")}
    ratio = out["ummse"] / out["mmse"]
    assert np.allclose(ratio, ratio[0], rtol=1e-4) and abs(ratio[0].imag) < 1e-6 and ratio[0].real > 1.0
    err = {eq: np.mean(np.abs(v - d) ** 2) for eq, v in out.items()}
    assert err["mmse"] < err["zf"] and err["ummse"] < err["zf"], err
    assert len(np.unique(np.round(out["ummse"].real, 3))) > 1000  # analog values, not constellation points


def test_multipath_taps_keep_the_in_band_power():
    from gr_stegsem.phy import radio

    for enabled in (True, False):
        t = np.asarray(radio.multipath_taps(enabled))
        gain = np.abs(np.fft.fft(t, P.fft_len)[P.used % P.fft_len]) ** 2
        assert abs(gain.mean() - 1) < 1e-12
    assert len(radio.multipath_taps(True)) == 3 and radio.multipath_taps(False) == [1 + 0j]


def test_header_decodes_at_0_db():
    rng = np.random.default_rng(3)
    ok = 0
    for i in range(10):
        x = np.concatenate([np.zeros(300, np.complex64), modulate(P, header(400, fid=i), cvec(400, rng)),
                            np.zeros(200, np.complex64)])
        segs, _ = receive(impair(x, 0.0, rng, cfo=0.001))
        ok += len(segs) == 1 and segs[0].header.frame_id == i
    assert ok >= 8


def test_noise_alone_gives_no_segments():
    rng = np.random.default_rng(4)
    segs, rx = receive(cvec(400_000, rng), chunk=8192)
    assert segs == [] and rx.stats.segments == 0


def test_cut_off_burst_does_not_stall_and_next_burst_decodes():
    """A burst cut after its header and a few data symbols, followed at once by a whole burst: the
    first comes out with its tail flagged invalid, the second exactly."""
    rng = np.random.default_rng(5)
    d1, d2 = cvec(3680, rng), cvec(3680, rng)
    b1 = modulate(P, header(3680, fid=1), d1)
    b2 = modulate(P, header(3680, fid=2), d2)
    cut = P.guard + (3 + P.header_symbols + 10) * P.symbol_len
    y = impair(np.concatenate([np.zeros(100, np.complex64), b1[:cut], b2]), 20.0, rng)
    segs, rx = receive(y)
    ids = [s.header.frame_id for s in segs]
    assert ids == [1, 2], ids
    assert 0 < segs[0].valid.mean() < 0.5 and segs[1].valid.all()
    assert np.mean(np.abs(segs[1].symbols - d2) ** 2) < 0.05
    assert rx.stats.cut_off == 1


def test_reassembly_with_dropped_duplicated_and_reordered_segments():
    rng = np.random.default_rng(6)
    info = FrameInfo(9, 256, 256, (8, 64, 64), True)
    s = cvec(info.n_symbols, rng)
    segs = split(info, s, 3680)
    r = Reassembler(max_pending=2, timeout=None)
    out = []
    for i in (3, 0, 3, 4, 1):  # 2 dropped, 3 duplicated, out of order
        out += r.add(*segs[i], snr_db=10.0)
    assert out == [] and r.stats.duplicates == 1
    out = r.flush()
    f = out[0]
    assert not f.complete and list(f.segments) == [1, 1, 0, 1, 1]
    lost = np.zeros(s.size, bool)
    lost[interleaver(s.size)[2 * 3680: 3 * 3680]] = True  # segment 2's symbols, scattered over the latent
    assert np.all(f.symbols[lost] == 0) and not f.valid[lost].any() and f.valid[~lost].all()
    assert np.array_equal(f.symbols[~lost], s[~lost]) and abs(f.lost_fraction - 3680 / s.size) < 1e-9
    # interleaved: the lost symbols are spread over every latent channel pair and row
    rows = np.nonzero(lost.reshape(4, 64, 64))
    assert set(rows[0]) == {0, 1, 2, 3} and len(set(rows[1])) == 64
    # a segment of a delivered frame is a duplicate, not a new frame
    assert r.add(*segs[2]) == [] and r.stats.duplicates == 2
    # more open frames than max_pending: the oldest leaves incomplete
    r2 = Reassembler(max_pending=1, timeout=None)
    a = split(FrameInfo(1, 64, 64, (8, 16, 16), False), cvec(1024, rng), 300)
    b = split(FrameInfo(2, 64, 64, (8, 16, 16), False), cvec(1024, rng), 300)
    assert r2.add(*a[0]) == []
    out = r2.add(*b[0])
    assert len(out) == 1 and out[0].info.frame_id == 1 and out[0].segments.sum() == 1


@pytest.mark.parametrize("nonce", [None, 0, 2**64 - 1])
def test_split_and_reassemble_keep_the_nonce(nonce):
    rng = np.random.default_rng(8)
    info = FrameInfo(7, 64, 64, (8, 16, 16), True, nonce)
    s = cvec(info.n_symbols, rng)
    segs = split(info, s, 300)
    assert len(segs) == 4
    for h, _ in segs:
        assert h.keyed is (nonce is not None) and h.nonce == (nonce or 0)
        assert SegmentHeader.from_bits(h.to_bits()) == h
    r = Reassembler(timeout=None)
    out = [f for i in (2, 0, 3, 1) for f in r.add(*segs[i])]
    assert len(out) == 1 and out[0].complete and out[0].info == info and out[0].info.nonce == nonce
    assert np.array_equal(out[0].symbols, s)


def test_split_rejects_out_of_range_nonces():
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match="out of range"):
            split(FrameInfo(7, 64, 64, (8, 16, 16), True, bad), np.ones(1024, np.complex64), 300)


def test_segments_disagreeing_about_the_nonce_are_inconsistent():
    """A segment whose nonce (or keyed flag) contradicts the frame's first segment is counted
    inconsistent and dropped, like any other header field that disagrees."""
    rng = np.random.default_rng(9)
    s = cvec(1024, rng)
    base = FrameInfo(7, 64, 64, (8, 16, 16), True, 5)
    a = split(base, s, 300)
    b = split(FrameInfo(7, 64, 64, (8, 16, 16), True, 6), s, 300)
    c = split(FrameInfo(7, 64, 64, (8, 16, 16), True, None), s, 300)
    r = Reassembler(timeout=None)
    assert r.add(*a[0]) == []
    assert r.add(*b[1]) == [] and r.add(*c[2]) == [] and r.stats.inconsistent == 2
    out = r.add(*a[1]) + r.add(*a[2]) + r.add(*a[3])
    assert len(out) == 1 and out[0].complete and out[0].info.nonce == 5


def test_reassembly_timeout():
    now = [0.0]
    r = Reassembler(timeout=0.5, clock=lambda: now[0])
    segs = split(FrameInfo(3, 64, 64, (8, 16, 16), False), np.ones(1024, np.complex64), 300)
    r.add(*segs[0])
    assert r.expire() == []
    now[0] = 0.6
    out = r.expire()
    assert len(out) == 1 and out[0].lost_fraction > 0.5


def test_sigmf_round_trip(tmp_path):
    from gr_stegsem.phy import sigmf_io

    rng = np.random.default_rng(7)
    x = cvec(1000, rng)
    base = sigmf_io.write(tmp_path / "rec", x, 1e6, 2.45e9, "test", annotations=[(10, 100, "burst")])
    y, info = sigmf_io.read(str(base) + ".sigmf-meta")
    assert np.array_equal(x, y) and info["sample_rate"] == 1e6 and info["center_freq"] == 2.45e9
    assert info["annotations"][0]["core:label"] == "burst"
    from sigmf import validate as sigmf_validate

    sigmf_validate.validate(json.loads(sigmf_io.meta_path(base).read_text()))  # the sigmf library's validator
    with pytest.raises(ValueError, match="centre frequency"):
        sigmf_io.write_meta(tmp_path / "nan", 1e6, float("nan"))
    (tmp_path / "bad.sigmf-meta").write_text((tmp_path / "rec.sigmf-meta").read_text().replace("cf32_le", "ci16_le"))
    (tmp_path / "bad.sigmf-data").write_bytes(b"\0" * 16)
    with pytest.raises(ValueError, match="not supported"):
        sigmf_io.read(tmp_path / "bad")
    with pytest.raises(ValueError, match="no SigMF"):
        sigmf_io.read(tmp_path / "missing")


def test_nonfinite_samples_are_erased_not_blinding():
    """A NaN in the noise before a burst and an Inf/NaN sample inside another burst's data (issue 16,
    case 9): every burst still decodes, no symbol is non-finite, and only the OFDM symbol that held
    the bad sample is flagged invalid; the samples are counted."""
    rng = np.random.default_rng(9)
    ds = [cvec(3680, rng) for _ in range(3)]
    bursts = [modulate(P, header(3680, fid=i), d) for i, d in enumerate(ds)]
    gap = np.zeros(500, np.complex64)
    y = impair(np.concatenate([gap, bursts[0], gap, bursts[1], gap, bursts[2], gap]), 20.0, rng).astype(np.complex64)
    y[200] = np.nan
    k = 5  # the data OFDM symbol of burst 1 that gets the bad sample
    y[500 + bursts[0].size + 500 + P.guard + (3 + P.header_symbols + k) * P.symbol_len + 40] = complex(np.inf, np.nan)
    for chunk in (700, 3000, 100000):
        segs, rx = receive(y, chunk=chunk)
        assert [s.header.frame_id for s in segs] == [0, 1, 2] and rx.stats.nonfinite == 2
        for s in segs:
            assert np.isfinite(s.symbols).all()
            assert np.mean(np.abs(s.symbols[s.valid] - ds[s.header.frame_id][s.valid]) ** 2) < 0.02
        assert segs[0].valid.all() and segs[2].valid.all()
        assert np.flatnonzero(~segs[1].valid).tolist() == list(range(k * P.n_data, (k + 1) * P.n_data))


@pytest.mark.parametrize("freq", [0.0, 0.01, -0.23])  # a DC offset and two CW tones (cycles/sample)
def test_dc_and_tones_do_not_trigger_and_bursts_in_them_decode(freq):
    """A DC offset or CW tone has an S&C metric near 1 everywhere (issue 16, case 4: an acquisition
    every 64 samples, 0.05 MS/s). It must trigger nothing on its own, and bursts on top of it still
    decode."""
    rng = np.random.default_rng(11)
    n = 60000
    tone = (np.sqrt(0.1) * np.exp(2j * np.pi * freq * np.arange(n))).astype(np.complex64)
    y = (tone + 0.02 * cvec(n, rng)).astype(np.complex64)
    _, rx = receive(y)
    assert rx.stats.detections == 0
    d = cvec(3680, rng)
    b = modulate(P, header(3680), d)
    for o in (5000, 30000):
        y[o:o + b.size] += b
    segs, rx = receive(y)
    assert len(segs) == 2 and all(s.valid.all() for s in segs) and rx.stats.detections == 2


def test_flush_of_a_burst_cut_inside_its_training_symbols():
    """The stream ends inside a burst's LTFs: flush() counts a header failure instead of raising
    (it raised 'shapes (127,) and (128,) not aligned' and the block reset)."""
    rng = np.random.default_rng(12)
    b = modulate(P, header(3680), cvec(3680, rng))
    for cut in (P.guard + 200, P.guard + 300):
        segs, rx = receive(impair(np.concatenate([np.zeros(300, np.complex64), b[:cut]]), 20.0, rng).astype(np.complex64))
        assert segs == [] and rx.stats.header_failures == 1

