"""The GRC block definitions in grc/: YAML schema, make templates against the Python blocks, grcc."""
from __future__ import annotations

import ast
import inspect
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402
from gnuradio import gr  # noqa: E402

from gr_stegsem import blocks as stegsem_blocks  # noqa: E402
from tests.conftest import write_tiny_digital_models, write_tiny_eve_models, write_tiny_models  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_flowgraphs  # noqa: E402
GRC = ROOT / "grc"
PHY_YAMLS = [GRC / f"gr_stegsem_{b}.block.yml" for b in ("phy_tx", "phy_rx", "segment_drop", "sigmf_sink", "sigmf_source")]
YAMLS = sorted(p for p in GRC.glob("*.block.yml") if p not in PHY_YAMLS)  # gr_stegsem.blocks
# the PHY's blocks (gr_stegsem.phy.blocks) are compiled and run in tests/test_phy_blocks.py through
# sim_radio / replay_*, whose .grc use them
MAKE = re.compile(r"^stegsem_blocks\.(\w+)\((.*)\)$", re.S)
STRING_DTYPES = ("string", "file_open", "file_save", "dir_select")
STREAM_BLOCKS = ("burst_to_pdu", "zmq_iq_source", "alice_tx_phy", "bob_rx_phy", "eve_rx_phy")  # with a stream
# port (the others are message-only)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("grc")
    write_tiny_models(d, "jscc", ("inn",), perturb=False)
    (d / "zoo").mkdir()  # the Eve zoo's blocks: a scheme's models and every trained Eve's, by their names
    write_tiny_eve_models(write_tiny_models(d / "zoo")["dir"])
    write_tiny_digital_models(d / "zoo")  # lbvq-16, jscec-n512 (issue 13's digital blocks)
    (d / "imgs").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / "imgs" / f"i{i}.png")
    return d


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def make_call(doc: dict) -> str:
    """The constructor call of a block's make template. A Qt GUI block's (image_view: a gui_hint
    parameter) is a mako prelude, the call, then the lines that place its qwidget(): the call is
    its first line after the prelude."""
    make = doc["templates"]["make"].strip()
    if any(p["dtype"] == "gui_hint" for p in doc["parameters"]):
        make = re.sub(r"^<%.*?%>\\\n", "", make, flags=re.S).splitlines()[0]
    return make


def test_phy_yaml_templates_name_phy_blocks():
    from gr_stegsem.phy import blocks as phy_blocks

    for path in PHY_YAMLS:
        doc = load(path)
        m = re.match(r"^stegsem_phy\.(\w+)\(", doc["templates"]["make"].strip())
        assert m and hasattr(phy_blocks, m.group(1)), path.name
        assert doc["category"] == "[gr-stegsem]/PHY" and doc["documentation"].strip()


def test_every_block_has_a_yaml():
    assert sorted(p.name for p in YAMLS) == sorted(f"gr_stegsem_{b}.block.yml" for b in stegsem_blocks.__all__)


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_yaml_schema_and_conventions(path):
    from gnuradio.grc.core import schema_checker

    doc = load(path)
    checker = schema_checker.Validator(schema_checker.BLOCK_SCHEME)
    assert checker.run(doc), checker.messages
    assert not checker.messages, checker.messages  # no ignored (misspelt) keys either
    name = path.name[len("gr_stegsem_"):-len(".block.yml")]
    assert doc["id"] == f"gr_stegsem_{name}" and doc["category"] == "[gr-stegsem]"
    assert doc["file_format"] == 1 and doc["flags"] == ["python"] and doc["documentation"].strip()
    assert doc["templates"]["imports"] == "from gr_stegsem import blocks as stegsem_blocks"
    for port in doc.get("inputs", []) + doc.get("outputs", []):
        if name in STREAM_BLOCKS:  # burst_to_pdu: a complex stream in, PDUs out
            assert port["domain"] == "message" or (port["domain"] == "stream" and port["dtype"] == "complex")
        else:
            assert port["domain"] == "message"
    m = MAKE.match(make_call(doc))
    assert m and m.group(1) == name


