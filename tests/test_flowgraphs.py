"""The generated flowgraphs (flowgraphs/): grcc output is committed, sim_awgn runs and agrees with the offline path."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402
from gnuradio import blocks as gr_blocks  # noqa: E402

from gr_stegsem import flowgraphs as fgs  # noqa: E402
from gr_stegsem.checkpoint import CheckpointError  # noqa: E402
from gr_stegsem.images import tensor_to_array  # noqa: E402
from gr_stegsem.models import DeepJSCCConfig  # noqa: E402
from gr_stegsem.models.deepjscc import from_complex  # noqa: E402
from gr_stegsem.pipeline import transmit  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402
from tests.conftest import TINY_JSCC, write_tiny_models  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
FLOWGRAPHS = ROOT / "flowgraphs"
GRCS = sorted(FLOWGRAPHS.glob("*.grc"))
CFG = DeepJSCCConfig(**TINY_JSCC)
INF = float("inf")

sys.path.insert(0, str(ROOT / "tools"))
import make_flowgraphs  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny random DeepJSCC + INN (INN perturbed so it is not the identity), as model files."""
    return write_tiny_models(tmp_path_factory.mktemp("fg_models"))


def sim_params(models, out, **kw):
    p = dict(size=32, jscc_model=models["jscc"], inn_model=models["inn"], mia_steps=0, out=str(out))
    p.update(kw)
    return p


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


# --- the files ----------------------------------------------------------------------------------------
def test_every_flowgraph_is_committed():
    assert sorted(p.stem for p in GRCS) == sorted(fgs.NAMES) == sorted(make_flowgraphs.GRAPHS)
    for name in fgs.NAMES:
        assert (FLOWGRAPHS / f"{name}.py").is_file()
    assert (FLOWGRAPHS / "README.md").is_file()


@pytest.mark.parametrize("name", fgs.NAMES)
def test_grc_is_what_make_flowgraphs_writes(name, tmp_path):
    """The committed .grc equals the description in tools/make_flowgraphs.py."""
    new = make_flowgraphs.write_grc(make_flowgraphs.GRAPHS[name](), tmp_path)
    assert new.read_text() == (FLOWGRAPHS / f"{name}.grc").read_text(), "run tools/make_flowgraphs.py"


def _strip(text: str) -> list[str]:
    # nothing in grcc's output depends on the date; drop a generator stamp line should one appear.
    # grcc orders two connections between the same pair of blocks (eve_attack's 'out' and 'score' to
    # Eve's PUB in zmq_eve) differently from run to run: compare the connections as a sorted set
    lines = [ln for ln in text.splitlines() if not re.match(r"#\s*(Generated|Date)", ln)]
    conn = [ln for ln in lines if ln.lstrip().startswith(("self.connect(", "self.msg_connect("))]
    return [ln for ln in lines if ln not in conn] + sorted(conn)


