"""Bursts over stock GNU Radio stream blocks: framing, channel_model alignment, flushing, noise power."""
import time

import numpy as np
import pmt
import pytest
from gnuradio import blocks, channels, gr, pdu

from gr_stegsem.blocks.burst import CHANNEL_MODEL_DELAY, burst_framer, burst_to_pdu


def run_bursts(vectors, channel=None, delay=0, guard=16, timeout=10.0):
    tb = gr.top_block()
    framer = burst_framer(guard)
    p2s = pdu.pdu_to_tagged_stream(gr.types.complex_t, "packet_len")
    p2s.set_min_output_buffer(1 << 17)  # a whole burst must fit (the flowgraphs set minoutbuf too)
    rx = burst_to_pdu(delay)
    dbg = blocks.message_debug()
    tb.msg_connect(framer, "out", p2s, "pdus")
    if channel is None:
        tb.connect(p2s, rx)
    else:
        tb.connect(p2s, channel, rx)
    tb.msg_connect(rx, "pdus", dbg, "store")
    tb.start()
    for i, v in enumerate(vectors):
        meta = pmt.dict_add(pmt.make_dict(), pmt.intern("frame_id"), pmt.from_long(i))
        framer.to_basic_block()._post(pmt.intern("in"), pmt.cons(meta, pmt.init_c32vector(len(v), v)))
    t0 = time.time()
    while dbg.num_messages() < len(vectors) and time.time() - t0 < timeout:
        time.sleep(0.02)
    tb.stop()
    tb.wait()
    out = []
    for i in range(dbg.num_messages()):
        m = dbg.get_message(i)
        out.append((pmt.to_python(pmt.car(m)), np.asarray(pmt.c32vector_elements(pmt.cdr(m)))))
    return out


def rand_vectors(n=3, k=1000, seed=0):
    rng = np.random.default_rng(seed)
    return [((rng.standard_normal(k) + 1j * rng.standard_normal(k)) / np.sqrt(2)).astype(np.complex64)
            for _ in range(n)]


def test_plain_link_round_trip():
    vs = rand_vectors()
    out = run_bursts(vs)
    assert [m["frame_id"] for m, _ in out] == [0, 1, 2]
    for (m, v), ref in zip(out, vs):
        np.testing.assert_array_equal(v, ref)
        assert "guard" not in m and "packet_len" not in m


def test_channel_model_alignment_and_last_burst_flushed():
    """channel_model's resampler shifts data by CHANNEL_MODEL_DELAY samples and holds its tail back;
    the guard flushes the last burst and the delay re-aligns every burst exactly (noise off)."""
    vs = rand_vectors(3)
    ch = channels.channel_model(noise_voltage=0.0, frequency_offset=0.0, epsilon=1.0, taps=[1.0 + 0j],
                                noise_seed=0, block_tags=False)
    out = run_bursts(vs, ch, delay=CHANNEL_MODEL_DELAY)
    assert len(out) == 3  # the last burst is not stuck in the resampler
    for (_, v), ref in zip(out, vs):
        np.testing.assert_allclose(v, ref, atol=1e-4)


@pytest.mark.parametrize("snr_db", [0.0, 10.0])
def test_channel_model_noise_power_is_voltage_squared(snr_db):
    """On GNU Radio 3.10.5 channel_model's complex noise has total power noise_voltage^2 (not 2 v^2):
    noise_voltage = sqrt(10^(-SNR/10)) gives Es/N0 = SNR on unit-power symbols."""
    from gr_stegsem.channel import noise_voltage

    vs = rand_vectors(4, 20000, seed=1)
    v = noise_voltage(snr_db)
    assert v == pytest.approx(np.sqrt(10 ** (-snr_db / 10)))
    ch = channels.channel_model(noise_voltage=v, frequency_offset=0.0, epsilon=1.0, taps=[1.0 + 0j],
                                noise_seed=7, block_tags=False)
    out = run_bursts(vs, ch, delay=CHANNEL_MODEL_DELAY)
    noise = np.concatenate([o - ref for (_, o), ref in zip(out, vs)])
    measured = np.mean(np.abs(noise) ** 2)
    assert measured == pytest.approx(10 ** (-snr_db / 10), rel=0.03)  # 80k samples: ~0.5 % std
    es = np.mean(np.abs(np.concatenate(vs)) ** 2)
    assert 10 * np.log10(es / measured) == pytest.approx(snr_db, abs=0.15)


def test_bad_bursts_are_dropped_not_fatal():
    framer = burst_framer(4)
    framer._handle  # noqa: B018 - exists
    with pytest.raises(ValueError):
        burst_framer(-1)
    tb = gr.top_block()
    dbg = blocks.message_debug()
    tb.msg_connect(framer, "out", dbg, "store")
    tb.start()
    framer.to_basic_block()._post(pmt.intern("in"), pmt.intern("not a pdu"))
    good = np.ones(5, np.complex64)
    framer.to_basic_block()._post(pmt.intern("in"), pmt.cons(pmt.make_dict(), pmt.init_c32vector(5, good)))
    t0 = time.time()
    while dbg.num_messages() < 1 and time.time() - t0 < 5:
        time.sleep(0.02)
    tb.stop()
    tb.wait()
    assert dbg.num_messages() == 1 and framer.n_dropped == 1
    assert len(pmt.c32vector_elements(pmt.cdr(dbg.get_message(0)))) == 13