@pytest.mark.parametrize("path", sorted(GRC.glob("*.block.yml")), ids=lambda p: p.name)
def test_documentation_wraps_in_grc(path):
    """GRC shows a block's documentation line by line (its properties dialog, word-wrapped to the
    window; the block tree's tooltip), a line ending in ':' in bold as a heading: so each line it
    gets is a whole paragraph or entry, ending a sentence, and no line breaks mid-sentence. In the
    YAML it is a folded scalar ('>-') of lines up to 100 characters: one blank line there starts a
    new line in GRC, two a new paragraph."""
    text = path.read_text()
    head = re.search(r"^documentation:(.*)$", text, re.M)
    assert head and head.group(1) == " >-", f"{path.name}: documentation is not a folded scalar (>-)"
    body = text[head.end() + 1:].split("\n")
    body = body[:next((i for i, ln in enumerate(body) if ln and not ln.startswith(" ")), len(body))]
    assert all(len(ln) <= 100 for ln in body), [ln for ln in body if len(ln) > 100]
    doc = load(path)["documentation"].strip("\n\t ").replace("\\\n", "")  # as GRC's core reads it
    assert "\n\n\n" not in doc  # at most one blank line between paragraphs
    for line in doc.splitlines():
        assert not line or (line == line.strip() and line[-1] in ".)!?"), f"{path.name}: a line GRC shows " \
            f"ends mid-sentence or as a heading: {line[-60:]!r}"


def _call(doc: dict, values: dict) -> str:
    """The make template with each ${param} replaced by Python code for its value."""
    code = {}
    for p in doc["parameters"]:
        v = values.get(p["id"], p.get("default", ""))
        code[p["id"]] = repr(str(v)) if p["dtype"] in STRING_DTYPES else str(v)
    return re.sub(r"\$\{\s*(\w+)\s*\}", lambda m: code[m.group(1)], make_call(doc))


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_make_template_matches_block_class(path, env, tmp_path):
    doc = load(path)
    name = MAKE.match(make_call(doc)).group(1)
    cls = getattr(stegsem_blocks, name)
    params = {p["id"]: p for p in doc["parameters"]}
    make = doc["templates"]["make"]
    for pid in params:  # every GRC parameter reaches the constructor (a GUI hint places the widget)
        if params[pid]["dtype"] == "gui_hint":
            assert "${gui_hint() % win}" in make and "self.${id}.qwidget()" in make
            continue
        assert "${" + pid + "}" in make_call(doc), f"{pid} unused in make"
    call = ast.parse(_call(doc, {}), mode="eval").body
    sig = inspect.signature(cls.__init__)
    bound = sig.bind(None, *[ast.unparse(a) for a in call.args], **{k.arg: ast.unparse(k.value) for k in call.keywords})
    # GRC defaults equal the Python defaults where Python has one
    for arg, code in list(bound.arguments.items())[1:]:
        default = sig.parameters[arg].default
        if default is inspect.Parameter.empty:
            continue
        assert ast.literal_eval(code) == default, f"{name}.{arg}: GRC default {code} != Python {default!r}"
    # build it through the template and compare the message ports
    values = {"model_path": env / "jscc.safetensors", "jscc_path": env / "jscc.safetensors",
              "inn_path": env / "inn.safetensors", "paths": env / "imgs", "folder": tmp_path,
              "models_dir": env / "zoo"}
    if path.name.startswith("gr_stegsem_feature_"):  # these need a key (the INN blocks' default is none)
        (tmp_path / "k.key").write_text("ab" * 32)
        values["key_file"] = tmp_path / "k.key"
    if path.name.startswith("gr_stegsem_lwe_"):  # Bob's key, Alice's public key
        from gr_stegsem import keys, lwe

        (tmp_path / "k.key").write_text("ab" * 32)
        lwe.write_public(tmp_path / "k.pub", lwe.SecretKey(keys.load_key(tmp_path / "k.key")).public(256))
        values.update(key_file=tmp_path / "k.key", public_key=tmp_path / "k.pub")
    blk = eval(_call(doc, values), {"stegsem_blocks": stegsem_blocks})  # noqa: S307 - our own template
    if isinstance(blk, gr.hier_block2):  # a chain: GNU Radio lists no hierarchical port, the chain does
        ins, outs = set(blk.hier_ports_in), set(blk.hier_ports_out)
        assert all(blk.message_port_is_hier_in(pmt.intern(p)) for p in ins)
        assert all(blk.message_port_is_hier_out(pmt.intern(p)) for p in outs)
    else:
        ins = set(pmt.to_python(blk.message_ports_in())) - {"system"}
        outs = set(pmt.to_python(blk.message_ports_out()))
    assert ins == {p["id"] for p in doc.get("inputs", []) if p["domain"] == "message"}
    assert outs == {p["id"] for p in doc.get("outputs", []) if p["domain"] == "message"}
    streams_in = [p for p in doc.get("inputs", []) if p["domain"] == "stream"]
    assert blk.to_basic_block().input_signature().max_streams() == len(streams_in) or not streams_in
    streams_out = [p for p in doc.get("outputs", []) if p["domain"] == "stream"]
    assert blk.to_basic_block().output_signature().max_streams() == len(streams_out) or not streams_out
    for cb in doc["templates"].get("callbacks", []):
        assert callable(getattr(blk, cb.split("(")[0]))


