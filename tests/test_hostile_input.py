"""Hostile or careless input (issue 16): the watch client's file names and bad PDUs, decompression
bombs, model files checked before use, bad stream tags, bad command-line values. Each test reproduces
a case that used to escape, crash, hang or be silently accepted."""
from __future__ import annotations

import json
import struct
import threading
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from gr_stegsem.checkpoint import CheckpointError, load_model, save_model
from gr_stegsem.cli import main
from gr_stegsem.images import load_image
from gr_stegsem.models import DeepJSCC, DeepJSCCConfig, INNConfig, StegoINN
from gr_stegsem.models.eve_nets import Detector, DetectorConfig, Inverter, InverterConfig
from tests.conftest import TINY_JSCC


@pytest.fixture()
def gnuradio():
    """(gr, blocks, pmt), or skip where GNU Radio is not installed."""
    gr = pytest.importorskip("gnuradio.gr")
    from gnuradio import blocks

    import pmt

    return gr, blocks, pmt


def one_line_error(capsys, code: int, needle: str) -> str:
    err = capsys.readouterr().err.strip()
    assert code != 0, err
    assert err.startswith("stegsem: error:") and len(err.splitlines()) == 1, err
    assert needle in err, err
    return err


# --- 1: stegsem watch ------------------------------------------------------------------------------------
def image_message(meta: dict, a: np.ndarray) -> bytes:
    import pmt

    m = pmt.make_dict()
    for k, v in meta.items():
        if not isinstance(v, pmt.pmt_base):
            v = pmt.intern(v) if isinstance(v, str) else pmt.to_pmt(v)
        m = pmt.dict_add(m, pmt.intern(k), v)
    return pmt.serialize_str(pmt.cons(m, pmt.init_u8vector(a.size, a.reshape(-1).tolist())))


def test_watch_names_stay_inside_out_and_bad_frames_do_not_end_it(tmp_path):
    """Traversal and absolute roles are saved under sanitised names inside --out; frame_id inf, a huge
    frame id, a zero-size image and an unwritable name are logged and skipped; later images still come."""
    zmq = pytest.importorskip("zmq")
    pmt = pytest.importorskip("pmt")
    from gr_stegsem.watch import file_name, watch

    out = tmp_path / "a" / "b" / "out"
    out.mkdir(parents=True)
    (out / "private_00005.png").mkdir()  # a name that cannot be written
    img = np.full((4, 5, 3), 7, np.uint8)
    good = lambda fid, **kw: image_message({"frame_id": fid, "height": 4, "width": 5, **kw}, img)  # noqa: E731
    messages = [
        good(1, role="../../../escaped_role"),
        good(2, role=str(tmp_path / "absolute_role")),
        good(3, role="private", attack="../../x/../../evil"),
        image_message({"frame_id": float("inf"), "height": 4, "width": 5}, img),
        image_message({"frame_id": pmt.from_uint64(2 ** 64 - 1), "height": 4, "width": 5}, img),
        image_message({"frame_id": 4, "height": 0, "width": 5}, np.zeros(0, np.uint8)),
        good(5, role="private"),
        good(6, role="private"),
    ]
    ctx = zmq.Context.instance()
    pub = ctx.socket(zmq.XPUB)  # an XPUB sees the subscription, so nothing is sent before watch listens
    pub.setsockopt(zmq.LINGER, 0)
    port = pub.bind_to_random_port("tcp://127.0.0.1")
    errors, got = [], []
    t = threading.Thread(target=lambda: got.extend(watch(f"tcp://127.0.0.1:{port}", out, count=4, timeout=20,
                                                         on_error=errors.append)))
    t.start()
    try:
        assert pub.poll(10000), "the watch client did not subscribe"
        pub.recv()
        for m in messages:
            pub.send(m)
        t.join(25)
    finally:
        pub.close(0)
    assert not t.is_alive()
    names = sorted(p.name for p in out.iterdir())
    absolute = file_name({"frame_id": 2, "role": str(tmp_path / "absolute_role")})
    assert "/" not in absolute and ".." not in absolute and len(absolute) <= 40 + len("_00002.png")
    assert names == sorted(["escaped_role_00001.png", absolute, "eve_x_evil_00003.png", "private_00005.png",
                            "private_00006.png"])
    assert all(r.path.parent == out for r in got) and [r.frame_id for r in got] == [1, 2, 3, 6]
    assert not list(tmp_path.glob("*.png")) and not list((tmp_path / "a").glob("*.png"))
    assert len(errors) == 4 and "frame_id" in errors[0] and "frame_id" in errors[1] and "height" in errors[2]
    assert "could not save frame 5" in errors[3]
    for e in errors:
        assert "\n" not in e


