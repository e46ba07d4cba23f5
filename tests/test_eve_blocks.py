"""QA for the Eve zoo's GNU Radio blocks (eve_attack, eve_inversion, eve_glassbox, eve_chosen, eve_surrogate,
eve_detect, score_sink) and the flowgraphs' 'attacker' parameter, with tiny random models on 32x32 images."""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pmt
import pytest
import torch
from PIL import Image

gr = pytest.importorskip("gnuradio.gr")

from gr_stegsem import blocks as sb  # noqa: E402
from gr_stegsem import eves, schemes  # noqa: E402
from gr_stegsem import flowgraphs as fgs  # noqa: E402
from gr_stegsem.blocks import pdus  # noqa: E402
from gr_stegsem.checkpoint import CheckpointError, save_model  # noqa: E402
from gr_stegsem.images import tensor_to_array  # noqa: E402
from gr_stegsem.models.deepjscc import DeepJSCCConfig, to_complex  # noqa: E402
from gr_stegsem.models.eve_nets import Inverter, InverterConfig  # noqa: E402
from tests.conftest import TINY_JSCC, write_tiny_eve_models, write_tiny_models  # noqa: E402
from tests.test_blocks import _bad_symbol_pdus, pdu_array, post, run_block, tensor  # noqa: E402

SIZE = 32
INF = float("inf")
IMAGE_EVES = ("naive", "mia", "inversion", "glassbox", "chosen", "surrogate")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:
    """A models folder as the zoo reads it: tiny deepjscc-bcr12 + stego-l3_2 and every trained Eve's model."""
    d = tmp_path_factory.mktemp("zoo")
    write_tiny_models(d)
    return write_tiny_eve_models(d)


@pytest.fixture(scope="module")
def bad_zoo(tmp_path_factory) -> Path:
    """The scheme's models with broken Eve models: eve-inversion missing, eve-detect-stego-l3_2 of the wrong
    kind (an inverter), eve-chosen-stego-l3_2 and eve-surrogate trained for another bandwidth ratio (1/6)."""
    d = tmp_path_factory.mktemp("bad_zoo")
    write_tiny_models(d)
    write_tiny_eve_models(d, jscc_config=DeepJSCCConfig(bcr="1/6", **TINY_JSCC).to_dict())
    for suffix in (".safetensors", ".json"):
        (d / f"eve-inversion{suffix}").unlink()
    c = DeepJSCCConfig(**TINY_JSCC)
    save_model(Inverter(InverterConfig(channels=c.latent_channels, width=6, blocks=1)), d / "eve-detect-stego-l3_2",
               jscc_config=c.to_dict())
    return d


@pytest.fixture(scope="module")
def scheme(zoo):
    return schemes.load("stego-l3_2", zoo)


@pytest.fixture(scope="module")
def pair():
    """(host, private): two 32x32 crops of scikit-image's astronaut, float (1, 3, 32, 32)."""
    from skimage import data

    a = data.astronaut()
    return tuple(tensor(np.ascontiguousarray(a[y:y + 64:2, x:x + 64:2]))[None] for y, x in ((0, 0), (100, 200)))


def into_sink(upstream, sink, posts, n: int, timeout: float = 10.0) -> None:
    """Run upstream.score -> sink (a block without outputs is only scheduled when connected), post
    [(block, pdu), ...] and wait until the sink has handled ``n`` PDUs."""
    tb = gr.top_block()
    tb.msg_connect((upstream, "score"), (sink, "in"))
    tb.start()
    try:
        for blk, pdu in posts:
            post(blk, "in", pdu)
        t0 = time.monotonic()
        while sink.n_in < n and time.monotonic() - t0 < timeout:
            time.sleep(0.01)
    finally:
        tb.stop()
        tb.wait()


def container(scheme, pair, frame_id: int = 0):
    z = scheme.alice(*pair)
    return z, pdus.symbol_pdu(to_complex(z), frame_id, (SIZE, SIZE), tuple(z.shape[1:]), secure=True)


def image_block(attack: str, zoo: Path, **kw):
    """The image Eve ``attack`` as its named block (or eve_attack where it has none), and the zoo options."""
    opts = {"mia": dict(mia_steps=3, mia_lr=0.05, seed=1), "glassbox": dict(glassbox_lost="gaussian", seed=2),
            "surrogate": dict(seed=3)}.get(attack, {})
    named = {"inversion": lambda: sb.eve_inversion(models_dir=str(zoo), **kw),
             "glassbox": lambda: sb.eve_glassbox(models_dir=str(zoo), lost="gaussian", seed=2, **kw),
             "chosen": lambda: sb.eve_chosen(models_dir=str(zoo), **kw),
             "surrogate": lambda: sb.eve_surrogate(models_dir=str(zoo), seed=3, **kw)}
    if attack in named:
        return named[attack](), opts
    return sb.eve_attack(attack, models_dir=str(zoo), mia_steps=3, lr=0.05, seed=1, **kw), opts


