"""The report's figures: PDF + 300 dpi PNG, one style and one legend per figure, n stated, 95 % CIs
drawn where the records hold them (and old records without them still plot), PSNR / MS-SSIM under
the tiles of the visual grids."""
import json
import math

import pytest
import torch
from PIL import Image

from gr_stegsem import report
from gr_stegsem.evaluate import _Acc, rerender

SYSTEMS = ("deepjscc", "stego-l3_2", "stego-l3_4")


def _records(ci: bool = True) -> list[dict]:
    """Synthetic eval records; at Eve the two stego systems' private curves coincide (as in the paper's runs)."""
    out = []
    for s, off in zip(SYSTEMS, (0.0, -2.0, -3.0)):
        for snr in (0.0, 10.0, 20.0):
            for rx in ("bob", "eve-naive", "eve-mia"):
                for tg in ("private",) if s == "deepjscc" else ("private", "host"):
                    stego_eve = rx != "bob" and s != "deepjscc"
                    r = {"system": s, "receiver": rx, "target": tg, "snr_db": snr,
                         "psnr": (11.0 + 8 * (tg == "host")) if stego_eve else 20 + snr / 2 + off,
                         "ms_ssim": 0.5 + snr / 50, "lpips": 0.4 - snr / 100, "n_images": 8 if rx == "eve-mia" else 100}
                    if rx != "bob" and tg == "private":
                        r["id_rate"] = 0.03 if stego_eve else 0.9
                    if ci:
                        r.update(psnr_ci95=0.75, ms_ssim_ci95=0.02, lpips_ci95=0.01)
                    out.append(r)
            if s != "deepjscc":
                out.append({"system": s, "receiver": "eve-detect", "target": "container", "snr_db": snr, "psnr": None,
                            "ms_ssim": None, "lpips": None, "n_images": 100, "accuracy": 0.6, "auc": 0.7})
    return out


CHANCE = {"psnr": 11.0, "ms_ssim": 0.2, "lpips": 0.7, "n_images": 100, "id_rate": 0.01}


def _grid():
    g = torch.Generator().manual_seed(0)
    img = lambda: torch.rand(3, 32, 32, generator=g)  # noqa: E731
    grid = {"host": img(), "private": img(), "deepjscc/bob": {"private": img()}, "deepjscc/eve-naive": img(),
            "stego-l3_2/bob": {"host": img(), "private": img()}, "stego-l3_2/eve-naive": img()}
    tiles = {"deepjscc/bob/private": {"psnr": 25.1234, "ms_ssim": 0.9},
             "deepjscc/eve-naive": {"psnr": 24.0, "ms_ssim": None},
             "stego-l3_2/bob/host": {"psnr": 31.5, "ms_ssim": 0.97},
             "stego-l3_2/bob/private": {"psnr": 27.25, "ms_ssim": 0.93},
             "stego-l3_2/eve-naive": {"psnr": 10.5, "ms_ssim": 0.1}}
    return grid, tiles


@pytest.fixture()
def captured(monkeypatch):
    """Figures handed to report.save_figure, kept open instead of rendered (fast)."""
    figs = []
    monkeypatch.setattr(report, "save_figure", lambda fig, path: figs.append(fig))
    yield figs
    report.pyplot().close("all")


@pytest.mark.parametrize("which", ["bob", "eve", "security", "privacy_utility", "grid"])
def test_every_figure_is_written_as_pdf_and_300_dpi_png(tmp_path, which):
    path = tmp_path / f"fig_{which}.png"
    recs = _records()
    if which == "bob":
        report.plot_bob(recs, path)
        size_in = (15, 4.6)
    elif which == "eve":
        report.plot_eve(recs, path)
        size_in = (11, 4.6)
    elif which == "security":
        report.plot_security(recs, path, CHANCE)
        size_in = None
    elif which == "privacy_utility":
        report.plot_privacy_utility(recs, path, CHANCE, bob_snr=10.0, eve_snr=10.0)
        size_in = (11, 4.8)
    else:
        report.visual_grid(*_grid()[:1], path, 5.0, tiles=_grid()[1])
        size_in = None
    with Image.open(path) as im:
        assert im.info["dpi"] == pytest.approx((300, 300), abs=0.01)
        if size_in:
            assert im.size == (300 * size_in[0], round(300 * size_in[1]))
    assert path.with_suffix(".pdf").read_bytes()[:5] == b"%PDF-"