def test_safe_names_and_bad_addresses(capsys):
    from gr_stegsem.watch import check_address, file_name, safe_name

    assert safe_name("../../../etc/passwd", "image") == "etc_passwd"
    assert safe_name("/" * 10, "image") == "image" and safe_name("..", "image") == "image"
    assert len(safe_name("a" * 10000, "image")) == 40
    assert file_name({"frame_id": 9, "role": "host"}) == "host_00009.png"  # well-formed names are unchanged
    for bad in ("nonsense", "tcp://127.0.0.1", "tcp://127.0.0.1:99999", "tcp://:5556", "http://x:1"):
        with pytest.raises(ValueError, match="invalid ZeroMQ address"):
            check_address(bad)
    one_line_error(capsys, main(["watch", "nonsense", "--timeout", "1"]), "invalid ZeroMQ address")


# --- 7: decompression bombs, bad sizes -----------------------------------------------------------------------
def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims width x height RGB pixels, with almost no data behind it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("side", [20000, 10000, 9000])  # PIL's error, PIL's warning, our own bound
def test_load_image_refuses_bombs_with_one_error(tmp_path, side):
    bomb = png_header(tmp_path / f"bomb{side}.png", side, side)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match=f"bomb{side}.png.*(too large|refused)"):
            load_image(bomb, (16, 16))
    assert not [w for w in seen if issubclass(w.category, Image.DecompressionBombWarning)]


def test_image_source_skips_a_bomb_and_sends_the_rest(tmp_path, gnuradio):
    gr, blocks, pmt = gnuradio
    from gr_stegsem.blocks import image_source

    folder = tmp_path / "imgs"
    folder.mkdir()
    Image.fromarray(np.full((8, 8, 3), 10, np.uint8)).save(folder / "a.png")
    png_header(folder / "b_bomb.png", 20000, 20000)
    Image.fromarray(np.full((8, 8, 3), 20, np.uint8)).save(folder / "c.png")
    src = image_source(str(folder), size=8, role="host", done=True)
    tb = gr.top_block()
    dbg = blocks.message_debug()
    tb.msg_connect(src, "out", dbg, "store")
    tb.start()
    deadline = time.monotonic() + 10
    while dbg.num_messages() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    tb.stop()
    tb.wait()
    assert dbg.num_messages() == 2 and src.n_dropped == 1 and "b_bomb.png" in src.last_error
    firsts = [pmt.u8vector_elements(pmt.cdr(dbg.get_message(i)))[0] for i in range(2)]
    assert firsts == [10, 20]


def test_send_with_a_bomb_is_one_error_line(tmp_path, capsys):
    bomb = png_header(tmp_path / "bomb.png", 20000, 20000)
    code = main(["send", "--private", str(bomb), "--out", str(tmp_path / "o"), "--mia-steps", "0"])
    one_line_error(capsys, code, "bomb.png")


@pytest.mark.parametrize("size", ["0", "-4", "3", "100000"])
def test_demo_rejects_bad_sizes_up_front(size, capsys, monkeypatch):
    import gr_stegsem.cli as cli

    monkeypatch.setattr(cli, "_gnuradio", lambda: pytest.fail("the flowgraph must not be built"))
    one_line_error(capsys, main(["demo", "--size", size, "--timeout", "5"]), "--size")


# --- 8: model files checked before use ------------------------------------------------------------------
def tiny_files(folder: Path) -> dict[str, Path]:
    """One tiny model file of every kind; returns kind -> path without suffix."""
    c = DeepJSCCConfig(**TINY_JSCC).latent_channels
    models = {"deepjscc": DeepJSCC(DeepJSCCConfig(**TINY_JSCC)),
              "stego-inn": StegoINN(INNConfig(channels=c, hidden=8, blocks=2)),
              "eve-inverter": Inverter(InverterConfig(channels=c, width=6, blocks=1)),
              "eve-detector": Detector(DetectorConfig(channels=c, width=4))}
    out = {}
    for kind, m in models.items():
        save_model(m, folder / kind)
        out[kind] = folder / kind
    return out


def edit_json(path: Path, change) -> None:
    meta = path.with_suffix(".json")
    doc = json.loads(meta.read_text())
    doc = change(doc)
    meta.write_text(json.dumps(doc))


def config_change(**fields):
    def change(doc):
        doc["config"].update(fields)
        return doc
    return change