# --- the blocks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("attack", IMAGE_EVES)
def test_image_eve_blocks_post_the_zoos_images(attack, zoo, scheme, pair):
    """Each image Eve's block posts what the zoo's Eve reconstructs, byte for byte, with meta attack = its name."""
    z, pdu = container(scheme, pair, 7)
    blk, opts = image_block(attack, zoo)
    outs = ("out", "score") if type(blk) is sb.eve_attack else ("out",)
    res = run_block(blk, [("in", pdu)], outs=outs)
    (out,) = res["out"]
    assert res.get("score", []) == []
    m = pdus.pdu_meta(out)
    assert (m["frame_id"], m["height"], m["width"], m["attack"]) == (7, SIZE, SIZE, attack)
    assert not {"latent_c", "secure"} & set(m)
    ref = eves.build(attack, scheme, zoo, **opts).reconstruct(z, (SIZE, SIZE))[0]
    assert np.array_equal(pdu_array(out).reshape(SIZE, SIZE, 3), tensor_to_array(ref))
    if attack == "mia":  # eve_attack's MIA is eve_mia's: the same inversion
        assert torch.equal(ref, scheme.eve_mia(z, (SIZE, SIZE), 3, 0.05, 1)[0])
    assert blk.n_dropped == 0 and blk._worker is None


def test_detector_posts_scores_and_decisions(zoo, scheme, pair, tmp_path):
    """One score PDU per frame on 'score' (container and plain cover): the zoo detector's score, the decision
    against the threshold, no meta that tells what was sent; a score sink records and writes them."""
    z, con = container(scheme, pair, 0)
    cover = scheme.cover(pair[0])
    plain = pdus.symbol_pdu(to_complex(cover), 1, (SIZE, SIZE), tuple(cover.shape[1:]))
    want = eves.build("detect", scheme, zoo).score(torch.cat([z, cover]))
    for blk, threshold, outs in ((sb.eve_detect(models_dir=str(zoo), threshold=0.0), 0.0, ("score",)),
                                 (sb.eve_attack("detect", models_dir=str(zoo), threshold=1.0), 1.0, ("out", "score"))):
        res = run_block(blk, [("in", con), ("in", plain)], outs=outs, expect=2)
        assert res.get("out", []) == [] and len(res["score"]) == 2
        for pdu, frame in zip(res["score"], (0, 1)):
            meta = pmt.car(pdu)
            for key, check in (("score", pmt.is_real), ("threshold", pmt.is_real), ("decision", pmt.is_bool),
                               ("attack", pmt.is_symbol), ("frame_id", pmt.is_integer)):
                assert check(pmt.dict_ref(meta, pmt.intern(key), pmt.PMT_NIL)), key
            m = pdus.pdu_meta(pdu)
            assert m["frame_id"] == frame and m["attack"] == "detect" and m["threshold"] == threshold
            assert 0.0 <= m["score"] <= 1.0 and m["score"] == pytest.approx(float(want[frame]), abs=1e-6)
            assert m["decision"] is (threshold == 0.0)  # score > 0 always, score > 1 never
            assert not {"secure", "latent_c", "role"} & set(m)  # nothing that tells her the truth
            vec = pmt.cdr(pdu)
            assert pmt.is_f32vector(vec) and pmt.length(vec) == 1
            assert pmt.f32vector_ref(vec, 0) == pytest.approx(m["score"], rel=1e-6)
    det, sink = sb.eve_detect(models_dir=str(zoo), threshold=0.0), sb.score_sink(str(tmp_path / "det"), prefix="v")
    into_sink(det, sink, [(det, con), (det, plain)], 2)  # the flowgraphs' chain
    assert sorted((r["frame_id"], r["decision"], r["threshold"]) for r in sink.records) == [(0, True, 0.0),
                                                                                          (1, True, 0.0)]
    rows = (tmp_path / "det" / "v.csv").read_text().splitlines()
    assert rows[0] == "frame_id,score,decision,threshold" and len(rows) == 3
    assert float(rows[1].split(",")[1]) == pytest.approx(float(want[0]), abs=1e-5)


