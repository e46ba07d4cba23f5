"""Tables and figures from evaluation records (matplotlib, Agg backend)."""
from __future__ import annotations

import re
from pathlib import Path

import torch

_LAMBDA3 = re.compile(r"stego-l3_(\d+(?:\.\d+)?)")


def label(system: str) -> str:
    """Display name: 'DeepJSCC', 'Secure SemCom λ3=4' for stego-l3_4, else 'Secure SemCom (name)'."""
    if system == "deepjscc":
        return "DeepJSCC"
    from . import schemes

    own = schemes.label(system)
    if own:
        return own
    m = _LAMBDA3.fullmatch(system)
    return f"Secure SemCom λ3={m.group(1)}" if m else f"Secure SemCom ({system})"


def _systems(records) -> list[str]:
    """The systems in the records: DeepJSCC, then stego-l3_X by increasing λ3, then the others by name."""
    def order(s):
        m = _LAMBDA3.fullmatch(s)
        return (s != "deepjscc", m is None, float(m.group(1)) if m else 0.0, s)
    return sorted({r["system"] for r in records}, key=order)


def _fmt(v, nd=3):
    return "–" if v is None else f"{v:.{nd}f}"


def _pick(records, **kw):
    return [r for r in records if all(r[k] == v for k, v in kw.items())]


def markdown(records: list[dict], eve_snr: float) -> str:
    """Table I (Eve at eve_snr) and Bob's curves (Fig. 3) as markdown tables."""
    lines = [f"## Table I — Eve at {eve_snr:g} dB", "",
             "| system | target | naive MS-SSIM | naive LPIPS | naive PSNR | MIA MS-SSIM | MIA LPIPS | MIA PSNR |",
             "|---|---|---|---|---|---|---|---|"]
    for system in _systems(records):
        for target in ("private", "host"):
            naive = _pick(records, system=system, receiver="eve-naive", target=target, snr_db=eve_snr)
            mia = _pick(records, system=system, receiver="eve-mia", target=target, snr_db=eve_snr)
            if not naive and not mia:
                continue
            n = naive[0] if naive else {}
            m = mia[0] if mia else {}
            lines.append(f"| {label(system)} | {target} | {_fmt(n.get('ms_ssim'))} | {_fmt(n.get('lpips'))} | "
                         f"{_fmt(n.get('psnr'), 2)} | {_fmt(m.get('ms_ssim'))} | {_fmt(m.get('lpips'))} | "
                         f"{_fmt(m.get('psnr'), 2)} |")
    snrs = sorted({r["snr_db"] for r in records if r["receiver"] == "bob"})
    lines += ["", "## Fig. 3 — Bob, PSNR (dB) / MS-SSIM / LPIPS vs SNR", "",
              "| system | target | " + " | ".join(f"{s:g} dB" for s in snrs) + " |",
              "|---|---|" + "---|" * len(snrs)]
    for system in _systems(records):
        for target in ("private", "host"):
            rows = {r["snr_db"]: r for r in _pick(records, system=system, receiver="bob", target=target)}
            if rows:
                cells = [f"{_fmt(rows[s]['psnr'], 2)} / {_fmt(rows[s]['ms_ssim'])} / {_fmt(rows[s]['lpips'])}"
                         if s in rows else "–" for s in snrs]
                lines.append(f"| {label(system)} | {target} | " + " | ".join(cells) + " |")
    esnrs = sorted({r["snr_db"] for r in records if r["receiver"].startswith("eve")})
    lines += ["", "## Fig. 4 — Eve, PSNR (dB) vs Eve's SNR", "",
              "| system | attack | target | n | " + " | ".join(f"{s:g} dB" for s in esnrs) + " |",
              "|---|---|---|---|" + "---|" * len(esnrs)]
    for system in _systems(records):
        for rx in ("eve-naive", "eve-mia"):
            for target in ("private", "host"):
                rows = {r["snr_db"]: r for r in _pick(records, system=system, receiver=rx, target=target)}
                if rows:
                    n = next(iter(rows.values()))["n_images"]
                    cells = [_fmt(rows[s]["psnr"], 2) if s in rows else "–" for s in esnrs]
                    lines.append(f"| {label(system)} | {rx} | {target} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# --- figure conventions: 300 dpi PNG + PDF, one style per curve, one legend, 95 % CIs ------------------
DPI = 300
_MARKERS = "osD^vP<>Xph*"
_LINESTYLES = ("-", "--", "-.", ":", (0, (6, 2)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2, 1, 2)))
Z95 = 1.959964  # standard normal 97.5 % quantile


