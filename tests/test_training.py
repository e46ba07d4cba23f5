import json
import os
import subprocess
import sys

import pytest
import torch

from gr_stegsem import channel
from gr_stegsem.checkpoint import load_model, save_model
from gr_stegsem.images import RandomCrops
from gr_stegsem.models.deepjscc import DeepJSCC, DeepJSCCConfig, from_complex, to_complex
from gr_stegsem.models.inn import INNConfig, StegoINN
from gr_stegsem.train.inn import StegoLink, train_inn
from gr_stegsem.train.jscc import train_jscc
from tests.conftest import ROOT

SMALL = dict(width1=8, width=16)


def fixed_batch(folder, n=8, crop=32):
    torch.manual_seed(123)
    ds = RandomCrops(folder, crop)
    return torch.stack([ds[i] for i in range(n)])


def jscc_mse(model, x, snr=10.0):
    with torch.no_grad():
        z = model.encode(x)
        y = channel.awgn(to_complex(z), snr, torch.Generator().manual_seed(0))
        return (model.decode(from_complex(y, tuple(z.shape[1:]))) - x).pow(2).mean().item()


def test_jscc_training_lowers_loss_and_resumes(tiny_images, tmp_path):
    x = fixed_batch(tiny_images)
    torch.manual_seed(0)
    before = jscc_mse(DeepJSCC(DeepJSCCConfig(**SMALL)), x)
    out = tmp_path / "j"
    train_jscc([str(tiny_images)], out, crop=32, batch=8, steps=40, lr=3e-3, workers=0, save_every=20, **SMALL)
    after = jscc_mse(load_model(out), x)
    assert after < 0.7 * before
    # resume: a longer run continues from the saved step, and the CSV log keeps one row per step
    last = train_jscc([str(tiny_images)], out, crop=32, batch=8, steps=45, lr=3e-3, workers=0, **SMALL)
    assert last["step"] == 45
    assert json.loads(out.with_suffix(".json").read_text())["steps"] == 45
    assert len(out.with_suffix(".csv").read_text().strip().splitlines()) == 1 + 45


def test_inn_training_lowers_loss(tiny_images, tmp_path):
    torch.manual_seed(0)
    jscc = DeepJSCC(DeepJSCCConfig(**SMALL))
    save_model(jscc, tmp_path / "j")
    xh, xp = fixed_batch(tiny_images / "set1"), fixed_batch(tiny_images / "set0")

    def total(inn):
        torch.manual_seed(5)
        with torch.no_grad():
            t = StegoLink(inn, jscc)(xh, xp, 10.0)
        return t["container"] + 2 * t["lost"] + 2 * t["private_sym"] + t["host_sym"] + t["private_img"]

    torch.manual_seed(0)
    before = total(StegoINN(INNConfig(blocks=2, hidden=8)))
    train_inn(tmp_path / "j", [str(tiny_images)], [str(tiny_images)], tmp_path / "inn", blocks=2, hidden=8,
              crop=32, batch=8, steps=40, lr=3e-3, workers=0)
    after = total(load_model(tmp_path / "inn"))
    assert after < 0.7 * before
    info = json.loads((tmp_path / "inn.json").read_text())
    assert info["lambdas"] == [1.0, 2.0, 2.0, 1.0, 1.0] and info["jscc_config"] == jscc.config.to_dict()
    assert "precision" not in info
    # mixed precision (bfloat16 autocast; emulated where the CPU has no bfloat16) trains as well, the
    # weights stay float32 and contiguous in the file, and the model records how it was trained
    train_inn(tmp_path / "j", [str(tiny_images)], [str(tiny_images)], tmp_path / "inn16", blocks=2, hidden=8,
              crop=32, batch=8, steps=40, lr=3e-3, workers=0, precision="bf16")
    mixed = load_model(tmp_path / "inn16")
    assert all(p.dtype == torch.float32 for p in mixed.parameters())
    assert total(mixed) < 0.7 * before
    assert json.loads((tmp_path / "inn16.json").read_text())["precision"] == "bf16"


