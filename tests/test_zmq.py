"""ZeroMQ link: resynchronisation of burst_to_pdu, a subscriber joining mid-burst, and Alice / late Bob /
Eve / the watch client as separate processes on loopback (bounded in time, free ports)."""
from __future__ import annotations

import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("gnuradio.gr")
pytest.importorskip("gnuradio.zeromq")
pytest.importorskip("zmq")
import pmt  # noqa: E402
from gnuradio import blocks, gr, pdu, zeromq  # noqa: E402

from gr_stegsem.blocks import burst_framer, burst_to_pdu  # noqa: E402
from gr_stegsem.checkpoint import save_model  # noqa: E402
from gr_stegsem.models import DeepJSCC, DeepJSCCConfig, INNConfig, StegoINN  # noqa: E402
from gr_stegsem.watch import file_name, parse_message  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CFG = DeepJSCCConfig(width1=8, width=16)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cvec(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ((rng.standard_normal(n) + 1j * rng.standard_normal(n)) / np.sqrt(2)).astype(np.complex64)


def tag(offset: int, key: str, value) -> gr.tag_t:
    t = gr.tag_t()
    t.offset, t.key, t.value = offset, pmt.intern(key), value
    return t


def burst_tags(offset: int, k: int, guard: int, frame: int) -> list:
    return [tag(offset, "packet_len", pmt.from_long(k + 2 * guard)), tag(offset, "guard", pmt.from_long(guard)),
            tag(offset, "frame_id", pmt.from_long(frame))]


def received(dbg) -> list[tuple[int, np.ndarray]]:
    out = []
    for i in range(dbg.num_messages()):
        m = dbg.get_message(i)
        out.append((pmt.to_python(pmt.car(m))["frame_id"], np.asarray(pmt.c32vector_elements(pmt.cdr(m)))))
    return out


# --- burst_to_pdu resynchronisation ---------------------------------------------------------------------
def test_partial_and_cut_bursts_are_dropped_not_misaligned():
    """Stream: the tail of a burst whose start was never seen (no tag), a whole burst 1, burst 2 that lost
    samples (burst 3's tag comes before its end), whole burst 3: only 1 and 3 come out, exactly."""
    g, k = 4, 100
    zeros = np.zeros(g, np.complex64)
    tail = cvec(70, 0)
    b1, b2, b3 = cvec(k, 1), cvec(k, 2), cvec(k, 3)
    b2_short = np.concatenate([zeros, b2[:60]])  # 40 data samples and the trailing guard lost
    parts = [tail, zeros, b1, zeros, b2_short, zeros, b3, zeros]
    o1 = tail.size
    o2 = o1 + k + 2 * g
    o3 = o2 + b2_short.size
    tags = burst_tags(o1, k, g, 1) + burst_tags(o2, k, g, 2) + burst_tags(o3, k, g, 3)
    tb = gr.top_block()
    src = blocks.vector_source_c(np.concatenate(parts).tolist(), False, 1, tags)
    rx = burst_to_pdu(0)
    dbg = blocks.message_debug()
    tb.connect(src, rx)
    tb.msg_connect(rx, "pdus", dbg, "store")
    tb.run()
    got = received(dbg)
    assert [f for f, _ in got] == [1, 3]
    np.testing.assert_array_equal(got[0][1], b1)
    np.testing.assert_array_equal(got[1][1], b3)
    assert rx.n_outside == tail.size and rx.n_dropped == 1 and rx.n_out == 2


def test_subscriber_joining_mid_burst_drops_it_and_locks_on_the_next():
    """A ZMQ subscriber that connects while a long burst is on the wire gets its tail without a tag:
    the partial burst is dropped (counted as outside samples) and the next burst is cut out exactly."""
    address = f"tcp://127.0.0.1:{free_port()}"
    g, k_long, k_next, rate = 16, 60000, 2000, 20000.0  # the long burst takes 3 s on the wire
    tx = gr.top_block()
    framer = burst_framer(g)
    p2s = pdu.pdu_to_tagged_stream(gr.types.complex_t, "packet_len")
    p2s.set_min_output_buffer(1 << 17)
    throttle = blocks.throttle(gr.sizeof_gr_complex, rate, True)
    pub = zeromq.pub_sink(gr.sizeof_gr_complex, 1, address, 100, True, -1, "", True)
    tx.msg_connect(framer, "out", p2s, "pdus")
    tx.connect(p2s, throttle, pub)
    rx = gr.top_block()
    long_burst, next_burst = cvec(k_long, 10), cvec(k_next, 11)
    tx.start()
    try:
        for fid, v in ((0, long_burst), (1, next_burst)):
            meta = pmt.dict_add(pmt.make_dict(), pmt.intern("frame_id"), pmt.from_long(fid))
            framer.to_basic_block()._post(pmt.intern("in"), pmt.cons(meta, pmt.init_c32vector(v.size, v)))
        t0 = time.monotonic()
        while throttle.nitems_written(0) < 4000 and time.monotonic() - t0 < 10:
            time.sleep(0.01)
        assert throttle.nitems_written(0) < k_long  # still in the middle of the long burst
        sub = zeromq.sub_source(gr.sizeof_gr_complex, 1, address, 100, True, -1, "")
        b2p = burst_to_pdu(0)
        dbg = blocks.message_debug()
        rx.connect(sub, b2p)
        rx.msg_connect(b2p, "pdus", dbg, "store")
        rx.start()
        t0 = time.monotonic()
        while dbg.num_messages() < 1 and time.monotonic() - t0 < 15:
            time.sleep(0.02)
        time.sleep(0.2)
    finally:
        rx.stop()
        rx.wait()
        tx.stop()
        tx.wait()
    got = received(dbg)
    assert [f for f, _ in got] == [1], "the partial burst must be dropped, the next one decoded"
    np.testing.assert_array_equal(got[0][1], next_burst)
    assert 0 < b2p.n_outside < k_long + 2 * g and b2p.n_dropped == 0


def test_watch_parses_pub_msg_sink_messages(tmp_path):
    """What zeromq.pub_msg_sink sends (pmt.serialize_str of the PDU) is what the watch client parses."""
    a = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    meta = pmt.to_pmt({"frame_id": 7, "height": 4, "width": 5})
    meta = pmt.dict_add(meta, pmt.intern("role"), pmt.intern("private"))
    data = pmt.serialize_str(pmt.cons(meta, pmt.init_u8vector(a.size, a.reshape(-1).tolist())))
    m, img = parse_message(data)
    assert m["frame_id"] == 7 and m["role"] == "private" and np.array_equal(img, a)
    assert file_name(m) == "private_00007.png"
    assert file_name({"frame_id": 3, "attack": "mia"}) == "eve_mia_00003.png"
    with pytest.raises(ValueError):
        parse_message(b"not a pmt")
    with pytest.raises(ValueError):
        parse_message(pmt.serialize_str(pmt.cons(meta, pmt.init_u8vector(3, [1, 2, 3]))))


# --- three roles as processes on loopback ---------------------------------------------------------------
@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("zmq_models")
    torch.manual_seed(0)
    save_model(DeepJSCC(CFG), d / "jscc")
    save_model(StegoINN(INNConfig(channels=CFG.latent_channels, hidden=8, blocks=2)), d / "inn",
               jscc_config=CFG.to_dict())
    return str(d / "jscc.safetensors"), str(d / "inn.safetensors")


class Proc:
    """A stegsem subprocess whose stdout lines are collected by a thread."""

    def __init__(self, args, env):
        self.p = subprocess.Popen([sys.executable, "-m", "gr_stegsem", "--threads", "1"] + args, cwd=ROOT, env=env,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.out: list[str] = []
        self.err: list[str] = []
        threading.Thread(target=self._read, args=(self.p.stdout, self.out, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.p.stderr, self.err, False), daemon=True).start()

    def _read(self, stream, into, notify):
        for line in stream:
            into.append(line)
            if notify:
                self.lines.put(line)

    def wait_line(self, needle: str, timeout: float) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self.lines.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if needle in line:
                return line
        raise AssertionError(f"no line with {needle!r} within {timeout} s; stdout: {''.join(self.out)[-1500:]} "
                             f"stderr: {''.join(self.err)[-1500:]}")

    def finish(self, timeout: float) -> int:
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def test_alice_bob_eve_and_watch_as_processes(model_files, tmp_path):
    """Alice loops with an interval; Bob and Eve start late (after Alice sent frames 0-2) and still decode
    the following frames; the pyzmq watch client receives Bob's images; what Bob heard, recorded as SigMF
    and replayed by 'stegsem replay bob', gives byte-identical images. Bounded: < 90 s."""
    jscc, inn = model_files
    samples, bob_pub, eve_pub = (f"tcp://127.0.0.1:{free_port()}" for _ in range(3))
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    t0 = time.monotonic()
    alice = Proc(["zmq", "alice", "--size", "32", "--jscc-model", jscc, "--inn-model", inn, "--address", samples,
                  "--interval", "0.4", "--timeout", "55"], env)
    procs = [alice]
    try:
        alice.wait_line("sent frame 2 ", 30)  # frames 0-2 are gone before the receivers connect
        watch = Proc(["watch", bob_pub, "--out", str(tmp_path / "watch"), "--count", "2", "--timeout", "40"], env)
        bob = Proc(["zmq", "bob", "--jscc-model", jscc, "--inn-model", inn, "--address", samples,
                    "--publish", bob_pub, "--out", str(tmp_path / "bob"), "--count", "4", "--timeout", "40",
                    "--record", str(tmp_path / "bob_heard")], env)
        eve = Proc(["zmq", "eve", "--jscc-model", jscc, "--mia-steps", "2", "--address", samples,
                    "--publish", eve_pub, "--out", str(tmp_path / "eve"), "--count", "2", "--timeout", "40"], env)
        procs += [watch, bob, eve]
        for p, name in ((bob, "bob"), (eve, "eve"), (watch, "watch")):
            assert p.finish(50) == 0, f"{name}: {''.join(p.out)[-1500:]} {''.join(p.err)[-1500:]}"
    finally:
        for p in procs:
            p.stop()
    assert time.monotonic() - t0 < 60
    bob_files = sorted((tmp_path / "bob").glob("bob_private_*.png"))
    assert bob_files and all(int(f.stem.rsplit("_", 1)[1]) >= 3 for f in bob_files)  # late: frames 0-2 missed
    assert np.asarray(Image.open(bob_files[0])).shape == (32, 32, 3)
    assert (tmp_path / "bob" / bob_files[0].name.replace("private", "host")).is_file()
    assert sorted((tmp_path / "eve").glob("eve_naive_*.png")) and "eve: frame" in "".join(eve.out)
    lines = [ln for ln in watch.out if ln.startswith("frame ")]
    assert len(lines) == 2 and all("32x32" in ln for ln in lines)
    assert len(list((tmp_path / "watch").glob("*.png"))) == 2
    # Bob's recording: one annotation per burst his PHY decoded, at the bursts' places in the file
    from sigmf import validate as sigmf_validate

    meta = json.loads((tmp_path / "bob_heard.sigmf-meta").read_text())
    sigmf_validate.validate(meta)
    assert "zmq_bob: what Bob hears" in meta["global"]["core:description"]
    heard = np.fromfile(tmp_path / "bob_heard.sigmf-data", np.complex64)
    ann = meta["annotations"]
    assert {int(f.stem.rsplit("_", 1)[1]) for f in bob_files} <= {a["stegsem:frame_id"] for a in ann}
    for a in ann:
        s, c = a["core:sample_start"], a["core:sample_count"]
        assert s + c <= heard.size and a["core:label"] == f"frame {a['stegsem:frame_id']} seg {a['stegsem:seg_index']}"
        if s >= 64:  # the burst's power against the zero guard before it (Bob's channel noise only)
            assert np.mean(np.abs(heard[s:s + c]) ** 2) > 3 * np.mean(np.abs(heard[s - 60:s - 4]) ** 2)
    # the same samples, replayed from Bob's SigMF recording, decode to the same bytes
    replay = Proc(["replay", "bob", str(tmp_path / "bob_heard"), "--jscc-model", jscc, "--inn-model", inn,
                   "--out", str(tmp_path / "replay"), "--timeout", "40"], env)
    try:
        assert replay.finish(45) == 0, f"{''.join(replay.out)[-1500:]} {''.join(replay.err)[-1500:]}"
    finally:
        replay.stop()
    live = sorted((tmp_path / "bob").glob("bob_*.png"))
    assert len(live) >= 4
    for f in live:
        again = tmp_path / "replay" / f.name
        assert again.is_file(), f"replay lacks {f.name}: {''.join(replay.out)[-800:]}"
        assert np.array_equal(np.asarray(Image.open(f)), np.asarray(Image.open(again))), f.name
    assert time.monotonic() - t0 < 90


def test_iq_source_survives_bad_messages_on_a_real_socket():
    """Issue 16, case 2: empty, 1-byte and 7-byte messages and then samples on a real ZeroMQ PUB: the
    source logs and drops the bad ones and delivers the samples (zeromq.sub_source stopped for good)."""
    import zmq

    from gr_stegsem.blocks import zmq_iq_source

    address = f"tcp://127.0.0.1:{free_port()}"
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.PUB)
    pub.bind(address)
    tb = gr.top_block()
    src = zmq_iq_source(address, timeout=50)
    sink = blocks.vector_sink_c()
    tb.connect(src, sink)
    tb.start()
    try:
        time.sleep(0.5)  # the subscription reaches the PUB
        good = cvec(1000, 3).astype(np.complex64)
        for m in (b"", b"\x01", b"\x00" * 7, good[:500].tobytes(), b"\x02" * 9, good[500:].tobytes()):
            pub.send(m)
            time.sleep(0.02)
        t0 = time.monotonic()
        while len(sink.data()) < 1000 and time.monotonic() - t0 < 10:
            time.sleep(0.02)
    finally:
        tb.stop()
        tb.wait()
        pub.close(0)
    np.testing.assert_array_equal(np.asarray(sink.data(), np.complex64), good)
    assert src.n_bad == 4 and src.n_messages == 6 and "not a whole number" in src.last_error
    assert src.n_unread == 0


def test_iq_source_counts_what_it_still_held_at_stop(capfd):
    """A receiver stopped while samples wait in its socket (downstream slower than the sender): the
    samples it never delivered are counted and logged at stop (issue 16: losses at a stop are said)."""
    import zmq

    from gr_stegsem.blocks import zmq_iq_source

    address = f"tcp://127.0.0.1:{free_port()}"
    pub = zmq.Context.instance().socket(zmq.PUB)
    pub.bind(address)
    tb = gr.top_block()
    src = zmq_iq_source(address, timeout=50)
    head = blocks.head(gr.sizeof_gr_complex, 1000)  # takes the first 1000 samples, then the graph stops
    tb.connect(src, head, blocks.null_sink(gr.sizeof_gr_complex))
    tb.start()
    try:
        time.sleep(0.5)
        for _ in range(50):  # 500,000 samples: more than the stream buffers between source and head hold
            pub.send(cvec(10000, 4).astype(np.complex64).tobytes())
        time.sleep(0.3)
    finally:
        tb.stop()
        tb.wait()
        pub.close(0)
    assert 300000 < src.n_unread <= 499000
    assert f"stopped with {src.n_unread} samples not yet processed" in "".join(capfd.readouterr())
