"""Run the generated GNU Radio flowgraphs of ``flowgraphs/`` headless from Python.

``flowgraphs/*.grc`` are made by ``tools/make_flowgraphs.py`` and compiled by ``grcc`` into
``flowgraphs/*.py``, each holding a ``gr.top_block`` class named like the file. This module imports
such a file by path, builds the class with keyword parameters (the GRC ``parameter`` blocks), runs it
with a bounded wait and collects what its ``image_sink`` blocks received; a qt_gui flowgraph
(sim_radio_gui, zmq_*_gui, usrp_*_gui: :data:`GUI_NAMES`) runs in Qt's event loop instead (:func:`run_gui`).

GNU Radio is imported lazily (inside the functions that need it); :func:`burst_samples` and
:func:`reference` are used by the generated flowgraphs themselves (GRC variables).
"""
from __future__ import annotations

import contextlib
import importlib.util
import math
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .resources import flowgraphs_dir, grc_dir

FLOWGRAPHS_DIR = flowgraphs_dir()  # the checkout's flowgraphs/ or the installed package data
GRC_DIR = grc_dir()
NAMES = ("sim_awgn", "sim_radio", "zmq_alice", "zmq_bob", "zmq_eve", "usrp_alice", "usrp_bob", "usrp_eve", "usrp_loopback",
         "replay_bob", "replay_eve", "sim_radio_gui", "zmq_bob_gui", "zmq_eve_gui", "usrp_bob_gui", "usrp_eve_gui")
# qt_gui flowgraphs: build() makes the QApplication first; run them with run_gui()
GUI_NAMES = ("sim_radio_gui", "zmq_bob_gui", "zmq_eve_gui", "usrp_bob_gui", "usrp_eve_gui")

# ZeroMQ endpoints of the zmq_* flowgraphs (loopback; change with the 'address'/'publish' parameters)
ZMQ_SAMPLES = "tcp://127.0.0.1:5555"  # Alice's PUB (bind): complex samples with packet_len tags
ZMQ_BOB = "tcp://127.0.0.1:5556"  # Bob's PUB (bind): his decoded image PDUs
ZMQ_EVE = "tcp://127.0.0.1:5557"  # Eve's PUB (bind): her image PDUs (naive, attacker) and detector scores

MIN_BURST_SIDE = 512  # the stream buffers always hold a 512x512 burst (k = 65536 at bcr 1/12)


class FlowgraphError(ValueError):
    """A generated flowgraph is missing, or could not be built or run (the CLI prints it in one line)."""


# --- used inside the generated flowgraphs (GRC variables) ---------------------------------------
def burst_samples(jscc_model: str, size: int, guard: int, *images: str) -> int:
    """Samples of one burst (k symbols + 2 guards) for images up to max(side, 512) px per side.

    ``side`` is ``size``; with ``size`` 0 (each file keeps its own size) it is the largest side among
    the ``images`` (the image sources' ``paths``: files or folders, '' = the embedded 256 px default),
    read from the file headers, at most :data:`gr_stegsem.images.MAX_SIDE`. k comes from the DeepJSCC
    model's configuration (its JSON) when it can be read, else from the shipped bcr 1/12
    (k = 4 * ceil(side/4)^2). ``pdu_to_tagged_stream`` writes a whole burst at once; the flowgraphs
    set its minimum output buffer to twice this (with room for exactly one burst GNU Radio 3.10.5
    stalls: 'Buffer too small for min_noutput_items'), and the burst framer drops (and logs) a longer
    burst instead of stalling the stream.
    """
    side = max(int(size) if int(size) > 0 else largest_side(images), MIN_BURST_SIDE)
    k = 4 * math.ceil(side / 4) ** 2
    try:
        from .blocks._base import DEFAULT_JSCC, model_path
        from .checkpoint import read_info
        from .models.deepjscc import DeepJSCCConfig, num_symbols

        cfg = DeepJSCCConfig(**read_info(model_path(jscc_model, DEFAULT_JSCC))["config"])
        k = num_symbols(side, side, cfg)
    except Exception:  # noqa: BLE001 - a missing model is reported by the blocks, with its name
        pass
    return int(k) + 2 * int(guard)


