"""The live GUI: the image_view block, sim_radio_gui (`stegsem demo --gui`) and zmq_bob_gui (`stegsem zmq
bob --gui`, fed by an Alice process) headless under Qt's offscreen platform, each window grabbed into the
test's tmp folder."""
from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402

from gr_stegsem.blocks import image_view  # noqa: E402
from gr_stegsem.blocks.pdus import image_pdu, meta_set, metrics_pdu  # noqa: E402
from tests.conftest import ROOT, write_tiny_models  # noqa: E402


def _qt_missing() -> str | None:
    try:
        import sip  # noqa: F401
        from gnuradio import qtgui  # noqa: F401
        from PyQt5 import Qt  # noqa: F401
    except ImportError as e:
        return f"PyQt5, sip or gr-qtgui missing ({e}); apt: python3-pyqt5 python3-sip gnuradio (tools/setup.sh)"
    return None


def test_image_view_pairs_images_with_their_frames_metrics():
    """Without a widget: each panel keeps its latest image and the metrics of that very frame, whichever
    of the two came first; until they come, the caption names an earlier frame's metrics; Eve's
    attack joins the caption; a PDU on a port without a panel, or a malformed one, is dropped."""
    view = image_view(("Bob: private", "Eve", "Bob: host"), side=0, columns=2)
    rng = np.random.default_rng(0)
    img = [rng.integers(0, 256, (8, 12, 3), dtype=np.uint8) for _ in range(3)]
    m = {"psnr": 21.5, "ms_ssim": math.nan, "lpips": 0.3}
    posts = [("in0", metrics_pdu(1, m, "private")), ("in0", image_pdu(img[0], 0, "private")),
             ("in0", image_pdu(img[1], 1, "private")),  # its metrics came first
             ("in1", image_pdu(img[2], 4, meta=meta_set(pmt.make_dict(), attack="mia"))),
             ("in1", metrics_pdu(3, dict(m, ms_ssim=0.93), None)),  # an earlier frame's, late
             ("in1", metrics_pdu(5, dict(m, psnr=9.0), None)),  # the next frame's: waits for its image
             ("in2", image_pdu(img[0], 0, "host")), ("in3", image_pdu(img[0], 0)), ("in1", pmt.intern("junk"))]
    for port, msg in posts:  # the ports' handlers, as the scheduler calls them
        getattr(view, f"_msg_handler_{port}")(msg)
    bob, eve, host = (view.snapshot(i) for i in range(3))
    assert bob.frame_id == 1 and np.array_equal(bob.image, img[1])
    assert bob.metrics["psnr"] == 21.5 and math.isnan(bob.metrics["ms_ssim"]) and bob.metrics["lpips"] == 0.3
    assert bob.text() == "Bob: private\nframe 1\nPSNR 21.50 dB, MS-SSIM n/a"
    assert eve.frame_id == 4 and eve.attack == "mia" and eve.metrics is None and np.array_equal(eve.image, img[2])
    assert eve.text() == "Eve (mia)\nframe 4 (metrics to come)\nframe 3: PSNR 21.50 dB, MS-SSIM 0.9300"
    assert host.text() == "Bob: host\nframe 0\nPSNR -, MS-SSIM - (metrics to come)"
    assert (bob.n_images, bob.n_metrics, eve.n_images, eve.n_metrics) == (2, 1, 1, 2)
    getattr(view, "_msg_handler_in1")(image_pdu(img[0], 5))
    assert view.snapshot(1).text() == "Eve\nframe 5\nPSNR 9.00 dB, MS-SSIM n/a"  # no attack in its meta
    assert view.n_dropped == 2 and "PDU" in view.last_error
    with pytest.raises(ValueError, match="1 to 8 strings"):
        image_view(tuple("abcdefghi"))
    with pytest.raises(ValueError, match="1 to 8 strings"):
        image_view("Bob")