def test_coinciding_curves_stay_apart_with_one_legend_n_and_error_bars(captured):
    report.plot_eve(_records(), "unused.png")
    fig = captured[0]
    ax = fig.axes[0]  # naive decoding: λ3=2 and λ3=4 vs the private image both at 11 dB
    lines = {c.get_label(): c.lines[0] for c in ax.containers}  # errorbar: label on the container
    assert len(lines) == 5  # DeepJSCC private, and host + private of both stego systems
    looks = {(ln.get_marker(), str(ln.get_linestyle()), str(ln.get_markerfacecolor()), ln.get_color())
             for ln in lines.values()}
    assert len(looks) == 5
    a, b = lines["Secure SemCom λ3=2 vs private"], lines["Secure SemCom λ3=4 vs private"]
    assert list(a.get_ydata()) == list(b.get_ydata()) == [11.0] * 3
    assert a.get_marker() != b.get_marker() and a.get_linestyle() != b.get_linestyle()
    assert all(xa != xb for xa, xb in zip(a.get_xdata(), b.get_xdata()))  # shifted along x
    assert abs(a.get_xdata()[0] - 0.0) < 0.5
    # one legend for the figure, none inside a panel; n on each panel
    assert len(fig.legends) == 1 and all(x.get_legend() is None for x in fig.axes)
    assert len(fig.legends[0].get_texts()) == 5
    assert "n = 100" in fig.axes[0].get_title() and "n = 8" in fig.axes[1].get_title()
    assert "95 % CI" in fig.legends[0].get_title().get_text()
    # the error bars are the records' CI half-widths
    bars = [c for c in ax.containers if c.has_yerr]
    assert len(bars) == 5
    seg = bars[0].lines[2][0].get_segments()[0]
    assert seg[1][1] - seg[0][1] == pytest.approx(2 * 0.75)


def test_old_records_without_ci_keys_still_plot_without_bars(captured):
    recs = _records(ci=False)
    report.plot_bob(recs, "unused.png")
    report.plot_eve(recs, "unused.png")
    report.plot_privacy_utility(recs, "unused.png", CHANCE, bob_snr=10.0, eve_snr=10.0)
    bob, eve, pu = captured
    assert not any(c.has_yerr for ax in bob.axes + eve.axes for c in ax.containers)
    assert "95 % CI" not in bob.legends[0].get_title().get_text()
    assert "n = 100" in bob.legends[0].get_title().get_text()
    # privacy-utility: no t bars on Bob's PSNR, but the identification rate's Wilson interval needs only n
    assert not any(c.has_yerr for c in pu.axes[0].containers) and all(c.has_xerr for c in pu.axes[0].containers)


def test_security_figure_draws_wilson_and_auc_intervals(captured):
    report.plot_security(_records(ci=False), "unused.png", CHANCE)
    fig = captured[0]
    assert len(fig.legends) == 1 and "n = 8–100" in fig.legends[0].get_title().get_text()
    auc_panel = next(ax for ax in fig.axes if ax.get_title() == "steganalysis (AUC)")
    seg = auc_panel.containers[0].lines[2][0].get_segments()[0]
    lo, hi = report.auc_interval(0.7, 100, 100)
    assert (seg[0][1], seg[1][1]) == pytest.approx((lo, hi))