@pytest.mark.parametrize("kind,change,needle", [
    ("deepjscc", config_change(width=3000), "config.width must be an integer in [1, 512]"),
    ("deepjscc", config_change(width1=0), "config.width1"),
    ("deepjscc", config_change(width="32"), "config.width"),
    ("deepjscc", config_change(width=True), "config.width"),
    ("deepjscc", config_change(width=32.0), "config.width"),
    ("deepjscc", config_change(bcr="1/0"), "config.bcr"),
    ("deepjscc", config_change(bcr="abc"), "config.bcr"),
    ("deepjscc", config_change(bcr="12"), "config.bcr"),
    ("deepjscc", config_change(bcr="1/10"), "config.bcr"),
    ("deepjscc", config_change(bcr=0.5), "config.bcr"),
    ("deepjscc", config_change(depth=3), "unknown deepjscc config field(s) depth"),
    ("stego-inn", config_change(blocks=20000), "config.blocks"),
    ("stego-inn", config_change(hidden=100000), "config.hidden"),
    ("stego-inn", config_change(channels=-8), "config.channels"),
    ("stego-inn", config_change(clamp=float("nan")), "config.clamp"),
    ("stego-inn", config_change(lost="ones"), "config.lost"),
    ("stego-inn", config_change(lost=["zeros"]), "config.lost"),
    ("eve-inverter", config_change(width=2), "config.width"),
    ("eve-inverter", config_change(blocks=10 ** 6), "config.blocks"),
    ("eve-detector", config_change(width=10 ** 5), "config.width"),
    ("deepjscc", lambda doc: {k: v for k, v in doc.items() if k != "config"}, "no 'config'"),
    ("deepjscc", lambda doc: {**doc, "config": [1, 2]}, "'config' must be a JSON object"),
    ("deepjscc", lambda doc: [doc], "expected a JSON object, got a JSON list"),
    ("deepjscc", lambda doc: {**doc, "kind": ["deepjscc"]}, "unknown model kind"),
    ("deepjscc", lambda doc: {**doc, "kind": "stego-inn", "config": INNConfig().to_dict()}, "the JSON says stego-inn"),
    ("stego-inn", config_change(hidden=16), "has shape"),  # a consistent config that the weights do not fit
])
def test_bad_configs_are_refused_before_anything_is_built(tmp_path, kind, change, needle):
    path = tiny_files(tmp_path)[kind]
    edit_json(path, change)
    t0 = time.monotonic()
    with pytest.raises(CheckpointError) as e:
        load_model(path)
    assert time.monotonic() - t0 < 2.0
    msg = str(e.value)
    assert needle in msg and str(tmp_path) in msg and "\n" not in msg


def rewrite_weights(path: Path, change) -> None:
    f = path.with_suffix(".safetensors")
    state = load_file(str(f))
    save_file(change(state), str(f), metadata={"kind": json.loads(path.with_suffix(".json").read_text())["kind"]})


def with_nan(state):
    k = sorted(state)[0]
    state[k] = state[k].clone()
    state[k].view(-1)[0] = float("nan")
    return state


@pytest.mark.parametrize("change,needle", [
    (lambda s: {k: (v * 10).round().to(torch.int8) for k, v in s.items()}, "is I8, expected float32"),
    (lambda s: {k: v.double() for k, v in s.items()}, "is F64, expected float32"),
    (with_nan, "contains NaN or Inf"),
    (lambda s: {k: v.flatten() for k, v in s.items()}, "has shape"),
    (lambda s: {k: v for k, v in list(s.items())[1:]}, "missing"),
    (lambda s: {**s, "extra.weight": torch.zeros(3)}, "unexpected extra.weight"),
])
def test_weights_that_do_not_fit_are_refused(tmp_path, change, needle):
    path = tiny_files(tmp_path)["stego-inn"]
    rewrite_weights(path, change)
    with pytest.raises(CheckpointError, match=needle) as e:
        load_model(path)
    assert "stego-inn.safetensors" in str(e.value)


def test_bad_model_file_through_the_cli_is_one_line(tmp_path, capsys):
    path = tiny_files(tmp_path)["deepjscc"]
    edit_json(path, lambda doc: [doc])
    code = main(["send", "--jscc-model", f"{path}.safetensors", "--insecure", "--mia-steps", "0",
                 "--out", str(tmp_path / "o"), "--size", "16"])
    one_line_error(capsys, code, "expected a JSON object")