def largest_side(paths) -> int:
    """The largest image side (px) among image files / folders ``paths`` ('' = the embedded 256 px
    default image), from the headers; unreadable or oversized files are skipped (the image source
    reports them) and the result is at most ``MAX_SIDE``."""
    from .images import EXTENSIONS, MAX_SIDE, list_images, open_image

    side = 0
    for p in paths:
        if not str(p or "").strip():
            side = max(side, 256)  # blocks.files.DEFAULT_SIZE
            continue
        path = Path(str(p)).expanduser()
        try:
            files = list_images(path) if path.is_dir() else [path] if path.suffix.lower() in EXTENSIONS else []
        except (OSError, ValueError):
            continue
        for f in files:
            try:
                with open_image(f) as im:
                    w, h = im.size
            except (OSError, ValueError):
                continue
            if max(w, h) <= MAX_SIDE:
                side = max(side, w, h)
    return side


def reference(path: str, role: str) -> str:
    """image_sink reference for an image_source's ``paths``: the file, or the embedded default image."""
    return str(path) if str(path or "").strip() else f"default:{role}"


FIXED_ATTACKS = ("naive", "mia")  # Eve's attacks with blocks of their own in every flowgraph (eve_naive, eve_mia)


def zoo_attack(attacker: str) -> str:
    """The attack of a flowgraph's ``eve_attack`` block for its ``attacker`` parameter: '' (off) for
    naive and mia, which its eve_naive / eve_mia blocks run; ValueError for an unknown attacker."""
    from . import eves

    eves.get(str(attacker))  # an unknown name: ValueError listing the zoo
    return "" if attacker in FIXED_ATTACKS else str(attacker)


def eve_scheme(inn_model: str) -> str:
    """The scheme a trained Eve attacks in a flowgraph with an INN model: the model's name ('' = stego-l3_2)."""
    from .blocks._base import DEFAULT_INN

    p = str(inn_model or "").strip()
    return Path(p).name.removesuffix(".safetensors") if p else DEFAULT_INN


def models_folder(model: str) -> str:
    """Where an Eve of the zoo reads her scheme's and her own models: the folder of ``model`` (a model
    file of the flowgraph), '' (the shipped models/) when it is ''."""
    p = str(model or "").strip()
    return str(Path(p).expanduser().parent) if p else ""


# --- running ---------------------------------------------------------------------------------------
def flowgraph_path(name: str) -> Path:
    p = FLOWGRAPHS_DIR / f"{name}.py"
    if not p.is_file():
        raise FlowgraphError(f"flowgraph {name!r} not found: {p} (make it with tools/make_flowgraphs.py)")
    return p


