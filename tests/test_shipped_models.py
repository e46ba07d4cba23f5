"""The shipped models load safely and still do their job on a few real test images."""
import json

import pytest
import torch

from gr_stegsem.checkpoint import read_info
from gr_stegsem.metrics import ms_ssim, psnr
from gr_stegsem.models.deepjscc import to_complex
from gr_stegsem.system import StegoSystem
from tests.conftest import MODELS, need_models


STEGO = ("stego-l3_2", "stego-l3_4", "stego-l3_8", "stego-l3_16")


def test_model_files_small_and_described():
    need_models("deepjscc-bcr12", *STEGO)
    for name in ("deepjscc-bcr12", *STEGO):
        assert (MODELS / f"{name}.safetensors").stat().st_size < 8 * 2**20
        info = read_info(MODELS / name)
        assert info["steps"] > 0 and "config" in info
    for name in STEGO:
        assert read_info(MODELS / name)["lambdas"] == [1.0, 2.0, float(name.split("_")[1]), 1.0, 1.0]
    assert json.loads((MODELS / "deepjscc-bcr12.json").read_text())["config"]["bcr"] == "1/12"


def test_deepjscc_quality(test_pairs):
    need_models("deepjscc-bcr12")
    _, xp = test_pairs
    s = StegoSystem.shipped("deepjscc")
    y = s.channel(s.alice(None, xp), 10.0, generator=torch.Generator().manual_seed(0))
    assert psnr(s.bob(y, (256, 256))["private"], xp).mean() > 33.0  # measured 35.5 dB


# Bob's PSNR floors (dB) at 10 dB on these four test_pairs (private, host) and Eve's naive MS-SSIM floor against the
# host at 5 dB; measured (private / host / Eve-host): λ3 = 2: 30.5 / 33.5 / 0.953, 4: 31.5 / 33.3 / 0.945,
# 8: 32.4 / 32.7 / 0.930, 16: 33.0 / 31.8 / 0.903
FLOORS = {"stego-l3_2": (28.5, 31.0, 0.90), "stego-l3_4": (28.5, 31.0, 0.90), "stego-l3_8": (30.0, 30.5, 0.90),
           "stego-l3_16": (31.0, 29.5, 0.88)}


@pytest.mark.parametrize("name", STEGO)
def test_stego_bob_recovers_and_eve_sees_host(test_pairs, name):
    need_models("deepjscc-bcr12", name)
    xh, xp = test_pairs
    s = StegoSystem.shipped(name)
    zc = s.alice(xh, xp)
    torch.testing.assert_close(to_complex(zc).abs().pow(2).mean(1), torch.ones(4), atol=1e-5, rtol=1e-5)
    g = torch.Generator().manual_seed(0)
    bob = s.bob(s.channel(zc, 10.0, generator=g), (256, 256))
    assert psnr(bob["private"], xp).mean() > FLOORS[name][0]
    assert psnr(bob["host"], xh).mean() > FLOORS[name][1]
    eve = s.eve_naive(s.channel(zc, 5.0, generator=g), (256, 256))
    assert ms_ssim(eve, xp).mean() < 0.30  # measured 0.16-0.17 on these four test_pairs, every λ3
    assert ms_ssim(eve, xh).mean() > FLOORS[name][2]