# --- 10: burst_to_pdu and tag types ----------------------------------------------------------------------
def test_burst_to_pdu_skips_bursts_with_bad_tags_and_keeps_going(gnuradio):
    """A float packet_len, a string guard and a guard of -10^6 are dropped (logged); the bursts after them,
    one with a uint64 packet_len, come out exactly (in a real flowgraph: vector source with tags)."""
    gr, blocks, pmt = gnuradio
    from gr_stegsem.blocks import burst_to_pdu

    g, k = 4, 50
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal(k) + 1j * rng.standard_normal(k)).astype(np.complex64) for _ in range(6)]
    bad = [{"packet_len": pmt.from_double(k + 2 * g), "guard": pmt.from_long(g)},
           {"packet_len": pmt.from_long(k + 2 * g), "guard": pmt.intern("four")},
           {"packet_len": pmt.from_long(k + 2 * g), "guard": pmt.from_long(-10 ** 6)},
           {"packet_len": pmt.from_long(k + 2 * g), "guard": pmt.from_long(k)}]
    good = [{"packet_len": pmt.from_uint64(k + 2 * g), "guard": pmt.from_long(g)},
            {"packet_len": pmt.from_long(k + 2 * g), "guard": pmt.from_long(g)}]
    z = np.zeros(g, np.complex64)
    samples, tags = [], []
    for fid, (d, t) in enumerate(zip(data, bad + good)):
        off = sum(s.size for s in samples)
        for key, val in {**t, "frame_id": pmt.from_long(fid)}.items():
            tag = gr.tag_t()
            tag.offset, tag.key, tag.value = off, pmt.intern(key), val
            tags.append(tag)
        samples += [z, d, z]
    tb = gr.top_block()
    src = blocks.vector_source_c(np.concatenate(samples + [np.zeros(64, np.complex64)]).tolist(), False, 1, tags)
    rx = burst_to_pdu(0)
    dbg = blocks.message_debug()
    tb.connect(src, rx)
    tb.msg_connect(rx, "pdus", dbg, "store")
    tb.start()
    deadline = time.monotonic() + 10
    while dbg.num_messages() < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    tb.stop()
    tb.wait()
    got = [(pmt.to_python(pmt.car(dbg.get_message(i)))["frame_id"],
            np.asarray(pmt.c32vector_elements(pmt.cdr(dbg.get_message(i))))) for i in range(dbg.num_messages())]
    assert [f for f, _ in got] == [4, 5]
    np.testing.assert_array_equal(got[0][1], data[4])
    np.testing.assert_array_equal(got[1][1], data[5])
    assert rx.n_dropped == 4 and rx.n_out == 2


# --- 11: bad values --------------------------------------------------------------------------------------------
def test_burst_framer_drops_nan_and_overlong_vectors(gnuradio):
    gr, blocks, pmt = gnuradio
    from gr_stegsem.blocks import burst_framer

    with pytest.raises(ValueError, match="max_len"):
        burst_framer(4, max_len=8)
    framer = burst_framer(4, max_len=40)
    tb = gr.top_block()
    dbg = blocks.message_debug()
    tb.msg_connect(framer, "out", dbg, "store")
    tb.start()
    nan = np.ones(8, np.complex64)
    nan[3] = complex(np.nan, 0)
    inf = np.ones(8, np.complex64)
    inf[5] = complex(0, np.inf)
    for v in (nan, inf, np.ones(33, np.complex64), np.ones(32, np.complex64)):
        framer.to_basic_block()._post(pmt.intern("in"), pmt.cons(pmt.make_dict(), pmt.init_c32vector(v.size, v)))
    deadline = time.monotonic() + 5
    while framer.n_in < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    tb.stop()
    tb.wait()
    assert dbg.num_messages() == 1 and framer.n_dropped == 3
    assert pmt.length(pmt.cdr(dbg.get_message(0))) == 40


@pytest.mark.parametrize("argv,needle", [
    (["eval", "--data", ".", "--out", "{tmp}/e", "--limit", "-1"], "--limit"),
    (["eval", "--data", ".", "--out", "{tmp}/e", "--limit", "0"], "--limit"),
    (["eval", "--data", ".", "--out", "{tmp}/e", "--batch", "0"], "--batch"),
    (["eval", "--data", ".", "--out", "{tmp}/e", "--mia-steps", "-1"], "--mia-steps"),
    (["send", "--mia-steps", "-1", "--out", "{tmp}/s"], "--mia-steps"),
    (["demo", "--mia-steps", "-1", "--out", "{tmp}/d"], "--mia-steps"),
    (["--threads", "-1", "send", "--out", "{tmp}/s"], "--threads"),
    (["--threads", "0", "send", "--out", "{tmp}/s"], "--threads"),
    (["zmq", "alice", "--address", "nonsense"], "invalid ZeroMQ address"),
    (["zmq", "bob", "--publish", "tcp://127.0.0.1:99999"], "invalid ZeroMQ address"),
    (["zmq", "eve", "--address", "tcp://127.0.0.1"], "invalid ZeroMQ address"),
    (["watch", "tcp://:5556", "--timeout", "2"], "invalid ZeroMQ address"),
    (["watch", "tcp://127.0.0.1:5556", "--count", "-1"], "--count"),
    (["eval", "--data", ".", "--out", "{file}/e"], "is not a folder"),
    (["send", "--out", "{file}/deeper/s"], "is not a folder"),
    (["demo", "--out", "{file}"], "is not a folder"),
])
def test_bad_values_are_one_line_before_any_work(argv, needle, tmp_path, capsys, monkeypatch):
    import gr_stegsem.cli as cli
    import gr_stegsem.evaluate as evaluate
    import gr_stegsem.pipeline as pipeline

    never = lambda *a, **k: pytest.fail("the work started")  # noqa: E731
    monkeypatch.setattr(evaluate, "evaluate", never)
    monkeypatch.setattr(pipeline, "transmit", never)
    monkeypatch.setattr(cli, "_gnuradio", never)
    (tmp_path / "plain.txt").write_text("a file, not a folder")
    argv = [a.format(tmp=tmp_path, file=tmp_path / "plain.txt") for a in argv]
    one_line_error(capsys, main(argv), needle)