def save_figure(fig, path: Path) -> list[Path]:
    """Write ``fig`` as PATH.png (300 dpi) and PATH.pdf (same stem; no creation date, so reruns give
    the same file), close it; returns both paths."""
    path = Path(path)
    out = [path.with_suffix(".png"), path.with_suffix(".pdf")]
    fig.savefig(out[0], dpi=DPI)
    fig.savefig(out[1], dpi=DPI, metadata={"CreationDate": None})
    pyplot().close(fig)
    return out


def curve_style(i: int, j: int = 0, n_variants: int = 1) -> dict:
    """Matplotlib keywords of curve j (0 .. n_variants-1, e.g. private / host) of system i: the
    system's colour and marker (open for j > 0), and a line style of its own per (i, j)."""
    colour = f"C{i % 10}"
    return {"color": colour, "marker": _MARKERS[i % len(_MARKERS)],
            "linestyle": _LINESTYLES[(i * n_variants + j) % len(_LINESTYLES)],
            "markerfacecolor": colour if j == 0 else "none", "markersize": 5, "linewidth": 1.3, "alpha": 0.85}


def _shift(i: int, count: int, xs) -> float:
    """x offset of curve i of ``count`` (1 % of the x range apart), so coinciding curves and their
    bars stay apart."""
    xs = list(xs)
    span = (max(xs) - min(xs)) if xs else 0.0
    return (i - (count - 1) / 2) * 0.01 * (span or 10.0)


def wilson(p: float, n: int) -> tuple[float, float]:
    """95 % Wilson score interval (low, high) of a proportion p observed on n trials."""
    if n <= 0:
        return p, p
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 / (1 + z2 / n) * (p * (1 - p) / n + z2 / (4 * n * n)) ** 0.5
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))  # (rounding kept p inside)


def auc_interval(a: float, n_pos: int, n_neg: int) -> tuple[float, float]:
    """95 % interval (low, high) of a ROC AUC from n_pos positives and n_neg negatives, with the
    Hanley-McNeil (1982) standard error."""
    if n_pos <= 0 or n_neg <= 0:
        return a, a
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    var = (a * (1 - a) + (n_pos - 1) * (q1 - a * a) + (n_neg - 1) * (q2 - a * a)) / (n_pos * n_neg)
    se = max(var, 0.0) ** 0.5
    return min(a, max(0.0, a - Z95 * se)), max(a, min(1.0, a + Z95 * se))


def _errors(ys, intervals):
    """errorbar's yerr (2, N) from (low, high) intervals, or None when none is known."""
    if all(iv is None for iv in intervals):
        return None
    lo = [max(0.0, y - iv[0]) if iv else float("nan") for y, iv in zip(ys, intervals)]
    hi = [max(0.0, iv[1] - y) if iv else float("nan") for y, iv in zip(ys, intervals)]
    return [lo, hi]


def _ci_interval(r: dict, key: str):
    """(low, high) of record r's mean ``key`` from its optional ``key_ci95``, else None."""
    h = r.get(f"{key}_ci95")
    return None if h is None or r.get(key) is None else (r[key] - h, r[key] + h)


def _plot_curve(ax, rows, ykey, dx, style, lab, interval=_ci_interval):
    """One curve vs SNR with 95 % error bars where the records have them; True when bars were drawn."""
    ys = [r[ykey] for r in rows]
    yerr = _errors(ys, [interval(r, ykey) for r in rows])
    ax.errorbar([r["snr_db"] + dx for r in rows], ys, yerr=yerr, capsize=2, elinewidth=0.8, label=lab, **style)
    return yerr is not None