def _new_blocks(zoo):
    d = str(zoo)
    return [(sb.eve_attack("inversion", models_dir=d), "out"), (sb.eve_inversion(models_dir=d), "out"),
            (sb.eve_glassbox(models_dir=d), "out"), (sb.eve_chosen(models_dir=d), "out"),
            (sb.eve_surrogate(models_dir=d), "out"), (sb.eve_detect(models_dir=d), "score")]


def test_malformed_pdus_are_dropped_and_the_next_frame_processed(zoo, scheme, pair):
    """NaN/Inf samples, a wrong length, a wrong vector type, not a PDU, a latent that does not fit: each is
    logged and dropped; the block goes on with the next good frame."""
    _, good = container(scheme, pair, 3)
    bad = list(_bad_symbol_pdus(good).values())
    for blk, port in _new_blocks(zoo):
        out = run_block(blk, [("in", b) for b in bad] + [("in", good)], outs=(port,))[port]
        assert len(out) == 1 and pdus.pdu_meta(out[0])["frame_id"] == 3, blk.name()
        assert blk.n_dropped == len(bad) and blk.last_error, blk.name()
    sink, det = sb.score_sink(), _new_blocks(zoo)[-1][0]
    bad_scores = [pdus.image_pdu(np.zeros((4, 4, 3), np.uint8), 0), pmt.PMT_T,  # no score PDU, not a PDU,
                  pmt.cons(pmt.car(pdus.score_pdu(1.5, 1, 0.5)), pmt.init_f32vector(1, [1.5]))]  # score above 1
    into_sink(det, sink, [(sink, b) for b in bad_scores] + [(sink, pdus.score_pdu(0.25, 4, 0.5))], 4)
    assert sink.n_dropped == 3 and [r["frame_id"] for r in sink.records] == [4]


def test_worker_survives_a_failing_frame(zoo, scheme, pair, capfd):
    """An attack that raises on one frame: that frame is logged and dropped, the next one is attacked."""
    blk = sb.eve_inversion(models_dir=str(zoo))
    real = blk.eve.reconstruct
    calls = []

    def flaky(y, size):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("out of memory (simulated)")
        return real(y, size)

    blk.eve.reconstruct = flaky
    posts = [("in", container(scheme, pair, i)[1]) for i in (0, 1)]
    out = run_block(blk, posts, expect=1)["out"]
    assert [pdus.pdu_meta(o)["frame_id"] for o in out] == [1]
    assert blk.n_dropped == 1 and "attack 'inversion' of frame 0 failed: RuntimeError" in blk.last_error
    log = "".join(capfd.readouterr())
    assert "stegsem_eve_inversion" in log and "out of memory (simulated)" in log


def test_full_queue_drops_are_counted_and_the_rest_attacked(zoo, scheme, pair):
    blk = sb.eve_attack("mia", models_dir=str(zoo), mia_steps=8, queue_size=1)
    posts = [("in", container(scheme, pair, i)[1]) for i in range(6)]
    t0 = time.monotonic()
    seen = {}

    def wait_all():
        while blk.n_out + blk.n_overflow < 6 and time.monotonic() - t0 < 20:
            time.sleep(0.01)
        seen["n"] = blk.n_out + blk.n_overflow

    out = run_block(blk, posts, expect=1, after=wait_all)["out"]
    assert seen["n"] == 6 and blk.n_overflow >= 1 and len(out) == blk.n_out >= 1
    assert blk.n_dropped == blk.n_overflow and blk._worker is None


def test_attack_off_loads_nothing_and_posts_nothing(scheme, pair, tmp_path):
    _, pdu = container(scheme, pair)
    for blk in (sb.eve_attack("", models_dir=str(tmp_path / "none")),
                sb.eve_attack("mia", models_dir=str(tmp_path / "none"), mia_steps=0)):
        assert blk.eve is None and not blk.active
        res = run_block(blk, [("in", pdu)], outs=("out", "score"), expect=1, timeout=0.3)
        assert res == {"out": [], "score": []} and blk.n_dropped == 0 and blk.n_in == 1