@pytest.mark.parametrize("rate,needle", [
    (None, "core:sample_rate is missing"), (-1e6, "finite number > 0"), (0, "finite number > 0"),
    ("fast", "must be a number"), (float("nan"), "finite number > 0"), (float("inf"), "finite number > 0"),
    (True, "must be a number"),
])
def test_sigmf_bad_sample_rate_is_one_clear_error(rate, needle, tmp_path, gnuradio, capsys):
    """A recording whose .sigmf-meta has no usable core:sample_rate: read_info and the sigmf_source block
    raise one ValueError naming the field; 'stegsem replay' exits non-zero with one line."""
    from gr_stegsem.phy import sigmf_io
    from gr_stegsem.phy.blocks import sigmf_source
    from tests.conftest import write_tiny_models

    base = sigmf_io.write(tmp_path / "rec", np.zeros(256, np.complex64), 1e6)
    meta = sigmf_io.meta_path(base)
    doc = json.loads(meta.read_text())
    if rate is None:
        del doc["global"]["core:sample_rate"]
    else:
        doc["global"]["core:sample_rate"] = rate
    meta.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=needle) as e:
        sigmf_io.read_info(base)
    assert "rec.sigmf-meta" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match=needle):
        sigmf_source(str(base))
    m = write_tiny_models(tmp_path, "jscc", ("inn",))
    code = main(["replay", "bob", str(meta), "--jscc-model", m["jscc"], "--inn-model", m["inn"],
                 "--out", str(tmp_path / "o"), "--timeout", "20"])
    one_line_error(capsys, code, "core:sample_rate")
    with pytest.raises(ValueError, match="sample_rate"):
        sigmf_io.write_meta(tmp_path / "w", float("nan"))


