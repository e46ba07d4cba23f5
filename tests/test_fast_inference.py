"""The fast inference paths give the eager results: fused INN kernels, numpy <-> pmt vectors, finiteness check."""
import numpy as np
import pytest
import torch

from gr_stegsem.models.deepjscc import all_finite
from gr_stegsem.models.inn import FusedINN, INNConfig, StegoINN, fast_inference_enabled
from gr_stegsem.system import StegoSystem
from tests.conftest import need_models


def _cl(t):
    return t.contiguous(memory_format=torch.channels_last)


def _random_inn(seed=0):
    torch.manual_seed(seed)
    inn = StegoINN(INNConfig(channels=8, blocks=3, hidden=16))
    with torch.no_grad():  # non-zero last layers (they start at zero), so every term counts
        for p in inn.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    return inn.eval().requires_grad_(False).to(memory_format=torch.channels_last)


def _close(a, b, rel=1e-6):
    for x, y in zip(a, b):
        assert x.shape == y.shape
        assert (x - y).abs().max() <= rel * max(1.0, y.abs().max().item())


@pytest.mark.parametrize("shape", [(1, 8, 64, 64), (3, 8, 17, 23), (1, 8, 1, 1)])
def test_fused_inn_matches_eager(shape):
    inn = _random_inn()
    f = FusedINN(inn)
    a, b = _cl(torch.randn(shape)), _cl(torch.randn(shape))
    with torch.inference_mode():
        _close(f.embed(a, b), inn.embed(a, b))
        path = f.last_path
        _close(f.extract(a, b), inn.extract(a, b))
        _close(f.extract(*f.embed(a, b)), (a, b), rel=1e-4)  # still invertible
        # NCHW input works too
        _close(f.embed(a.contiguous(), b.contiguous()), inn.embed(a, b))
    assert path == ("fused" if fast_inference_enabled() else "eager")


def test_fused_inn_falls_back_and_repacks(monkeypatch):
    inn = _random_inn(1)
    f = FusedINN(inn)
    a, b = _cl(torch.randn(1, 8, 8, 8)), _cl(torch.randn(1, 8, 8, 8))
    # with gradients (training) the eager module runs
    zc, _ = f.embed(a.requires_grad_(True), b)
    assert f.last_path == "eager" and zc.requires_grad
    a = a.detach()
    with torch.inference_mode():
        f.embed(a, b)
        with torch.no_grad():
            inn.blocks[0].eta[4].bias.add_(0.5)  # in-place change: the packed weights must follow
        _close(f.embed(a, b), inn.embed(a, b))
        # a different architecture is left to the eager code
        inn.blocks[0].phi[1] = torch.nn.LeakyReLU(0.1)
        g = FusedINN(inn)
        assert not g.supported
        _close(g.embed(a, b), inn.embed(a, b))
        assert g.last_path == "eager"
    monkeypatch.setenv("STEGSEM_FAST_INFERENCE", "0")
    h = FusedINN(_random_inn(2))
    with torch.inference_mode():
        h.embed(a, b)
    assert h.last_path == "eager"


def test_shipped_system_uses_fused_inn_with_eager_results():
    need_models("deepjscc-bcr12", "stego-l3_2")
    s = StegoSystem.shipped("stego-l3_2")
    torch.manual_seed(0)
    xh, xp = torch.rand(2, 3, 64, 96), torch.rand(2, 3, 64, 96)
    zh, zp = s.encode(xh), s.encode(xp)
    with torch.inference_mode():
        zc_eager, _ = s.inn.embed(_cl(zh), _cl(zp))
        ref = zc_eager / (2 * zc_eager.pow(2).flatten(1).mean(1)).sqrt().view(-1, 1, 1, 1)
        zc = s.embed(zh, zp)
        _close((zc,), (ref,), rel=1e-5)
        y = zc + 0.1 * torch.randn_like(zc)
        _close(s.extract(y), s.inn.extract(_cl(y), torch.zeros_like(_cl(y))), rel=1e-5)
    if fast_inference_enabled():
        assert s._inn_fused().last_path == "fused"


def test_all_finite():
    x = torch.rand(2, 3, 16, 16)
    assert all_finite(x) and all_finite(torch.zeros(0)) and all_finite(torch.arange(5))
    for v in (float("nan"), float("inf"), float("-inf")):
        y = _cl(x.clone())
        y[1, 2, 3, 4] = v
        assert not all_finite(y)
        c = torch.randn(2, 8, dtype=torch.complex64)
        c[1, 3] = complex(0.0, v)
        assert not all_finite(c)


def test_pmt_vectors_fast_path_equals_list_path():
    pmt = pytest.importorskip("pmt")
    from gr_stegsem.blocks import pdus

    assert pdus._FAST_PMT  # the serialised form is what this PMT version uses
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 256 * 256 * 3):
        a = rng.integers(0, 256, n).astype(np.uint8)
        v = pdus.u8vector_from_numpy(a)
        assert pmt.is_u8vector(v) and pmt.equal(v, pmt.init_u8vector(n, a.tolist()))
        assert np.array_equal(pdus.u8vector_to_numpy(pmt.init_u8vector(n, a.tolist())), a)
        c = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
        if n > 3:
            c[:3] = [np.nan, np.inf, complex(-0.0, -np.inf)]
        w = pdus.c32vector_from_numpy(c)
        assert pmt.is_c32vector(w) and pmt.length(w) == n
        back = pdus.c32vector_to_numpy(pmt.init_c32vector(n, c.tolist()))
        assert back.dtype == np.complex64 and back.flags.writeable
        np.testing.assert_array_equal(back, c)
        np.testing.assert_array_equal(pdus.c32vector_to_numpy(w), c)
