"""The metrics' fast paths against their references: MS-SSIM against pytorch-msssim, LPIPS (with
features computed once per image, :class:`Prepared`) against lpips.LPIPS(net='alex'), and
``stegsem eval`` whose every PSNR / MS-SSIM / LPIPS value is recomputed here the old way."""
import pytest
import torch
from PIL import Image
from pytorch_msssim import ms_ssim as reference_ms_ssim

from gr_stegsem import metrics
from gr_stegsem.metrics import (LPIPSGallery, Prepared, all_metrics, lpips_distance, lpips_package_model,
                                ms_ssim, psnr)
from tests.conftest import need_models


def _pair(shape, noise=0.15):
    x = torch.rand(shape)
    return x, (x + noise * torch.randn(shape)).clamp(0, 1)


def old_lpips(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """lpips.LPIPS(net='alex') forward on [-1, 1] inputs (the project's backbone), per image."""
    with torch.no_grad():
        return lpips_package_model("cpu")(x.float() * 2 - 1, y.float() * 2 - 1).flatten()


def old_ms_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return reference_ms_ssim(x.float(), y.float(), data_range=1.0, size_average=False)


@pytest.mark.parametrize("shape", [(3, 3, 176, 176), (1, 3, 161, 203)])
def test_ms_ssim_matches_pytorch_msssim(shape):
    x, y = _pair(shape)
    want = old_ms_ssim(x, y)
    assert ms_ssim(x, y) == pytest.approx(want, abs=1e-5)
    px, py = Prepared(x), Prepared(y)
    for _ in range(2):  # computed, then reused
        assert ms_ssim(px, py) == pytest.approx(want, abs=1e-5)
        assert ms_ssim(x, py) == pytest.approx(want, abs=1e-5)
    if shape[0] > 1:  # a slice of prepared images carries its statistics
        assert ms_ssim(px[1:], py[1:]) == pytest.approx(want[1:], abs=1e-5)
        assert ms_ssim(x[:1], py[:1]) == pytest.approx(want[:1], abs=1e-5)
    assert ms_ssim(px, px) == pytest.approx(torch.ones(shape[0]), abs=1e-5)


def test_ms_ssim_rejects_mismatched_and_small_images():
    with pytest.raises(ValueError, match="different shapes"):
        ms_ssim(torch.rand(1, 3, 176, 176), Prepared(torch.rand(2, 3, 176, 176)))
    with pytest.raises(ValueError, match="at least 161"):
        ms_ssim(torch.rand(1, 3, 176, 150), torch.rand(1, 3, 176, 150))


def test_lpips_features_once_match_lpips():
    x, y = _pair((3, 3, 96, 80), noise=0.2)
    want = old_lpips(x, y)
    px, py = Prepared(x), Prepared(y)
    assert lpips_distance(x, y) == pytest.approx(want, abs=1e-5)
    assert lpips_distance(px, py) == pytest.approx(want, abs=1e-5)
    assert px.lpips_features() is px.lpips_features()  # computed once, then kept
    assert lpips_distance(px[1:], y[1:]) == pytest.approx(want[1:], abs=1e-5)
    gal = LPIPSGallery(y, batch=2)  # a gallery's features serve as a reference's
    ref = Prepared(y[[2, 0]], gal.features(torch.tensor([2, 0])))
    assert lpips_distance(px[:2], ref) == pytest.approx(old_lpips(x[:2], y[[2, 0]]), abs=1e-5)
    d = gal.distances(px)
    for j in range(3):
        assert d[:, j] == pytest.approx(old_lpips(x, y[j:j + 1].expand(3, -1, -1, -1)), abs=1e-4)
    with pytest.raises(ValueError, match="features of 1 images for 3"):
        Prepared(x, [f[:1] for f in px.lpips_features()])


def test_all_metrics_prepared_equals_direct():
    x, y = _pair((2, 3, 176, 176))
    got = all_metrics(Prepared(x), Prepared(y))
    assert got["psnr"] == pytest.approx(psnr(x, y), abs=1e-5)
    assert got["ms_ssim"] == pytest.approx(old_ms_ssim(x, y), abs=1e-5)
    assert got["lpips"] == pytest.approx(old_lpips(x, y), abs=1e-5)
    with pytest.raises(ValueError, match="different shapes"):
        all_metrics(x[:1], Prepared(y))


def _folders(root):
    """Three 176x176 private crops and three host crops from scikit-image's photographs."""
    from skimage import data

    priv, host = root / "private", root / "hosts"
    priv.mkdir()
    host.mkdir()
    for i, a in enumerate([data.astronaut(), data.coffee(), data.chelsea()]):
        h, w = a.shape[:2]
        Image.fromarray(a[:176, :176]).save(priv / f"p{i}.png")
        Image.fromarray(a[h - 176:, w - 176:]).save(host / f"h{i}.png")
    return priv, host


def test_eval_metrics_equal_the_old_implementation(tmp_path, monkeypatch):
    """Every all_metrics / MS-SSIM call of an eval (Bob, Eve against private and host, chance,
    prior, tiles) is checked image by image against PSNR, pytorch_msssim and lpips computed
    directly; the records are means of those values."""
    need_models("deepjscc-bcr12", "stego-l3_2")  # the INN scheme runs over the shipped DeepJSCC
    from gr_stegsem import evaluate as ev

    seen = {"calls": 0, "prepared": 0, "images": 0}

    def img(a):
        return a.images if isinstance(a, Prepared) else a

    def checked_all_metrics(x, ref):
        got = all_metrics(x, ref)
        xi, ri = img(x), img(ref)
        assert got["psnr"] == pytest.approx(psnr(xi, ri), abs=1e-4)
        assert got["ms_ssim"] == pytest.approx(old_ms_ssim(xi, ri), abs=1e-4)
        assert got["lpips"] == pytest.approx(old_lpips(xi, ri), abs=1e-4)
        seen["calls"] += 1
        seen["prepared"] += isinstance(x, Prepared) + isinstance(ref, Prepared)
        seen["images"] += len(xi)
        return got

    def checked_ms_ssim(x, ref):
        got = ms_ssim(x, ref)
        assert got == pytest.approx(old_ms_ssim(img(x), img(ref)), abs=1e-4)
        return got

    monkeypatch.setattr(ev, "all_metrics", checked_all_metrics)
    monkeypatch.setattr(ev, "ms_ssim", checked_ms_ssim)
    monkeypatch.setattr(ev, "write_outputs", lambda *a, **k: None)  # no figures: this test is about the numbers
    priv, host = _folders(tmp_path)
    s = ev.EvalSettings(data=priv, hosts=host, out=tmp_path / "out", snrs=(10.0,), eve_snr=10.0, mia_steps=0,
                        systems=("stego-l3_2",), attacks=("naive",), batch=2)
    recs = ev.evaluate(s, progress=False)
    # per chunk (2 + 1 images): Bob private and host, Eve private and host; chance and prior in
    # batches of 2; every reference and Eve's images are Prepared
    assert seen["calls"] == 4 * 2 + 2 * 2 and seen["images"] == 4 * 3 + 2 * 3
    assert seen["prepared"] == seen["calls"] + 2 * 2
    assert {(r["receiver"], r["target"]) for r in recs} == {
        ("bob", "private"), ("bob", "host"), ("eve-naive", "private"), ("eve-naive", "host")}
    assert all(r["n_images"] == 3 and r["ms_ssim"] is not None for r in recs)


def test_gauss_window_is_pytorch_msssims():
    from pytorch_msssim.ssim import _fspecial_gauss_1d

    assert torch.equal(metrics._gauss_1d(), _fspecial_gauss_1d(11, 1.5).flatten())


def test_benchmark_tool_measures_both_paths():
    """tools/benchmark_metrics.py on a tiny case: every timing present, new values equal to old."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("benchmark_metrics",
                                                  Path(__file__).parents[1] / "tools" / "benchmark_metrics.py")
    bm = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bm)
    r = bm.bench_metrics(threads=1, batch=2, size=176, compares=1, reps=1)
    assert all(r[k] > 0 for k in ("old_nchw", "old_cl", "new", "new_eve", "old_cl_eve"))
    assert r["max_abs_diff"] < 1e-4 and r["max_abs_diff_eve"] < 1e-4
    recs = [{"system": "s", "receiver": "bob", "target": "private", "snr_db": 0.0, "psnr": 20.0, "ms_ssim": None,
             "lpips": 0.5}]
    assert bm.records_diff(recs, [dict(recs[0], lpips=0.25)]) == 0.25
    assert bm.records_diff(recs, [dict(recs[0], snr_db=5.0)]) == float("inf")
    assert bm.main(["--threads", "x"]) == 2


def test_lpips_network_is_the_lpips_packages(tmp_path):
    """LPIPSAlex (torch alone, no lpips/torchvision import) gives lpips.LPIPS(net='alex')'s values, with
    gradients as the Eves' perceptual loss needs them."""
    from gr_stegsem.metrics import lpips_model

    x, y = _pair((2, 3, 64, 72), noise=0.3)
    ref = lpips_package_model("cpu")
    got = lpips_model("cpu")(x * 2 - 1, y * 2 - 1)
    assert got.shape == (2, 1, 1, 1)
    assert torch.allclose(got, ref(x * 2 - 1, y * 2 - 1), atol=1e-6, rtol=0)
    xg = x.clone().requires_grad_(True)
    lpips_model("cpu")(xg * 2 - 1, y * 2 - 1).sum().backward()
    xr = x.clone().requires_grad_(True)
    ref(xr * 2 - 1, y * 2 - 1).sum().backward()
    assert torch.allclose(xg.grad, xr.grad, atol=1e-6)