@pytest.mark.parametrize("frame_id,needle", [
    ("uint64_max", "above 9223372036854775807"), ("uint64_2^63", "above 9223372036854775807"),
    ("negative", "below 0"), ("double", "must be an integer"),
])
def test_frame_ids_outside_int64_are_dropped_in_one_line(frame_id, needle, tmp_path, gnuradio):
    """A frame_id that is a pmt uint64 above 2^63 - 1 (or negative, or not an integer) is a malformed PDU:
    image_sink, jscc_decoder and segment_reassembler drop it with one log line naming frame_id (it used
    to fail late, at pmt.from_long, with a multi-line TypeError) and process the next PDU; the largest
    accepted id, 2^63 - 1 as a uint64, goes through."""
    gr, blocks, pmt = gnuradio
    from gr_stegsem.blocks import image_sink, jscc_decoder
    from gr_stegsem.blocks import pdus
    from gr_stegsem.models.deepjscc import latent_shape
    from gr_stegsem.phy.blocks import segment_reassembler
    from gr_stegsem.watch import MAX_FRAME_ID as WATCH_MAX, parse_message
    from tests.conftest import write_tiny_models

    bad_id = {"uint64_max": pmt.from_uint64(2 ** 64 - 1), "uint64_2^63": pmt.from_uint64(2 ** 63),
              "negative": pmt.from_long(-1), "double": pmt.from_double(3.0)}[frame_id]
    top = pmt.from_uint64(pdus.MAX_FRAME_ID)
    assert pdus.MAX_FRAME_ID == WATCH_MAX == 2 ** 63 - 1

    def with_id(pdu, fid):
        return pmt.cons(pmt.dict_add(pmt.car(pdu), pmt.intern("frame_id"), fid), pmt.cdr(pdu))

    m = write_tiny_models(tmp_path, "jscc", ())
    cfg = DeepJSCCConfig(**TINY_JSCC)
    lat = latent_shape(16, 16, cfg)
    sym = pdus.symbol_pdu(np.ones(lat[0] // 2 * lat[1] * lat[2], np.complex64), 0, (16, 16), lat)
    img = pdus.image_pdu(np.full((16, 16, 3), 9, np.uint8), 0)
    from gr_stegsem.phy import segments
    from gr_stegsem.phy.blocks import HEADER_KEYS
    from gr_stegsem.blocks.pdus import c32vector_from_numpy, meta_set
    info = segments.FrameInfo(0, 16, 16, lat, False, None)
    ((hdr, seg_sym),) = segments.split(info, np.ones(lat[0] // 2 * lat[1] * lat[2], np.complex64), 4096)
    seg_meta = meta_set(pmt.make_dict(), **{k: getattr(hdr, k) for k in HEADER_KEYS}, secure=False, keyed=False)
    seg = pmt.cons(seg_meta, c32vector_from_numpy(seg_sym))
    cases = [(image_sink(str(tmp_path / "sink"), save=True), img, "metrics"),  # (a port, so it runs)
             (jscc_decoder(m["jscc"]), sym, "out"),
             (segment_reassembler(max_pending=2, timeout=0), seg, "out")]
    for blk, good, port in cases:
        tb = gr.top_block()
        dbg = blocks.message_debug()
        tb.msg_connect(blk, port, dbg, "store")
        sink = port == "metrics"
        tb.start()
        try:
            blk.to_basic_block()._post(pmt.intern("in"), with_id(good, bad_id))
            blk.to_basic_block()._post(pmt.intern("in"), with_id(good, top))
            deadline = time.monotonic() + 10
            while (len(blk.records) if sink else dbg.num_messages()) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            tb.stop()
            tb.wait()
        assert blk.n_dropped == 1, (blk.name(), blk.last_error)
        assert "frame_id" in blk.last_error and needle in blk.last_error and "\n" not in blk.last_error
        assert "TypeError" not in blk.last_error
        if sink:
            assert [r["frame_id"] for r in blk.records] == [pdus.MAX_FRAME_ID]
        else:
            assert dbg.num_messages() == 1
            assert pmt.to_python(pmt.car(dbg.get_message(0)))["frame_id"] == pdus.MAX_FRAME_ID
    if frame_id == "double":
        return  # the watch client takes an integral double (3.0) as 3, as it always did
    with pytest.raises(ValueError, match="frame_id"):  # the same bound in the watch client
        parse_message(image_message({"frame_id": bad_id, "height": 4, "width": 5}, np.zeros((4, 5, 3), np.uint8)))


# --- 7 and 3: sim_awgn with large images (size 0) and with image folders --------------------------------------
@pytest.fixture()
def tiny_link(tmp_path):
    """Tiny random models and the sim_awgn parameters that use them (no MIA, naive Eve only)."""
    from tests.conftest import write_tiny_models

    (tmp_path / "models").mkdir()
    m = write_tiny_models(tmp_path / "models", "jscc", ("inn",))
    return {"jscc_model": m["jscc"], "inn_model": m["inn"], "mia_steps": 0, "attacker": "naive",
            "out": str(tmp_path / "out")}


def test_size_0_sizes_the_stream_for_the_largest_file(tmp_path, tiny_link, gnuradio):
    """sim_awgn --size 0 with images over 512 px used to stall ('Buffer too small for min_noutput_items')
    and then hang: the stream buffer is now sized from the files' headers and the frame arrives."""
    from gr_stegsem import flowgraphs as fgs
    from gr_stegsem.models.deepjscc import num_symbols

    big = tmp_path / "big.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (520, 560, 3), dtype=np.uint8)).save(big)
    cfg = DeepJSCCConfig(**TINY_JSCC)
    assert fgs.burst_samples(tiny_link["jscc_model"], 0, 16, str(big), "") == num_symbols(560, 560, cfg) + 32
    assert fgs.burst_samples(tiny_link["jscc_model"], 0, 16, str(tmp_path), "") == num_symbols(560, 560, cfg) + 32
    assert fgs.burst_samples(tiny_link["jscc_model"], 0, 16, "", "") == num_symbols(512, 512, cfg) + 32
    res = fgs.run_sim(timeout=120, host=str(big), private=str(big), size=0, **tiny_link)
    assert res.losses.lost == 0 and res.losses.decoded == 1
    assert [r["frame_id"] for r in res.records["bob_private_sink"]] == [0]


def test_a_burst_too_long_for_the_stream_is_dropped_and_the_run_fails(tiny_link, gnuradio):
    """A burst longer than the stream buffer is dropped by the framer (logged), the flowgraph still ends,
    and the run reports the lost frame and where (run_sim raises FramesLost)."""
    from gr_stegsem import flowgraphs as fgs

    tb = fgs.build("sim_awgn", size=32, **tiny_link)
    tb.framer.max_len = 100  # shorter than any 32 px burst: as a burst the buffer cannot take
    res = fgs.run(tb, timeout=60)
    assert res.finished and res.losses.lost == 1
    text = res.losses.summary()
    assert "0 of 1 frames decoded by Bob, 1 lost" in text and "framer dropped 1" in text
    assert "exceed the longest burst" in text and "\n" not in text


def corrupt_image(path: Path) -> Path:
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really" * 10)
    return path


def test_sim_awgn_script_exits_1_naming_the_lost_frames(tmp_path, tiny_link, gnuradio):
    import subprocess
    import sys

    from tests.conftest import ROOT

    bad = str(corrupt_image(tmp_path / "bad.png"))
    args = [sys.executable, str(ROOT / "flowgraphs" / "sim_awgn.py"), "--host", bad, "--private", bad,
            "--size", "32", "--jscc-model", tiny_link["jscc_model"], "--inn-model", tiny_link["inn_model"],
            "--mia-steps", "0", "--attacker", "naive", "--out", tiny_link["out"]]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120, env={**__import__("os").environ,
                                                                                "OMP_NUM_THREADS": "1"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "sim_awgn: 0 of 1 frames decoded by Bob, 1 lost" in r.stderr and "bad.png" in r.stderr
    assert "Traceback" not in r.stderr


def test_demo_exits_non_zero_when_frames_are_lost(tmp_path, tiny_link, capsys, gnuradio):
    bad = str(corrupt_image(tmp_path / "bad.png"))
    code = main(["demo", "--host", bad, "--size", "32", "--jscc-model", tiny_link["jscc_model"],
                 "--inn-model", tiny_link["inn_model"], "--mia-steps", "0", "--attacker", "naive",
                 "--out", str(tmp_path / "d"), "--timeout", "120"])
    err = one_line_error(capsys, code, "0 of 1 frames decoded by Bob, 1 lost")
    assert "host_src dropped 1" in err and "bad.png" in err


def test_sim_awgn_paces_a_folder_and_loses_nothing(tmp_path, tiny_link, gnuradio):
    """Case 3: with a folder the sources used to post every frame at once and inn_embed dropped most of
    them (100 tiny images: 3 decoded, exit 0). Paced (at most in_flight frames unacknowledged by Bob's
    sink) every frame arrives; unpaced, whatever is lost (timing-dependent: 97 of 100 in one run, none in
    another) is counted and named."""
    from gr_stegsem import flowgraphs as fgs

    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(100):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"i{i:03d}.png")
    params = dict(host=str(folder), private=str(folder), size=32, **tiny_link)
    tb = fgs.build("sim_awgn", **params)
    res = fgs.run(tb, timeout=120)
    assert res.finished and res.losses.offered == 100 and res.losses.lost == 0, res.losses.summary()
    assert sorted(r["frame_id"] for r in res.records["bob_private_sink"]) == list(range(100))
    assert 1 <= tb.host_src.max_in_flight <= tb.in_flight and tb.private_src.max_in_flight <= tb.in_flight
    assert tb.host_src.n_ack_timeouts == 0 and tb.alice.embed.n_unpaired == 0

    tb = fgs.build("sim_awgn", **params)  # the same without pacing: the flood of case 3
    tb.host_src.window = tb.private_src.window = 0
    res = fgs.run(tb, timeout=120)
    loss = res.losses
    assert res.finished and loss.offered == 100 and loss.lost == 100 - loss.decoded
    if loss.lost:
        assert f"{loss.lost} lost" in loss.summary() and "embed dropped" in loss.summary()


def test_image_source_window_waits_for_acks_and_times_out(tmp_path, gnuradio):
    gr, blocks, pmt = gnuradio
    from gr_stegsem.blocks import image_source

    for i in range(6):
        Image.fromarray(np.full((8, 8, 3), i, np.uint8)).save(tmp_path / f"{i}.png")
    with pytest.raises(ValueError, match="window"):
        image_source(str(tmp_path), window=-1)
    src = image_source(str(tmp_path), window=2, ack_timeout=1.0)
    tb = gr.top_block()
    dbg = blocks.message_debug()
    tb.msg_connect(src, "out", dbg, "store")
    tb.start()

    def count_after(t):
        time.sleep(t)
        return dbg.num_messages()

    def ack(fid):
        fid = fid if isinstance(fid, pmt.pmt_base) else pmt.from_long(fid)
        meta = pmt.dict_add(pmt.make_dict(), pmt.intern("frame_id"), fid)
        src.to_basic_block()._post(pmt.intern("ack"), pmt.cons(meta, pmt.init_u8vector(0, [])))

    try:
        assert count_after(0.4) == 2  # two in flight, no ack yet
        ack(pmt.from_uint64(2 ** 64 - 1))  # a malformed ack is ignored, not a drop
        ack(0)
        assert count_after(0.3) == 3
        ack(2)  # frames 1 and 2 are done
        assert count_after(0.3) == 5
        assert count_after(1.2) == 6 and src.n_ack_timeouts >= 1  # nobody acks: the window opens after 1 s
    finally:
        tb.stop()
        tb.wait()
    assert src.n_dropped == 0 and src.max_in_flight == 2


# --- issue 16, case 5: a real signal to a running flowgraph command ------------------------------
@pytest.mark.parametrize("sig, code", [("INT", 130), ("INT", 130), ("TERM", 143), (None, 0)])
def test_signals_and_timeout_stop_zmq_alice_cleanly(tmp_path, sig, code):
    """Ctrl-C (SIGINT) and SIGTERM on 'stegsem zmq alice' stop the flowgraph and exit 130 / 143 with
    one line; --timeout exits 0 (before: C++ terminate, SIGABRT / SIGSEGV in 4 of 5 tries)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT, write_tiny_models
    from tests.test_zmq import free_port

    m = write_tiny_models(tmp_path)
    cmd = [sys.executable, "-m", "gr_stegsem", "--threads", "1", "zmq", "alice", "--size", "32", "--interval", "0.2",
           "--jscc-model", m["jscc"], "--inn-model", m["inn"], "--address", f"tcp://127.0.0.1:{free_port()}"]
    if sig is None:
        cmd += ["--timeout", "3"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    if sig is not None:
        t0 = time.monotonic()
        line = ""
        while "sent frame 1" not in line and time.monotonic() - t0 < 60:
            line = p.stdout.readline()
        p.send_signal(getattr(signal, f"SIG{sig}"))
    out, err = p.communicate(timeout=60)
    assert p.returncode == code, err[-2000:]
    assert "terminate" not in err and "Traceback" not in err and "Segmentation" not in err
    if sig is not None:
        assert err.strip().splitlines()[-1] == f"stegsem: stopped by SIG{sig}"


# --- issue 16, case 6: bounded queues under overload -------------------------------------------------
def test_overloaded_block_drops_the_oldest_and_counts_them(capfd):
    """Frames posted far faster than a block handles them: at most MAX_BACKLOG wait, the oldest are
    dropped unprocessed and counted (n_overload), the newest are processed."""
    import time

    import pmt
    from gnuradio import blocks as gr_blocks
    from gnuradio import gr

    from gr_stegsem.blocks._base import PduBlock

    class slow(PduBlock):
        def __init__(self):
            PduBlock.__init__(self, "slow")
            self.seen = []
            self._input("in", self._handle)
            self._output("out")

        def _handle(self, msg):
            time.sleep(0.01)
            self.seen.append(pmt.to_long(msg))
            self._publish("out", msg)

    blk = slow()
    tb = gr.top_block()
    dbg = gr_blocks.message_debug()
    tb.msg_connect((blk, "out"), (dbg, "store"))
    tb.start()
    try:
        for i in range(300):
            blk.to_basic_block()._post(pmt.intern("in"), pmt.from_long(i))
        t0 = time.monotonic()
        while blk.n_in < 300 and time.monotonic() - t0 < 30:
            time.sleep(0.02)
    finally:
        tb.stop()
        tb.wait()
    assert blk.n_in == 300 and blk.n_overload + len(blk.seen) == 300
    assert blk.n_overload >= 300 - blk.MAX_BACKLOG - 40  # a few may be handled while the posts go on
    assert blk.seen[-1] == 299 and blk.seen == sorted(blk.seen)  # the newest got through, in order
    assert "overload" in blk.last_error
    # the total, said at stop (a receiver's log ends with its losses)
    assert f"{blk.n_overload} PDUs dropped in this run ({blk.n_overload} for overload)" in "".join(capfd.readouterr())


def test_a_stopped_flowgraph_finishes_its_frames_in_flight(tmp_path):
    """Issue 16: stopping a run (timeout, until, Ctrl-C) first ends its sources gracefully and lets
    the frames in flight through: a looping image source feeding a slow block; at the stop, every
    frame the source sent reaches the end, none is cut off inside the graph."""
    import time

    import pmt
    from gnuradio import blocks as gr_blocks
    from gnuradio import gr

    from gr_stegsem import flowgraphs as fgs
    from gr_stegsem.blocks import image_source
    from gr_stegsem.blocks._base import PduBlock

    class slow(PduBlock):
        def __init__(self, name):
            PduBlock.__init__(self, name)
            self.seen = []
            self._input("in", self._handle)
            self._output("out")
            self._hold_done()

        def _handle(self, msg):
            time.sleep(0.04)
            self.seen.append(pmt.to_long(pmt.dict_ref(pmt.car(msg), pmt.intern("frame_id"), pmt.PMT_NIL)))
            self._publish("out", msg)

        def _can_finish(self):
            return self._inputs_empty("in")

    class graph(gr.top_block):
        def __init__(self):
            gr.top_block.__init__(self)
            self.src = image_source("", loop=True, size=16, role="private", interval=0.02)
            self.first, self.last = slow("slow_first"), slow("slow_last")  # two stages, as decoder -> sink
            self.msg_connect((self.src, "out"), (self.first, "in"))
            self.msg_connect((self.first, "out"), (self.last, "in"))
            self.msg_connect((self.last, "out"), (gr_blocks.message_debug(), "store"))

    tb = graph()
    t0 = time.monotonic()
    res = fgs.run(tb, timeout=0.6)
    sent = tb.src.n_out
    assert not res.finished and sent > 20  # the source outran the chain (2x): a backlog at the stop ...
    assert tb.last.seen == list(range(sent))  # ... and every frame it sent got through, in order
    assert time.monotonic() - t0 < fgs.DRAIN_S