def _n_text(rows) -> str:
    ns = sorted({r["n_images"] for r in rows})
    return "n = ?" if not ns else f"n = {ns[0]}" if len(ns) == 1 else f"n = {ns[0]}–{ns[-1]}"


def _legend(fig, axes, title: str, ncol: int = 3) -> None:
    """One legend for the whole figure below the panels (each label once), then the layout above it."""
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    ncol = max(1, min(ncol, len(labels)))
    while True:  # as many columns as fit the figure's width (long labels: fewer columns, never clipped)
        leg = fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=8, title=title, title_fontsize=8,
                         frameon=False)
        box = leg.get_window_extent(fig.canvas.get_renderer())
        if ncol == 1 or box.width <= 0.98 * fig.bbox.width:
            break
        leg.remove()
        ncol -= 1
    height = box.height / fig.bbox.height
    fig.tight_layout(rect=(0, min(0.6, height + 0.01), 1, 1))


def _ci_note(bars: bool, shift: float) -> str:
    parts = ["bars: 95 % CI over images"] if bars else []
    if shift:
        parts.append(f"markers shifted by up to {shift:.2g} dB along x for legibility")
    return ("; " + "; ".join(parts)) if parts else ""


def _snr_curves(records, receivers, metrics):
    """(systems, SNRs, and per (receiver, metric) the curves [(system index, target index, rows)])."""
    systems = _systems(records)
    snrs = {r["snr_db"] for r in records if r["receiver"] in receivers}
    out = {}
    for rx in receivers:
        for metric in metrics:
            curves = []
            for i, system in enumerate(systems):
                for j, target in enumerate(("private", "host")):
                    rows = sorted(_pick(records, system=system, receiver=rx, target=target), key=lambda r: r["snr_db"])
                    rows = [r for r in rows if r[metric] is not None]
                    if rows:
                        curves.append((i, j, rows))
            out[(rx, metric)] = curves
    return systems, snrs, out


def _curve_order(curves) -> dict:
    """(system index, target index) -> its place among all curves of the figure (for the x shifts)."""
    keys = sorted({(i, j) for cs in curves.values() for i, j, _ in cs})
    return {k: n for n, k in enumerate(keys)}


def plot_bob(records: list[dict], path: Path) -> None:
    """Fig. 3: Bob's PSNR (dB), MS-SSIM and LPIPS vs the main link's SNR (dB), per system and target,
    means over the images with 95 % CIs where recorded; PATH.png (300 dpi) and PATH.pdf."""
    plt = pyplot()
    metrics = ("psnr", "ms_ssim", "lpips")
    systems, snrs, curves = _snr_curves(records, ("bob",), metrics)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    bars, shift = False, 0.0
    order = _curve_order(curves)
    for ax, metric in zip(axes, metrics):
        for i, j, rows in curves[("bob", metric)]:
            dx = _shift(order[(i, j)], len(order), snrs)
            shift = max(shift, abs(dx))
            lab = f"{label(systems[i])} ({rows[0]['target']})"
            bars |= _plot_curve(ax, rows, metric, dx, curve_style(i, j, 2), lab)
        ax.set_xlabel("SNR of the main link (dB)")
        ax.set_ylabel({"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM", "lpips": "LPIPS"}[metric])
        ax.grid(alpha=0.3)
    bob = [r for r in records if r["receiver"] == "bob"]
    fig.suptitle("Fig. 3 — reconstruction at Bob")
    _legend(fig, axes, f"mean over {_n_text(bob)} images" + _ci_note(bars, shift), ncol=4)
    save_figure(fig, path)


