"""The scheme and Eve zoos: registries, the trainable attackers on tiny data, the security report,
and bad input (a wrong-kind or wrong-bandwidth attacker model, NaN symbols, a missing model)."""
import json

import pytest
import torch

from gr_stegsem import eves, schemes
from gr_stegsem.checkpoint import CheckpointError, save_model
from gr_stegsem.cli import main
from gr_stegsem.evaluate import auc, detection_record
from gr_stegsem.metrics import LPIPSGallery, lpips_distance
from gr_stegsem.models.deepjscc import DeepJSCCConfig
from gr_stegsem.models.eve_nets import Detector, DetectorConfig, Inverter, InverterConfig
from gr_stegsem.train.eve import train_eve
from tests.conftest import TINY_JSCC, write_tiny_models

TRAINED = ("inversion", "chosen", "surrogate", "detect")


@pytest.fixture(scope="module")
def zoo(tiny_images, tmp_path_factory):
    """Tiny DeepJSCC + two INN schemes, and every trainable Eve trained for a few steps against them."""
    d = write_tiny_models(tmp_path_factory.mktemp("zoo"), inn_names=("stego-l3_2", "stego-l3_4"))["dir"]
    data = dict(private=[str(tiny_images / "set0")], hosts=[str(tiny_images / "set1")], models_dir=d, crop=32,
                batch=2, steps=3, save_every=1000)
    for kind in TRAINED:
        for scheme in ("deepjscc", "stego-l3_2", "stego-l3_4"):
            cls = eves.get(kind)
            target = d / cls.model_name(scheme)
            if cls.applies(schemes.load(scheme, d)) and not target.with_suffix(".safetensors").is_file():
                train_eve(kind, scheme, target, **data)
    return d


def test_registries_list_every_scheme_and_attack(zoo):
    assert eves.names() == ["naive", "mia", "inversion", "glassbox", "chosen", "recover", "surrogate", "detect"]
    assert schemes.available(zoo) == ["deepjscc", "stego-l3_2", "stego-l3_4", "dp-0.05", "dp-0.1", "dp-0.9",
                                      "shuffle", "shuffle-static"]
    with pytest.raises(ValueError, match="unknown attack 'nosuch'"):
        eves.get("nosuch")
    with pytest.raises(ValueError, match="unknown scheme 'nosuch'.*deepjscc"):
        schemes.load("nosuch", zoo)
    s = schemes.load("stego-l3_2", zoo)
    assert s.carries_host and set(s.published().models) == {"jscc", "inn"} and s.published().secrets == ()
    assert not schemes.load("deepjscc", zoo).carries_host


def test_every_attacker_runs_and_rejects_nan(zoo):
    s = schemes.load("stego-l3_2", zoo)
    x = torch.rand(2, 3, 32, 32)
    y = s.channel(s.alice(x.flip(0), x), 10.0, generator=torch.Generator().manual_seed(0))
    for name in eves.names():
        eve = eves.build(name, s, zoo, mia_steps=2)
        if eve.output == "score":
            p = eve.score(y)
            assert p.shape == (2,) and ((0 <= p) & (p <= 1)).all()
        else:
            assert eve.reconstruct(y, (32, 32)).shape == (2, 3, 32, 32)
        bad = y.clone()
        bad[0, 0, 0, 0] = float("nan")
        with pytest.raises(ValueError, match="NaN"):
            eve.score(bad) if eve.output == "score" else eve.reconstruct(bad, (32, 32))


def test_glassbox_eve_is_bob_when_the_scheme_keeps_no_secret(zoo):
    s = schemes.load("stego-l3_2", zoo)
    x = torch.rand(2, 3, 32, 32)
    y = s.channel(s.alice(x.flip(0), x), 5.0, generator=torch.Generator().manual_seed(1))
    got = eves.build("glassbox", s, zoo).reconstruct(y, (32, 32))
    assert torch.equal(got, s.bob(y, (32, 32))["private"])


def test_attacker_models_are_checked_before_use(zoo, tmp_path):
    d = write_tiny_models(tmp_path, inn_names=("stego-l3_2",))["dir"]
    s = schemes.load("stego-l3_2", d)
    with pytest.raises(CheckpointError, match="stegsem train eve inversion"):  # missing
        eves.build("inversion", s, d)
    cfg = DeepJSCCConfig(**TINY_JSCC).to_dict()
    save_model(Detector(DetectorConfig(channels=8)), d / "eve-inversion", jscc_config=cfg)  # wrong kind
    with pytest.raises(CheckpointError, match="holds a eve-detector model, not a eve-inverter"):
        eves.build("inversion", s, d)
    other = DeepJSCCConfig(bcr="1/6", **TINY_JSCC)  # another bandwidth ratio
    save_model(Inverter(InverterConfig(channels=other.latent_channels)), d / "eve-inversion",
               jscc_config=other.to_dict())
    with pytest.raises(CheckpointError, match="trained against DeepJSCC .*1/6.*another bandwidth ratio"):
        eves.build("inversion", s, d)
    with pytest.raises(ValueError, match="does not apply to scheme deepjscc"):
        train_eve("detect", "deepjscc", d / "x", private=["."], hosts=["."], models_dir=d)
    with pytest.raises(ValueError, match="no model to train"):
        train_eve("naive", "stego-l3_2", d / "x", private=["."], hosts=["."], models_dir=d)