@pytest.mark.skipif(shutil.which("grcc") is None, reason="grcc not installed")
def test_grcc_compiles_all_and_matches_committed_py(tmp_path):
    """Every flowgraphs/*.grc compiles with grcc (GRC_BLOCKS_PATH=grc) and gives the committed .py."""
    cmd = make_flowgraphs.grcc_command() + ["-o", str(tmp_path)] + [str(p) for p in GRCS]
    r = subprocess.run(cmd, capture_output=True, text=True, env=make_flowgraphs.grcc_env(), timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for grc in GRCS:
        fresh = tmp_path / f"{grc.stem}.py"
        assert _strip(fresh.read_text()) == _strip((FLOWGRAPHS / fresh.name).read_text()), \
            f"{fresh.name} differs from grcc's output: run tools/make_flowgraphs.py"


def test_flowgraph_descriptions_name_their_limits():
    for name in ("usrp_alice", "usrp_bob", "usrp_eve", "usrp_loopback"):
        text = (FLOWGRAPHS / f"{name}.py").read_text()
        assert "PHY" in text and "OFDM" in text
    readme = (FLOWGRAPHS / "README.md").read_text()
    for needle in ("high-water", "slow joiner", fgs.ZMQ_SAMPLES, fgs.ZMQ_BOB, fgs.ZMQ_EVE, "PHY", "grcc",
                   "Two USRPs", "One USRP", "attenuat", "SigMF", "stegsem replay"):
        assert needle in readme
    for name in fgs.NAMES:  # every flowgraph is documented
        assert f"`{name}`" in readme, name


# --- sim_awgn -------------------------------------------------------------------------------------
def test_sim_awgn_runs_end_to_end_and_ends_by_itself(models, tmp_path):
    res = fgs.run_sim(timeout=60, **sim_params(models, tmp_path, mia_steps=2))
    assert res.finished and res.seconds < 60
    recs = res.records
    for sink in ("bob_host_sink", "bob_private_sink", "eve_naive_sink", "eve_mia_sink"):
        (r,) = recs[sink]
        assert r["frame_id"] == 0 and png(r["path"]).shape == (32, 32, 3)
        assert np.isfinite(r["psnr"]) and np.isfinite(r["lpips"])
    assert recs["bob_host_sink"][0]["role"] == "host" and recs["bob_private_sink"][0]["role"] == "private"
    assert recs["eve_naive_host"][0]["path"] is None and "psnr" in recs["eve_mia_host"][0]
    rep = fgs.sim_report(res, 10.0, 5.0)
    assert list(rep["images"]) == ["bob/host", "bob/private", "eve/naive", "eve/mia"]
    assert {(r["receiver"], r["target"]) for r in rep["metrics"]} == {
        ("bob/host", "host"), ("bob/private", "private"), ("eve/naive", "private"), ("eve/naive", "host"),
        ("eve/mia", "private"), ("eve/mia", "host")}


@pytest.mark.parametrize("secure", [1, 0])
def test_sim_awgn_equals_offline_path_noise_off(models, tmp_path, secure):
    """Noise off: Bob's and Eve's images from the flowgraph equal the offline StegoSystem path byte for byte."""
    res = fgs.run_sim(timeout=60, **sim_params(models, tmp_path, snr_bob=INF, snr_eve=INF, secure=secure))
    system = StegoSystem.load(models["jscc"], models["inn"] if secure else None)
    xh, xp = fgs.sent_image("", "host", 32), fgs.sent_image("", "private", 32)
    off = transmit(system, xh, xp, INF, INF, mia_steps=0)["images"]
    pairs = [("bob/private", "bob_private_sink"), ("eve/naive", "eve_naive_sink")]
    if secure:
        pairs.append(("bob/host", "bob_host_sink"))
    else:
        assert res.records["bob_host_sink"] == []  # plain DeepJSCC: nothing is hidden
    for key, sink in pairs:
        assert np.array_equal(png(res.records[sink][0]["path"]), tensor_to_array(off[key])), key
    if secure:  # the container is not the private image: Eve's naive decoding is not Bob's private image
        assert not np.array_equal(tensor_to_array(off["eve/naive"]), tensor_to_array(off["bob/private"]))


def _attach(tb, src, port):
    dbg = gr_blocks.message_debug()
    tb.msg_connect((src, port), (dbg, "store"))
    return dbg


def _vectors(dbg):
    return [np.asarray(pmt.c32vector_elements(pmt.cdr(dbg.get_message(i)))) for i in range(dbg.num_messages())]


def test_sim_awgn_noise_power_matches_snr_and_receivers_match_offline(models, tmp_path):
    """Noise on: the noise measured at Bob and Eve is 10^(-SNR/10) (Es = 1), Bob's and Eve's noise differ,
    and the offline receivers on the same received symbols give the flowgraph's images byte for byte."""
    snr_bob, snr_eve, size = 10.0, 5.0, 64
    tb = fgs.build("sim_awgn", **sim_params(models, tmp_path, size=size, snr_bob=snr_bob, snr_eve=snr_eve, seed=3))
    sent = _attach(tb, tb.alice.embed, "out")  # inside Alice's chain
    at_bob, at_eve = _attach(tb, tb.bob_rx, "pdus"), _attach(tb, tb.eve_rx, "pdus")
    res = fgs.run(tb, timeout=60)
    assert res.finished
    (x,), (yb,), (ye,) = _vectors(sent), _vectors(at_bob), _vectors(at_eve)
    assert x.size == 4 * (size // 4) ** 2 == yb.size == ye.size  # k = 1024 symbols at bcr 1/12
    assert np.mean(np.abs(x) ** 2) == pytest.approx(1.0, rel=1e-3)
    nb, ne = yb - x, ye - x
    for n, snr in ((nb, snr_bob), (ne, snr_eve)):  # 1024 samples: ~3 % standard error
        assert np.mean(np.abs(n) ** 2) == pytest.approx(10 ** (-snr / 10), rel=0.15)
    corr = abs(np.vdot(nb, ne)) / np.sqrt(np.vdot(nb, nb).real * np.vdot(ne, ne).real)
    assert corr < 0.15  # distinct noise seeds for Bob and Eve
    system = StegoSystem.load(models["jscc"], models["inn"])
    shape = (CFG.latent_channels, size // 4, size // 4)
    y_bob = from_complex(torch.from_numpy(yb.astype(np.complex64))[None], shape)
    y_eve = from_complex(torch.from_numpy(ye.astype(np.complex64))[None], shape)
    bob = system.bob(y_bob, (size, size))
    for role in ("host", "private"):
        assert np.array_equal(png(res.records[f"bob_{role}_sink"][0]["path"]), tensor_to_array(bob[role][0]))
    eve = system.eve_naive(y_eve, (size, size))[0]
    assert np.array_equal(png(res.records["eve_naive_sink"][0]["path"]), tensor_to_array(eve))


def test_sim_awgn_carries_a_512px_burst(models, tmp_path):
    """The tagged stream's buffer holds a 512x512 burst (k = 65536 + guards): the frame gets through."""
    tb = fgs.build("sim_awgn", **sim_params(models, tmp_path, size=512))
    assert fgs.burst_samples(models["jscc"], 512, 16) == 65536 + 32
    assert tb.to_stream.min_output_buffer(0) >= 2 * (65536 + 32)
    sent = _attach(tb, tb.alice.embed, "out")
    res = fgs.run(tb, timeout=60)
    assert res.finished and len(res.records["bob_private_sink"]) == 1 and sent.num_messages() == 1
    assert png(res.records["bob_private_sink"][0]["path"]).shape == (512, 512, 3)


def test_missing_model_is_a_clear_error_at_construction(models, tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(CheckpointError, match=r"sim_awgn: .*not found: .*nope\.safetensors"):
        fgs.build("sim_awgn", **sim_params(models, tmp_path, jscc_model=str(missing)))
    with pytest.raises(CheckpointError, match="not found"):
        fgs.build("sim_awgn", **sim_params(models, tmp_path, inn_model=str(missing)))
    with pytest.raises(FileNotFoundError, match="sim_awgn: .*no.png"):
        fgs.build("sim_awgn", **sim_params(models, tmp_path, host=str(tmp_path / "no.png")))
    with pytest.raises(fgs.FlowgraphError, match="unexpected keyword"):
        fgs.build("sim_awgn", snr=3)


def test_run_is_bounded(models, tmp_path):
    """A flowgraph that would run forever (Alice looping) is stopped at the timeout."""
    tb = fgs.build("zmq_alice", **{k: v for k, v in sim_params(models, tmp_path).items()
                                   if k in ("size", "jscc_model", "inn_model")},
                   address="tcp://127.0.0.1:*", interval=0.05)
    t0 = time.monotonic()
    res = fgs.run(tb, timeout=1.5)
    assert not res.finished and time.monotonic() - t0 < 10
    assert tb.alice.embed.n_out >= 2  # it was looping


def test_generated_script_is_a_command(models, tmp_path):
    """flowgraphs/sim_awgn.py runs from the shell with its parameters as options and exits by itself."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    out = tmp_path / "cmd"
    r = subprocess.run([sys.executable, str(FLOWGRAPHS / "sim_awgn.py"), "--size", "32", "--snr-bob", "20",
                        "--jscc-model", models["jscc"], "--inn-model", models["inn"], "--mia-steps", "0",
                        "--out", str(out), "--seed", "1"],
                       capture_output=True, text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in out.glob("*.png")) == ["bob_host_00000.png", "bob_private_00000.png",
                                                         "eve_naive_00000.png"]
    assert "PSNR" in r.stderr + r.stdout


# --- stegsem demo ---------------------------------------------------------------------------------
def test_demo_runs_the_flowgraph(models, tmp_path, monkeypatch, capsys):
    import gr_stegsem.system as system
    from gr_stegsem.cli import main

    monkeypatch.setattr(system, "MODELS_DIR", models["dir"])
    out = tmp_path / "demo"
    assert main(["demo", "--size", "32", "--mia-steps", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "sim_awgn" in text and str(out / "grid.png") in text
    md = (out / "metrics.md").read_text()
    for rx in ("bob/host", "bob/private", "eve/naive", "eve/mia"):
        assert f"| {rx} |" in md
    assert (out / "grid.png").stat().st_size > 0 and (out / "frames" / "bob_private_00000.png").is_file()
    assert (out / "grid.pdf").read_bytes()[:5] == b"%PDF-"  # the grid also as PDF
    # beside it, plain DeepJSCC on the same images at Bob's SNR, and the note on the embedded images
    import torch

    from gr_stegsem.metrics import psnr
    from gr_stegsem.samples import default_image

    bob = {c[1]: float(c[4]) for c in (r.split("|") for r in md.splitlines()) if c[1:2] in ([" bob/private "],
                                                                                            [" bob/host "])}
    ref = {c[1].strip(): [float(v) for v in c[2:5]] for c in (r.split("|") for r in md.splitlines())
           if c[1:2] in ([" private "], [" host "])}
    plain = system.StegoSystem.load(models["jscc"])
    g = torch.Generator().manual_seed(0)
    for role in ("private", "host"):
        x = default_image(role, 32)[None]
        want = float(psnr(plain.bob(plain.channel(plain.alice(None, x), 10.0, "awgn", g), (32, 32))["private"], x))
        got, stego, cost = ref[role]
        assert got == pytest.approx(want, abs=0.01) and stego == pytest.approx(bob[f" bob/{role} "], abs=0.01)
        assert cost == pytest.approx(got - stego, abs=0.011)
    assert "outside the training data" in text
    # the no-security baseline: Bob gets the private image only
    assert main(["demo", "--size", "32", "--mia-steps", "0", "--insecure", "--out", str(tmp_path / "plain")]) == 0
    md = (tmp_path / "plain" / "metrics.md").read_text()
    assert "plain DeepJSCC" in md and "| bob/host |" not in md and "| bob/private |" in md


def test_demo_missing_model_one_line_error(tmp_path, monkeypatch, capsys):
    import gr_stegsem.system as system
    from gr_stegsem.cli import main

    monkeypatch.setattr(system, "MODELS_DIR", tmp_path / "empty")
    assert main(["demo", "--size", "32", "--out", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("stegsem: error: sim_awgn:") and "not found" in err and len(err.splitlines()) == 1
