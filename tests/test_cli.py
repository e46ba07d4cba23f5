import json
import subprocess
import sys

import pytest

from gr_stegsem.cli import main
from tests.conftest import ROOT, write_tiny_models


@pytest.fixture()
def small_models(tmp_path):
    return write_tiny_models(tmp_path / "models", inn_names=("stego-l3_2", "stego-l3_4"), perturb=False)["dir"]


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for cmd in ("train", "eval", "demo", "send", "zmq", "replay", "watch"):
        assert cmd in out


def test_console_script_installed():
    r = subprocess.run([str(ROOT / ".venv" / "bin" / "stegsem"), "train", "--help"], capture_output=True, text=True)
    if r.returncode == 127 or "No such file" in r.stderr:
        pytest.skip("venv console script not installed here")
    assert r.returncode == 0 and "jscc" in r.stdout and "inn" in r.stdout


def test_eval_writes_records(tiny_images, tmp_path, small_models, monkeypatch):
    import gr_stegsem.report as report

    shown, scores = {}, {}
    draw = report.visual_grid
    monkeypatch.setattr(report, "visual_grid", lambda grid, path, snr, tiles=None: (
        shown.update(grid), scores.update(tiles or {}), draw(grid, path, snr, tiles=tiles)))
    out = tmp_path / "eval"
    code = main(["eval", "--data", str(tiny_images / "set0"), "--hosts", str(tiny_images / "set1"), "--out", str(out),
                 "--snrs", "0,10", "--eve-snr", "5", "--limit", "3", "--mia-steps", "3", "--mia-limit", "2",
                 "--models", str(small_models), "--batch", "2"])
    assert code == 0
    recs = json.loads((out / "results.json").read_text())
    keys = {"system", "receiver", "target", "snr_db", "psnr", "ms_ssim", "lpips", "n_images"}
    assert all(keys <= set(r) for r in recs)  # backward compatible: today's fields in every record
    # new: the identification rate on Eve's records vs the private image, and the chance level
    assert all("id_rate" in r for r in recs if r["receiver"].startswith("eve-") and r["target"] == "private")
    assert not any("id_rate" in r for r in recs if r["receiver"] == "bob")
    chance = json.loads((out / "chance.json").read_text())
    assert chance["n_images"] == 3 and chance["id_rate"] == pytest.approx(1 / 3, abs=1e-4)
    combos = {(r["system"], r["receiver"], r["target"]) for r in recs}
    for system in ("stego-l3_2", "stego-l3_4"):
        for rx in ("bob", "eve-naive", "eve-mia"):
            for target in ("host", "private"):
                assert (system, rx, target) in combos
    assert ("deepjscc", "eve-mia", "private") in combos and ("deepjscc", "bob", "private") in combos
    bob = [r for r in recs if r["receiver"] == "bob"]
    assert {r["snr_db"] for r in bob} == {0.0, 10.0} and all(r["n_images"] == 3 for r in bob)
    assert all(r["n_images"] == 2 for r in recs if r["receiver"] == "eve-mia")
    assert {r["snr_db"] for r in recs if r["receiver"] == "eve-naive"} == {0.0, 5.0, 10.0}
    assert all(r["ms_ssim"] is None for r in recs)  # 48 px images are too small for MS-SSIM
    for f in ("results.csv", "results.md", "fig3_bob.png", "fig4_eve.png", "fig5_grid.png"):
        assert (out / f).stat().st_size > 0
    # every figure also as PDF, the PNGs at 300 dpi
    from PIL import Image

    for stem in ("fig3_bob", "fig4_eve", "fig5_grid", "fig_security", "fig_privacy_utility"):
        assert (out / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
        with Image.open(out / f"{stem}.png") as im:
            assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    # 95 % CI half-widths over the images (t, n - 1 degrees of freedom); none for MS-SSIM at 48 px
    for r in recs:
        if r["receiver"] != "eve-detect":
            assert r["psnr_ci95"] > 0 and r["lpips_ci95"] > 0 and r["ms_ssim_ci95"] is None
    assert "psnr_ci95" in (out / "results.csv").read_text().splitlines()[0]
    # Fig. 5 shows Bob at Eve's SNR (5 dB) even though Bob's curve is measured at 0 and 10 dB only
    for system in ("deepjscc", "stego-l3_2", "stego-l3_4"):
        assert {f"{system}/bob", f"{system}/eve-naive", f"{system}/eve-mia"} <= set(shown)
    assert set(shown["stego-l3_2/bob"]) == {"host", "private"}
    # ... each reconstruction with its PSNR against its reference (Bob's host: the host) below it
    from gr_stegsem.metrics import psnr

    for system in ("deepjscc", "stego-l3_2", "stego-l3_4"):
        for k, img in shown[f"{system}/bob"].items():
            ref = shown["host"] if k == "host" else shown["private"]
            assert scores[f"{system}/bob/{k}"]["psnr"] == pytest.approx(float(psnr(img[None], ref[None])[0]), abs=1e-4)
        for rx in ("eve-naive", "eve-mia"):
            want = float(psnr(shown[f"{system}/{rx}"][None], shown["private"][None])[0])
            assert scores[f"{system}/{rx}"]["psnr"] == pytest.approx(want, abs=1e-4)
            assert scores[f"{system}/{rx}"]["ms_ssim"] is None


def test_eval_takes_any_stego_model_in_the_models_folder(tiny_images, tmp_path, small_models):
    import shutil

    from gr_stegsem.report import label

    for suffix in (".safetensors", ".json"):
        shutil.copy(small_models / f"stego-l3_2{suffix}", small_models / f"stego-mine{suffix}")
        shutil.copy(small_models / f"stego-l3_2{suffix}", small_models / f"stego-l3_8{suffix}")
    out = tmp_path / "eval"
    assert main(["eval", "--data", str(tiny_images / "set0"), "--hosts", str(tiny_images / "set1"), "--out", str(out),
                 "--snrs", "5", "--limit", "2", "--mia-steps", "0", "--models", str(small_models),
                 "--systems", "stego-mine,stego-l3_8,deepjscc"]) == 0
    recs = json.loads((out / "results.json").read_text())
    assert {r["system"] for r in recs} == {"deepjscc", "stego-mine", "stego-l3_8"}
    table = (out / "results.md").read_text()
    assert "Secure SemCom (stego-mine)" in table and "Secure SemCom λ3=8" in table
    # the baseline first, then by λ3, then the others
    assert table.index("| DeepJSCC |") < table.index("λ3=8") < table.index("Secure SemCom (stego-mine)")
    assert label("stego-l3_2.5") == "Secure SemCom λ3=2.5"


def test_send_with_given_images(tiny_images, tmp_path, monkeypatch, small_models):
    import gr_stegsem.system as system

    monkeypatch.setattr(system, "MODELS_DIR", small_models)
    out = tmp_path / "send"
    imgs = sorted((tiny_images / "set0").glob("*.png"))
    assert main(["send", "--host", str(imgs[0]), "--private", str(imgs[1]), "--out", str(out), "--size", "48",
                 "--mia-steps", "2"]) == 0
    assert (out / "grid.png").is_file() and "eve/mia" in (out / "metrics.md").read_text()


def test_send_with_own_model_files(tiny_images, tmp_path, small_models):
    import shutil

    for suffix in (".safetensors", ".json"):
        shutil.copy(small_models / f"stego-l3_4{suffix}", tmp_path / f"stego-mine{suffix}")
    out = tmp_path / "send"
    imgs = sorted((tiny_images / "set0").glob("*.png"))
    assert main(["send", "--host", str(imgs[0]), "--private", str(imgs[1]), "--out", str(out), "--size", "48",
                 "--mia-steps", "0", "--jscc-model", str(small_models / "deepjscc-bcr12.safetensors"),
                 "--inn-model", str(tmp_path / "stego-mine.safetensors")]) == 0
    assert (out / "metrics.md").read_text().startswith("# stego-mine: Bob at 10 dB")


@pytest.mark.parametrize("argv,needle", [
    (["eval", "--data", "/nonexistent", "--out", "/tmp/x", "--systems", "deepjscc"], "not found"),
    (["eval", "--data", ".", "--out", "/tmp/x", "--systems", "nosuch"], "unknown system"),
    (["eval", "--data", ".", "--hosts", ".", "--out", "/tmp/x", "--systems", "stego-nosuch"],
     "model file not found"),
    (["eval", "--data", ".", "--out", "/tmp/x", "--snrs", "a,b"], "comma-separated"),
    (["send", "--inn-model", "/nonexistent/stego.safetensors", "--out", "/tmp/x"], "not found"),
    (["send", "--model", "stego-nosuch", "--out", "/tmp/x"], "not found"),
    (["train", "inn", "--jscc", "/nonexistent/j", "--private", ".", "--hosts", ".", "--out", "/tmp/y"], "not found"),
    (["train", "inn", "--jscc", "models/deepjscc-bcr12", "--private", ".", "--hosts", ".", "--out", "/tmp/y",
      "--init", "models/deepjscc-bcr12"], "stego-inn"),
    (["replay", "bob", "/nonexistent/recording"], "recording"),
    (["train", "inn", "--jscc", "models/deepjscc-bcr12", "--private", ".", "--hosts", ".", "--out", "/tmp/y",
      "--minutes", "0"], "--minutes"),
    (["zmq", "alice", "--record", "/tmp/r"], "--record is for the receivers"),
])
def test_bad_input_exits_nonzero_with_one_line(argv, needle, capsys):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert needle in err and len(err.splitlines()) == 1 and err.startswith("stegsem: error:")


def test_send_rejects_grayscale(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.zeros((40, 40), np.uint8)).save(tmp_path / "g.png")
    assert main(["send", "--private", str(tmp_path / "g.png"), "--out", str(tmp_path / "o"), "--mia-steps", "0"]) == 2
    assert "expected an RGB image" in capsys.readouterr().err


def test_module_entry_point():
    r = subprocess.run([sys.executable, "-m", "gr_stegsem", "eval", "--data", "/nonexistent", "--out", "/tmp/z",
                        "--systems", "deepjscc"], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 2 and r.stderr.strip().startswith("stegsem: error:") and len(r.stderr.strip().splitlines()) == 1


def test_grc_launcher_uses_this_python_and_our_blocks(capsys):
    import sys

    from gr_stegsem.cli import main

    assert main(["grc", "sim_awgn", "--print"]) == 0
    out = capsys.readouterr().out
    assert sys.executable in out and "GRC_BLOCKS_PATH=" in out and out.strip().endswith("flowgraphs/sim_awgn.grc")
    assert main(["grc", "nosuch", "--print"]) == 2
    assert "no flowgraph" in capsys.readouterr().err


def test_chance_record_has_the_prior_of_the_mean_image():
    """chance.json's 'prior': each image against the mean of the run's other private images of its
    size (an Eve who knows only the average face); unrelated pairs stay the 'chance' level."""
    import torch

    from gr_stegsem.evaluate import chance_record
    from gr_stegsem.metrics import psnr

    torch.manual_seed(0)
    xs = [torch.rand(3, 40, 40) for _ in range(4)]
    hosts = [torch.rand(3, 40, 40) for _ in range(4)]
    pairs = [(x, h, f"{i}.png") for i, (x, h) in enumerate(zip(xs, hosts))]
    rec = chance_record(pairs + [(torch.rand(3, 24, 24), None, "lone.png")])
    assert rec["prior"]["n_images"] == 4  # the lone 24 px image has no other image of its size
    want = sum(float(psnr((sum(xs) - x)[None] / 3, x[None])) for x in xs) / 4
    assert rec["prior"]["psnr"] == pytest.approx(want, abs=1e-3)
    assert rec["n_images"] == 4 and rec["prior"]["psnr"] > rec["psnr"]  # the mean is closer than a random image