# a GUI run: `stegsem demo --gui` or `stegsem zmq bob --gui` in a subprocess (its own QApplication,
# offscreen), with run_gui wrapped to stop once every panel shows its second frame with that frame's
# metrics painted, and to report the widgets' state afterwards. argv: state file, number of panels,
# the constellation sinks as name:colour channel (0 red, 2 blue), then the stegsem arguments
GUI_SCRIPT = r"""
import json, sys
import numpy as np
from gr_stegsem import cli, flowgraphs as fgs

state_path, n_panels = sys.argv[1], int(sys.argv[2])
consts = [(c.split(":")[0], int(c.split(":")[1])) for c in sys.argv[3].split(",")]
seen, live = {}, {}
real = fgs.run_gui


def painted(tb):
    w = tb.view.qwidget()
    for i in range(n_panels):
        p = tb.view.snapshot(i)
        if p.n_images < 2 or p.metrics is None or w.captions[i].text() != p.text():
            return False
    live.setdefault("captions", [w.captions[i].text() for i in range(n_panels)])
    seen["ticks"] = seen.get("ticks", 0) + 1
    return seen["ticks"] > 6  # ~0.3 s more (50 ms ticks) for the plots' updates (every 0.1 s)


def run_gui(tb, timeout=None, until=None, screenshot=None, **kw):  # the command's own 'until' is replaced
    seen["tb"] = tb
    return real(tb, timeout=timeout, until=painted, screenshot=screenshot, **kw)


def grab(widget):
    im = widget.grab().toImage().convertToFormat(4)  # QImage.Format_RGB32: B, G, R, A bytes
    ptr = im.constBits()
    ptr.setsize(im.byteCount())
    a = np.frombuffer(ptr, np.uint8).reshape(im.height(), im.bytesPerLine() // 4, 4)[:, :im.width(), 2::-1]
    return a.astype(int)


fgs.run_gui = run_gui
code = cli.main(sys.argv[4:])
tb = seen["tb"]
w = tb.view.qwidget()
panels = []
for i in range(n_panels):
    p = tb.view.snapshot(i)
    pix = w.images[i].pixmap()
    shown = None
    if pix is not None and not pix.isNull():
        im = pix.toImage().convertToFormat(13)  # QImage.Format_RGB888
        ptr = im.constBits()
        ptr.setsize(im.byteCount())
        shown = np.frombuffer(ptr, np.uint8).reshape(im.height(), im.bytesPerLine())[:, :3 * im.width()]
        shown = shown.reshape(im.height(), im.width(), 3)
    panels.append({"caption": w.captions[i].text(), "text": p.text(), "frame_id": p.frame_id, "attack": p.attack,
                   "n_images": p.n_images, "n_metrics": p.n_metrics, "metrics": p.metrics,
                   "same_as_block": shown is not None and np.array_equal(shown, p.image),
                   "shown": None if shown is None else list(shown.shape)})
    if shown is not None:
        np.save(f"{state_path}.{i}.npy", shown)
plots = {}
for name, chan in consts:  # Bob's points blue, Eve's red
    a = grab(getattr(tb, f"_{name}_win"))
    other = [c for c in range(3) if c != chan]
    plots[name] = int(((a[..., chan] > a[..., other[0]] + 60) & (a[..., chan] > a[..., other[1]] + 60)).sum())
# (the spectrum sink rx_freq takes its samples 32768 at a time in gr-qtgui 3.10.5: about ten 64 px frames)
streams = {"bob_time": tb.bob_time.nitems_read(0), "bob_waterfall": tb.bob_waterfall.nitems_read(0)}
json.dump({"code": code, "panels": panels, "live": live, "plots": plots, "streams": streams,
           "window": [tb.width(), tb.height()]}, open(state_path, "w"))
sys.stdout.flush()
import os
os._exit(0)  # as the stegsem console script: no Python finalisation after a flowgraph ran
"""


