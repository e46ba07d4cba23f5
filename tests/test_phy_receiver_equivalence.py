"""The fast PHY receiver decides as the one before it (issue 15): the same bursts at the same sample
offsets with the same soft values, on a recorded-like stream whose results the old receiver wrote
(tests/data/phy_rx_golden.json, by ``tools/benchmark_phy_rx.py --write-golden``); the FEC's fast
paths equal their bitwise definitions; the header-SNR gate skips noise triggers and nothing else."""
from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from gr_stegsem.phy import OfdmParams, OfdmReceiver, SegmentHeader, modulate, ofdm
from gr_stegsem.phy.fec import (OUT, TAIL, _next, _trellis, bits_to_int, conv_encode, crc16, crc16_int, hard_codeword,
                                int_to_bits, viterbi_decode)
from gr_stegsem.phy.header import FIELDS, HEADER_BITS, INFO_BITS, VERSION, HeaderError

ROOT = Path(__file__).resolve().parents[1]
P = OfdmParams()


def _bench():
    spec = importlib.util.spec_from_file_location("benchmark_phy_rx", ROOT / "tools" / "benchmark_phy_rx.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_receiver_finds_the_same_bursts_as_the_old_one():
    """Headers, first samples, validity (a NaN sample, cut-off bursts, the end of the stream) and the
    counters exactly; CFO, SNR and soft-value checksums to rounding."""
    bench = _bench()
    want = json.loads((ROOT / "tests" / "data" / "phy_rx_golden.json").read_text())
    y, chunks = bench.golden_input()
    got = bench.golden_record(ofdm, y, chunks)
    assert got["stats"] == want["stats"]
    assert len(got["segments"]) == len(want["segments"]) == 10
    for g, w in zip(got["segments"], want["segments"]):
        assert (g["header"], g["start"], g["valid"]) == (w["header"], w["start"], w["valid"])
        assert g["cfo"] == pytest.approx(w["cfo"], abs=1e-12)
        assert g["snr_db"] == pytest.approx(w["snr_db"], abs=1e-9)
        for k in ("sum_re", "sum_im", "energy"):
            assert g[k] == pytest.approx(w[k], rel=1e-6, abs=1e-6), k
        assert np.allclose(g["first"], w["first"], atol=1e-6)
    # and the same whatever the chunk sizes
    assert bench.golden_record(ofdm, y, [y.size]) == got


def test_conv_encode_equals_the_state_machine():
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 192):
        bits = rng.integers(0, 2, n)
        state, ref = 0, []
        for b in np.concatenate([bits, np.zeros(TAIL, np.int64)]):
            ref += list(OUT[state, b])
            state = int(_next(np.int64(state), b))
        assert conv_encode(bits).tolist() == ref


def test_viterbi_is_maximum_likelihood():
    """On short messages the decoder returns the codeword that correlates best with the LLRs (brute
    force over all messages), noisy and with erased (zero) LLRs."""
    rng = np.random.default_rng(1)
    n = 8
    msgs = [np.array(m) for m in itertools.product((0, 1), repeat=n)]
    books = np.array([1.0 - 2 * conv_encode(m) for m in msgs])
    for trial in range(40):
        bits = msgs[rng.integers(len(msgs))]
        llr = 2 * (1.0 - 2 * conv_encode(bits)) + rng.standard_normal(2 * (n + TAIL)) * (0.5 + trial / 10)
        llr[rng.random(llr.size) < 0.2] = 0.0
        scores = books @ llr
        best = np.flatnonzero(scores == scores.max())
        got = viterbi_decode(llr, n)
        assert any(np.array_equal(got, msgs[b]) for b in best)