def plot_eve(records: list[dict], path: Path) -> None:
    """Fig. 4: Eve's PSNR (dB) vs the eavesdropping link's SNR (dB), naive decoding and MIA, per
    system and target, means over the images with 95 % CIs where recorded; PATH.png and PATH.pdf."""
    plt = pyplot()
    receivers = ("eve-naive", "eve-mia")
    systems, snrs, curves = _snr_curves(records, receivers, ("psnr",))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), sharey=True)
    bars, shift = False, 0.0
    order = _curve_order(curves)
    for ax, rx in zip(axes, receivers):
        for i, j, rows in curves[(rx, "psnr")]:
            dx = _shift(order[(i, j)], len(order), snrs)
            shift = max(shift, abs(dx))
            lab = f"{label(systems[i])} vs {rows[0]['target']}"
            bars |= _plot_curve(ax, rows, "psnr", dx, curve_style(i, j, 2), lab)
        title = {"eve-naive": "(a) naive decoding", "eve-mia": "(b) model inversion attack"}[rx]
        ax.set_title(f"{title}, {_n_text([r for r in records if r['receiver'] == rx])} images", fontsize=10)
        ax.set_xlabel("SNR of the eavesdropping link (dB)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("PSNR (dB)")
    fig.suptitle("Fig. 4 — reconstruction at Eve")
    _legend(fig, axes, "mean over the images of each panel" + _ci_note(bars, shift), ncol=3)
    save_figure(fig, path)


def tile_caption(psnr: float | None, ms_ssim: float | None) -> str:
    """'PSNR 24.31 dB, MS-SSIM 0.912' ('–' for a missing or NaN value)."""
    def num(v, fmt):
        return "–" if v is None or v != v else format(v, fmt)
    return f"PSNR {num(psnr, '.2f')} dB, MS-SSIM {num(ms_ssim, '.3f')}"


def draw_tile(ax, img: torch.Tensor, title: str, scores: dict | None = None) -> None:
    """One image (3, H, W) in [0, 1] on ``ax`` with its title above and, given ``scores``
    ({'psnr', 'ms_ssim'} against its reference), :func:`tile_caption` below."""
    ax.axis("off")
    ax.imshow(img.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy())
    ax.set_title(title, fontsize=7)
    if scores:
        ax.text(0.5, -0.03, tile_caption(scores.get("psnr"), scores.get("ms_ssim")), transform=ax.transAxes,
                ha="center", va="top", fontsize=6)


def tile_layout(fig, title: str) -> None:
    """Lay out a grid of square image tiles: ``title`` wrapped to the figure's width above them, the
    figure's height fitted to the rows, and room for the caption below each tile (tight_layout only
    sees the titles)."""
    import textwrap

    text = "\n".join(textwrap.fill(line, max(30, int(fig.get_figwidth() * 16))) for line in title.split("\n"))
    gs = fig.axes[0].get_subplotspec().get_gridspec()
    tile = 0.92 * fig.get_figwidth() / gs.ncols  # inches
    fig.set_figheight(gs.nrows * (tile + 0.5) + 0.2 + 0.17 * (text.count("\n") + 1))
    fig.suptitle(text, fontsize=8)
    cap = 0.2 / fig.get_figheight()  # one 6 pt line and a gap, in figure fractions
    fig.tight_layout(rect=(0, cap, 1, 1))
    pars = fig.subplotpars
    row = (pars.top - pars.bottom) / (gs.nrows + pars.hspace * max(gs.nrows - 1, 0))  # one row's height, in fractions
    fig.subplots_adjust(hspace=pars.hspace + cap / row)


def visual_grid(grid: dict, path: Path, snr: float, tiles: dict | None = None) -> None:
    """Fig. 5: host, private, then per system Bob's host/private and Eve's naive/MIA images, each
    reconstruction with its PSNR / MS-SSIM below. ``tiles``: 'SYSTEM/bob/host', 'SYSTEM/bob/private'
    and 'SYSTEM/eve-ATTACK' -> {'psnr', 'ms_ssim'} (against the host for Bob's host, else the private
    image); PATH.png (300 dpi) and PATH.pdf."""
    plt = pyplot()
    tiles = tiles or {}
    rows = [("inputs", [("host", grid.get("host"), None), ("private", grid.get("private"), None)])]
    for system in _systems([{"system": k.rsplit("/", 1)[0]} for k in grid if k.endswith("/bob")]):
        cells = [(f"Bob {k}", v, tiles.get(f"{system}/bob/{k}")) for k, v in grid[f"{system}/bob"].items()]
        eves_here = {k.split("/eve-", 1)[1]: v for k, v in grid.items() if k.startswith(f"{system}/eve-")}
        for a, title in (("naive", "Eve naive"), ("mia", "Eve MIA")):
            cells.append((title, eves_here.pop(a, None), tiles.get(f"{system}/eve-{a}")))
        cells += [(f"Eve {a}", v, tiles.get(f"{system}/eve-{a}")) for a, v in eves_here.items()]
        rows.append((label(system), cells))
    ncol = max(len(c) for _, c in rows)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(1.9 * ncol, 2.4 * len(rows)), squeeze=False)
    for r, (row_name, cells) in enumerate(rows):
        for c in range(ncol):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(cells) and isinstance(cells[c][1], torch.Tensor):
                name, img, scores = cells[c]
                draw_tile(ax, img, f"{row_name}: {name}" if c == 0 else name, scores)
    tile_layout(fig, f"Fig. 5 — Bob and Eve at {snr:g} dB, first image\nbelow each reconstruction: PSNR / MS-SSIM "
                "against its reference (the host for Bob's host, else the private image)")
    save_figure(fig, path)