@pytest.mark.skipif(_qt_missing() is not None, reason=str(_qt_missing()))
def test_demo_gui_shows_bob_and_eve_live_offscreen(tmp_path):
    """`stegsem demo --gui` (sim_radio_gui, 64 px, tiny models, Qt offscreen): every panel of the image
    view gets at least two frames and paints each with its caption and that frame's PSNR; the
    images painted are Bob's and Eve's decoded frames (the image sinks' PNGs, pixel for pixel); the
    constellations plot points; the waterfall and time sinks get Bob's burst stream; the window is
    grabbed into the tmp folder."""
    models = write_tiny_models(tmp_path / "models")
    shot, state = tmp_path / "sim_radio_gui.png", tmp_path / "state.json"
    (tmp_path / "xdg").mkdir(mode=0o700)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_RUNTIME_DIR=str(tmp_path / "xdg"), OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    out = tmp_path / "demo"
    args = ["--threads", "1", "demo", "--gui", "--size", "64", "--mia-steps", "2", "--jscc-model", models["jscc"],
            "--inn-model", models["inn"], "--out", str(out), "--timeout", "60", "--screenshot", str(shot)]
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", GUI_SCRIPT, str(state), "4", "bob_const:2,eve_const:0", *args], env=env,
                       cwd=tmp_path, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    took = time.monotonic() - t0
    assert r.returncode == 0 and state.is_file(), r.stdout[-2000:] + r.stderr[-3000:]
    s = json.loads(state.read_text())
    assert s["code"] == 0, r.stderr[-3000:]
    assert "opening flowgraphs/sim_radio_gui.py" in r.stdout and f"wrote {shot}" in r.stdout
    print(f"sim_radio_gui screenshot: {shot} ({took:.1f} s; plot pixels {s['plots']}, {s['streams']})")
    # live: at one moment every panel showed its second (or later) frame with that frame's metrics
    heads = ("Bob: host", "Bob: private", "Eve: naive", "Eve: mia")
    assert len(s["live"]["captions"]) == 4
    for head, cap in zip(heads, s["live"]["captions"]):
        assert cap.startswith(head + "\nframe ") and "\nPSNR " in cap and " dB, MS-SSIM n/a" in cap, cap
    prefixes = ("bob_host", "bob_private", "eve_naive", "eve_mia")
    for i, (head, p) in enumerate(zip(heads, s["panels"])):
        assert p["n_images"] >= 2 and p["n_metrics"] >= 1 and p["caption"] == p["text"], p
        assert p["caption"].startswith(f"{head}\nframe {p['frame_id']}\n"), p
        assert p["shown"] == [64, 64, 3] and p["same_as_block"], p  # painted 1:1 (view_side = size)
        png = np.asarray(Image.open(out / "frames" / f"{prefixes[i]}_{p['frame_id']:05d}.png"))
        assert np.array_equal(np.load(f"{state}.{i}.npy"), png), head  # what the image sink saved
    assert s["panels"][3]["attack"] == "mia"
    assert s["plots"]["bob_const"] > 300 and s["plots"]["eve_const"] > 300, s["plots"]
    assert min(s["streams"].values()) >= 4096, s["streams"]
    im = np.asarray(Image.open(shot).convert("RGB"))
    assert tuple(im.shape[1::-1]) == tuple(s["window"]) and im.std() > 10


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(_qt_missing() is not None, reason=str(_qt_missing()))
def test_zmq_bob_gui_shows_his_frames_offscreen(tmp_path):
    """`stegsem zmq alice` (a subprocess, 64 px, tiny models) and `stegsem zmq bob --gui --screenshot`
    (zmq_bob_gui, Qt offscreen) on free loopback ports: both panels of Bob's image view get at least
    two frames and paint each with its caption and that frame's PSNR, pixel for pixel the frames his
    image sinks saved; his constellation plots points; the time and waterfall sinks get what he hears."""
    models = write_tiny_models(tmp_path / "models")
    shot, state = tmp_path / "zmq_bob_gui.png", tmp_path / "state.json"
    (tmp_path / "xdg").mkdir(mode=0o700)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"),
               XDG_RUNTIME_DIR=str(tmp_path / "xdg"), OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    samples, images = (f"tcp://127.0.0.1:{_free_port()}" for _ in range(2))
    model_args = ["--jscc-model", models["jscc"], "--inn-model", models["inn"]]
    t0 = time.monotonic()
    with (tmp_path / "alice.log").open("w") as log:
        alice = subprocess.Popen([sys.executable, "-m", "gr_stegsem", "--threads", "1", "zmq", "alice", "--size", "64",
                                  *model_args, "--address", samples, "--interval", "0.3", "--timeout", "60"],
                                 env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        out = tmp_path / "bob"
        args = ["--threads", "1", "zmq", "bob", "--gui", "--size", "64", *model_args, "--address", samples,
                "--publish", images, "--out", str(out), "--timeout", "45", "--screenshot", str(shot)]
        r = subprocess.run([sys.executable, "-c", GUI_SCRIPT, str(state), "2", "bob_const:2", *args], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=90, stdin=subprocess.DEVNULL)
    finally:
        alice.terminate()
        try:
            alice.wait(10)
        except subprocess.TimeoutExpired:
            alice.kill()
            alice.wait()
    took = time.monotonic() - t0
    assert r.returncode == 0 and state.is_file(), r.stdout[-2000:] + r.stderr[-3000:]
    s = json.loads(state.read_text())
    assert s["code"] == 0, r.stderr[-3000:]
    assert f"listening on {samples}" in r.stdout and f"wrote {shot}" in r.stdout, r.stdout[-2000:]
    print(f"zmq_bob_gui screenshot: {shot} ({took:.1f} s; plot pixels {s['plots']}, {s['streams']})")
    heads, prefixes = ("Bob: host", "Bob: private"), ("bob_host", "bob_private")
    assert len(s["live"]["captions"]) == 2 and len(s["panels"]) == 2
    for head, cap in zip(heads, s["live"]["captions"]):
        assert cap.startswith(head + "\nframe ") and "\nPSNR " in cap and " dB, MS-SSIM n/a" in cap, cap
    for i, (head, p) in enumerate(zip(heads, s["panels"])):
        assert p["n_images"] >= 2 and p["n_metrics"] >= 1 and p["caption"] == p["text"], p
        # the newest frame's own metrics may still be on their way (a live stream): then the caption says so
        # and shows the previous frame's
        fid = p["frame_id"]
        assert p["caption"].startswith((f"{head}\nframe {fid}\n", f"{head}\nframe {fid} (metrics to come)\nframe ")), p
        assert p["attack"] == "", p
        assert p["shown"] == [64, 64, 3] and p["same_as_block"], p  # painted 1:1 (view_side = --size)
        png = np.asarray(Image.open(out / f"{prefixes[i]}_{p['frame_id']:05d}.png"))
        assert np.array_equal(np.load(f"{state}.{i}.npy"), png), head
    assert s["plots"]["bob_const"] > 300, s["plots"]
    assert min(s["streams"].values()) >= 4096, s["streams"]
    im = np.asarray(Image.open(shot).convert("RGB"))
    assert tuple(im.shape[1::-1]) == tuple(s["window"]) and im.std() > 10


def test_demo_gui_errors_are_one_line(tmp_path, monkeypatch, capsys):
    """No display (and no QT_QPA_PLATFORM), --screenshot without --gui, --gui with sim_awgn's --scheme,
    and for 'stegsem zmq': --gui for Alice, --screenshot without --gui, no display: one line each,
    exit 2, before any window or model is made."""
    from gr_stegsem.cli import main

    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    expect = "no display for the Qt window" if _qt_missing() is None else "the Qt GUI flowgraphs need PyQt5"
    out = ["--out", str(tmp_path / "d")]
    for args, text in ((["demo", *out, "--gui"], expect), (["demo", *out, "--screenshot", "x.png"],
                                                           "--screenshot is for --gui"),
                       (["demo", *out, "--gui", "--scheme", "dp-0.1"], "--scheme is for the sim_awgn demo"),
                       (["zmq", "alice", "--gui"], "--gui is for the receivers"),
                       (["zmq", "eve", *out, "--screenshot", "x.png"], "--screenshot is for --gui"),
                       (["zmq", "bob", *out, "--gui"], expect)):
        assert main(args) == 2, args
        err = capsys.readouterr().err.strip()
        assert err.startswith("stegsem: error: ") and text in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "d").exists()
