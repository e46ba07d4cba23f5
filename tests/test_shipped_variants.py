"""The shipped keyed, covert and CNN steganography models on four test pairs (skipped without them)."""
from __future__ import annotations

import pytest
import torch

from gr_stegsem import keys, schemes
from gr_stegsem.checkpoint import read_info
from gr_stegsem.metrics import ms_ssim, psnr
from tests.conftest import MODELS, need_models


def test_keyed_model_bob_with_and_without_the_key(test_pairs):
    """Bob with the key recovers the private image; Bob with a wrong key, and the glass-box Eve (every
    shipped file, a guessed key), get an unrelated image (measured at 10 dB on these pairs: Bob 28.96 dB
    / host 32.58 dB, wrong key MS-SSIM 0.041, glass-box 0.059; Eve's naive view of the host 0.948)."""
    need_models("deepjscc-bcr12", "stego-keyed-l3_2")
    assert read_info(MODELS / "stego-keyed-l3_2")["keyed"] is True
    xh, xp = test_pairs
    s = schemes.load("stego-keyed-l3_2")
    k = keys.Key.generate()
    tx = s.alice(xh, xp, key=k, nonce=100)
    g = torch.Generator().manual_seed(0)
    y = s.channel(tx, 10.0, generator=g)
    bob = s.bob(y, (256, 256), key=k, nonce=100)
    assert psnr(bob["private"], xp).mean() > 27.0 and psnr(bob["host"], xh).mean() > 31.0
    wrong = s.bob(y, (256, 256), key=keys.Key.generate(), nonce=100)["private"]
    other_nonce = s.bob(y, (256, 256), key=k, nonce=101)["private"]
    for img in (wrong, other_nonce, s.bob_without_secrets(y, (256, 256))["private"]):
        assert ms_ssim(img, xp).mean() < 0.15
    eve = s.eve_naive(s.channel(tx, 5.0, generator=g), (256, 256))
    assert ms_ssim(eve, xh).mean() > 0.90
    with pytest.raises(keys.BadKey):
        s.alice(xh, xp)