def test_training_an_eve_resumes_and_logs(zoo, tiny_images, tmp_path):
    out = tmp_path / "inv"
    kw = dict(private=[str(tiny_images / "set0")], hosts=[str(tiny_images / "set1")], models_dir=zoo, crop=32,
              batch=2, save_every=2)
    train_eve("inversion", "deepjscc", out, steps=2, **kw)
    last = train_eve("inversion", "deepjscc", out, steps=4, **kw)
    assert last["step"] == 4 and {"mse", "lpips", "snr_db"} <= set(last)
    rows = out.with_suffix(".csv").read_text().strip().splitlines()
    assert len(rows) == 5  # header + 4 steps, the resumed run appended
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["eve"] == "inversion" and info["jscc_config"] == DeepJSCCConfig(**TINY_JSCC).to_dict()


def test_lpips_gallery_matches_lpips_and_ranks():
    g = torch.rand(5, 3, 64, 64)
    x = (g[[3, 1]] + 0.05 * torch.randn(2, 3, 64, 64)).clamp(0, 1)
    gal = LPIPSGallery(g, batch=2)
    d = gal.distances(x)
    for j in range(5):
        assert d[:, j] == pytest.approx(lpips_distance(x, g[j:j + 1].expand(2, -1, -1, -1)), abs=1e-4)
    assert gal.ranks(x, torch.tensor([3, 1])).tolist() == [0, 0]
    assert gal.ranks(x, torch.tensor([1, 3])).tolist() != [0, 0]
    with pytest.raises(ValueError, match="gallery of"):
        gal.distances(torch.rand(1, 3, 32, 32))


def test_auc_and_detection_record():
    assert auc(torch.tensor([0.9, 0.8]), torch.tensor([0.1, 0.2])) == 1.0
    assert auc(torch.tensor([0.1]), torch.tensor([0.9])) == 0.0
    assert auc(torch.tensor([0.5, 0.5]), torch.tensor([0.5])) == 0.5
    r = detection_record("s", 5.0, torch.tensor([0.9, 0.4]), torch.tensor([0.1, 0.6]))
    assert r["accuracy"] == 0.5 and r["auc"] == 0.75 and r["receiver"] == "eve-detect"


def test_eval_every_attack_writes_the_security_report(zoo, tiny_images, tmp_path):
    out = tmp_path / "sec"
    code = main(["eval", "--data", str(tiny_images / "set0"), "--hosts", str(tiny_images / "set1"), "--out", str(out),
                 "--snrs", "5,15", "--limit", "4", "--mia-steps", "2", "--mia-limit", "2", "--models", str(zoo),
                 "--systems", "deepjscc,stego-l3_2", "--attacks", "all", "--batch", "2"])
    assert code == 0
    recs = json.loads((out / "results.json").read_text())
    rx = {(r["system"], r["receiver"]) for r in recs}
    for a in ("naive", "mia", "inversion", "glassbox", "chosen", "surrogate", "detect"):
        assert ("stego-l3_2", f"eve-{a}") in rx
    assert ("deepjscc", "eve-detect") not in rx and ("deepjscc", "eve-surrogate") not in rx
    det = [r for r in recs if r["receiver"] == "eve-detect"]
    assert {r["snr_db"] for r in det} == {5.0, 15.0} and all(0 <= r["auc"] <= 1 and r["n_images"] == 4 for r in det)
    for r in recs:
        if r["receiver"].startswith("eve-") and r["target"] == "private":
            assert 0 <= r["id_rate"] <= 1
    sec = (out / "security.md").read_text()
    assert "Security report" in sec and "Verdicts" in sec and "glass-box" in sec and "AUC" in sec
    assert (out / "fig_security.png").stat().st_size > 0
    # stegsem report renders the same report again from the records, here at another Eve SNR
    (out / "security.md").unlink()
    assert main(["report", str(out), "--eve-snr", "15"]) == 0
    again = (out / "security.md").read_text()
    # six image attacks + detection, and its row of the survival table
    assert "Eve at 15 dB" in again and again.count("| Secure SemCom λ3=2 |") == 8
    rows = [ln.split("|")[2:-1] for ln in again.splitlines() if ln.startswith("| Secure SemCom λ3=2 | ")]
    marks = [r for r in rows if all(c.strip() in ("✓", "~", "✗", "·") for c in r)]
    assert len(marks) == 1 and len(marks[0]) == 7  # seven Eves


@pytest.mark.parametrize("argv,needle", [
    (["eval", "--data", ".", "--out", "/tmp/x", "--attacks", "nosuch"], "unknown attack 'nosuch'"),
    (["train", "eve", "naive", "--private", ".", "--hosts", ".", "--out", "/tmp/x"], "no model to train"),
    (["report", "/nonexistent/eval"], "no evaluation records"),
    (["train", "eve", "inversion", "--scheme", "nosuch", "--private", ".", "--hosts", ".", "--out", "/tmp/x"],
     "unknown scheme 'nosuch'"),
])
def test_cli_bad_attack_input_is_one_line(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1