def test_preloaded_crops_match_the_dataset_augmentation(tiny_images):
    from gr_stegsem.images import PreloadedCrops

    pre = PreloadedCrops(tiny_images, 32)
    assert len(pre) == len(RandomCrops(tiny_images, 32))
    a = next(pre.batches(6, seed=1))
    b = next(PreloadedCrops(tiny_images, 32).batches(6, seed=1))
    assert a.shape == (6, 3, 32, 32) and a.dtype == torch.float32 and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, b)  # seeded
    # every crop is a (possibly mirrored) window of one of the images
    imgs = [t.float() / 255 for t in pre.images]
    for x in a:
        assert any(torch.equal(x, img[:, i:i + 32, j:j + 32]) or torch.equal(x.flip(-1), img[:, i:i + 32, j:j + 32])
                   for img in imgs for i in range(img.shape[1] - 31) for j in range(img.shape[2] - 31))


def test_time_budget_and_init_fine_tuning(tiny_images, tmp_path):
    """--minutes fits the schedule to the budget (the run stops well before --steps, the learning rate
    ends at its floor); --init starts from a trained model's weights, --preload feeds the batches."""
    torch.manual_seed(0)
    save_model(DeepJSCC(DeepJSCCConfig(**SMALL)), tmp_path / "j")
    kw = dict(blocks=2, hidden=8, crop=32, batch=4, lr=3e-3, workers=0)
    first = train_inn(tmp_path / "j", [str(tiny_images)], [str(tiny_images)], tmp_path / "a", steps=20, **kw)
    last = train_inn(tmp_path / "j", [str(tiny_images)], [str(tiny_images)], tmp_path / "b", steps=10 ** 6,
                     minutes=0.05, init=tmp_path / "a", preload=True, **kw)
    assert 60 < last["step"] < 10 ** 6
    assert abs(last["lr"] - 3e-4) < 3e-6  # cosine fitted to end at lr / 10 when the time is up
    info = json.loads((tmp_path / "b.json").read_text())
    assert info["init"] == str(tmp_path / "a") and info["steps"] == last["step"]
    rows = (tmp_path / "b.csv").read_text().strip().splitlines()
    assert float(rows[1].split(",")[-2]) < first["lr"] * 1.01  # warm-up at the floor while measuring
    with pytest.raises(ValueError, match="--init"):
        train_inn(tmp_path / "j", [str(tiny_images)], [str(tiny_images)], tmp_path / "c", steps=2, init=tmp_path / "a",
                  **{**kw, "hidden": 16})


def test_bad_time_budget_and_too_few_images_for_a_preloaded_batch(tiny_images, tmp_path):
    from gr_stegsem.images import PreloadedCrops
    from gr_stegsem.train.loop import LoopSettings

    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="time budget must be > 0"):
            LoopSettings(tmp_path / "x", 10, 1e-3, minutes=bad)
    with pytest.raises(ValueError, match="training precision must be one of"):
        LoopSettings(tmp_path / "x", 10, 1e-3, precision="fp16")
    pre = PreloadedCrops(tiny_images / "set0", 32)
    with pytest.raises(ValueError, match="fewer than one batch"):
        next(pre.batches(len(pre) + 1, seed=0))


def test_ddp_two_processes_gloo(tiny_images, tmp_path):
    """The same CLI under torchrun: 2 CPU processes, gloo, DistributedDataParallel."""
    out = tmp_path / "ddp"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "gr_stegsem", "train", "jscc", "--data", str(tiny_images), "--out", str(out), "--crop", "32",
           "--batch", "8", "--steps", "6", "--workers", "0", "--width1", "8", "--width", "16"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    info = json.loads(out.with_suffix(".json").read_text())
    assert info["world_size"] == 2 and info["steps"] == 6
    assert load_model(out).config.width == 16
