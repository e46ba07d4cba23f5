#!/usr/bin/env python3
"""Generate the GNU Radio flowgraphs of gr-stegsem: ``flowgraphs/*.grc`` and, through ``grcc``, ``*.py``.

Each flowgraph is described below in a few lines of Python (parameters, blocks, connections); this
script writes the GRC YAML (file_format 1, no_gui -- the *_gui ones: qt_gui --, run) with a note block
that explains it and a layout in which no block covers another or its ports (:meth:`Graph.layout`, from
each block's size on GRC's canvas as :func:`block_geometry` estimates it), then compiles it with ``grcc``
(our block YAML is found through ``GRC_BLOCKS_PATH=<repo>/grc``). Usage::

    .venv/bin/python tools/make_flowgraphs.py            # all, into flowgraphs/
    .venv/bin/python tools/make_flowgraphs.py sim_awgn   # one
    .venv/bin/python tools/make_flowgraphs.py --out DIR --no-compile

The parameters of a flowgraph become command-line options of the generated script
(``python flowgraphs/sim_awgn.py --snr-bob 10 ...``) and keyword arguments of its top block class
(see :mod:`gr_stegsem.flowgraphs`). flowgraphs/README.md documents them.
"""
from __future__ import annotations

import argparse
import ast
import builtins
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gr_stegsem import eves  # noqa: E402
from gr_stegsem.flowgraphs import ZMQ_BOB, ZMQ_EVE, ZMQ_SAMPLES  # noqa: E402

GUARD = 16  # zero samples before and after each burst (see gr_stegsem.blocks.burst)
CHANNEL_MODEL_DELAY = -3  # burst_to_pdu delay after channels.channel_model (epsilon 1.0)


def q(text: str) -> str:
    """A Python string literal for a GRC parameter value."""
    return repr(str(text))


@dataclass
class Graph:
    """A flowgraph description: parameters, variables, blocks at grid cells, connections.

    Where each block goes on GRC's canvas is worked out when the .grc is written (:meth:`layout`):
    parameters in rows at the top, variables and imports below them, the blocks in columns by their
    cell (column, row), the note at the bottom, none overlapping another or its ports."""

    name: str
    title: str
    description: str  # one line: the generated script's --help and header
    note: str  # the full explanation, shown as a note in GRC
    items: list = field(default_factory=list)  # (name, id, params, place): place 'param', 'var' or a cell (col, row)
    connections: list = field(default_factory=list)
    generate: str = "no_gui"  # GRC's generate_options: no_gui, or qt_gui (a Qt window with the GUI sinks)

    def param(self, name: str, type_: str, value: str, label: str) -> None:
        """A GRC 'parameter' block: a command-line option --name of the generated script."""
        self.items.append((name, "parameter", {"type": type_, "value": value, "label": label, "hide": "none"},
                           "param"))

    def names(self) -> set[str]:
        return {name for name, *_ in self.items}

    def var(self, name: str, value: str) -> None:
        self.items.append((name, "variable", {"value": value}, "var"))

    def imports(self, name: str, text: str) -> None:
        self.items.append((name, "import", {"imports": text}, "var"))

    def block(self, name: str, id_: str, cell: tuple[float, float], /, **params) -> None:  # params may hold 'name'
        self.items.append((name, id_, {k: str(v) for k, v in params.items()}, tuple(cell)))

    def connect(self, src: str, dst: str) -> None:
        """connect('a.out', 'b.in'): ports by name (message) or number (stream)."""
        (sb, sp), (db, dp) = src.split("."), dst.split(".")
        self.connections.append([sb, sp, db, dp])

    def options_params(self) -> dict:
        return {"id": self.name, "title": self.title, "description": self.description, "author": "gr-stegsem",
                "copyright": "GPL-3.0-or-later", "generate_options": self.generate, "output_language": "python",
                "run_options": "run", "run": "True", "category": "[gr-stegsem]"}

    def layout(self) -> dict[str, list[int]]:
        """Canvas coordinates (px) of every block ('options' and 'notes' too), from the estimated
        sizes (:func:`block_geometry`): a gap between any two, ports included."""
        where: dict[str, list[int]] = {}
        env = graph_env({name: params["value"] for name, id_, params, _ in self.items
                         if id_ in ("parameter", "variable")})
        size = {name: block_geometry(id_, name, params, env) for name, id_, params, _ in self.items}
        size["options"] = block_geometry("options", self.name, self.options_params(), env)
        size["notes"] = block_geometry("note", "notes", {"note": self.note}, env)
        where["options"] = [8, 8]
        right = _up(8 + size["options"].width + GAP)
        bottom = 8 + size["options"].height
        # parameters: PARAMS_PER_ROW a row, right of the options block
        params = [name for name, _, _, place in self.items if place == "param"]
        y = 8
        for i in range(0, len(params), PARAMS_PER_ROW):
            x, row = right, params[i:i + PARAMS_PER_ROW]
            for name in row:
                where[name] = [x, y]
                x = _up(x + size[name].width + GAP)
            y = _up(y + max(size[n].height for n in row) + VGAP)
        wrap = max([where[n][0] + size[n].width for n in params] + [WRAP_X])
        # variables and imports: rows below, as wide as the parameters' rows
        x, y = 8, _up(max(y, bottom + VGAP))
        row_h = 0
        for name in (name for name, _, _, place in self.items if place == "var"):
            if x > 8 and x + size[name].width > wrap:
                x, y, row_h = 8, _up(y + row_h + VGAP), 0
            where[name] = [x, y]
            x, row_h = _up(x + size[name].width + GAP), max(row_h, size[name].height)
        top = _up(y + row_h + 2 * VGAP)
        # the blocks: a column per cell column, as wide as its widest block (ports included); in a
        # column each block at its row (ROW px a row), or below the one above it
        cells = {name: place for name, _, _, place in self.items if isinstance(place, tuple)}
        first_row = min(r for _, r in cells.values())
        x_end, end = 8 - GAP, top
        for col in sorted({c for c, _ in cells.values()}):
            names = sorted((n for n, (c, _) in cells.items() if c == col), key=lambda n: cells[n][1])
            x = _up(x_end + GAP + max(size[n].left for n in names))
            y_free = top
            for name in names:
                y = _up(max(top + ROW * (cells[name][1] - first_row), y_free))
                where[name] = [x, y]
                y_free = y + size[name].height + VGAP
            end = max(end, y_free)
            x_end = x + max(size[n].width + size[n].right for n in names)
        where["notes"] = [8, _up(end + VGAP)]
        return where

    def to_grc(self) -> dict:
        where = self.layout()
        blocks = [{"name": "notes", "id": "note", "parameters": {"alias": "", "comment": "", "note": self.note},
                   "states": _states(where["notes"])}]
        for name, id_, params, _ in self.items:
            blocks.append({"name": name, "id": id_, "parameters": params, "states": _states(where[name])})
        return {
            "options": {"parameters": self.options_params(), "states": _states(where["options"])},
            "blocks": blocks,
            "connections": self.connections,
            "metadata": {"file_format": 1, "grc_version": "3.10.5.1"},
        }


def _states(xy) -> dict:
    return {"bus_sink": False, "bus_source": False, "bus_structure": None, "coordinate": list(xy), "rotation": 0,
            "state": "enabled"}


# --- block geometry: GRC 3.10's, estimated from above ---------------------------------------------------
# GRC's canvas (gnuradio/grc/gui/canvas/block.py, port.py, param.py) sizes a block by its text: 7 px
# padding round a bold Sans 8 title (13 px high) and, 3 px below, one Sans 7.5 line ("label: value",
# 13 px + 3 px spacing) per parameter shown on the block, its value as GRC evaluates and truncates it;
# at least 2 * 8 + 32 px per port minus one port's height (14 px); snapped to the 8 px grid. Each
# port's label box (Sans 8, 2 px padding) sticks out: inputs on the left, outputs on the right. The
# estimate reads the block's YAML (hide and multiplicity expressions evaluated with the flowgraph's
# literal values) and bounds the text by characters; a value GRC would evaluate from the flowgraph
# (a variable, a parameter) is taken as EXPR_CHARS characters. tests/test_grc.py checks that GRC's own
# geometry (under Xvfb) lies inside these rectangles and that no two rectangles of a shipped
# flowgraph meet.
GRID = 8  # GRC's canvas grid (px)
GAP, VGAP = 24, 16  # px between two columns (the connections' room) and between two blocks in a column
ROW = 136  # px a cell row of the blocks' area
PARAMS_PER_ROW = 7
WRAP_X = 1200  # variables wrap at the parameters' right edge, or here (px)
TITLE_PX, LINE_PX, PORT_PX = 7.5, 6.5, 8.0  # px a character at most: title (bold), parameter line, port label
STRING_DTYPES = ("string", "file_open", "file_save", "dir_select")
EXPR_CHARS = 18  # characters assumed for a value GRC evaluates from the flowgraph
SYSTEM_BLOCKS = "/usr/share/gnuradio/grc/blocks"  # GRC's own block YAML when GNU Radio's prefs do not say