@pytest.mark.parametrize("make, error, match", [
    (lambda d: sb.eve_inversion(models_dir=d), CheckpointError,
     r"eve_inversion: no learned inversion \(closed box\) model .*eve-inversion\.safetensors: train it with "
     r"'stegsem train eve inversion --scheme stego-l3_2"),
    (lambda d: sb.eve_attack("inversion", models_dir=d), CheckpointError, r"eve_attack: no learned inversion"),
    (lambda d: sb.eve_detect(models_dir=d), CheckpointError,
     r"eve_detect: .*eve-detect-stego-l3_2\.safetensors holds a eve-inverter model, not a eve-detector model"),
    (lambda d: sb.eve_chosen(models_dir=d), CheckpointError,
     r"eve_chosen: .*eve-chosen-stego-l3_2\.safetensors was trained against DeepJSCC .*'bcr': '1/6'.*"
     r"another bandwidth ratio"),
    (lambda d: sb.eve_attack("surrogate", models_dir=d), CheckpointError, r"eve_attack: .*eve-surrogate.*1/6"),
    (lambda d: sb.eve_glassbox(models_dir=d + "/missing"), CheckpointError,
     r"eve_glassbox: model file not found: .*missing/deepjscc-bcr12"),
    (lambda d: sb.eve_attack("bogus", models_dir=d), ValueError, r"eve_attack: unknown attack 'bogus'; choose from"),
    (lambda d: sb.eve_attack("detect", "deepjscc", models_dir=d), ValueError,
     r"eve_attack: attack 'detect' does not apply to scheme 'deepjscc'"),
    (lambda d: sb.eve_surrogate("nope", models_dir=d), ValueError, r"eve_surrogate: unknown scheme 'nope'"),
    (lambda d: sb.eve_detect(models_dir=d, threshold=2), ValueError, r"eve_detect: threshold must be in \[0, 1\]"),
    (lambda d: sb.eve_glassbox(models_dir=d, lost="ones"), ValueError, r"eve_glassbox: lost must be"),
    (lambda d: sb.eve_chosen(models_dir=d, queue_size=0), ValueError, r"eve_chosen: queue_size must be >= 1"),
], ids=["missing", "missing-generic", "wrong-kind", "other-bcr", "other-bcr-generic", "no-scheme-model",
        "unknown-attack", "does-not-apply", "unknown-scheme", "threshold", "lost", "queue"])
def test_bad_models_and_options_fail_at_construction_in_one_line(make, error, match, bad_zoo):
    with pytest.raises(error, match=match) as e:
        make(str(bad_zoo))
    assert "\n" not in str(e.value)


# --- the flowgraphs ------------------------------------------------------------------------------------
def sim_params(zoo, out, **kw):
    p = dict(size=SIZE, jscc_model=str(zoo / "deepjscc-bcr12.safetensors"),
             inn_model=str(zoo / "stego-l3_2.safetensors"), mia_steps=2, out=str(out))
    p.update(kw)
    return p


def test_sim_awgn_runs_a_zoo_attacker(zoo, scheme, tmp_path):
    """attacker=inversion: eve_attack (scheme and models from the INN model's folder) replaces eve_mia; with
    the noise off its image equals the zoo's Eve on Alice's container; the report names it."""
    res = fgs.run_sim(timeout=60, **sim_params(zoo, tmp_path, attacker="inversion", snr_bob=INF, snr_eve=INF))
    assert res.finished and res.records["eve_mia_sink"] == [] and res.records["eve_score_sink"] == []
    (r,) = res.records["eve_attack_sink"]
    assert Path(r["path"]).name == "eve_inversion_00000.png" and np.isfinite(r["psnr"])
    assert "psnr" in res.records["eve_attack_host"][0] and len(res.records["eve_naive_sink"]) == 1
    xh, xp = fgs.sent_image("", "host", SIZE)[None], fgs.sent_image("", "private", SIZE)[None]
    want = eves.build("inversion", scheme, zoo).reconstruct(scheme.alice(xh, xp), (SIZE, SIZE))[0]
    assert np.array_equal(np.asarray(Image.open(r["path"])), tensor_to_array(want))
    rep = fgs.sim_report(res, INF, INF, attacker="inversion")
    assert list(rep["images"]) == ["bob/host", "bob/private", "eve/naive", "eve/inversion"] and rep["scores"] == []


def test_sim_awgn_detector_scores_go_to_the_score_sink(zoo, tmp_path):
    res = fgs.run_sim(timeout=60, **sim_params(zoo, tmp_path, attacker="detect"))
    assert res.finished and res.records["eve_attack_sink"] == [] and res.records["eve_mia_sink"] == []
    (r,) = res.records["eve_score_sink"]
    assert r["frame_id"] == 0 and r["attack"] == "detect" and r["decision"] == (r["score"] > 0.5)
    assert (tmp_path / "eve_detect.csv").read_text().splitlines()[1].startswith("0,")
    assert fgs.sim_report(res, 10.0, 5.0, attacker="detect")["scores"] == [r]
    with pytest.raises(ValueError, match="sim_awgn: unknown attack 'bogus'"):
        fgs.build("sim_awgn", **sim_params(zoo, tmp_path, attacker="bogus"))
    empty = tmp_path / "no_eve"
    empty.mkdir()
    write_tiny_models(empty)
    with pytest.raises(CheckpointError, match="sim_awgn: eve_attack: no learned inversion"):
        fgs.build("sim_awgn", **sim_params(empty, tmp_path, attacker="inversion"))


