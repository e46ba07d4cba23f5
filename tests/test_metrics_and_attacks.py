import pickle

import pytest
import torch

from gr_stegsem import attacks
from gr_stegsem.images import load_image
from gr_stegsem.metrics import _NumpyOnly, lpips_distance, ms_ssim, psnr
from gr_stegsem.models.deepjscc import DeepJSCC
from tests.conftest import need_shared


def test_lpips_reference_distances():
    d = need_shared("lpips-reference")
    ref, p0, p1 = (load_image(d / f"{n}.png")[None] for n in ("ex_ref", "ex_p0", "ex_p1"))
    # the LPIPS authors' test_network.py prints 0.722 and 0.138 (v0.1, AlexNet)
    assert round(lpips_distance(ref, p0).item(), 3) == 0.722
    assert round(lpips_distance(ref, p1).item(), 3) == 0.138


def test_lpips_identity_is_zero():
    x = torch.rand(2, 3, 64, 64)
    assert lpips_distance(x, x).abs().max() < 1e-6


def test_psnr_known_value():
    x = torch.zeros(1, 3, 8, 8)
    assert psnr(x, x + 0.1).item() == pytest.approx(20.0, abs=1e-4)


def test_ms_ssim_identity_and_size_guard():
    x = torch.rand(1, 3, 176, 176)
    assert ms_ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)
    assert ms_ssim(x, torch.rand_like(x)).item() < 0.3
    with pytest.raises(ValueError, match="at least 161"):
        ms_ssim(torch.rand(1, 3, 128, 128), torch.rand(1, 3, 128, 128))


def test_backbone_unpickler_refuses_code():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    import io

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        _NumpyOnly(io.BytesIO(pickle.dumps({"a": Evil()}))).load()


def test_model_inversion_lowers_objective():
    m = DeepJSCC().eval()
    target = m.encode(torch.rand(1, 3, 32, 32)).detach()
    res = attacks.model_inversion(m, target, (32, 32), steps=30, lr=0.05, seed=1, tv_weight=0.0)
    assert res.losses[-1] < 0.5 * res.losses[0]
    with_prior = attacks.model_inversion(m, target, (32, 32), steps=30, lr=0.05, seed=1, tv_weight=1.0)
    assert with_prior.losses[-1] < 0.8 * with_prior.losses[0]
    assert res.images.min() >= 0 and res.images.max() <= 1
    again = attacks.model_inversion(m, target, (32, 32), steps=30, lr=0.05, seed=1, tv_weight=0.0)
    torch.testing.assert_close(res.images, again.images)  # seeded
    assert all(p.requires_grad for p in m.parameters())  # weights untouched


def test_attacks_reject_nan_and_zero_steps():
    m = DeepJSCC()
    with pytest.raises(ValueError, match="NaN"):
        attacks.naive_decoding(m, torch.full((1, 8, 4, 4), float("nan")))
    with pytest.raises(ValueError, match="at least one step"):
        attacks.model_inversion(m, torch.zeros(1, 8, 4, 4), (16, 16), steps=0)