def test_intervals():
    lo, hi = report.wilson(0.5, 100)
    assert (lo, hi) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert report.wilson(0.0, 10)[0] == 0.0 and 0.25 < report.wilson(0.0, 10)[1] < 0.35
    assert report.wilson(1.0, 4)[1] == 1.0 and report.wilson(0.0, 3)[0] == 0.0  # p stays inside despite rounding
    assert report.auc_interval(1.0, 4, 4) == (1.0, 1.0)
    lo, hi = report.auc_interval(0.8, 50, 50)
    assert lo < 0.8 < hi and hi - lo < report.auc_interval(0.8, 10, 10)[1] - report.auc_interval(0.8, 10, 10)[0]
    assert report.tile_caption(24.567, float("nan")) == "PSNR 24.57 dB, MS-SSIM –"


def test_records_carry_t_confidence_intervals():
    from scipy import stats

    acc = _Acc()
    vals = torch.tensor([20.0, 22.0, 25.0, 21.0, 30.0])
    acc.add(("s", "bob", "private", 5.0), {"psnr": vals[:2], "ms_ssim": torch.full((2,), float("nan")),
                                          "lpips": torch.tensor([0.1, 0.2])})
    acc.add(("s", "bob", "private", 5.0), {"psnr": vals[2:], "ms_ssim": torch.full((3,), float("nan")),
                                          "lpips": torch.tensor([0.3, 0.3, 0.3])})
    acc.add(("s", "eve-mia", "private", 5.0), {"psnr": vals[:1], "ms_ssim": vals[:1] / 40, "lpips": vals[:1] / 50})
    bob, one = acc.records()
    half = stats.t.ppf(0.975, 4) * vals.double().std().item() / math.sqrt(5)
    assert bob["psnr"] == pytest.approx(23.6) and bob["psnr_ci95"] == pytest.approx(half, abs=1e-5)
    assert bob["ms_ssim"] is None and bob["ms_ssim_ci95"] is None
    assert bob["lpips_ci95"] == pytest.approx(stats.t.ppf(0.975, 4) * 0.08944 / math.sqrt(5), abs=1e-4)
    assert one["n_images"] == 1 and one["psnr_ci95"] is None  # no spread from one image


def test_grids_carry_psnr_and_ms_ssim_under_each_reconstruction(captured, tmp_path):
    grid, tiles = _grid()
    report.visual_grid(grid, "unused.png", 5.0, tiles=tiles)
    texts = {t.get_text() for ax in captured[0].axes for t in ax.texts}
    assert texts == {"PSNR 25.12 dB, MS-SSIM 0.900", "PSNR 24.00 dB, MS-SSIM –", "PSNR 31.50 dB, MS-SSIM 0.970",
                     "PSNR 27.25 dB, MS-SSIM 0.930", "PSNR 10.50 dB, MS-SSIM 0.100"}
    from gr_stegsem.pipeline import write_report

    def row(rx, target, snr, psnr, ms):
        return {"receiver": rx, "target": target, "snr_db": snr, "psnr": psnr, "ms_ssim": ms, "lpips": 0.1}

    result = {"images": {"bob/host": grid["host"], "bob/private": grid["private"], "eve/naive": grid["host"]},
              "metrics": [row("bob/host", "host", 10.0, 30.0, float("nan")),
                          row("bob/private", "private", 10.0, 28.0, 0.95),
                          row("eve/naive", "host", 5.0, 29.0, 0.9), row("eve/naive", "private", 5.0, 11.0, 0.2)]}
    write_report(result, grid["host"], grid["private"], tmp_path, "demo")
    demo = captured[1]
    assert [[t.get_text() for t in ax.texts] for ax in demo.axes] == [
        [], [], ["PSNR 30.00 dB, MS-SSIM –"], ["PSNR 28.00 dB, MS-SSIM 0.950"], ["PSNR 11.00 dB, MS-SSIM 0.200"]]


def test_rerender_of_old_records_draws_every_figure(tmp_path, monkeypatch):
    names = []
    monkeypatch.setattr(report, "save_figure", lambda fig, path: (names.append(path.name), report.pyplot().close(fig)))
    (tmp_path / "results.json").write_text(json.dumps(_records(ci=False)))
    rerender(tmp_path, eve_snr=10.0)
    assert names == ["fig3_bob.png", "fig4_eve.png", "fig_security.png", "fig_privacy_utility.png"]