@dataclass(frozen=True)
class Geometry:
    """A block's estimated size on GRC's canvas (px): its body (width x height) and how far its port
    labels stick out on the left (inputs) and the right (outputs)."""

    width: int
    height: int
    left: int
    right: int


def _up(v: float) -> int:
    """v rounded up to the canvas grid."""
    return int(-(-v // GRID) * GRID)


class _Unknown(str):
    """A value GRC would evaluate in the flowgraph's namespace (unknown here)."""


class _Namespace(dict):
    """A block's parameter values by id; then the flowgraph's values known here (``env``: its
    parameters' and variables' literal values); any other name is _Unknown."""

    def __init__(self, env: dict, **values):
        super().__init__(**values)
        self.env = env

    def __missing__(self, key):
        if key in self.env:
            return self.env[key]
        if hasattr(builtins, key):
            raise KeyError(key)
        return _Unknown(key)


class _Env(dict):
    """The flowgraph's known values for evaluating a parameter's expression: a name not known raises."""

    def __missing__(self, key):
        raise NameError(key)


def _value(raw: str, env: dict):
    """A parameter's value as GRC evaluates it, where it is a literal or an expression of ``env``'s
    names (e.g. '2 * seed + 1'); else _Unknown."""
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        pass
    try:
        return eval(raw, {"__builtins__": {}}, _Env(env))  # noqa: S307 - our own flowgraph's expressions
    except Exception:  # noqa: BLE001 - a function of the flowgraph's imports, a name of its own
        return _Unknown(raw)


def graph_env(values: dict[str, str]) -> dict:
    """The known values of a flowgraph's parameters and variables (name -> GRC expression text),
    each evaluated with those before it."""
    env: dict = {}
    for name, raw in values.items():
        v = _value(raw, env)
        if not isinstance(v, _Unknown):
            env[name] = v
    return env


def _eval(expr, ns: dict, fallback):
    """A YAML attribute ('${ python }' or a literal) evaluated as GRC does, or ``fallback``."""
    if not (isinstance(expr, str) and expr.strip().startswith("${") and expr.strip().endswith("}")):
        return expr
    try:
        return eval(expr.strip()[2:-1], {"__builtins__": builtins}, ns)  # noqa: S307 - GRC's own block YAML
    except Exception:  # noqa: BLE001 - e.g. a name of the flowgraph: assume the widest case
        return fallback


def block_yaml(block_id: str) -> dict:
    """The GRC block YAML of ``block_id``: ours (grc/) or GNU Radio's."""
    if block_id not in _YAML:
        for folder in (ROOT / "grc", *_system_block_dirs()):
            path = Path(folder) / f"{block_id}.block.yml"
            if path.is_file():
                _YAML[block_id] = yaml.safe_load(path.read_text())
                break
        else:
            raise SystemExit(f"no GRC block YAML {block_id}.block.yml in grc/ or {', '.join(_system_block_dirs())}")
    return _YAML[block_id]


_YAML: dict[str, dict] = {}


def _system_block_dirs() -> list[str]:
    try:
        from gnuradio import gr

        dirs = [p for p in gr.prefs().get_string("grc", "global_blocks_path", "").split(os.pathsep) if p]
    except ImportError:
        dirs = []
    return dirs or [SYSTEM_BLOCKS]


def _truncate(text: str, label: str, style: int = 0) -> str:
    """GRC's Param.truncate (gui/canvas/param.py), as it is (long labels leave long values)."""
    n = max(27 - len(label), 3)
    if len(text) > n:
        if style < 0:
            text = "..." + text[3 - n:]
        elif style == 0:
            text = text[:n // 2 - 3] + "..." + text[-n // 2:]
        else:
            text = text[:n - 3] + "..."
    return text


def _shown(p: dict, raw: str, value) -> str:
    """The value text GRC puts on the block for parameter ``p`` (at most as long)."""
    label = p.get("label") or p["id"].title()
    options = p.get("options")
    if isinstance(options, list) and raw in [str(o) for o in options]:
        labels = p.get("option_labels") or options
        return str(labels[[str(o) for o in options].index(raw)])  # an option's name: not truncated
    style = -1 if p.get("dtype") in ("file_open", "file_save") else 0
    if isinstance(value, _Unknown):
        text = "x" * max(EXPR_CHARS, len(raw))  # GRC shows the evaluated value (or the text itself)
    elif isinstance(value, bool):
        text = str(value)
    elif isinstance(value, (int, float, complex)):
        text = "x" * max(len(str(value)), 8)  # GRC's engineering notation: '65.568k'
    elif isinstance(value, (list, tuple)) and len(value) > 8:
        text, style = raw, 1
    elif isinstance(value, (list, tuple)):
        text = ", ".join("x" * max(len(str(v)), 8) for v in value)
    else:
        text = str(value)
    return _truncate(text.replace("\n", " "), label, style)


def block_geometry(block_id: str, name: str, params: dict, env: dict | None = None) -> Geometry:
    """The estimated size of block ``name`` (type ``block_id``, parameter values ``params``: GRC
    expressions as text; ``env``: :func:`graph_env`) on GRC 3.10's canvas, at GRC's default view
    (no block ids, no expressions, port labels shown)."""
    doc = block_yaml(block_id)
    env = env or {}
    ns = _Namespace(env, id=name)
    raws = {}
    for p in doc.get("parameters", []):
        raw = str(params.get(p["id"], p.get("default", "")))
        raws[p["id"]] = raw
        if p.get("dtype") == "enum":
            ns[p["id"]] = raw  # GRC evaluates an enum to its option's key
        elif p.get("dtype") in ("_multiline", "_multiline_python_external"):
            ns[p["id"]] = raw
        else:
            v = _value(raw, env)
            if p.get("dtype") in STRING_DTYPES and not isinstance(v, str):
                v = raw  # GRC takes a string parameter that does not evaluate to a str as its text
            ns[p["id"]] = bool(v) if p.get("dtype") == "bool" and not isinstance(v, _Unknown) else v
    lines = [f"ID: {name}"] if "show_id" in (doc.get("flags") or []) else []
    for p in doc.get("parameters", []):
        if _eval(p.get("hide", "none"), ns, "none") in ("all", "part"):
            continue
        label = p.get("label") or p["id"].title()
        lines.append(f"{label}: {_shown(p, raws[p['id']], ns[p['id']])}")
    text_w = max([len(doc["label"]) * TITLE_PX] + [len(s) * LINE_PX for s in lines])
    height = 27 + 16 * len(lines)

    def ports(key: str, default: str) -> list[str]:
        names = []
        for port in doc.get(key, []):
            if _eval(port.get("hide", False), ns, False) is True:
                continue
            n = _eval(port.get("multiplicity", 1), ns, 1)
            base = str(port.get("label") or port.get("id") or default)
            n = n if isinstance(n, int) and n >= 1 else 1
            names += [base] if n == 1 else [f"{base}{i}" for i in range(n)]
        return names

    inputs, outputs = ports("inputs", "in"), ports("outputs", "out")
    for n in (len(inputs), len(outputs)):
        if n:
            height = max(height, 2 * 8 + 32 * n - 14)
    side = [_up(4 + max(len(s) for s in names) * PORT_PX) if names else 0 for names in (inputs, outputs)]
    return Geometry(_up(text_w + 14), _up(height), *side)


def grc_extents(doc: dict) -> dict[str, tuple[int, int, int, int]]:
    """Block name -> (x0, y0, x1, y1): the canvas rectangle (px) each block of a .grc (``doc``: its
    YAML) covers by the estimate, its ports included; the options block under its flowgraph id."""
    blocks = [dict(doc["options"], name=doc["options"]["parameters"]["id"], id="options"), *doc["blocks"]]
    env = graph_env({b["name"]: str(b["parameters"].get("value", "")) for b in blocks
                     if b["id"] in ("parameter", "variable")})
    rects = {}
    for b in blocks:
        g = block_geometry(b["id"], b["name"], b["parameters"], env)
        x, y = b["states"]["coordinate"]
        rects[b["name"]] = (x - g.left, y, x + g.width + g.right, y + g.height)
    return rects


def overlaps(rects: dict[str, tuple]) -> list[tuple[str, str]]:
    """The pairs of names whose rectangles (x0, y0, x1, y1) share more than an edge."""
    items = sorted(rects.items(), key=lambda kv: kv[1][0])
    found = []
    for i, (a, ra) in enumerate(items):
        for b, rb in items[i + 1:]:
            if rb[0] >= ra[2]:
                break
            if ra[1] < rb[3] and rb[1] < ra[3]:
                found.append((a, b))
    return found


# --- building blocks shared by the flowgraphs --------------------------------------------------------
def image_params(g: Graph) -> None:
    g.param("host", "str", "''", "host image file ('' = embedded cat photo)")
    g.param("private", "str", "''", "private image file ('' = embedded astronaut portrait)")
    g.param("size", "intx", "256", "image side in px (0 = file size)")


def model_params(g: Graph, inn: bool = True) -> None:
    g.param("jscc_model", "str", "''", "DeepJSCC model ('' = models/deepjscc-bcr12)")
    # one torch thread per process: the model blocks then run in parallel scheduler threads, which
    # measured faster than each block driving a 2-thread pool (tools/benchmark_chains.py, README)
    g.param("torch_threads", "intx", "1", "torch CPU threads for the process (0 = torch's default)")
    if inn:
        g.param("inn_model", "str", "''", "steganography INN model ('' = models/stego-l3_2)")
        g.param("key", "str", "''", "key file of a keyed INN model (stego-keyed-*; '' for the others)")


def attacker_param(g: Graph) -> None:
    g.param("attacker", "str", "'mia'", f"Eve's attacker besides naive decoding ({'|'.join(eves.names())})")


def receiver_params(g: Graph, is_bob: bool, out: str, snr: bool = False) -> None:
    """A receiver's parameters: reference images, (its SNR,) models, Bob's l_hat and secure flag or
    Eve's inversion steps, attacker and scheme, output folder."""
    g.param("host", "str", "''", "host image the metrics compare with ('' = embedded cat photo)")
    g.param("private", "str", "''", "private image the metrics compare with ('' = embedded astronaut)")
    if snr:
        g.param(*(("snr_bob", "eng_float", "10.0", "Bob's data Es/N0 (dB)") if is_bob else
                  ("snr_eve", "eng_float", "5.0", "Eve's data Es/N0 (dB)")))
    model_params(g, inn=is_bob)
    if is_bob:
        g.param("lost", "str", "'zeros'", "Bob's estimate of the lost information (zeros|gaussian)")
        g.param("secure", "intx", "1", "1 = INN steganography, 0 = plain DeepJSCC (must match Alice)")
    else:
        g.param("mia_steps", "intx", "200", "model inversion steps (0 = off)")
        attacker_param(g)
        g.param("scheme", "str", "'stego-l3_2'", "scheme a trained attacker was made for (its models: jscc_model's "
                "folder)")
    g.param("out", "str", q(out), "output folder")


def common_vars(g: Graph) -> None:
    g.imports("import_channel", "from gr_stegsem import channel as stegsem_channel")
    g.imports("import_flowgraphs", "from gr_stegsem import flowgraphs as stegsem_fg")
    g.var("guard", str(GUARD))
    g.var("host_ref", "stegsem_fg.reference(host, 'host')")
    g.var("private_ref", "stegsem_fg.reference(private, 'private')")


IN_FLIGHT = 4  # frames a paced image source may have in flight (sim flowgraphs: Bob's sink acknowledges)


def alice(g: Graph, loop: str, interval: str, done: str, row: int = 0, phy: bool = False,
          amplitude: str = "1.0", paced: bool = False, switch: bool = False) -> str:
    """Two image sources -> Alice's chain (alice_tx: DeepJSCC encoders -> INN embedding) -> burst framer
    -> tagged stream, or (phy) alice_tx_phy: the same chain -> the OFDM PHY transmitter. Returns the
    stream output.

    ``paced``: the sources keep at most ``in_flight`` frames in flight, acknowledged on their 'ack'
    port (:func:`bob` with ``ack`` connects Bob's private image sink's 'done' there), so a folder
    of images never floods the chain (and inn_embed's partner timeout never drops a frame).
    ``switch``: the chain runs the 'scheme' parameter's transform (seed 004's DP noise or shuffling
    on plain DeepJSCC; nothing for the INN schemes)."""
    if not phy:
        # with size 0 the largest image file sets the burst (and so the stream buffer) length
        g.var("burst_len", "stegsem_fg.burst_samples(jscc_model, size, guard, host, private)")
    if paced:
        g.var("in_flight", str(IN_FLIGHT))
    params = dict(jscc_path="jscc_model", inn_path="inn_model", secure="secure != 0", key_file="key",
                  timeout="5.0", max_pending="64", threads="torch_threads")
    if switch:
        params.update(scheme="scheme", seed="seed", public_key="public_key")
    if phy:  # OFDM bursts with preamble, header and pilots (gr_stegsem.phy)
        params.update(seg_len="seg_len", amplitude=amplitude)
    g.block("alice", "gr_stegsem_alice_tx_phy" if phy else "gr_stegsem_alice_tx", (1, row + 0.5), **params)
    for i, role in enumerate(("host", "private")):
        g.block(f"{role}_src", "gr_stegsem_image_source", (0, row + i), paths=role, repeat=loop, size="size",
                role=q(role), interval=interval, done=done, window="in_flight" if paced else "0",
                ack_timeout="30.0")
        g.connect(f"{role}_src.out", f"alice.{role}")
    if phy:
        return "alice.0"
    g.block("framer", "gr_stegsem_burst_framer", (2, row + 0.5), guard="guard", max_len="burst_len")
    # a whole burst must fit into the tagged stream's output buffer (512x512 image: 65536 + 2 guards);
    # measured on GNU Radio 3.10.5: a buffer of exactly one burst stalls ('Buffer too small for
    # min_noutput_items'), two bursts work
    g.block("to_stream", "pdu_pdu_to_tagged_stream", (3, row + 0.5), type="complex", tag=q("packet_len"),
            minoutbuf="2 * burst_len")
    g.connect("alice.out", "framer.in")
    g.connect("framer.out", "to_stream.pdus")
    return "to_stream.0"


def channel(g: Graph, who: str, snr: str, seed: str, cell, phy: bool = False) -> str:
    """channels.channel_model for one receiver; returns its output. With the PHY, ``snr`` is the
    data symbols' Es/N0 on their carriers and the sample SNR is 1.07 dB lower."""
    if phy:
        g.var(f"{who}_noise", f"stegsem_phy_radio.noise_voltage({snr})")
    else:
        g.var(f"{who}_noise", f"stegsem_channel.noise_voltage({snr})")
    g.block(f"{who}_channel", "channels_channel_model", cell, noise_voltage=f"{who}_noise",
            freq_offset="freq_offset", epsilon="epsilon", taps="taps", seed=seed, block_tags="False")
    return f"{who}_channel.0"


def receiver(g: Graph, who: str, src: str, cell, phy: bool, **params) -> None:
    """A receive chain ``who`` (bob_rx / eve_rx, or with the PHY bob_rx_phy / eve_rx_phy) fed by the
    stream ``src``: on the ideal link through burst_to_pdu '<who>_rx' (delay: channel_model's
    resampler shift), with the PHY directly (its PHY RX's parameters added)."""
    if phy:
        params.update(seg_len="seg_len", phy_threshold="0.15", equalizer="equalizer",
                      amplitude="amplitude" if "amplitude" in g.names() else "1.0", max_pending="2", timeout="1.0",
                      drop="drop" if "drop" in g.names() else "0.0")
        g.block(who, f"gr_stegsem_{who}_rx_phy", cell, **params)
        g.connect(src, f"{who}.0")
        return
    g.block(f"{who}_rx", "gr_stegsem_burst_to_pdu", cell, delay=str(CHANNEL_MODEL_DELAY), max_len="16777216")
    g.block(who, f"gr_stegsem_{who}_rx", (cell[0] + 1, cell[1]), **params)
    g.connect(src, f"{who}_rx.0")
    g.connect(f"{who}_rx.pdus", f"{who}.in")


def bob(g: Graph, src: str, col: int, row: int, publish: bool = False, phy: bool = False, ack: bool = False,
        switch: bool = False) -> None:
    """Bob: his receive chain (bob_rx: INN extraction -> two DeepJSCC decoders) -> image sinks (and a
    ZMQ PUB). ``ack``: his private image sink acknowledges each frame to Alice's paced image sources.
    ``switch``: the chain undoes the 'scheme' parameter's transform first."""
    params = dict(jscc_path="jscc_model", inn_path="inn_model", lost="lost", seed="seed", secure="secure != 0",
                  key_file="key", threads="torch_threads")
    if switch:
        params["scheme"] = "scheme"
    receiver(g, "bob", src, (col, row + 0.5), phy, **params)
    col += 1 if phy else 2
    for i, role in enumerate(("host", "private")):
        g.block(f"bob_{role}_sink", "gr_stegsem_image_sink", (col, row + i), folder="out",
                prefix=q(f"bob_{role}"), reference=f"{role}_ref", save="True")
        g.connect(f"bob.{role}", f"bob_{role}_sink.in")
        if publish:
            g.connect(f"bob.{role}", "bob_pub.in")
    if ack:  # the end of Bob's chain paces Alice (the private frame is there in both modes)
        g.connect("bob_private_sink.done", "host_src.ack")
        g.connect("bob_private_sink.done", "private_src.ack")
    if publish:
        g.block("bob_pub", "zeromq_pub_msg_sink", (col, row + 2), address="publish", timeout="100", bind="True")


def eve(g: Graph, src: str, col: int, row: int, mia_queue: str, publish: bool = False, phy: bool = False) -> None:
    """Eve: her receive chain (eve_rx: naive decoding and the attacker) -> image sinks vs private and
    vs host.

    The attacker 'mia' runs in the chain's eve_mia (port 'mia', as before the Eve zoo), any other one
    of the zoo in its eve_attack (port 'attack'; its scheme: the INN model's name, or the 'scheme'
    parameter; its models: that model's folder); the detector's scores go to a score sink (and the
    ZMQ PUB)."""
    has_inn = "inn_model" in g.names()
    g.var("zoo_attack", "stegsem_fg.zoo_attack(attacker)")  # '' (off) for naive and mia
    if has_inn and "scheme" in g.names():  # sim_awgn: the scheme switch, else the INN model's scheme
        g.var("eve_scheme", "scheme or stegsem_fg.eve_scheme(inn_model)")
    else:
        g.var("eve_scheme", "stegsem_fg.eve_scheme(inn_model)" if has_inn else "scheme")
    g.var("eve_models", f"stegsem_fg.models_folder({'inn_model' if has_inn else 'jscc_model'})")
    g.var("zoo_prefix", "'eve_' + (zoo_attack or 'attack')")
    receiver(g, "eve", src, (col, row + 0.5), phy, jscc_path="jscc_model", attacker="attacker",
             scheme="eve_scheme", models_dir="eve_models", mia_steps="mia_steps", lr="0.05", seed="seed",
             lost="''", threshold="0.5", queue_size=mia_queue, threads="torch_threads")
    col += 1 if phy else 2
    prefixes = (("naive", q("eve_naive"), q("eve_naive_vs_host")), ("mia", q("eve_mia"), q("eve_mia_vs_host")),
                ("attack", "zoo_prefix", "zoo_prefix + '_vs_host'"))
    for i, (attack, prefix, host_prefix) in enumerate(prefixes):
        # what Eve gets of the private image (PNG + metrics) and of the host (metrics only)
        g.block(f"eve_{attack}_sink", "gr_stegsem_image_sink", (col, row + i), folder="out",
                prefix=prefix, reference="private_ref", save="True")
        g.block(f"eve_{attack}_host", "gr_stegsem_image_sink", (col + 1, row + i), folder="out",
                prefix=host_prefix, reference="host_ref", save="False")
        g.connect(f"eve.{attack}", f"eve_{attack}_sink.in")
        g.connect(f"eve.{attack}", f"eve_{attack}_host.in")
        if publish:
            g.connect(f"eve.{attack}", "eve_pub.in")
    g.block("eve_score_sink", "gr_stegsem_score_sink", (col, row + 3), folder="out", prefix=q("eve_detect"))
    g.connect("eve.score", "eve_score_sink.in")
    if publish:
        g.connect("eve.score", "eve_pub.in")
        g.block("eve_pub", "zeromq_pub_msg_sink", (col + 1, row + 3), address="publish", timeout="100",
                bind="True")


def report_losses(g: Graph) -> None:
    """A main_after_stop snippet: the script prints how many frames Bob got and exits 1 if any was lost."""
    g.block("report_losses", "snippet", (0, 2.5), section="main_after_stop", priority="0",
            code="stegsem_fg.exit_on_loss(self)")


def impairments(g: Graph) -> None:
    g.param("freq_offset", "eng_float", "0.0", "channel frequency offset (cycles/sample; no PHY corrects it)")
    g.param("epsilon", "eng_float", "1.0", "channel timing (resampling) ratio; 1.0 = aligned bursts")
    g.var("taps", "[1.0 + 0.0j]")


# --- the flowgraphs -----------------------------------------------------------------------------------
EVE_ZOO_NOTE = """attacker: mia runs in eve_mia; any other attacker of the Eve zoo (gr_stegsem/eves/) in eve_attack
-> image sinks eve_<attacker> / eve_<attacker>_vs_host, and the detector 'detect' posts one score PDU
per frame to the score sink eve_detect (log + out/eve_detect.csv: score, decision); naive = naive
decoding only. The zoo's Eve attacks the scheme named by the INN model (without one: the 'scheme'
parameter) and reads its models and her own from that model's folder (jscc_model's without one)."""

SIM_NOTE = """sim_awgn: the whole secure semantic link in one flowgraph (ideal, symbol-synchronous channel).

Alice: two image sources (host, private; no file = the embedded default images) -> her chain alice
(alice_tx: DeepJSCC encoders -> INN embedding; secure=0: plain DeepJSCC, the private symbols are
sent; scheme: seed 004's defences) -> burst framer (16 zero guard samples each side)
-> PDU to tagged stream (packet_len; its minimum output buffer holds two
bursts of the largest image: size, or with size 0 the largest file, at least 512x512; a longer burst
is dropped by the framer, logged) -> fan-out to two channels.channel_model: Bob's (noise from snr_bob)
and Eve's (snr_eve). The image sources are paced: at most in_flight (4) frames on the way, each
acknowledged by Bob's private image sink ('done' -> the sources' 'ack'), so a folder of images never
floods the chain.
Noise voltage = sqrt(10^(-SNR/10)) (gr_stegsem.channel.noise_voltage: Es/N0 on unit-power symbols).
Noise seeds: Bob 2*seed+1, Eve 2*seed+2 (distinct, never 0 = time-seeded).
Receivers: burst_to_pdu (delay -3: channel_model's resampler shift) -> Bob's chain bob (bob_rx):
INN extraction (lost = zeros|gaussian) -> two DeepJSCC decoders -> image sinks bob_host / bob_private
(PNG + PSNR, MS-SSIM, LPIPS vs the sent images); Eve's chain eve (eve_rx): naive decoding and the
attacker (default mia: model inversion, mia_steps, 0 = off) -> image sinks eve_naive / eve_mia (vs the
private image) and *_vs_host (metrics vs the host only).
freq_offset, epsilon and taps are channel impairments that no PHY corrects here: freq_offset rotates
the symbols; epsilon != 1.0 or a multi-tap channel shifts the bursts against their tags.
The flowgraph ends by itself when the images are done (sources with done=True); files go to 'out'.
At the end the script prints how many frames Bob decoded; when any was lost it names the blocks that
dropped frames and why, and exits with status 1.

""" + EVE_ZOO_NOTE

ZMQ_NOTE_COMMON = f"""ZeroMQ link (loopback by default; see flowgraphs/README.md):
Alice binds a PUB socket on {ZMQ_SAMPLES} and publishes the PHY's complex burst samples (OFDM:
preamble, coded header, pilots; see gr_stegsem.phy). Bob and Eve connect SUB sockets to it, each
applies its own channels.channel_model (own data Es/N0, CFO, sample-clock offset, multipath) and the
PHY receiver finds and synchronises every burst itself -- no tags are needed. PUB/SUB drops: a
subscriber gets nothing that was published before it connected (slow joiner) and a PUB drops
messages for a subscriber whose queue is at the high-water mark (1000 messages by default). Alice
therefore loops over her images with an interval (default 2 s); a receiver that joins mid-burst
simply detects the next burst's preamble, a burst that lost samples is cut where its pilots stop
matching and its missing symbols are zero-filled and flagged (phy_segments / phy_lost in the meta).
Bob publishes his decoded image PDUs on {ZMQ_BOB}, Eve hers on {ZMQ_EVE} (zeromq.pub_msg_sink,
pmt-serialised): 'stegsem watch ADDRESS' saves them as PNGs. record = a SigMF file of what the
receiver hears, one annotation per burst its PHY decoded (replay it with replay_bob / replay_eve)."""

USRP_NOTE_COMMON = """Over the air through the OFDM PHY (gr_stegsem.phy): Alice's PHY TX scales the unit-power bursts
by 'amplitude' (DAC headroom) and the UHD sink sends each as a UHD burst (TSB tag packet_len); the
receivers' PHY RX detects the bursts in the UHD source's continuous stream, corrects CFO and timing
drift, equalises and reassembles (amplitude must match Alice's). A two-USRP and a one-USRP loopback
procedure (frequencies, rates, gains, attenuators) are in flowgraphs/README.md. record = a SigMF file
of the samples sent / heard (centre frequency in the metadata; heard: one annotation per decoded burst)."""


def link_params(g: Graph, snr_kind: str, out: str) -> None:
    """The parameters of a whole simulated link (Alice, Bob and Eve in one flowgraph), in GRC order."""
    image_params(g)
    g.param("snr_bob", "eng_float", "10.0", f"Bob's {snr_kind} (dB)")
    g.param("snr_eve", "eng_float", "5.0", f"Eve's {snr_kind} (dB)")
    model_params(g)
    g.param("lost", "str", "'zeros'", "Bob's estimate of the lost information (zeros|gaussian)")
    g.param("secure", "intx", "1", "1 = INN steganography, 0 = plain DeepJSCC (no security)")
    g.param("mia_steps", "intx", "200", "Eve's model inversion steps (0 = off)")
    attacker_param(g)
    g.param("out", "str", f"'{out}'", "output folder")


def sim_awgn() -> Graph:
    g = Graph("sim_awgn", "gr-stegsem: simulated AWGN link (Alice, Bob, Eve)",
              "Secure semantic image transmission over simulated AWGN channels: Alice (DeepJSCC + INN "
              "steganography) to Bob and to the eavesdropper Eve (naive decoding and an attacker, default model "
              "inversion); ends when the images are done", SIM_NOTE)
    link_params(g, "Es/N0", "out/sim_awgn")
    impairments(g)
    g.param("seed", "intx", "0", "seed (noise: Bob 2*seed+1, Eve 2*seed+2; MIA start; Bob's gaussian estimate)")
    common_vars(g)
    g.param("scheme", "str", "''", "'' = the INN model (secure 1) or plain DeepJSCC (secure 0); dp-<ε>, shuffle, "
            "shuffle-static = seed 004's defences on plain DeepJSCC (shuffles use 'key'); lbvq-16, lbvq-16-hard, "
            "jscec-n512 = issue 13's digital schemes (the private image only; jscec: 'key' is Bob's key); Eve's "
            "trained attacker attacks it")
    g.param("public_key", "str", "''", "Bob's LWE public key file (scheme jscec-*: Alice encrypts to it; "
            "'stegsem keygen KEY --lwe-public FILE')")
    tx = alice(g, loop="False", interval="0.0", done="True", row=0, paced=True, switch=True)
    b = channel(g, "bob", "snr_bob", "2 * seed + 1", (5, 0.5))
    e = channel(g, "eve", "snr_eve", "2 * seed + 2", (5, 3.5))
    g.connect(tx, b)
    g.connect(tx, e)
    bob(g, b, 6, 0, ack=True, switch=True)
    eve(g, e, 6, 3, mia_queue="64")
    report_losses(g)
    return g


def zmq_alice() -> Graph:
    g = Graph("zmq_alice", "gr-stegsem: Alice on a ZeroMQ link",
              f"Alice: DeepJSCC + INN steganography of a host/private image pair, OFDM bursts published as raw "
              f"complex samples on a ZeroMQ PUB socket (default {ZMQ_SAMPLES}); loops with an interval",
              "zmq_alice: Alice's transmitter on a ZeroMQ PUB socket (raw complex64 samples, no tags: the\n"
              "receivers' PHY finds the bursts by their preambles).\n"
              "With loop=1 she repeats the pair every 'interval' seconds (frame ids keep counting) so that\n"
              "receivers that join late still get whole bursts; loop=0 sends once and ends.\n\n" + ZMQ_NOTE_COMMON)
    image_params(g)
    model_params(g)
    g.param("secure", "intx", "1", "1 = INN steganography, 0 = plain DeepJSCC (no security)")
    g.param("address", "str", q(ZMQ_SAMPLES), "ZeroMQ PUB address Alice binds (samples)")
    g.param("loop", "intx", "1", "1 = repeat the images every interval, 0 = send once and end")
    g.param("interval", "eng_float", "2.0", "seconds between image pairs")
    g.param("hwm", "intx", "-1", "PUB high-water mark in messages (-1 = ZeroMQ default, 1000)")
    common_vars(g)
    phy_params(g, rx=False)
    tx = alice(g, loop="loop != 0", interval="interval", done="loop == 0", row=0, phy=True)
    g.block("pub", "zeromq_pub_sink", (5, 0.5), type="complex", vlen="1", address="address", timeout="100",
            pass_tags="False", hwm="hwm", key="''", drop_on_hwm="True")
    g.connect(tx, "pub.0")
    return g


def zmq_receiver(who: str, gui: bool = False) -> Graph:
    """zmq_bob / zmq_eve, or with ``gui`` zmq_bob_gui / zmq_eve_gui: the same receiver in a Qt window
    (:func:`gui_sinks`)."""
    is_bob = who == "bob"
    pub = ZMQ_BOB if is_bob else ZMQ_EVE
    if is_bob:
        text = ("zmq_bob: the legitimate receiver on the ZeroMQ link. SUB (connects to Alice) -> his own\n"
                "channel_model (snr_bob) -> burst_to_pdu -> INN extraction -> DeepJSCC decoders -> image sinks\n"
                "bob_host / bob_private in 'out' and a ZeroMQ PUB of the decoded image PDUs. Runs until stopped.")
        desc = (f"Bob: receives Alice's bursts from ZeroMQ (default {ZMQ_SAMPLES}) through his own AWGN channel, "
                f"extracts and decodes host and private images; publishes them on {pub}")
    else:
        text = ("zmq_eve: the eavesdropper on the ZeroMQ link. SUB (connects to Alice) -> her own\n"
                "channel_model (snr_eve) -> burst_to_pdu -> naive decoding and the attacker -> image sinks\n"
                "eve_naive / eve_<attacker> in 'out' and a ZeroMQ PUB of her images (and detector scores).\n"
                "The attacker drops frames that arrive while it is busy (queue of 2). Runs until stopped.\n"
                + EVE_ZOO_NOTE)
        desc = (f"Eve: taps Alice's bursts from ZeroMQ (default {ZMQ_SAMPLES}) through her own AWGN channel and "
                f"attacks them (naive decoding and an attacker of the Eve zoo, default model inversion); "
                f"publishes her images on {pub}")
    name = f"zmq_{who}_gui" if gui else f"zmq_{who}"
    if gui:
        g = Graph(name, f"gr-stegsem: {'Bob' if is_bob else 'Eve'} on a ZeroMQ link, live in a Qt window",
                  f"zmq_{who} in a Qt GUI: {'his' if is_bob else 'her'} decoded images with PSNR / MS-SSIM, "
                  f"equalised symbols, the spectrum, waterfall and waveform of what {'he' if is_bob else 'she'} "
                  "hears; runs until the window is closed",
                  gui_note(name, who, "after its own channel_model") + "\n\n" + text + "\n\n" + ZMQ_NOTE_COMMON,
                  generate="qt_gui")
    else:
        g = Graph(name, f"gr-stegsem: {'Bob' if is_bob else 'Eve'} on a ZeroMQ link", desc,
                  text + "\n\n" + ZMQ_NOTE_COMMON)
    receiver_params(g, is_bob, f"out/{name}", snr=True)
    g.param("address", "str", q(ZMQ_SAMPLES), "ZeroMQ address of Alice's PUB (samples)")
    g.param("publish", "str", q(pub), "ZeroMQ PUB address for the decoded images (bind)")
    phy_params(g)
    phy_impairments(g)
    g.param("record", "str", "''", "SigMF recording of what this receiver hears ('' = none)")
    g.param("seed", "intx", "0", f"seed (channel noise {'2*seed+1' if is_bob else '2*seed+2'})")
    if gui:
        g.param("view_side", "intx", "256", "px per image in the image view (0 = the image's own size)")
    common_vars(g)
    # raw samples (Alice's PUB without tags: the PHY receiver needs none), each message checked: GNU
    # Radio's zeromq.sub_source ends its thread on one empty or odd-sized message (issue 16, case 2)
    g.block("sub", "gr_stegsem_zmq_iq_source", (0, 0.5 if is_bob else 3.5), address="address", timeout="100",
            hwm="-1", minoutbuf=RX_BUFFER)
    if is_bob:
        ch = channel(g, "bob", "snr_bob", "2 * seed + 1", (1, 0.5), phy=True)
        g.connect("sub.0", ch)
        bob(g, ch, 2, 0, publish=True, phy=True)
    else:
        ch = channel(g, "eve", "snr_eve", "2 * seed + 2", (1, 3.5), phy=True)
        g.connect("sub.0", ch)
        eve(g, ch, 2, 3, mia_queue="2", publish=True, phy=True)
    recorder(g, "rx_rec", ch, "", (1, 2 if is_bob else 5), heard(name, who, "snr_bob" if is_bob else "snr_eve"),
             bursts=f"{who}.bursts")
    if gui:
        gui_sinks(g, {who: ch}, trigger="1.0")
    return g


# the radio sources' output buffer (samples): the PHY receiver gets longer work calls, which it needs for
# back-to-back bursts at 10 MS/s (tools/benchmark_phy_rx.py, README "PHY"; GNU Radio's default is 8,191)
RX_BUFFER = "65536"


def usrp_common(g: Graph, tx: bool) -> None:
    g.param("samp_rate", "eng_float", "1e6", "sample rate (S/s)")
    g.param("center_freq", "eng_float", "2.45e9", "centre frequency (Hz)")
    g.param("gain", "eng_float", "30.0" if not tx else "20.0", "gain (dB)")
    g.param("device_args", "str", "''", "UHD device arguments (e.g. 'type=b200' or 'addr=192.168.10.2')")
    g.param("antenna", "str", q("TX/RX" if tx else "RX2"), "antenna")


def usrp_block(g: Graph, tx: bool, cell, name: str = "usrp", gain: str = "gain", antenna: str = "antenna") -> None:
    params = dict(type="fc32", dev_args="device_args", sync="none", nchan="1", samp_rate="samp_rate",
                  center_freq0="center_freq", gain0=gain, ant0=antenna)
    if tx:  # each burst becomes a UHD burst (start/end of burst from the packet_len tag)
        params["len_tag_name"] = q("packet_len")
    else:
        params["minoutbuf"] = RX_BUFFER
    g.block(name, "uhd_usrp_sink" if tx else "uhd_usrp_source", cell, **params)


def usrp_alice() -> Graph:
    g = Graph("usrp_alice", "gr-stegsem: Alice on a USRP (OFDM PHY)",
              "Alice on a USRP: DeepJSCC + INN channel symbols in OFDM bursts (gr_stegsem.phy) to a UHD sink; "
              "see flowgraphs/README.md",
              "usrp_alice: Alice's chain into a UHD USRP sink; each burst is one UHD burst (tsb tag\n"
              "packet_len). The unit-power symbols are scaled by 'amplitude' to keep the DAC out of clipping.\n\n"
              + USRP_NOTE_COMMON)
    image_params(g)
    model_params(g)
    g.param("secure", "intx", "1", "1 = INN steganography, 0 = plain DeepJSCC (no security)")
    g.param("loop", "intx", "1", "1 = repeat the images every interval, 0 = send once and end")
    g.param("interval", "eng_float", "2.0", "seconds between image pairs")
    g.param("amplitude", "eng_float", "0.25", "scale of the unit-power symbols before the DAC")
    usrp_common(g, tx=True)
    common_vars(g)
    phy_params(g, rx=False)
    g.param("record", "str", "''", "SigMF recording of what Alice sends ('' = none)")
    tx = alice(g, loop="loop != 0", interval="interval", done="loop == 0", row=0, phy=True, amplitude="amplitude")
    usrp_block(g, True, (5, 0.5))
    g.connect(tx, "usrp.0")
    recorder(g, "tx_rec", tx, "", (5, 2), q("usrp_alice: what Alice sends to the USRP (TX gain %g dB, antenna %s)")
             + " % (gain, antenna)", rate="samp_rate", freq="center_freq", amplitude="amplitude")
    return g


def rx_role(who: str) -> tuple[bool, str, str, str]:
    """(is Bob, 'Bob' or 'Eve', what the receiver does after the PHY: in words, and as a chain)."""
    is_bob = who == "bob"
    return (is_bob, "Bob" if is_bob else "Eve",
            "INN extraction and decoders" if is_bob else "naive decoding and the attacker (default model inversion)",
            "INN extraction -> DeepJSCC decoders" if is_bob else "naive decoding and the attacker")


def usrp_receiver(who: str, gui: bool = False) -> Graph:
    """usrp_bob / usrp_eve, or with ``gui`` usrp_bob_gui / usrp_eve_gui: the same receiver in a Qt
    window (:func:`gui_sinks`; the spectrum centred on center_freq)."""
    is_bob, name, does, chain = rx_role(who)
    graph = f"usrp_{who}_gui" if gui else f"usrp_{who}"
    text = (f"usrp_{who}: UHD USRP source -> PHY RX (detection, CFO, timing, equalisation, reassembly)\n"
            f"-> {chain} -> image sinks in 'out'.\n\n" + ("" if is_bob else EVE_ZOO_NOTE + "\n\n")
            + USRP_NOTE_COMMON)
    if gui:
        g = Graph(graph, f"gr-stegsem: {name} on a USRP (OFDM PHY), live in a Qt window",
                  f"usrp_{who} in a Qt GUI: {name}'s decoded images with PSNR / MS-SSIM, equalised symbols, the "
                  "spectrum, waterfall and waveform of what the USRP hears; runs until the window is closed",
                  gui_note(graph, who, "the USRP's samples") + "\n\n" + text, generate="qt_gui")
    else:
        g = Graph(graph, f"gr-stegsem: {name} on a USRP (OFDM PHY)",
                  f"{name} on a USRP: UHD source -> OFDM PHY receiver -> {does} (see flowgraphs/README.md)", text)
    receiver_params(g, is_bob, f"out/{graph}")
    g.param("amplitude", "eng_float", "0.25", "Alice's transmit scale (the receiver divides by it)")
    g.param("seed", "intx", "0", "seed")
    if gui:
        g.param("view_side", "intx", "256", "px per image in the image view (0 = the image's own size)")
    phy_params(g)
    g.param("record", "str", "''", "SigMF recording of what this receiver hears ('' = none)")
    usrp_common(g, tx=False)
    common_vars(g)
    row = 0 if is_bob else 3
    usrp_block(g, False, (0, row + 0.5))
    what = q(f"{graph}: what {name}'s USRP hears (RX gain %g dB, antenna %s)") + " % (gain, antenna)"
    recorder(g, "rx_rec", "usrp.0", "", (0, row + 2), what, rate="samp_rate", freq="center_freq",
             bursts=f"{who}.bursts", amplitude="amplitude")
    if is_bob:
        bob(g, "usrp.0", 1, row, phy=True)
    else:
        eve(g, "usrp.0", 1, row, mia_queue="2", phy=True)
    if gui:
        gui_sinks(g, {who: "usrp.0"}, fc="center_freq", trigger="0.5 * amplitude")
    return g

LOOPBACK_HEARD = "usrp_loopback: what the USRP hears (RX gain %g dB, antenna %s); bursts annotated by Bob's receiver"


def usrp_loopback() -> Graph:
    g = Graph("usrp_loopback", "gr-stegsem: one-USRP loopback (OFDM PHY)",
              "One USRP transmits Alice's OFDM bursts on its TX port and receives them on its RX port (an attenuated "
              "cable or two antennas); Bob and Eve decode what it hears; see flowgraphs/README.md",
              "usrp_loopback: Alice -> PHY TX -> UHD sink (tx_antenna) ... cable + attenuators ... UHD source\n"
              "(rx_antenna) of the same USRP -> Bob (PHY RX, INN extraction, decoders) and Eve (PHY RX, naive\n"
              "decoding and the attacker) on the same received stream. One process opens the device once\n"
              "(a B2xx or N2xx cannot be shared between processes). Put at least 30 dB of attenuation in the\n"
              "cable: the TX port can put out more than the RX port survives.\n\n" + EVE_ZOO_NOTE + "\n\n"
              + USRP_NOTE_COMMON)
    image_params(g)
    model_params(g)
    g.param("secure", "intx", "1", "1 = INN steganography, 0 = plain DeepJSCC (no security)")
    g.param("lost", "str", "'zeros'", "Bob's estimate of the lost information (zeros|gaussian)")
    g.param("mia_steps", "intx", "200", "Eve's model inversion steps (0 = off)")
    attacker_param(g)
    g.param("loop", "intx", "1", "1 = repeat the images every interval, 0 = send once")
    g.param("interval", "eng_float", "2.0", "seconds between image pairs")
    g.param("amplitude", "eng_float", "0.25", "scale of the unit-power symbols before the DAC")
    g.param("out", "str", "'out/usrp_loopback'", "output folder")
    g.param("seed", "intx", "0", "seed")
    g.param("samp_rate", "eng_float", "1e6", "sample rate (S/s)")
    g.param("center_freq", "eng_float", "2.45e9", "centre frequency (Hz)")
    g.param("tx_gain", "eng_float", "40.0", "TX gain (dB)")
    g.param("rx_gain", "eng_float", "30.0", "RX gain (dB)")
    g.param("device_args", "str", "''", "UHD device arguments (e.g. 'type=b200' or 'addr=192.168.10.2')")
    g.param("tx_antenna", "str", q("TX/RX"), "TX antenna port")
    g.param("rx_antenna", "str", q("RX2"), "RX antenna port")
    phy_params(g)
    g.param("record", "str", "''", "SigMF recording prefix: PREFIX_tx (sent) and PREFIX_rx (heard); '' = none")
    common_vars(g)
    tx = alice(g, loop="loop != 0", interval="interval", done="loop == 0", row=0, phy=True, amplitude="amplitude")
    usrp_block(g, True, (4, 0.5), name="usrp_tx", gain="tx_gain", antenna="tx_antenna")
    g.connect(tx, "usrp_tx.0")
    usrp_block(g, False, (4, 3.5), name="usrp_rx", gain="rx_gain", antenna="rx_antenna")
    recorder(g, "tx_rec", tx, "_tx", (4, 2), q("usrp_loopback: what Alice sends (TX gain %g dB, antenna %s)")
             + " % (tx_gain, tx_antenna)", rate="samp_rate", freq="center_freq", amplitude="amplitude")
    recorder(g, "rx_rec", "usrp_rx.0", "_rx", (5, 2), q(LOOPBACK_HEARD) + " % (rx_gain, rx_antenna)",
             rate="samp_rate", freq="center_freq", bursts="bob.bursts", amplitude="amplitude")
    bob(g, "usrp_rx.0", 5, 3, phy=True)
    eve(g, "usrp_rx.0", 5, 6, mia_queue="2", phy=True)
    return g


def phy_params(g: Graph, rx: bool = True) -> None:
    g.param("seg_len", "intx", "3680", "PHY segment length (JSCC symbols per burst; 40 OFDM symbols)")
    if rx:
        g.param("equalizer", "str", "'ummse'", "PHY equaliser (ummse|mmse|zf)")


def phy_impairments(g: Graph) -> None:
    g.param("freq_offset", "eng_float", "0.002", "carrier frequency offset (cycles/sample)")
    g.param("sco_ppm", "eng_float", "50.0", "sample-clock offset (ppm)")
    g.param("multipath", "intx", "1", "1 = 3-tap multipath (0, -10.5, -20 dB), 0 = flat")
    g.imports("import_phy_radio", "from gr_stegsem.phy import radio as stegsem_phy_radio")
    g.var("epsilon", "stegsem_phy_radio.epsilon(sco_ppm)")
    g.var("taps", "stegsem_phy_radio.multipath_taps(multipath != 0)")


def recorder(g: Graph, name: str, src: str, suffix: str, cell, what: str, rate: str = "1e6", freq: str = "0",
             bursts: str = "", amplitude: str = "1.0") -> None:
    """An optional SigMF recorder of a stream: file 'record + suffix', nothing when record is ''.

    ``what``: Python code for the text of what is recorded (the recorder adds the PHY parameters, rate
    and version to the description); ``bursts``: the message port of a PHY receiver of the same stream
    (its decoded bursts become the recording's annotations); ``rate``/``freq``: S/s and Hz (0 = baseband,
    the simulated and ZeroMQ links: no core:frequency)."""
    g.block(name, "gr_stegsem_sigmf_sink", cell, path=f"(record + {q(suffix)}) if record else ''", sample_rate=rate,
            center_freq=freq, description=what, seg_len="seg_len", amplitude=amplitude)
    g.connect(src, f"{name}.0")
    if bursts:
        g.connect(bursts, f"{name}.bursts")


def heard(graph: str, who: str, snr: str) -> str:
    """``what`` of a recorder of a receiver behind a simulated channel_model (the PHY impairments)."""
    name = "Bob" if who == "bob" else "Eve"
    text = (f"{graph}: what {name} hears, through the simulated channel_model (data Es/N0 %g dB, CFO %g "
            "cycles/sample, sample-clock offset %g ppm, multipath %s)")
    return q(text) + f" % ({snr}, freq_offset, sco_ppm, 'on' if multipath else 'off')"


SIM_RADIO_NOTE = """sim_radio: the secure semantic link through the OFDM PHY and an impaired radio channel.

Alice: image sources -> her chain alice (alice_tx_phy: DeepJSCC encoders -> INN embedding -> PHY TX;
Bob's and Eve's chains bob / eve are bob_rx_phy / eve_rx_phy; PHY TX: segments of seg_len symbols,
each a burst: guard, Schmidl & Cox symbol, 2 LTFs, coded header, data with pilots, guard) -> fan-out
to Bob's and Eve's channels.channel_model: noise for the data Es/N0 snr_bob / snr_eve (the sample SNR
is 1.07 dB lower: 100 of 128 carriers used), frequency offset freq_offset (cycles/sample), sample-clock
offset sco_ppm (epsilon), 3-tap multipath (multipath=1). Receivers: PHY RX (detection, CFO, timing,
channel estimation, header CRC, pilot tracking, soft equalisation, reassembly; drop > 0 throws away
that fraction of segments to show graceful degradation) -> Bob: INN extraction -> decoders -> sinks;
Eve: naive decoding and the attacker (default mia) -> sinks. record = a path prefix: SigMF recordings of what
Alice sends (PREFIX_tx), what Bob hears (PREFIX_bob) and what Eve hears (PREFIX_eve), the last two with one
annotation per burst their PHY receiver decoded; replay them with replay_bob / replay_eve or
'stegsem replay'. Ends by itself when the images are done. The image sources
are paced (at most in_flight = 4 frames on the way, acknowledged by Bob's private image sink); at the end
the script prints how many frames Bob decoded and exits with status 1 (naming where) when any was lost.

""" + EVE_ZOO_NOTE


def sim_radio(gui: bool = False) -> Graph:
    """sim_radio, or with ``gui`` sim_radio_gui: the same link in a Qt window (:func:`gui_sinks`), Alice
    looping over her images (loop, interval), Eve's attacker dropping frames while busy (queue of 2)."""
    name = "sim_radio_gui" if gui else "sim_radio"
    if gui:
        g = Graph(name, "gr-stegsem: simulated radio link through the OFDM PHY, live in a Qt window",
                  "sim_radio in a Qt GUI: Bob's and Eve's decoded images with PSNR / MS-SSIM, their equalised "
                  "symbols, the spectrum, waterfall and waveform of what they hear; runs until the window is "
                  "closed", SIM_RADIO_GUI_NOTE, generate="qt_gui")
    else:
        g = Graph("sim_radio", "gr-stegsem: simulated radio link through the OFDM PHY (Alice, Bob, Eve)",
                  "Secure semantic image transmission through the OFDM PHY over impaired simulated radio channels "
                  "(noise, CFO, sample-clock offset, multipath) to Bob and Eve; ends when the images are done",
                  SIM_RADIO_NOTE)
    link_params(g, "data Es/N0", f"out/{name}")
    phy_params(g)
    phy_impairments(g)
    g.param("drop", "eng_float", "0.0", "fraction of received segments dropped (graceful-degradation test)")
    g.param("record", "str", "''", "SigMF recording prefix ('' = no recording)")
    g.param("seed", "intx", "0", "seed (noise: Bob 2*seed+1, Eve 2*seed+2; MIA; segment drops)")
    if gui:
        g.param("loop", "intx", "1", "1 = repeat the images every interval (a live view), 0 = send them once")
        g.param("interval", "eng_float", "1.0", "seconds between image pairs when looping")
        g.param("view_side", "intx", "256", "px per image in the image view (0 = the image's own size)")
    common_vars(g)
    if gui:
        tx = alice(g, loop="loop != 0", interval="interval", done="loop == 0", row=0, phy=True, paced=True)
    else:
        tx = alice(g, loop="False", interval="0.0", done="True", row=0, phy=True, paced=True)
    b = channel(g, "bob", "snr_bob", "2 * seed + 1", (5, 0.5), phy=True)
    e = channel(g, "eve", "snr_eve", "2 * seed + 2", (5, 3.5), phy=True)
    g.connect(tx, b)
    g.connect(tx, e)
    recorder(g, "tx_rec", tx, "_tx", (5, 2), q(f"{name}: what Alice sends (before the channels)"))
    recorder(g, "bob_rec", b, "_bob", (6, 2), heard(name, "bob", "snr_bob"), bursts="bob.bursts")
    recorder(g, "eve_rec", e, "_eve", (6, 5), heard(name, "eve", "snr_eve"), bursts="eve.bursts")
    bob(g, b, 6, 0, phy=True, ack=True)
    eve(g, e, 6, 3, mia_queue="2" if gui else "64", phy=True)
    if gui:
        gui_sinks(g, {"bob": b, "eve": e})
    else:
        report_losses(g)
    return g


SIM_RADIO_GUI_NOTE = """sim_radio_gui: sim_radio (see its note) in a Qt window (generate option QT GUI), live:

image_view: Bob's host and private images and Eve's naive and attacker images as they arrive, each
captioned with its frame id and the PSNR / MS-SSIM its image sink computed (connected to the view's
port with the images). bob_const / eve_const: the equalised soft symbols of every burst the PHY
receiver decoded (its 'bursts' PDUs; DeepJSCC symbols are analog: a cloud, not a QAM grid, that the
noise widens). rx_freq: the spectrum of what Bob and Eve hear (100 of 128 carriers used; Eve's noise floor
is higher), bob_waterfall: its waterfall, bob_time: Bob's received waveform, triggered on each burst's
packet_len tag. samp_rate is nominal (1 MS/s, as the SigMF recordings): the simulation has no clock.
Alice repeats her images every 'interval' seconds (loop=1; paced: at most in_flight = 4 frames on the
way), until the window is closed; loop=0 sends them once and the window keeps the last images.

""" + EVE_ZOO_NOTE

def gui_sinks(g: Graph, heard: dict[str, str], fc: str = "0", trigger: str = "") -> None:
    """The Qt GUI of a receiving flowgraph, on the canvas below the rest: the image view (row 0 of
    the window), each receiver's constellation and the spectrum (row 1), the first receiver's
    waveform and waterfall (row 2).

    ``heard``: receiver ('bob' / 'eve', with their chains and image sinks in ``g``) -> the stream it
    hears. ``fc``: the spectrum's centre (Hz; 0 = baseband). ``trigger``: the time sink's trigger
    level (an amplitude) on bursts that carry no packet_len tag (ZeroMQ, UHD); '' = on that tag."""
    if "samp_rate" not in g.names():
        g.var("samp_rate", "1e6")  # nominal (the SigMF recorders' rate): the axes in Hz and s
    whos = list(heard)
    both = len(whos) == 2
    row = max(int(place[1]) for *_, place in g.items if isinstance(place, tuple)) + 1
    captions = {"bob": ("'Bob: host'", "'Bob: private'"), "eve": ("'Eve: naive'", "'Eve: ' + attacker")}
    panels = {"bob": (("host", "bob_host_sink"), ("private", "bob_private_sink")),
              "eve": (("naive", "eve_naive_sink"), ("mia", "eve_mia_sink"), ("attack", "eve_attack_sink"))}
    n = 2 * len(whos)
    g.block("view", "gr_stegsem_image_view", (0, row), captions="(" + ", ".join(c for w in whos for c in captions[w])
            + ")", side="view_side", columns=str(n), gui_hint=f"0, 0, 1, {n}")
    for k, who in enumerate(whos):
        for i, (port, sink) in enumerate(panels[who]):  # Eve's attacker: mia's or the zoo's (one of them runs)
            g.connect(f"{who}.{port}", f"view.in{2 * k + min(i, 1)}")
            g.connect(f"{sink}.metrics", f"view.in{2 * k + min(i, 1)}")
    colour = {"bob": '"blue"', "eve": '"red"'}
    for col, who in enumerate(whos):
        g.block(f"{who}_const", "qtgui_const_sink_x", (1 + col, row), type="msg_complex",
                name=repr(f"{who.capitalize()}: equalised symbols of each burst"), update_time="0.1",
                xmin="-2", xmax="2", ymin="-2", ymax="2", autoscale="False", grid="True",
                legend="False", color1=colour[who], marker1="0", width1="1",
                alpha1="0.4", gui_hint=f"1, {col}, 1, 1")
        g.connect(f"{who}.bursts", f"{who}_const.in")
    common = dict(fftsize="1024", wintype="window.WIN_BLACKMAN_hARRIS", fc=fc, bw="samp_rate",
                  update_time="0.1")
    first, names = whos[0], [w.capitalize() for w in whos]
    wide = "1, 2" if both else "1, 1"
    labels = {f"label{i + 1}": q(w) for i, w in enumerate(names)}
    colours = {f"color{i + 1}": colour[w] for i, w in enumerate(whos)}
    g.block("rx_freq", "qtgui_freq_sink_x", (1 + len(whos), row), type="complex",
            name=q(f"What {' and '.join(names)} hear" + ("" if both else "s")), nconnections=str(len(whos)),
            average="0.2", ymin="-80", ymax="10", **labels, **colours, gui_hint=f"1, {len(whos)}, {wide}", **common)
    g.block(f"{first}_waterfall", "qtgui_waterfall_sink_x", (2 + len(whos), row), type="complex",
            name=q(f"What {names[0]} hears (waterfall)"), nconnections="1", int_min="-80", int_max="10",
            gui_hint=f"2, {len(whos)}, {wide}", **common)
    trig = (dict(tr_mode="qtgui.TRIG_MODE_AUTO", tr_level=trigger, tr_delay="0") if trigger else
            dict(tr_mode="qtgui.TRIG_MODE_TAG", tr_tag=q("packet_len"), tr_delay="0"))
    g.block(f"{first}_time", "qtgui_time_sink_x", (3 + len(whos), row), type="complex",
            name=q(f"What {names[0]} hears (bursts)"), size="4096", srate="samp_rate", nconnections="1", ymin="-2",
            ymax="2", update_time="0.1", **trig, entags="False", label1=q("Re"), label2=q("Im"),
            gui_hint=f"2, 0, {wide}")
    for i, who in enumerate(whos):
        g.connect(heard[who], f"rx_freq.{i}")
    g.connect(heard[first], f"{first}_waterfall.0")
    g.connect(heard[first], f"{first}_time.0")


def gui_note(name: str, who: str, source: str) -> str:
    """The note of a receiver's GUI flowgraph (zmq_*_gui, usrp_*_gui): what its window shows."""
    is_bob = who == "bob"
    images = ("Bob's host and private images" if is_bob else "Eve's naive and attacker images")
    return (f"""{name}: {name[:-4]} (see its note) in a Qt window (generate option QT GUI), live:

image_view: {images} as they arrive, each captioned with its frame id and the PSNR / MS-SSIM
its image sink computed. {who}_const: the equalised soft symbols of every burst the PHY receiver
decoded (DeepJSCC symbols are analog: a cloud, not a QAM grid). rx_freq / {who}_waterfall: the spectrum
and waterfall of what {'Bob' if is_bob else 'Eve'} hears ({source}); {who}_time: its waveform, triggered
when its real part rises through the trigger level (the samples carry no burst tags), else free-running.
Runs until the window is closed.""")


def replay(who: str) -> Graph:
    is_bob, name, does, chain = rx_role(who)
    g = Graph(f"replay_{who}", f"gr-stegsem: {name} from a SigMF recording",
              f"{name}'s receiver on a SigMF IQ recording (cf32_le): PHY RX -> {does}; ends with the file",
              f"replay_{who}: SigMF player (the recording's metadata is checked) -> PHY RX -> {chain} -> image sinks\n"
              "in 'out'. Record with sim_radio's or a usrp_* flowgraph's 'record' parameter, or the SigMF Recorder\n"
              "block. The same recording always gives the same images (no randomness on the receive side\n"
              "except Bob's gaussian l_hat and Eve's MIA, both seeded)."
              + ("" if is_bob else "\n\n" + EVE_ZOO_NOTE))
    g.param("recording", "str", "''", "SigMF recording (path, with or without .sigmf-meta)")
    receiver_params(g, is_bob, f"out/replay_{who}")
    phy_params(g)
    g.param("amplitude", "eng_float", "1.0", "the transmitter's amplitude (the receiver divides by it)")
    g.param("seed", "intx", "0", "seed")
    common_vars(g)
    row = 0 if is_bob else 3
    g.block("player", "gr_stegsem_sigmf_source", (0, row + 0.5), path="recording", repeat="False")
    if is_bob:
        bob(g, "player.0", 1, row, phy=True)
    else:
        eve(g, "player.0", 1, row, mia_queue="64", phy=True)
    return g



GRAPHS = {"sim_awgn": sim_awgn, "zmq_alice": zmq_alice, "zmq_bob": lambda: zmq_receiver("bob"),
          "zmq_eve": lambda: zmq_receiver("eve"), "usrp_alice": usrp_alice, "usrp_bob": lambda: usrp_receiver("bob"),
          "usrp_eve": lambda: usrp_receiver("eve"), "usrp_loopback": usrp_loopback,
          "sim_radio": sim_radio, "replay_bob": lambda: replay("bob"), "replay_eve": lambda: replay("eve"),
          "sim_radio_gui": lambda: sim_radio(gui=True), "zmq_bob_gui": lambda: zmq_receiver("bob", gui=True),
          "zmq_eve_gui": lambda: zmq_receiver("eve", gui=True), "usrp_bob_gui": lambda: usrp_receiver("bob", gui=True),
          "usrp_eve_gui": lambda: usrp_receiver("eve", gui=True)}


# --- writing and compiling ------------------------------------------------------------------------------
class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, text):
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def write_grc(graph: Graph, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{graph.name}.grc"
    path.write_text(yaml.dump(graph.to_grc(), Dumper=_Dumper, sort_keys=False, width=120))
    return path


def grcc_env() -> dict:
    """Environment for grcc: our block YAML on GRC_BLOCKS_PATH, this repository importable."""
    env = dict(os.environ)
    env["GRC_BLOCKS_PATH"] = os.pathsep.join(p for p in (str(ROOT / "grc"), env.get("GRC_BLOCKS_PATH", "")) if p)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def grcc_command() -> list[str]:
    """grcc run by this Python (it evaluates our blocks' imports, which need torch from the venv)."""
    import shutil

    grcc = shutil.which("grcc")
    if grcc is None:
        raise SystemExit("grcc (GNU Radio Companion) not found on PATH")
    return [sys.executable, grcc]


def compile_grc(grc: Path, out: Path) -> Path:
    r = subprocess.run(grcc_command() + ["-o", str(out), str(grc)], capture_output=True, text=True,
                       env=grcc_env(), timeout=300)
    if r.returncode != 0:
        raise SystemExit(f"grcc failed on {grc}:\n{r.stdout}\n{r.stderr}")
    return out / f"{grc.stem}.py"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"flowgraphs to make (default: all of {', '.join(GRAPHS)})")
    ap.add_argument("--out", type=Path, default=ROOT / "flowgraphs", help="output folder")
    ap.add_argument("--no-compile", action="store_true", help="write the .grc files only")
    args = ap.parse_args(argv)
    for name in args.names or list(GRAPHS):
        if name not in GRAPHS:
            ap.error(f"unknown flowgraph {name!r}; choose from {', '.join(GRAPHS)}")
        grc = write_grc(GRAPHS[name](), args.out)
        if args.no_compile:
            print(f"wrote {grc}")
        else:
            print(f"wrote {grc} and {compile_grc(grc, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
