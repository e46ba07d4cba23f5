import pytest
import torch

from gr_stegsem.models.deepjscc import DeepJSCC, normalize_power, to_complex
from gr_stegsem.models.inn import INNConfig, StegoINN
from gr_stegsem.system import StegoSystem


def randomised_inn(**kw) -> StegoINN:
    inn = StegoINN(INNConfig(**kw)).double()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in inn.parameters():  # leave the identity initialisation: make every block act
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.1)
    return inn


def test_exact_invertibility():
    inn = randomised_inn()
    zh = normalize_power(torch.randn(3, 8, 6, 10, dtype=torch.float64))
    zp = normalize_power(torch.randn(3, 8, 6, 10, dtype=torch.float64))
    zc, lost = inn.embed(zh, zp)
    assert (zc - zh).abs().max() > 1e-2  # the container really differs from the host
    rh, rp = inn.extract(zc, lost)
    torch.testing.assert_close(rh, zh, rtol=0, atol=1e-10)
    torch.testing.assert_close(rp, zp, rtol=0, atol=1e-10)


def test_exact_invertibility_float32():
    inn = randomised_inn().float()
    zh, zp = torch.randn(2, 8, 8, 8), torch.randn(2, 8, 8, 8)
    rh, rp = inn.extract(*inn.embed(zh, zp))
    torch.testing.assert_close(rh, zh, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(rp, zp, rtol=1e-4, atol=1e-4)


def test_soft_clamp_bounds_exponent():
    inn = randomised_inn(clamp=1.5)
    s = inn.blocks[0]._scale(torch.randn(1, 8, 4, 4, dtype=torch.float64) * 1e3)
    assert s.abs().max() <= 1.5


def test_container_power_is_one():
    system = StegoSystem(DeepJSCC(), randomised_inn().float(), "test")
    zc = system.alice(torch.rand(2, 3, 32, 48), torch.rand(2, 3, 32, 48))
    torch.testing.assert_close(to_complex(zc).abs().pow(2).mean(1), torch.ones(2), rtol=1e-5, atol=1e-5)


def test_lost_modes():
    inn = StegoINN()
    like = torch.zeros(2, 8, 4, 4)
    assert inn.lost_estimate(like, "zeros").abs().sum() == 0
    g = inn.lost_estimate(torch.zeros(4, 8, 64, 64), "gaussian", torch.Generator().manual_seed(0))
    assert abs(to_complex(g).abs().pow(2).mean().item() - 1) < 0.02
    with pytest.raises(ValueError, match="l_hat"):
        inn.lost_estimate(like, "ones")
    with pytest.raises(ValueError, match="l_hat"):
        StegoINN(INNConfig(lost="ones"))


def test_shape_errors():
    inn = StegoINN()
    with pytest.raises(ValueError, match="8 channels"):
        inn.embed(torch.zeros(1, 16, 4, 4), torch.zeros(1, 16, 4, 4))
    with pytest.raises(ValueError, match="differ in shape"):
        inn.embed(torch.zeros(1, 8, 4, 4), torch.zeros(1, 8, 4, 6))
    system = StegoSystem(DeepJSCC(), StegoINN(), "t")
    with pytest.raises(ValueError, match="differ in size"):
        system.alice(torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 40))
    with pytest.raises(ValueError, match="NaN"):
        system.extract(torch.full((1, 8, 4, 4), float("nan")))
