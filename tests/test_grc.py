"""The GRC block definitions in grc/: YAML schema, make templates against the Python blocks, grcc."""
from __future__ import annotations

import ast
import inspect
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402

from gr_stegsem import blocks as stegsem_blocks  # noqa: E402
from tests.conftest import write_tiny_eve_models, write_tiny_models  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GRC = ROOT / "grc"
PHY_YAMLS = [GRC / f"gr_stegsem_{b}.block.yml" for b in ("phy_tx", "phy_rx", "segment_drop", "sigmf_sink", "sigmf_source")]
YAMLS = sorted(p for p in GRC.glob("*.block.yml") if p not in PHY_YAMLS)  # gr_stegsem.blocks
# the PHY's blocks (gr_stegsem.phy.blocks) are compiled and run in tests/test_phy_blocks.py through
# sim_radio / replay_*, whose .grc use them
MAKE = re.compile(r"^stegsem_blocks\.(\w+)\((.*)\)$", re.S)
STRING_DTYPES = ("string", "file_open", "file_save", "dir_select")
STREAM_BLOCKS = ("burst_to_pdu", "zmq_iq_source")  # blocks with a stream port (the others are message-only)


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = tmp_path_factory.mktemp("grc")
    write_tiny_models(d, "jscc", ("inn",), perturb=False)
    (d / "zoo").mkdir()  # the Eve zoo's blocks: a scheme's models and every trained Eve's, by their names
    write_tiny_eve_models(write_tiny_models(d / "zoo")["dir"])
    (d / "imgs").mkdir()
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(d / "imgs" / f"i{i}.png")
    return d


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


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
    m = MAKE.match(doc["templates"]["make"].strip())
    assert m and m.group(1) == name


def _call(doc: dict, values: dict) -> str:
    """The make template with each ${param} replaced by Python code for its value."""
    code = {}
    for p in doc["parameters"]:
        v = values.get(p["id"], p.get("default", ""))
        code[p["id"]] = repr(str(v)) if p["dtype"] in STRING_DTYPES else str(v)
    return re.sub(r"\$\{\s*(\w+)\s*\}", lambda m: code[m.group(1)], doc["templates"]["make"].strip())


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.name)
def test_make_template_matches_block_class(path, env, tmp_path):
    doc = load(path)
    name = MAKE.match(doc["templates"]["make"].strip()).group(1)
    cls = getattr(stegsem_blocks, name)
    params = {p["id"]: p for p in doc["parameters"]}
    make = doc["templates"]["make"]
    for pid in params:  # every GRC parameter reaches the constructor
        assert "${" + pid + "}" in make, f"{pid} unused in make"
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
    blk = eval(_call(doc, values), {"stegsem_blocks": stegsem_blocks})  # noqa: S307 - our own template
    ins = set(pmt.to_python(blk.message_ports_in())) - {"system"}
    outs = set(pmt.to_python(blk.message_ports_out()))
    assert ins == {p["id"] for p in doc.get("inputs", []) if p["domain"] == "message"}
    assert outs == {p["id"] for p in doc.get("outputs", []) if p["domain"] == "message"}
    streams_in = [p for p in doc.get("inputs", []) if p["domain"] == "stream"]
    assert blk.to_basic_block().input_signature().max_streams() == len(streams_in) or not streams_in
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
    r = subprocess.run(["grcc", "-o", str(tmp_path), str(grc)], capture_output=True, text=True, env=run_env,
                       timeout=120)
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