def test_hard_decision_shortcut_equals_the_trellis():
    """Where the LLRs' signs already form a codeword, viterbi_decode returns it without the trellis:
    the same bits as the trellis (noisy LLRs at many SNRs; a few with an erased or non-finite LLR,
    which take the trellis); where they do not, hard_codeword says so."""
    rng = np.random.default_rng(5)
    shortcut = 0
    for trial in range(600):
        n = int(rng.integers(0, 200))
        bits = rng.integers(0, 2, n)
        noise = rng.standard_normal(2 * (n + TAIL)) * rng.uniform(0, 1.5)
        llr = (1.0 - 2 * conv_encode(bits)) * rng.uniform(0.2, 3) + noise
        if trial % 50 == 0:
            llr[rng.integers(llr.size)] = (0.0, np.nan, np.inf)[trial // 50 % 3]
        hard = hard_codeword(llr, n)
        if hard is None:
            codeword_signs = np.array_equal(conv_encode(_trellis(llr, n)), (llr < 0).astype(np.int8))
            assert not (codeword_signs and np.all(np.abs(llr) > 0) and np.isfinite(llr).all())
        else:
            shortcut += 1
            assert np.array_equal(hard, _trellis(llr, n))
            assert np.array_equal(conv_encode(hard), (llr < 0).astype(np.int8))
        assert np.array_equal(viterbi_decode(llr, n), _trellis(llr, n)) or not np.isfinite(llr).all()
    assert 100 < shortcut < 550


def _header_bits_bitwise(h):
    """The header's 192 bits from the field definitions, one int_to_bits per field (the reference)."""
    values = {"version": VERSION, "frame_id": h.frame_id, "seg_index": h.seg_index, "seg_count": h.seg_count,
              "seg_len": h.seg_len, "height": h.height, "width": h.width, "latent_c": h.latent_c,
              "latent_h": h.latent_h, "latent_w": h.latent_w, "secure": int(h.secure), "keyed": int(h.keyed),
              "reserved": 0, "nonce": h.nonce}
    info = np.concatenate([int_to_bits(values[name], width) for name, width in FIELDS])
    return np.concatenate([info, crc16(info)])


def test_header_bits_equal_the_field_by_field_definition():
    """to_bits / from_bits on integers equal the field-by-field bits (and back), a flipped bit fails, the
    CRC integer equals the bitwise CRC."""
    rng = np.random.default_rng(6)
    for _ in range(200):
        keyed = bool(rng.integers(2))
        c, lh, lw = 2 * int(rng.integers(1, 128)), int(rng.integers(1, 1024)), int(rng.integers(1, 1024))
        n = int(rng.integers(1, min(c // 2 * lh * lw, (1 << 14) - 1) + 1))
        count = -(-c // 2 * lh * lw // n)
        if count >= 1 << 10:
            n, count = c // 2 * lh * lw, 1
            if n >= 1 << 14:
                continue
        h = SegmentHeader(frame_id=int(rng.integers(1 << 16)), seg_index=int(rng.integers(count)), seg_count=count,
                          seg_len=n, height=int(rng.integers(1, 4096)), width=int(rng.integers(1, 4096)), latent_c=c,
                          latent_h=lh, latent_w=lw, secure=bool(rng.integers(2)),
                          nonce=int(rng.integers(0, 1 << 62)) * keyed, keyed=keyed)
        bits = h.to_bits()
        assert bits.dtype == np.int8 and np.array_equal(bits, _header_bits_bitwise(h))
        assert SegmentHeader.from_bits(bits) == h
        bad = bits.copy()
        bad[rng.integers(HEADER_BITS)] ^= 1
        with pytest.raises(HeaderError, match="CRC"):
            SegmentHeader.from_bits(bad)
        assert crc16_int(bits_to_int(bits[:INFO_BITS]), INFO_BITS) == bits_to_int(bits[INFO_BITS:])


def test_vectorised_pilot_tracking_equals_the_recursion():
    """_pilot_fits over many symbols at once equals the symbol-by-symbol recursion (to 1e-10 rad), with
    phases drifting by many radians, noisy pilots (where the vectorised guess fails part-way and the
    recursion takes over) and a rank-deficient fit (one pilot with power: the recursion throughout)."""
    rng = np.random.default_rng(7)
    kp = np.asarray(P.pilots, float)
    rx = OfdmReceiver(P)
    vectorised = 0
    for trial in range(300):
        n = int(rng.integers(0, 60))
        h = rng.standard_normal(P.used.size) + 1j * rng.standard_normal(P.used.size)
        if trial % 30 == 0:
            keep = h[P.pilot_index[0]]
            h[P.pilot_index] = 0
            h[P.pilot_index[0]] = keep
        _, G, well = rx._fit_matrix(h[P.pilot_index])
        m = np.arange(n)[:, None]
        a0, b0 = rng.uniform(-10, 10), rng.uniform(-0.05, 0.05)
        drift = a0 + rng.uniform(-0.6, 0.6) * m + (b0 + rng.uniform(-0.01, 0.01) * m) * kp
        phi = np.angle(np.exp(1j * (drift + rng.standard_normal((n, kp.size)) * rng.choice([0.01, 0.3, 1.0, 3.0]))))
        phase = (a0, b0) if trial % 2 else (rng.uniform(-10, 10), rng.uniform(-0.05, 0.05))
        fast = ofdm._pilot_fits(phi, G, rx._kA, phase, vectorised=well)
        slow = ofdm._pilot_fits(phi, G, rx._kA, phase, vectorised=False)
        assert fast.shape == slow.shape == (n, 2)
        assert np.allclose(fast, slow, rtol=0, atol=1e-10)
        vectorised += well and n > 0
    assert vectorised > 200


def test_crc16_equals_the_bitwise_definition():
    rng = np.random.default_rng(2)
    for n in list(range(0, 20)) + [176, 181]:
        bits = rng.integers(0, 2, n)
        reg = 0xFFFF
        for b in bits:
            fb = ((reg >> 15) & 1) ^ int(b)
            reg = (reg << 1) & 0xFFFF
            if fb:
                reg ^= 0x1021
        assert int("".join(map(str, crc16(bits))), 2) == reg


def _count_headers(monkeypatch):
    calls = []
    real = OfdmReceiver._header

    def counted(self, burst):
        calls.append(1)
        return real(self, burst)

    monkeypatch.setattr(OfdmReceiver, "_header", counted)
    return calls


def _receive(y, **kw):
    rx = OfdmReceiver(P, **kw)
    segs = []
    for i in range(0, y.size, 4096):
        segs += rx.feed(y[i:i + 4096])
    return segs + rx.flush(), rx


def test_header_snr_gate_skips_noise_triggers_only(monkeypatch):
    """On noise every trigger estimates < -6 dB and no header is decoded (the counters stay as they
    were); bursts at -3 dB (where the header only sometimes decodes) and 0 dB come out the same with
    and without the gate."""
    calls = _count_headers(monkeypatch)
    rng = np.random.default_rng(3)
    n = 600_000
    noise = ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)
    segs, rx = _receive(noise)
    assert segs == [] and rx.stats.detections > 5 and rx.stats.header_failures == rx.stats.detections
    assert calls == []
    _, ungated = _receive(noise, min_snr_db=None)
    assert len(calls) == ungated.stats.detections == rx.stats.detections
    for snr in (-3.0, 0.0):
        parts = []
        for i in range(24):
            h = SegmentHeader(frame_id=i, seg_index=0, seg_count=1, seg_len=400, height=64, width=64, latent_c=2,
                              latent_h=4, latent_w=100, secure=False)
            parts += [modulate(P, h, (rng.standard_normal(400) + 1j * rng.standard_normal(400)) / np.sqrt(2)),
                      np.zeros(int(rng.integers(100, 400)), np.complex64)]
        x = np.concatenate(parts) * np.exp(2j * np.pi * 0.002 * np.arange(sum(p.size for p in parts)))
        v = np.sqrt(10 ** (-P.sample_snr_db(snr) / 10) / 2)
        y = (x + v * (rng.standard_normal(x.size) + 1j * rng.standard_normal(x.size))).astype(np.complex64)
        a, _ = _receive(y)
        b, _ = _receive(y, min_snr_db=None)
        assert [(s.header, s.start) for s in a] == [(s.header, s.start) for s in b]
        assert all(np.array_equal(s.symbols, t.symbols) for s, t in zip(a, b))
        assert len(a) >= (3 if snr < 0 else 15)


def test_benchmark_compares_old_and_new_on_a_tiny_case(capsys):
    """tools/benchmark_phy_rx.py end to end (bare receivers, one short input of each kind): every row
    found the same segments (its exit status), with rates for both."""
    import subprocess

    bench = _bench()
    if subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{bench.OLD_REV}:gr_stegsem/phy/ofdm.py"],
                      capture_output=True).returncode:
        pytest.skip(f"revision {bench.OLD_REV} not in this checkout's history")
    assert bench.main(["--samples", "40000", "--duties", "0.5", "--reps", "1", "--no-flowgraph", "--core", "-1"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| ") and "bare" in ln]
    assert len(rows) == 4 and all("| same |" in r for r in rows)