def test_every_eve_flowgraph_wires_the_attacker():
    """The Eve branch of each flowgraph takes 'attacker' (default mia) and gives it to Eve's chain
    (eve_rx: mia in its eve_mia, the zoo in its eve_attack; tests/test_chains.py); the detector's
    scores reach a score sink, and in zmq_eve Eve's PUB."""
    for name in ("sim_awgn", "sim_radio", "zmq_eve", "usrp_eve", "usrp_loopback", "replay_eve"):
        text = (ROOT / "flowgraphs" / f"{name}.py").read_text()
        assert "attacker='mia'" in text and "stegsem_fg.zoo_attack(attacker)" in text, name
        assert re.search(r"self\.eve = stegsem_blocks\.eve_rx(_phy)?\(jscc_model, attacker=attacker, "
                         r"scheme=eve_scheme, models_dir=eve_models, mia_steps=mia_steps,", text), name
        assert "self.msg_connect((self.eve, 'score'), (self.eve_score_sink, 'in'))" in text, name
        scheme = "stegsem_fg.eve_scheme(inn_model)" if "inn_model" in text else "eve_scheme = scheme"
        assert scheme in text, name
    assert "self.msg_connect((self.eve, 'score'), (self.eve_pub, 'in'))" in \
        (ROOT / "flowgraphs" / "zmq_eve.py").read_text()


def test_flowgraph_helpers():
    assert fgs.zoo_attack("mia") == fgs.zoo_attack("naive") == "" and fgs.zoo_attack("detect") == "detect"
    with pytest.raises(ValueError, match="unknown attack"):
        fgs.zoo_attack("MIA")
    assert fgs.eve_scheme("") == "stego-l3_2" and fgs.eve_scheme("/m/stego-l3_8.safetensors") == "stego-l3_8"
    assert fgs.models_folder("") == "" and fgs.models_folder("/m/x/deepjscc-bcr12.safetensors") == "/m/x"


def test_demo_with_an_attacker(zoo, tmp_path, monkeypatch, capsys):
    import gr_stegsem.system as system
    from gr_stegsem.cli import main

    monkeypatch.setattr(system, "MODELS_DIR", zoo)
    out = tmp_path / "demo"
    assert main(["demo", "--size", "32", "--attacker", "detect", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Eve's attacker detect" in text and "eve/detect: frame 0 score" in text
    md = (out / "metrics.md").read_text()
    assert "| eve/naive |" in md and "| eve/mia |" not in md and "eve/detect: frame 0 score" in md
    assert main(["demo", "--size", "32", "--attacker", "glassbox", "--out", str(tmp_path / "gb")]) == 0
    assert "| eve/glassbox |" in (tmp_path / "gb" / "metrics.md").read_text()
    assert (tmp_path / "gb" / "frames" / "eve_glassbox_00000.png").is_file()
    assert main(["demo", "--size", "32", "--attacker", "nope", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown attack 'nope'" in err and len(err.splitlines()) == 1


def test_sim_radio_and_replay_eve_run_the_detector(zoo, tmp_path, capsys):
    """Through the OFDM PHY: sim_radio's Eve with attacker=detect scores the frame; 'stegsem replay eve
    --attacker detect' on her SigMF recording prints the same verdict (the receive side is deterministic)."""
    from gr_stegsem.cli import _verdict, main

    res = fgs.run(fgs.build("sim_radio", **sim_params(zoo, tmp_path / "sim", size=64, attacker="detect",
                                                      record=str(tmp_path / "rec"))), timeout=90)
    assert res.finished and res.records["eve_mia_sink"] == []
    (live,) = res.records["eve_score_sink"]
    assert main(["replay", "eve", str(tmp_path / "rec_eve"), "--jscc-model", str(zoo / "deepjscc-bcr12.safetensors"),
                 "--attacker", "detect", "--out", str(tmp_path / "replay"), "--timeout", "60"]) == 0
    text = capsys.readouterr().out
    assert f"eve: {_verdict(live)}" in text and "eve: frame 0 eve_naive" in text
    assert (tmp_path / "replay" / "eve_detect.csv").read_text() == (tmp_path / "sim" / "eve_detect.csv").read_text()
