from fractions import Fraction

import pytest
import torch

from gr_stegsem.models.deepjscc import (DeepJSCC, DeepJSCCConfig, from_complex, latent_shape, normalize_power,
                                        num_symbols, to_complex)


@pytest.mark.parametrize("h,w", [(32, 32), (64, 96), (37, 53), (128, 20)])
def test_shapes_ratio_and_power(h, w):
    m = DeepJSCC(DeepJSCCConfig())
    x = torch.rand(2, 3, h, w)
    z = m.encode(x)
    assert tuple(z.shape[1:]) == latent_shape(h, w, m.config)
    s = to_complex(z)
    k = num_symbols(h, w, m.config)
    assert s.shape == (2, k)
    hp, wp = -(-h // 4) * 4, -(-w // 4) * 4  # padded to the stride
    assert Fraction(k, 3 * hp * wp) == Fraction(1, 12)
    # per-image power normalisation: mean |z|^2 = 1 for each image
    torch.testing.assert_close(s.abs().pow(2).mean(1), torch.ones(2), rtol=1e-5, atol=1e-5)
    y = m.decode(from_complex(s, tuple(z.shape[1:])), (h, w))
    assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1


@pytest.mark.parametrize("bcr,channels", [("1/6", 16), ("1/12", 8), ("1/24", 4)])
def test_bcr_configurable(bcr, channels):
    cfg = DeepJSCCConfig(bcr=bcr)
    assert cfg.latent_channels == channels
    z = DeepJSCC(cfg).encode(torch.rand(1, 3, 64, 64))
    assert Fraction(to_complex(z).shape[1], 3 * 64 * 64) == Fraction(bcr)


def test_bad_bcr_rejected():
    with pytest.raises(ValueError, match="even integer"):
        DeepJSCCConfig(bcr="1/10").latent_channels


def test_complex_round_trip():
    z = normalize_power(torch.randn(3, 8, 5, 7))
    torch.testing.assert_close(from_complex(to_complex(z), (8, 5, 7)), z)


@pytest.mark.parametrize("x,msg", [
    (torch.rand(1, 1, 32, 32), "3 channels"),
    (torch.rand(3, 32, 32), r"\(B, 3, H, W\)"),
    (torch.full((1, 3, 32, 32), float("nan")), "NaN"),
    (torch.rand(1, 3, 2, 32), "too small"),
])
def test_bad_images_rejected(x, msg):
    with pytest.raises(ValueError, match=msg):
        DeepJSCC().encode(x)


def test_oversized_image_rejected():
    x = torch.empty(1, 3, 5000, 4000)  # never filled: the size check comes first
    with pytest.raises(ValueError, match="too large"):
        DeepJSCC().encode(x)


def test_wrong_symbol_count_and_nan_symbols_rejected():
    with pytest.raises(ValueError, match="complex symbols"):
        from_complex(torch.zeros(1, 100, dtype=torch.complex64), (8, 8, 8))
    bad = torch.zeros(1, 256, dtype=torch.complex64)
    bad[0, 3] = complex(float("nan"), 0)
    with pytest.raises(ValueError, match="NaN"):
        from_complex(bad, (8, 8, 8))


def test_decoder_rejects_latent_of_other_ratio():
    with pytest.raises(ValueError, match="bcr 1/12"):
        DeepJSCC().decode(torch.zeros(1, 16, 8, 8))