# --- the security report: every scheme against every Eve --------------------------------------------
def _attacks(records) -> list[str]:
    from . import eves

    present = {r["receiver"][4:] for r in records if r["receiver"].startswith("eve-")}
    known = [a for a in eves.names() if a in present]
    return known + sorted(present - set(known))


def _eve_title(attack: str) -> str:
    from . import eves

    try:
        return eves.get(attack).title
    except ValueError:
        return attack


def _binom_p(k: int, n: int, p: float) -> float:
    """One-sided binomial p-value P(X >= k), X ~ Bin(n, p)."""
    from scipy.stats import binomtest

    return binomtest(k, n, p, alternative="greater").pvalue if n else 1.0


def _pct(v):
    return "–" if v is None else f"{100 * v:.0f} %"


def verdict(records: list[dict], system: str, eve_snr: float, chance: dict | None = None) -> str:
    """One plain-language paragraph on ``system`` at Eve's SNR, generated from the records: which
    attackers identify the private image (identification rate significantly above chance), which
    do not, and whether steganalysis tells the container apart. ``chance``: the levels of unrelated
    pairs (evaluate.chance_record)."""
    p0 = chance["id_rate"] if chance else None
    exposed, leaks, resisted = [], [], []
    for attack in _attacks(records):
        r = _pick(records, system=system, receiver=f"eve-{attack}", target="private", snr_db=eve_snr)
        if not r or r[0].get("id_rate") is None:
            continue
        r = r[0]
        k, n = round(r["id_rate"] * r["n_images"]), r["n_images"]
        txt = f"{_eve_title(attack)} ({_pct(r['id_rate'])} identified, MS-SSIM {_fmt(r['ms_ssim'])})"
        if r["id_rate"] >= 0.5:
            exposed.append(txt)
        elif p0 is not None and _binom_p(k, n, p0) < 0.01:
            leaks.append(txt)
        else:
            resisted.append(txt)
    parts = [f"**{label(system)}** (Eve at {eve_snr:g} dB):"]
    if exposed:
        parts.append("the private image is exposed to " + "; ".join(exposed) + ".")
    if leaks:
        parts.append("Identified above chance (a partial leak) by " + "; ".join(leaks) + ".")
    if resisted:
        parts.append("It resists " + "; ".join(resisted) + (f", chance being {_pct(p0)}." if p0 else "."))
    det = _pick(records, system=system, receiver="eve-detect", snr_db=eve_snr)
    if det:
        a = det[0]["auc"]
        how = ("the container is easily detected" if a >= 0.9 else "the container is detectable" if a >= 0.7
               else "weakly detectable" if a >= 0.6 else "covert to this detector")
        parts.append(f"Steganalysis: accuracy {_pct(det[0]['accuracy'])}, AUC {a:.2f} (chance 50 %, 0.50): {how}.")
    if len(parts) == 1:
        parts.append("no attack was run.")
    return " ".join(parts)