@pytest.mark.skipif(shutil.which("grcc") is None, reason="grcc (GNU Radio Companion) not installed")
def test_grcc_generates_a_flowgraph_that_runs(env, tmp_path):
    """A .grc using every block compiles with grcc and runs to completion (sources with done=True)."""
    J, I, Z = str(env / "jscc.safetensors"), str(env / "inn.safetensors"), str(env / "zoo")
    ZOO = {"za": "attack", "zi": "inversion", "zg": "glassbox", "zc": "chosen", "zs": "surrogate"}  # image Eves
    blocks = {
        "hs": ("gr_stegsem_image_source", {"paths": str(env / "imgs"), "role": "'host'", "done": "True"}),
        "ps": ("gr_stegsem_image_source", {"paths": str(env / "imgs"), "role": "'private'", "done": "True"}),
        "he": ("gr_stegsem_jscc_encoder", {"model_path": J, "threads": "1"}),
        "pe": ("gr_stegsem_jscc_encoder", {"model_path": J}),
        "emb": ("gr_stegsem_inn_embed", {"jscc_path": J, "inn_path": I, "timeout": "2"}),
        "ch": ("gr_stegsem_symbol_channel", {"snr_db": "snr", "kind": "'rayleigh'"}),
        "snr": ("variable", {"value": "20"}),
        "ex": ("gr_stegsem_inn_extract", {"jscc_path": J, "inn_path": I, "lost": "'gaussian'", "seed": "3"}),
        "dp": ("gr_stegsem_jscc_decoder", {"model_path": J}),
        "en": ("gr_stegsem_eve_naive", {"model_path": J}),
        "em": ("gr_stegsem_eve_mia", {"model_path": J, "steps": "3", "queue_size": "4"}),
        "za": ("gr_stegsem_eve_attack", {"attack": "zoo_attack", "models_dir": Z, "mia_steps": "2", "queue_size": "4"}),
        "zoo_attack": ("variable", {"value": "'inversion'"}),  # the attack as an expression (flowgraph parameter)
        "zi": ("gr_stegsem_eve_inversion", {"models_dir": Z, "queue_size": "4"}),
        "zg": ("gr_stegsem_eve_glassbox", {"models_dir": Z, "lost": "'gaussian'", "seed": "2", "queue_size": "4"}),
        "zc": ("gr_stegsem_eve_chosen", {"models_dir": Z, "queue_size": "4"}),
        "zs": ("gr_stegsem_eve_surrogate", {"models_dir": Z, "queue_size": "4"}),
        "zd": ("gr_stegsem_eve_detect", {"models_dir": Z, "threshold": "0.25", "queue_size": "4"}),
        "zad": ("gr_stegsem_eve_attack", {"attack": "'detect'", "models_dir": Z, "queue_size": "4"}),
        "sd": ("gr_stegsem_score_sink", {"folder": str(tmp_path / "out"), "prefix": "det"}),
        "sad": ("gr_stegsem_score_sink", {"folder": str(tmp_path / "out"), "prefix": "att_det"}),
        "sp": ("gr_stegsem_image_sink", {"folder": str(tmp_path / "out"), "prefix": "bob",
                                         "reference": str(env / "imgs")}),
        "sn": ("gr_stegsem_image_sink", {"folder": str(tmp_path / "out"), "prefix": "eve"}),
        "sm": ("gr_stegsem_image_sink", {"folder": str(tmp_path / "out"), "prefix": "mia"}),
        **{f"s{z}": ("gr_stegsem_image_sink", {"folder": str(tmp_path / "out"), "prefix": ZOO[z]}) for z in ZOO},
        "dbg": ("blocks_message_debug", {"en_uvec": "False"}),
    }
    fg = {
        "options": {"parameters": {"id": "stegsem_qa", "generate_options": "no_gui", "output_language": "python",
                                   "run_options": "run", "title": "qa"},
                    "states": {"coordinate": [8, 8], "rotation": 0, "state": "enabled"}},
        "blocks": [{"name": n, "id": i, "parameters": p,
                    "states": {"coordinate": [8 + 160 * k, 160], "rotation": 0, "state": "enabled"}}
                   for k, (n, (i, p)) in enumerate(blocks.items())],
        "connections": [["hs", "out", "he", "in"], ["ps", "out", "pe", "in"], ["he", "out", "emb", "host"],
                        ["pe", "out", "emb", "private"], ["emb", "out", "ch", "in"], ["ch", "out", "ex", "in"],
                        ["ch", "out", "en", "in"], ["ch", "out", "em", "in"], ["ex", "private", "dp", "in"],
                        ["dp", "out", "sp", "in"], ["en", "out", "sn", "in"], ["em", "out", "sm", "in"],
                        ["sp", "metrics", "dbg", "print"], ["ch", "out", "zd", "in"], ["zd", "score", "sd", "in"],
                        ["ch", "out", "zad", "in"], ["zad", "score", "sad", "in"]]
                       + [c for z in ZOO for c in (["ch", "out", z, "in"], [z, "out", f"s{z}", "in"])],
        "metadata": {"file_format": 1},
    }
    grc = tmp_path / "qa.grc"
    grc.write_text(yaml.safe_dump(fg))
    run_env = dict(os.environ, GRC_BLOCKS_PATH=str(GRC), OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    # grcc under this Python, as GRC's GUI runs under it (`stegsem grc`): /usr/bin/python3 has no torch,
    # so there GRC cannot import the blocks' modules to evaluate their parameters
    r = subprocess.run([sys.executable, shutil.which("grcc"), "-o", str(tmp_path), str(grc)], capture_output=True,
                       text=True, env=run_env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    script = tmp_path / "stegsem_qa.py"
    assert "stegsem_blocks.symbol_channel(snr, kind='rayleigh', seed=0)" in script.read_text()
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=run_env, timeout=120,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    names = sorted(p.name for p in (tmp_path / "out").glob("*.png"))
    assert names == sorted(f"{w}_0000{i}.png" for w in ("bob", "eve", "mia", *ZOO.values()) for i in range(2))
    assert r.stdout.count("psnr") == 2  # the metrics PDUs printed by message_debug
    for det in ("det", "att_det"):  # the detectors' verdicts, one row per frame
        rows = (tmp_path / "out" / f"{det}.csv").read_text().splitlines()
        assert rows[0] == "frame_id,score,decision,threshold" and [r.split(",")[0] for r in rows[1:]] == ["0", "1"]
    assert all(r.endswith(",0.25") for r in (tmp_path / "out" / "det.csv").read_text().splitlines()[1:])


# --- the shipped flowgraphs in GRC itself: no red block, Run, the GUI under Xvfb ---------------------
FLOWGRAPHS = sorted((ROOT / "flowgraphs").glob("*.grc"))


@pytest.fixture(scope="module")
def grc_platform():
    """GRC's own core Platform (the one gnuradio-companion paints its blocks from) with the system
    blocks and gr-stegsem's block YAML, as `stegsem grc` puts them on the block path. Its docstring
    extraction subprocess (tooltips only) is left out: it would import every block module again."""
    from gnuradio import gr
    from gnuradio.grc.core.platform import Platform

    from gr_stegsem.resources import grc_dir

    class NoDocstrings:
        def start(self): pass
        def finish(self): pass
        def query(self, *args, **kwargs): pass

    platform = Platform(version=gr.version(), prefs=gr.prefs(),
                        version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()))
    platform._docstring_extractor = NoDocstrings()
    system = [p for p in gr.prefs().get_string("grc", "global_blocks_path", "").split(os.pathsep) if os.path.isdir(p)]
    platform.build_library([*system, str(grc_dir())])
    return platform


def grc_load(platform, path: Path):
    """Load ``path`` as GRC's GUI does (parse, import, rewrite, validate); returns the flow graph."""
    fg = platform.make_flow_graph()
    fg.grc_file_path = str(path)
    fg.import_data(platform.parse_flow_graph(str(path)))
    fg.rewrite()
    fg.validate()
    return fg


def red_blocks(fg) -> list[str]:
    """What GRC's GUI would paint red in ``fg``, one line each: a missing block (unknown id), a block,
    port, parameter or connection with an error, and the flow graph's own errors."""
    bad = [f"{b.name}: missing block {b.key!r} (not on the block path)" for b in fg.blocks if b.is_dummy_block]
    bad += [f"{b.name} ({b.key}): {'; '.join(b.get_error_messages())}"
            for b in fg.blocks if not b.is_dummy_block and not b.is_valid()]
    bad += [f"connection {c}: {'; '.join(c.get_error_messages())}" for c in fg.connections if not c.is_valid()]
    bad += [f"flow graph: {m}" for elem, m in fg.iter_error_messages() if elem is fg]
    return bad


@pytest.mark.parametrize("path", FLOWGRAPHS, ids=lambda p: p.stem)
def test_shipped_flowgraph_has_no_red_block_in_grc(grc_platform, path):
    """Every flowgraphs/*.grc loads in GRC's core with every block found and valid: GRC's GUI paints
    nothing red. (GRC's flow-graph schema check is not used: in 3.10.5 it flags its own examples.)"""
    fg = grc_load(grc_platform, path)
    assert len(fg.blocks) > 1 and not red_blocks(fg) and fg.is_valid(), "\n".join(red_blocks(fg))


def test_red_block_check_sees_errors(grc_platform, tmp_path):
    """The check above fails on a broken flowgraph: an unknown block id and an undefined name."""
    doc = yaml.safe_load((ROOT / "flowgraphs" / "sim_awgn.grc").read_text())
    by_name = {b["name"]: b for b in doc["blocks"]}
    by_name["mia_steps"]["parameters"]["value"] = "no_such_name"
    by_name["bob_rx"]["id"] = "gr_stegsem_no_such_block"
    (tmp_path / "broken.grc").write_text(yaml.safe_dump(doc))
    bad = "\n".join(red_blocks(grc_load(grc_platform, tmp_path / "broken.grc")))
    assert "bob_rx: missing block 'gr_stegsem_no_such_block'" in bad
    assert "mia_steps (parameter)" in bad and "no_such_name" in bad


def test_run_button_runs_sim_awgn(grc_platform, env, tmp_path):
    """GRC's Run button: the edited flow graph is saved, its .py generated next to the .grc and run by
    the interpreter GRC runs under (this venv's Python, as `stegsem grc` starts it) with the .grc's
    folder as working directory; sim_awgn (32 px, tiny models) runs to its end by itself."""
    grc = tmp_path / "sim_awgn.grc"
    fg = grc_load(grc_platform, ROOT / "flowgraphs" / "sim_awgn.grc")
    for name, value in {"size": "32", "mia_steps": "2", "jscc_model": repr(str(env / "jscc.safetensors")),
                        "inn_model": repr(str(env / "inn.safetensors"))}.items():
        fg.get_block(name).params["value"].set_value(value)  # the user's edits in the Parameter blocks
    fg.grc_file_path = str(grc)
    fg.rewrite()
    fg.validate()
    assert fg.is_valid(), "\n".join(red_blocks(fg))
    grc_platform.save_flow_graph(str(grc), fg)
    generator = grc_platform.Generator(fg, str(grc.parent))  # as gui.Notebook.Page.get_generator
    generator.write()
    assert Path(generator.file_path) == tmp_path / "sim_awgn.py"
    cmd = fg.get_run_command(generator.file_path, split=True)  # as gui.Executor: '{python} -u {filename}'
    assert cmd[0] == sys.executable
    run_env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))  # what `stegsem grc` gives GRC
    t0 = time.monotonic()
    r = subprocess.run(cmd, cwd=grc.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       env=run_env, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout[-3000:]
    out = tmp_path / "out" / "sim_awgn"  # the default 'out/sim_awgn', relative to the .grc's folder
    names = {p.name for p in out.glob("*.png")}
    assert {"bob_host_00000.png", "bob_private_00000.png", "eve_naive_00000.png"} <= names, (names, r.stdout[-2000:])
    print(f"Run: {' '.join(cmd)} in {time.monotonic() - t0:.1f} s")


# --- the layout: no block covers another or its ports ----------------------------------------------
@pytest.mark.parametrize("path", FLOWGRAPHS, ids=lambda p: p.stem)
def test_shipped_layout_has_no_overlapping_blocks(path):
    """No two blocks of a shipped .grc meet on GRC's canvas: their rectangles, as tools/make_flowgraphs.py
    estimates them from the block YAML and the values in the file (ports' labels included), are
    disjoint. (test_grc_geometry_lies_inside_the_estimates checks the estimates against GRC itself.)"""
    rects = make_flowgraphs.grc_extents(load(path))
    assert len(rects) == len(load(path)["blocks"]) + 1  # every block and the options block
    assert all(x0 >= 0 and y0 >= 0 for x0, y0, _, _ in rects.values()), "a block off the canvas"
    assert not make_flowgraphs.overlaps(rects)


def test_overlap_check_sees_blocks_and_ports():
    """The check fails on sim_awgn's earlier faults: a variable on a block (bob_noise on the Alice
    chain), a block over another's port labels (a sink put just right of bob_host_sink's body,
    where its 'metrics' and 'done' labels are), two sinks side by side closer than their width."""
    doc = load(ROOT / "flowgraphs" / "sim_awgn.grc")
    by_name = {b["name"]: b for b in doc["blocks"]}
    at = {n: by_name[n]["states"]["coordinate"] for n in ("alice", "bob_host_sink", "eve_naive_sink")}
    sink = make_flowgraphs.block_geometry("gr_stegsem_image_sink", "bob_host_sink", by_name["bob_host_sink"]
                                          ["parameters"])
    assert sink.right > 0 and sink.width > 232  # wider than the old 232 px grid column
    by_name["bob_noise"]["states"]["coordinate"] = [at["alice"][0] + 8, at["alice"][1] + 8]
    by_name["eve_naive_host"]["states"]["coordinate"] = [at["eve_naive_sink"][0] + 232, at["eve_naive_sink"][1]]
    by_name["bob_private_sink"]["states"]["coordinate"] = [at["bob_host_sink"][0] + sink.width + 2,
                                                           at["bob_host_sink"][1]]
    found = {tuple(sorted(p)) for p in make_flowgraphs.overlaps(make_flowgraphs.grc_extents(doc))}
    assert found == {("alice", "bob_noise"), ("eve_naive_host", "eve_naive_sink"),
                     ("bob_host_sink", "bob_private_sink")}, found


# GRC's own geometry: its GUI canvas blocks (gnuradio.grc.gui) laid out as GRC's window does, at its
# default view (the Actions' preference defaults), without a window: GTK needs a display (Xvfb)
GEOMETRY_SCRIPT = r"""
import json, os, sys
import gi
gi.require_version("Gtk", "3.0")
gi.require_version("PangoCairo", "1.0")
from gi.repository import Gio, Gtk
from gnuradio import gr
from gnuradio.grc.gui.Platform import Platform  # first: it imports the GUI's modules in their order
from gnuradio.grc.gui import Actions
from gnuradio.grc.gui.canvas import flowgraph as canvas_flowgraph

canvas_flowgraph._ContextMenu = lambda main_window: None  # the right-click menu needs GRC's main window
app = Gtk.Application()  # kept: the canvas looks its main window up in the default application
Gio.Application.set_default(app)
for action in vars(Actions).values():
    if isinstance(action, Actions.Action) and action.preference_name:
        action.set_active(bool(action.default))  # as a fresh grc.conf: port labels shown, no block ids


class NoDocstrings:
    def start(self): pass
    def finish(self): pass
    def query(self, *args, **kwargs): pass


platform = Platform(version=gr.version(), prefs=gr.prefs(), install_prefix=gr.prefix(),
                    version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()))
platform._docstring_extractor = NoDocstrings()
system = [p for p in gr.prefs().get_string("grc", "global_blocks_path", "").split(os.pathsep) if os.path.isdir(p)]
platform.build_library([*system, sys.argv[1]])
out = {}
for path in sys.argv[3:]:
    fg = platform.make_flow_graph()
    fg.grc_file_path = path
    fg.import_data(platform.parse_flow_graph(path))
    fg.update()  # rewrite, validate, the blocks' labels and shapes
    out[path] = {b.name: [float(v) for v in b.get_extents()] for b in fg.blocks}
json.dump(out, open(sys.argv[2], "w"))
"""


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed (apt: xvfb; tools/setup.sh)")
def test_grc_geometry_lies_inside_the_estimates(tmp_path):
    """GRC 3.10's own canvas geometry of every shipped flowgraph (its GUI blocks' extents with their
    ports, computed under Xvfb at GRC's default view): no two blocks meet, and each lies inside the
    rectangle tools/make_flowgraphs.py estimated and laid the flowgraph out with."""
    missing = _gtk_missing()
    if missing:
        pytest.skip(missing)
    xvfb, display = _start_xvfb(tmp_path, tmp_path / "xvfb.log")
    try:
        run_env = dict(os.environ, DISPLAY=display, GRC_PREFS_PATH=str(tmp_path / "grc.conf"), NO_AT_BRIDGE="1",
                       OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
        run_env.pop("WAYLAND_DISPLAY", None)
        r = subprocess.run([sys.executable, "-c", GEOMETRY_SCRIPT, str(GRC), str(tmp_path / "geometry.json"),
                            *map(str, FLOWGRAPHS)], env=run_env, cwd=tmp_path, capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
    finally:
        _stop(xvfb)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    real = json.loads((tmp_path / "geometry.json").read_text())
    for path in FLOWGRAPHS:
        grc = {name: tuple(e) for name, e in real[str(path)].items()}
        est = make_flowgraphs.grc_extents(load(path))
        assert grc.keys() == est.keys(), path.stem
        assert not make_flowgraphs.overlaps(grc), (path.stem, make_flowgraphs.overlaps(grc))
        outside = {n: (grc[n], est[n]) for n in grc
                   if not (est[n][0] <= grc[n][0] and est[n][1] <= grc[n][1] and grc[n][2] <= est[n][2]
                           and grc[n][3] <= est[n][3])}
        assert not outside, (path.stem, outside)


# the GUI under Xvfb: Xvfb keeps its screen as an XWD file in -fbdir, read here without a screenshot tool
GUI_FLOWGRAPH = ROOT / "flowgraphs" / "sim_awgn.grc"
SCREEN = (3300, 1700)  # px: sim_awgn's canvas is 3176 x 1480 px (tools/make_flowgraphs.py), and GRC's toolbars
GRC_PREFS = """[main]
main_window_width = {0}
main_window_height = {1}
console_window_visible = False
blocks_window_visible = False
variable_editor_visable = False
"""  # GRC's GUI preferences (GRC_PREFS_PATH): the whole window is canvas; the user's grc.conf is untouched


def read_xwd(path: Path) -> np.ndarray:
    """An XWD file of a 32-bit TrueColor screen (Xvfb's -fbdir screen) -> (H, W, 3) uint8 RGB."""
    raw = path.read_bytes()
    h = np.frombuffer(raw, ">u4", count=25)
    size, width, height, byte_order, bpp, line, ncolors = (int(h[i]) for i in (0, 4, 5, 7, 11, 12, 19))
    if bpp != 32:
        raise ValueError(f"{path}: {bpp} bits per pixel; only 32 is read")
    px = np.frombuffer(raw, "<u4" if byte_order == 0 else ">u4", count=line // 4 * height,
                       offset=size + 12 * ncolors).reshape(height, line // 4)[:, :width]
    chans = []
    for mask in (int(h[14]), int(h[15]), int(h[16])):
        shift = (mask & -mask).bit_length() - 1
        chans.append(((px & mask) >> shift).astype(np.uint8))
    return np.stack(chans, axis=-1)


def canvas_red(img: np.ndarray) -> tuple[int, int]:
    """(red pixels on the canvas, block-coloured pixels): GRC draws an invalid block's title and bad
    values in red, a missing block's border and a bad connection in #FF0000; blocks are #F1ECFF. The
    canvas (white, #FFFFFF) starts below the toolbar, whose icons have some red."""
    white = (img == 255).all(axis=-1).mean(axis=1) > 0.5
    top = int(np.argmax(white)) if white.any() else img.shape[0]
    c = img[top:].astype(int)
    r, g, b = c[..., 0], c[..., 1], c[..., 2]
    red = (r > 150) & (r - g > 80) & (r - b > 80)
    block = (r == 0xF1) & (g == 0xEC) & (b == 0xFF)
    return int(red.sum()), int(block.sum())


def _start_xvfb(fbdir: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """Xvfb on a free display (it picks one: -displayfd); returns (process, ':N')."""
    rd, wr = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(wr), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                             "-fbdir", str(fbdir), "-nolisten", "tcp"], pass_fds=(wr,),
                            stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    os.close(wr)
    got = b""
    try:
        while not got.endswith(b"\n") and select.select([rd], [], [], 10)[0]:
            chunk = os.read(rd, 16)
            if not chunk:
                break
            got += chunk
    finally:
        os.close(rd)
    if not got.strip().isdigit():
        _stop(proc)
        pytest.fail(f"Xvfb did not start: {log.read_text()[-1000:]}")
    return proc, f":{got.decode().strip()}"


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> int:
    """Stop a process this test started and whatever it started in its session; returns its status."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session (start_new_session): e.g. GRC's docs helper
    except ProcessLookupError:
        pass
    return proc.returncode


def _gtk_missing() -> str | None:
    r = subprocess.run([sys.executable, "-c", "import gi; gi.require_version('Gtk', '3.0')"], capture_output=True)
    return None if r.returncode == 0 else "GTK 3 introspection missing (apt: gir1.2-gtk-3.0; tools/setup.sh)"


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb not installed (apt: xvfb; tools/setup.sh)")
@pytest.mark.skipif(shutil.which("gnuradio-companion") is None, reason="gnuradio-companion not installed")
def test_grc_gui_opens_sim_awgn_under_xvfb(tmp_path):
    """`stegsem grc flowgraphs/sim_awgn.grc` under Xvfb: GRC loads it with no error in its log, paints
    every block and no red on the canvas, and is still running; then it is terminated. The screenshot
    is left in the test's tmp folder (printed)."""
    missing = _gtk_missing()
    if missing:
        pytest.skip(missing)
    grc = GUI_FLOWGRAPH
    (tmp_path / "grc.conf").write_text(GRC_PREFS.format(*SCREEN))
    xvfb, display = _start_xvfb(tmp_path, tmp_path / "xvfb.log")
    log = tmp_path / "grc.log"
    shot = tmp_path / "grc_sim_awgn.png"
    run_env = dict(os.environ, DISPLAY=display, GRC_PREFS_PATH=str(tmp_path / "grc.conf"), NO_AT_BRIDGE="1",
                   OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1")
    run_env.pop("WAYLAND_DISPLAY", None)
    t0 = time.monotonic()
    gui = subprocess.Popen([sys.executable, "-m", "gr_stegsem", "grc", str(grc)], env=run_env, cwd=tmp_path,
                           stdout=log.open("w"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        deadline = t0 + 90
        while ">>> Done" not in log.read_text() and gui.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ">>> Done" in log.read_text(), f"GRC did not load {grc} (exit {gui.poll()}):\n{log.read_text()[-3000:]}"
        last = img = read_xwd(tmp_path / "Xvfb_screen0")
        while time.monotonic() < deadline:  # drawn: blocks on screen and two frames alike
            time.sleep(0.3)
            img = read_xwd(tmp_path / "Xvfb_screen0")
            if canvas_red(img)[1] > 0 and np.array_equal(img, last):
                break
            last = img
        Image.fromarray(img).save(shot)
        loaded = time.monotonic() - t0
        alive = gui.poll() is None
    finally:
        code = _stop(gui)
        _stop(xvfb)
    print(f"GRC screenshot: {shot} (window drawn {loaded:.1f} s after start)")
    text = log.read_text()
    assert alive, f"GRC exited ({code}):\n{text[-3000:]}"
    assert f'Loading: "{grc}"' in text and str(ROOT / "grc") in text, text[-3000:]
    # GRC's own messages: its log ('[ERROR] ...'), load/generate errors, tracebacks (not GLib's chatter)
    errors = [ln for ln in text.splitlines()
              if re.search(r"\[(ERROR|CRITICAL|WARNING)\]|Traceback|\bError\b|[Mm]issing", ln)]
    assert not errors, "\n".join(errors[:20])
    red, block = canvas_red(img)
    assert red == 0, f"{red} red pixels on GRC's canvas: see {shot}"
    assert block > 200_000, f"only {block} block-coloured pixels: GRC did not paint the flowgraph; see {shot}"
    assert code == -signal.SIGTERM, f"GRC did not stop on SIGTERM (exit {code})"
