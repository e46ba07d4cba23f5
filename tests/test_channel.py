import math

import pytest
import torch

from gr_stegsem import channel


def unit_symbols(b=4, k=50_000, seed=0):
    g = torch.Generator().manual_seed(seed)
    s = torch.complex(torch.randn(b, k, generator=g), torch.randn(b, k, generator=g))
    return s / s.abs().pow(2).mean(1, keepdim=True).sqrt()


@pytest.mark.parametrize("snr", [0.0, 5.0, 13.0, 20.0])
def test_awgn_noise_variance_matches_snr(snr):
    s = unit_symbols()
    y = channel.awgn(s, snr, torch.Generator().manual_seed(1))
    n = y - s
    var = n.abs().pow(2).mean().item()
    expected = 10 ** (-snr / 10)
    # 200k complex samples: relative std of the variance estimate ~ 0.22 %
    assert abs(var / expected - 1) < 0.02
    # circular: half the power on each of I and Q, no correlation
    assert abs(n.real.pow(2).mean().item() / (expected / 2) - 1) < 0.03
    assert abs((n.real * n.imag).mean().item()) < 0.01 * expected
    assert abs(channel.measured_snr_db(s, y) - snr) < 0.1


def test_per_item_snr():
    s = unit_symbols(b=2)
    y = channel.awgn(s, torch.tensor([0.0, 20.0]), torch.Generator().manual_seed(2))
    v = (y - s).abs().pow(2).mean(1)
    assert abs(v[0].item() - 1.0) < 0.03 and abs(v[1].item() - 0.01) < 0.0003


def test_rayleigh_equalised_mean_is_unbiased_and_noise_scales():
    s = unit_symbols(b=400, k=200)
    y = channel.rayleigh(s, 30.0, torch.Generator().manual_seed(3))
    assert y.shape == s.shape
    # ZF equalisation: y/h = s + n/h; the error is noise-dominated but the median is small at 30 dB
    err = (y - s).abs().median().item()
    assert err < 0.1
    block = channel.rayleigh(s, 10.0, torch.Generator().manual_seed(3), block=50)
    assert torch.isfinite(torch.view_as_real(block)).all()


def test_unknown_channel():
    with pytest.raises(ValueError, match="unknown channel"):
        channel.apply(unit_symbols(1, 10), 10.0, "rician")


def test_noise_variance_formula():
    assert channel.noise_variance(10.0) == pytest.approx(0.1)
    assert math.isclose(float(channel.noise_variance(torch.tensor(3.0))), 10 ** -0.3, rel_tol=1e-6)