def survival(records: list[dict], system: str, attack: str, eve_snr: float, chance: dict | None = None) -> str | None:
    """'✓' (the scheme survives this Eve), '~' (a partial leak) or '✗', from the records at Eve's SNR;
    None when not measured. Image Eves: ✗ when she identifies half of the private images or more, ~
    when her identification rate is significantly above chance (binomial test, p < 0.01), else ✓.
    Steganalysis: ✓ at accuracy <= 60 %, ~ up to 75 %, else ✗."""
    if attack == "detect":
        r = _pick(records, system=system, receiver="eve-detect", snr_db=eve_snr)
        if not r:
            return None
        a = r[0]["accuracy"]
        return "✓" if a <= 0.60 else "~" if a <= 0.75 else "✗"
    r = _pick(records, system=system, receiver=f"eve-{attack}", target="private", snr_db=eve_snr)
    if not r or r[0].get("id_rate") is None:
        return None
    r = r[0]
    if r["id_rate"] >= 0.5:
        return "✗"
    p0 = chance["id_rate"] if chance else None
    if p0 is not None and _binom_p(round(r["id_rate"] * r["n_images"]), r["n_images"], p0) < 0.01:
        return "~"
    return "✓"


def survival_table(records: list[dict], eve_snr: float, chance: dict | None = None) -> list[str]:
    """Markdown lines: scheme x Eve, ✓ / ~ / ✗ (:func:`survival`), '·' where not measured."""
    attacks = _attacks(records)
    lines = [f"### Which Eve each scheme survives (Eve at {eve_snr:g} dB)", "",
             "✓ survives (private image identified at chance; steganalysis accuracy ≤ 60 %), ~ partial leak "
             "(identified significantly above chance, p < 0.01; detection ≤ 75 %), ✗ broken (≥ 50 % identified; "
             "detection > 75 %), · not measured.", "",
             "| scheme | " + " | ".join(_eve_title(a) for a in attacks) + " |",
             "|---|" + "---|" * len(attacks)]
    for system in _systems(records):
        cells = [survival(records, system, a, eve_snr, chance) or "·" for a in attacks]
        lines.append(f"| {label(system)} | " + " | ".join(cells) + " |")
    return lines + [""]


def security_markdown(records: list[dict], eve_snr: float, chance: dict | None = None) -> str:
    """The scheme x attacker table at Eve's SNR (vs the private image; vs the host where one is sent),
    the chance levels beside it, detection, and a verdict per scheme."""
    lines = [f"## Security report — Eve at {eve_snr:g} dB", ""]
    if chance:
        lines += [f"Chance level (unrelated host/private pairs, n = {chance['n_images']}): MS-SSIM "
                  f"{_fmt(chance['ms_ssim'])}, LPIPS {_fmt(chance['lpips'])}, PSNR {_fmt(chance['psnr'], 2)} dB; "
                  f"identification rate {_pct(chance['id_rate'])} (1/N, the true image ranked first by LPIPS "
                  f"among the N private images of the run).", ""]
    lines += ["| scheme | attacker | n | MS-SSIM | LPIPS | PSNR (dB) | identified | MS-SSIM vs host |",
              "|---|---|---|---|---|---|---|---|"]
    if chance:
        lines.append(f"| (chance) | unrelated pairs | {chance['n_images']} | {_fmt(chance['ms_ssim'])} | "
                     f"{_fmt(chance['lpips'])} | {_fmt(chance['psnr'], 2)} | {_pct(chance['id_rate'])} | – |")
    if chance and chance.get("prior"):
        p = chance["prior"]
        lines.append(f"| (prior) | the mean of the other private images, the same for every frame | {p['n_images']} | "
                     f"{_fmt(p['ms_ssim'])} | {_fmt(p['lpips'])} | {_fmt(p['psnr'], 2)} | – | – |")
    systems = _systems(records)
    for system in systems:
        for attack in _attacks(records):
            if attack == "detect":
                continue
            r = _pick(records, system=system, receiver=f"eve-{attack}", target="private", snr_db=eve_snr)
            if not r:
                continue
            r = r[0]
            h = _pick(records, system=system, receiver=f"eve-{attack}", target="host", snr_db=eve_snr)
            lines.append(f"| {label(system)} | {_eve_title(attack)} | {r['n_images']} | {_fmt(r['ms_ssim'])} | "
                         f"{_fmt(r['lpips'])} | {_fmt(r['psnr'], 2)} | {_pct(r.get('id_rate'))} | "
                         f"{_fmt(h[0]['ms_ssim']) if h else '–'} |")
    det = [r for r in records if r["receiver"] == "eve-detect"]
    if det:
        snrs = sorted({r["snr_db"] for r in det})
        lines += ["", "### Steganalysis — accuracy / ROC AUC vs Eve's SNR (chance 50 % / 0.50)", "",
                  "| scheme | n (per class) | " + " | ".join(f"{x:g} dB" for x in snrs) + " |",
                  "|---|---|" + "---|" * len(snrs)]
        for system in systems:
            rows = {r["snr_db"]: r for r in det if r["system"] == system}
            if rows:
                n = next(iter(rows.values()))["n_images"]
                cells = [f"{_pct(rows[x]['accuracy'])} / {rows[x]['auc']:.2f}" if x in rows else "–" for x in snrs]
                lines.append(f"| {label(system)} | {n} | " + " | ".join(cells) + " |")
    lines += [""] + survival_table(records, eve_snr, chance)
    lines += ["### Verdicts", ""]
    lines += [verdict(records, system, eve_snr, chance) + "\n" for system in systems]
    return "\n".join(lines) + "\n"