def load_class(name: str):
    """The top block class of ``flowgraphs/<name>.py`` (imported by path)."""
    path = flowgraph_path(name)
    spec = importlib.util.spec_from_file_location(f"stegsem_flowgraph_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    try:
        return getattr(mod, name)
    except AttributeError:
        raise FlowgraphError(f"{path} defines no top block class {name!r}") from None


def build(name: str, **params):
    """Construct flowgraph ``name`` with its GRC parameters; errors name the flowgraph.

    A missing or unreadable model, image or reference raises here, before anything runs. A qt_gui
    flowgraph (:data:`GUI_NAMES`) gets the process's QApplication first (:func:`gui_app`).
    """
    if name in GUI_NAMES:  # its top block is a QWidget: without a QApplication Qt would abort the process
        gui_app()
    cls = load_class(name)
    try:
        return cls(**params)
    except TypeError as e:
        raise FlowgraphError(f"{name}: {e}") from None
    except (ValueError, FileNotFoundError, OSError) as e:  # CheckpointError is a ValueError
        raise type(e)(f"{name}: {e}") from None


def image_sinks(tb) -> dict:
    """{attribute name: image_sink block} of a built flowgraph."""
    from .blocks import image_sink

    return {k: v for k, v in vars(tb).items() if isinstance(v, image_sink)}


def score_sinks(tb) -> dict:
    """{attribute name: score_sink block} of a built flowgraph (a detecting Eve's verdicts)."""
    from .blocks import score_sink

    return {k: v for k, v in vars(tb).items() if isinstance(v, score_sink)}


def records(tb) -> dict[str, list[dict]]:
    """What each image sink and score sink received so far: {sink name: [record, ...]}."""
    return {k: list(v.records) for k, v in {**image_sinks(tb), **score_sinks(tb)}.items()}


@dataclass
class Losses:
    """What a flowgraph with Alice and Bob in it lost: frames Alice offered (files her image sources
    read, skipped ones included) against the frames Bob's private image sink received, and every
    block that dropped something (name, count, the last reason). Eve's drops (e.g. eve_mia when
    busy) are listed but are not losses of the link."""

    offered: int
    decoded: int
    drops: list = field(default_factory=list)  # (block attribute, count, last reason)
    graph: str = "flowgraph"

    @property
    def lost(self) -> int:
        return max(0, self.offered - self.decoded)

    def summary(self) -> str:
        """One line: how many frames got through, how many were lost and where."""
        head = f"{self.graph}: {self.decoded} of {self.offered} frames decoded by Bob"
        if self.lost:
            head += f", {self.lost} lost"
        if not self.drops:
            return head
        why = "; ".join(f"{name} dropped {n} (last: {' '.join(str(r).split())[:160]})" for name, n, r in self.drops)
        return f"{head} - {why}"


def blocks_of(tb) -> list[tuple[str, object]]:
    """[(name, value)] of a built flowgraph's attributes, sorted by name, with the blocks inside its
    hierarchical blocks (the chains of :mod:`gr_stegsem.blocks.chains`, phy_rx, ...) after each one,
    named ``outer.inner`` (at any depth)."""
    from gnuradio import gr

    out, seen = [], {id(tb)}  # hierarchical blocks already walked (no block is walked twice)

    def walk(obj, prefix):
        for name, blk in sorted(vars(obj).items()):
            out.append((prefix + name, blk))
            if isinstance(blk, gr.hier_block2) and id(blk) not in seen:
                seen.add(id(blk))
                walk(blk, f"{prefix}{name}.")

    walk(tb, "")
    return out


def drops(tb) -> list[tuple[str, int, str]]:
    """(block name as :func:`blocks_of` gives it, count, the last reason) of every block of ``tb`` that
    dropped something: PDUs (``n_dropped``), or an image source's frames never acknowledged."""
    found = []
    for name, blk in blocks_of(tb):
        n = getattr(blk, "n_dropped", 0)
        if isinstance(n, int) and n > 0:
            found.append((name, n, getattr(blk, "last_error", "")))
        t = getattr(blk, "n_ack_timeouts", 0)
        if isinstance(t, int) and t > 0:
            found.append((name, t, f"frames not acknowledged within {blk.ack_timeout:g} s"))
    return found


def losses(tb, graph: str = "flowgraph") -> Losses | None:
    """The :class:`Losses` of a built (run) flowgraph, or None when it has no image source and no
    Bob private image sink in it (e.g. zmq_alice, a receiver on its own)."""
    from .blocks import image_source

    sources = [v for _, v in blocks_of(tb) if isinstance(v, image_source)]
    bob = image_sinks(tb).get("bob_private_sink")
    if not sources or bob is None:
        return None
    offered = max(s.n_out + s.n_dropped for s in sources)
    decoded = len({r["frame_id"] for r in bob.records})
    return Losses(offered, decoded, drops(tb), graph)


def exit_on_loss(tb, graph: str | None = None) -> None:
    """For a generated flowgraph's main (a GRC 'main_after_stop' snippet): print the run's
    :func:`losses` summary and exit with status 1 when Bob did not get every frame."""
    import sys

    loss = losses(tb, graph or type(tb).__name__)
    if loss is None:
        return
    print(loss.summary(), file=sys.stderr if loss.lost else sys.stdout, flush=True)
    if loss.lost:
        raise SystemExit(1)


@dataclass
class RunResult:
    finished: bool  # True when the flowgraph ended by itself (False: stopped at the timeout/until)
    seconds: float
    records: dict = field(default_factory=dict)
    losses: Losses | None = None  # for a flowgraph with Alice and Bob (sim_awgn, sim_radio)
    signal: int | None = None  # SIGINT / SIGTERM when a signal stopped it


RAN_FLOWGRAPH = False  # set by run(): the CLI then leaves without Python's finalisation (see cli.entry)


DRAIN_S = 20.0  # seconds a stopped flowgraph gets to finish the frames in flight


def _finish_sources(tb) -> bool:
    """Ask the flowgraph's sources to end gracefully (ZeroMQ sample sources deliver what they hold,
    image sources send no more frames; both then report done); True when there was one."""
    from .blocks import image_source
    from .blocks.zmq_source import zmq_iq_source

    found = False
    for _, blk in blocks_of(tb):
        if isinstance(blk, (zmq_iq_source, image_source)):
            blk.finish()
            found = True
    return found


@contextlib.contextmanager
def _signals_recorded():
    """For a run: SIGINT and SIGTERM append their number to the yielded list instead of raising
    (handlers installed only in the main thread, the previous ones restored afterwards)."""
    import signal as _signal

    got: list[int] = []
    old = {}
    if threading.current_thread() is threading.main_thread():
        for s in (_signal.SIGINT, _signal.SIGTERM):
            old[s] = _signal.signal(s, lambda signum, frame: got.append(signum))
    try:
        yield got
    finally:
        for s, h in old.items():
            _signal.signal(s, h)


def run(tb, timeout: float | None = None, until=None, poll: float = 0.05) -> RunResult:
    """Start ``tb``, wait until it ends by itself, ``until(tb)`` is true or ``timeout`` s passed; stop it.

    The wait is bounded: at the timeout (or when ``until`` holds) the flowgraph is stopped. First its
    sources end gracefully (image sources send no more frames, ZeroMQ sample sources deliver what
    they hold; a socket's backlog is counted and logged) and it gets up to ``DRAIN_S`` s to finish
    the frames in flight, so a stop loses none of them; a further SIGINT / SIGTERM stops it at once.
    SIGINT (Ctrl-C) and SIGTERM stop it the same way, in this loop (handlers installed for the run, in the
    main thread): the scheduler is stopped and waited for before anything else happens, and
    ``RunResult.signal`` says which signal it was (a KeyboardInterrupt raised anywhere inside GNU
    Radio's Python callbacks is what aborted the process before).
    """
    global RAN_FLOWGRAPH
    t0 = time.monotonic()
    waiter = threading.Thread(target=tb.wait, name="stegsem_flowgraph_wait", daemon=True)
    RAN_FLOWGRAPH = True
    with _signals_recorded() as got:
        tb.start()
        waiter.start()
        finished = False
        try:
            while True:
                if got:
                    break
                if not waiter.is_alive():
                    finished = True
                    break
                if until is not None and until(tb):
                    break
                if timeout is not None and time.monotonic() - t0 > timeout:
                    break
                waiter.join(poll)
        finally:
            if not finished:
                if _finish_sources(tb):  # let the frames in flight through first (a second signal: at once)
                    n, end = len(got), time.monotonic() + DRAIN_S
                    while waiter.is_alive() and len(got) == n and time.monotonic() < end:
                        waiter.join(0.05)
                tb.stop()
                waiter.join(30.0)
    res = RunResult(finished, time.monotonic() - t0, records(tb), losses(tb, type(tb).__name__))
    res.signal = got[0] if got else None
    return res


def gui_app():
    """The process's QApplication (made on the first call), for a qt_gui flowgraph (:data:`GUI_NAMES`).

    FlowgraphError, one line, when PyQt5 or gr-qtgui cannot be imported or there is no display
    (neither DISPLAY nor WAYLAND_DISPLAY, and no QT_QPA_PLATFORM such as 'offscreen'): Qt would
    abort the process there."""
    import os
    import sys

    try:
        import sip  # noqa: F401  (the generated script wraps gr-qtgui's widgets with it)
        from gnuradio import qtgui  # noqa: F401
        from PyQt5 import Qt
    except ImportError as e:
        raise FlowgraphError(f"the Qt GUI flowgraphs need PyQt5, sip and gr-qtgui ({e}); apt: python3-pyqt5 "
                             "python3-sip gnuradio (tools/setup.sh)") from None
    app = Qt.QApplication.instance()
    if app is None:
        if not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")):
            raise FlowgraphError("no display for the Qt window: set DISPLAY, or QT_QPA_PLATFORM=offscreen for a "
                                 "headless run (with a screenshot)")
        app = Qt.QApplication([sys.argv[0] if sys.argv and sys.argv[0] else "stegsem"])
    global _QT_APP
    _QT_APP = app  # kept for the process's life: Qt deletes a QApplication Python no longer references
    return app


_QT_APP = None


def run_gui(tb, timeout: float | None = None, until=None, screenshot=None, poll: float = 0.05) -> RunResult:
    """Start a built qt_gui flowgraph (its top block is its window), show it and run Qt's event loop
    until the window is closed, ``until(tb)`` holds, ``timeout`` s passed or SIGINT / SIGTERM came;
    then save the window as a PNG ``screenshot`` (when given and the window is still open) and
    close it (which stops the flowgraph). ``finished`` is True when the user closed the window.
    A flowgraph that ends by itself (loop=0) keeps its window, with the last images, open."""
    global RAN_FLOWGRAPH
    from PyQt5 import Qt

    app = gui_app()
    state = {"closed": False, "error": None}
    t0 = time.monotonic()
    with _signals_recorded() as got:  # seen by the timer's ticks (Python runs between them)

        def tick():  # an exception must not leave a Qt slot (PyQt5 aborts the process): kept, raised below
            try:
                if not tb.isVisible():
                    state["closed"] = True
                elif not (got or (until is not None and until(tb))
                          or (timeout is not None and time.monotonic() - t0 > timeout)):
                    return
            except Exception as e:  # noqa: BLE001
                state["error"] = e
            app.quit()

        timer = Qt.QTimer()
        timer.timeout.connect(tick)
        RAN_FLOWGRAPH = True
        try:
            tb.start()
            if not tb.settings.contains("geometry"):  # no size saved by an earlier run: fit the content
                want = tb.top_widget.sizeHint()
                w, h = want.width() + 40, want.height() + 40
                if app.platformName() != "offscreen":  # (its virtual screen is a fixed 800 x 600)
                    screen = app.primaryScreen().availableGeometry()
                    w, h = min(w, screen.width()), min(h, screen.height())
                tb.resize(w, h)
            tb.show()
            timer.start(max(1, int(poll * 1000)))
            app.exec_()
            timer.stop()
            tb.stop()  # the state is final from here: the screenshot shows what the blocks last got
            tb.wait()
            if state["error"] is not None:
                raise state["error"]
            if screenshot and not state["closed"]:
                app.processEvents()  # the repaints still queued
                if not tb.grab().save(str(screenshot)):
                    raise FlowgraphError(f"could not write the screenshot {screenshot}")
        finally:
            if tb.isVisible():
                tb.close()  # the generated closeEvent (saves the window's geometry; stop() and wait() again)
            else:
                tb.stop()
                tb.wait()
    res = RunResult(state["closed"], time.monotonic() - t0, records(tb), losses(tb, type(tb).__name__))
    res.signal = got[0] if got else None
    return res


class Stopped(Exception):
    """A flowgraph run was stopped by SIGINT or SIGTERM (``signum``); the CLI exits 128 + signum."""

    def __init__(self, signum: int):
        import signal as _signal

        self.signum = signum
        super().__init__(f"stopped by {_signal.Signals(signum).name}")


class FramesLost(FlowgraphError):
    """A batch run ended without some of its frames; ``result`` holds what it did get."""

    def __init__(self, message: str, result: RunResult):
        super().__init__(message)
        self.result = result


def run_sim(timeout: float | None = 600.0, allow_loss: bool = False, **params) -> RunResult:
    """Build and run ``sim_awgn`` to its end (bounded by ``timeout`` s); raises if it did not end,
    and (unless ``allow_loss``) :class:`FramesLost`, naming how many frames and where, when Bob did
    not receive every frame Alice offered."""
    tb = build("sim_awgn", **params)
    res = run(tb, timeout=timeout)
    if res.signal is not None:
        raise Stopped(res.signal)
    if not res.finished:
        raise FlowgraphError(f"sim_awgn did not finish within {timeout:g} s; stopped")
    if res.losses is not None and res.losses.lost and not allow_loss:
        raise FramesLost(res.losses.summary(), res)
    return res


# --- the demo: sim_awgn's sink records as the offline pipeline's report ----------------------------
# (report key, image sink of sim_awgn, compared with)
SIM_SINKS = (("bob/host", "bob_host_sink", "host"), ("bob/private", "bob_private_sink", "private"),
             ("eve/naive", "eve_naive_sink", "private"), ("eve/naive", "eve_naive_host", "host"),
             ("eve/mia", "eve_mia_sink", "private"), ("eve/mia", "eve_mia_host", "host"))


def sent_image(path: str, role: str, size: int):
    """The image an image_source sends for ``paths`` = path ('' = embedded default) at ``size``."""
    from .images import load_image
    from .samples import default_image

    if str(path or "").strip():
        return load_image(path, (size, size) if size else None)
    return default_image(role, size or 256)


def sim_report(result: RunResult, snr_bob: float, snr_eve: float, frame: int = 0, attacker: str = "mia") -> dict:
    """sim_awgn's records of one frame as :func:`gr_stegsem.pipeline.transmit` returns them:
    {'images': {'bob/host', 'bob/private', 'eve/naive', 'eve/<attacker>'}, 'metrics': [rows]}, and
    'scores': the detector's records of the frame (attacker 'detect'; else empty)."""
    from .images import load_image

    images, rows = {}, []
    sinks = SIM_SINKS
    if zoo_attack(attacker):  # the attacker ran in the eve_attack block
        sinks += ((f"eve/{attacker}", "eve_attack_sink", "private"), (f"eve/{attacker}", "eve_attack_host", "host"))
    for key, sink, target in sinks:
        rec = next((r for r in result.records.get(sink, []) if r["frame_id"] == frame), None)
        if rec is None:
            continue
        if rec.get("path"):
            images[key] = load_image(rec["path"])
        if "psnr" in rec:
            rows.append({"receiver": key, "snr_db": snr_bob if key.startswith("bob") else snr_eve,
                         "target": target, "psnr": rec["psnr"], "ms_ssim": rec["ms_ssim"], "lpips": rec["lpips"]})
    scores = [r for r in result.records.get("eve_score_sink", []) if r["frame_id"] == frame]
    return {"images": images, "metrics": rows, "scores": scores}


def link_transform(scheme: str) -> str:
    """The scheme switch of sim_awgn: 'dp', 'shuffle' or '' (:func:`gr_stegsem.blocks.defences.link_transform`)."""
    from .blocks.defences import link_transform as lt

    return lt(scheme)