def plot_security(records: list[dict], path: Path, chance: dict | None = None) -> None:
    """Identification rate vs Eve's SNR, one panel per reconstruction attacker (chance dashed), and
    steganalysis AUC vs SNR in the last panel; 95 % intervals over the images (Wilson for the rate,
    Hanley-McNeil for the AUC); PATH.png (300 dpi) and PATH.pdf."""
    plt = pyplot()
    attacks = [a for a in _attacks(records) if a != "detect"]
    panels = attacks + (["detect"] if any(r["receiver"] == "eve-detect" for r in records) else [])
    if not panels:
        return
    ncol = min(4, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow + 0.8), squeeze=False)
    systems = _systems(records)
    snrs = {r["snr_db"] for r in records if r["receiver"].startswith("eve-")}
    shown, shift = [], 0.0
    for ax, attack in zip(axes.flat, panels):
        for i, system in enumerate(systems):  # one colour, marker and line style per scheme in every panel
            if attack == "detect":
                rows = sorted(_pick(records, system=system, receiver="eve-detect"), key=lambda r: r["snr_db"])
                key = "auc"
                interval = lambda r, k: auc_interval(r["auc"], r["n_images"], r["n_images"])  # noqa: E731
            else:
                rows = sorted(_pick(records, system=system, receiver=f"eve-{attack}", target="private"),
                              key=lambda r: r["snr_db"])
                rows = [r for r in rows if r.get("id_rate") is not None]
                key = "id_rate"
                interval = lambda r, k: wilson(r["id_rate"], r["n_images"])  # noqa: E731
            if rows:
                dx = _shift(i, len(systems), snrs)
                shift = max(shift, abs(dx))
                _plot_curve(ax, rows, key, dx, curve_style(i), label(system), interval)
                shown += rows
        ref = 0.5 if attack == "detect" else (chance["id_rate"] if chance else None)
        if ref is not None:
            ax.axhline(ref, ls="--", color="grey", lw=1, label="chance")
        ax.set_title("steganalysis (AUC)" if attack == "detect" else _eve_title(attack), fontsize=9)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("Eve's SNR (dB)")
        ax.set_ylabel("ROC AUC" if attack == "detect" else "identification rate")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle("Security report — who gets the private image, and who sees that something is hidden")
    _legend(fig, axes.flat, f"{_n_text(shown)} images (per class for the AUC); bars: 95 % intervals (Wilson for "
            "the rate, Hanley-McNeil for the AUC)" + _ci_note(False, shift), ncol=6)
    save_figure(fig, path)


def privacy_utility(records: list[dict], bob_snr: float = 10.0, eve_snr: float = 5.0) -> list[dict]:
    """One point per scheme: Bob's private PSNR at ``bob_snr`` and the best image Eve's identification
    rate and MS-SSIM at ``eve_snr`` (the Eve with the highest identification rate, then MS-SSIM), with
    the 95 % CI half-widths ``bob_psnr_ci95`` and ``ms_ssim_ci95`` where recorded (else None)."""
    out = []
    for system in _systems(records):
        bob = _pick(records, system=system, receiver="bob", target="private", snr_db=bob_snr)
        eves = [r for r in _pick(records, system=system, target="private", snr_db=eve_snr)
                if r["receiver"].startswith("eve-") and r.get("id_rate") is not None]
        if not bob or not eves:
            continue
        best = max(eves, key=lambda r: (r["id_rate"], r["ms_ssim"] or 0))
        out.append({"system": system, "bob_psnr": bob[0]["psnr"], "eve": best["receiver"][4:],
                    "id_rate": best["id_rate"], "ms_ssim": best["ms_ssim"], "n_images": best["n_images"],
                    "bob_psnr_ci95": bob[0].get("psnr_ci95"), "ms_ssim_ci95": best.get("ms_ssim_ci95"),
                    "bob_n_images": bob[0]["n_images"]})
    return out


def plot_privacy_utility(records: list[dict], path: Path, chance: dict | None = None, bob_snr: float = 10.0,
                         eve_snr: float = 5.0) -> None:
    """Bob's private PSNR at ``bob_snr`` vs the strongest Eve's identification rate (left) and MS-SSIM
    (right) at ``eve_snr``, one marker per scheme, labelled with that Eve; 95 % intervals over the
    images (Wilson for the rate, t for the means) where known; PATH.png (300 dpi) and PATH.pdf."""
    pts = privacy_utility(records, bob_snr, eve_snr)
    if not pts:
        return
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    for i, p in enumerate(pts):
        h = p["bob_psnr_ci95"]
        yerr = None if h is None else [[h], [h]]
        for ax, key in zip(axes, ("id_rate", "ms_ssim")):
            if p[key] is None:  # MS-SSIM is not defined for images of 160 px or less
                continue
            if key == "id_rate":
                lo, hi = wilson(p["id_rate"], p["n_images"])
                xerr = [[p["id_rate"] - lo], [hi - p["id_rate"]]]
            else:
                xerr = None if p["ms_ssim_ci95"] is None else [[p["ms_ssim_ci95"]], [p["ms_ssim_ci95"]]]
            style = curve_style(i) | {"linestyle": "none", "markersize": 7, "markerfacecolor": "none"}
            ax.errorbar([p[key]], [p["bob_psnr"]], xerr=xerr, yerr=yerr, capsize=2, elinewidth=0.8,
                        label=f"{label(p['system'])} ({_eve_title(p['eve'])})", **style)
    if chance:
        axes[0].axvline(chance["id_rate"], ls="--", color="grey", lw=1, label="chance")
        if chance.get("ms_ssim") is not None:
            axes[1].axvline(chance["ms_ssim"], ls="--", color="grey", lw=1)
    for ax, what in zip(axes, ("identification rate of the strongest Eve", "MS-SSIM of the strongest Eve")):
        ax.set_xlabel(f"{what} at {eve_snr:g} dB (lower: more private)")
        ax.set_ylabel(f"Bob's private PSNR at {bob_snr:g} dB")
        ax.grid(alpha=0.3)
    n_eve, n_bob = _n_text(pts), _n_text([{"n_images": p["bob_n_images"]} for p in pts])
    ns = n_eve if n_eve == n_bob else f"{n_eve} (Eve), {n_bob} (Bob)"
    fig.suptitle(f"Privacy vs utility, every scheme against its strongest measured Eve ({ns} images)")
    _legend(fig, axes, "bars: 95 % intervals over the images (Wilson for the rate, t for the means)", ncol=3)
    save_figure(fig, path)
