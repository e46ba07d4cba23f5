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


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_bob(records: list[dict], path: Path) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for ax, metric in zip(axes, ("psnr", "ms_ssim", "lpips")):
        for system in _systems(records):
            for target, style in (("private", "-o"), ("host", "--s")):
                rows = sorted(_pick(records, system=system, receiver="bob", target=target), key=lambda r: r["snr_db"])
                rows = [r for r in rows if r[metric] is not None]
                if rows:
                    ax.plot([r["snr_db"] for r in rows], [r[metric] for r in rows], style,
                            label=f"{label(system)} ({target})")
        ax.set_xlabel("SNR of the main link (dB)")
        ax.set_ylabel({"psnr": "PSNR (dB)", "ms_ssim": "MS-SSIM", "lpips": "LPIPS"}[metric])
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle("Fig. 3 — reconstruction at Bob")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_eve(records: list[dict], path: Path) -> None:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, rx in zip(axes, ("eve-naive", "eve-mia")):
        for system in _systems(records):
            for target, style in (("private", "-o"), ("host", "--s")):
                rows = sorted(_pick(records, system=system, receiver=rx, target=target), key=lambda r: r["snr_db"])
                if rows:
                    ax.plot([r["snr_db"] for r in rows], [r["psnr"] for r in rows], style,
                            label=f"{label(system)} vs {target}")
        ax.set_title({"eve-naive": "(a) naive decoding", "eve-mia": "(b) model inversion attack"}[rx])
        ax.set_xlabel("SNR of the eavesdropping link (dB)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("PSNR (dB)")
    axes[0].legend(fontsize=7)
    fig.suptitle("Fig. 4 — reconstruction at Eve")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def visual_grid(grid: dict, path: Path, snr: float) -> None:
    """Fig. 5: host, private, then per system Bob's host/private and Eve's naive/MIA images."""
    plt = _plt()
    rows = [("inputs", [("host", grid.get("host")), ("private", grid.get("private"))])]
    for system in _systems([{"system": k.rsplit("/", 1)[0]} for k in grid if k.endswith("/bob")]):
        cells = [(f"Bob {k}", v) for k, v in grid[f"{system}/bob"].items()]
        eves_here = {k.split("/eve-", 1)[1]: v for k, v in grid.items() if k.startswith(f"{system}/eve-")}
        cells += [("Eve naive", eves_here.pop("naive", None)), ("Eve MIA", eves_here.pop("mia", None))]
        cells += [(f"Eve {a}", v) for a, v in eves_here.items()]
        rows.append((label(system), cells))
    ncol = max(len(c) for _, c in rows)
    fig, axes = plt.subplots(len(rows), ncol, figsize=(2.6 * ncol, 2.7 * len(rows)), squeeze=False)
    for r, (row_name, cells) in enumerate(rows):
        for c in range(ncol):
            ax = axes[r][c]
            ax.axis("off")
            if c < len(cells) and isinstance(cells[c][1], torch.Tensor):
                ax.imshow(cells[c][1].clamp(0, 1).permute(1, 2, 0).cpu().numpy())
                ax.set_title(f"{row_name}: {cells[c][0]}" if c == 0 else cells[c][0], fontsize=8)
    fig.suptitle(f"Fig. 5 — Bob and Eve at {snr:g} dB")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


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
    steganalysis AUC vs SNR in the last panel."""
    plt = _plt()
    attacks = [a for a in _attacks(records) if a != "detect"]
    panels = attacks + (["detect"] if any(r["receiver"] == "eve-detect" for r in records) else [])
    if not panels:
        return
    ncol = min(4, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.4 * nrow), squeeze=False)
    systems = _systems(records)
    colour = {system: f"C{i}" for i, system in enumerate(systems)}  # one colour per scheme in every panel
    for ax, attack in zip(axes.flat, panels):
        for system in systems:
            if attack == "detect":
                rows = sorted(_pick(records, system=system, receiver="eve-detect"), key=lambda r: r["snr_db"])
                ys = [r["auc"] for r in rows]
            else:
                rows = sorted(_pick(records, system=system, receiver=f"eve-{attack}", target="private"),
                              key=lambda r: r["snr_db"])
                rows = [r for r in rows if r.get("id_rate") is not None]
                ys = [r["id_rate"] for r in rows]
            if rows:
                ax.plot([r["snr_db"] for r in rows], ys, "-o", ms=3, color=colour[system], label=label(system))
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
    handles, labels = [], []
    for ax in axes.flat:  # every scheme once, whichever panels it appears in
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower center", ncol=min(6, len(labels)), fontsize=8)
    fig.suptitle("Security report — who gets the private image, and who sees that something is hidden")
    fig.tight_layout(rect=(0, 0.08, 1, 0.95))
    fig.savefig(path, dpi=150)
    plt.close(fig)


def privacy_utility(records: list[dict], bob_snr: float = 10.0, eve_snr: float = 5.0) -> list[dict]:
    """One point per scheme: Bob's private PSNR at ``bob_snr`` and the best image Eve's identification
    rate and MS-SSIM at ``eve_snr`` (the Eve with the highest identification rate, then MS-SSIM)."""
    out = []
    for system in _systems(records):
        bob = _pick(records, system=system, receiver="bob", target="private", snr_db=bob_snr)
        eves = [r for r in _pick(records, system=system, target="private", snr_db=eve_snr)
                if r["receiver"].startswith("eve-") and r.get("id_rate") is not None]
        if not bob or not eves:
            continue
        best = max(eves, key=lambda r: (r["id_rate"], r["ms_ssim"] or 0))
        out.append({"system": system, "bob_psnr": bob[0]["psnr"], "eve": best["receiver"][4:],
                    "id_rate": best["id_rate"], "ms_ssim": best["ms_ssim"], "n_images": best["n_images"]})
    return out


def plot_privacy_utility(records: list[dict], path: Path, chance: dict | None = None, bob_snr: float = 10.0,
                         eve_snr: float = 5.0) -> None:
    """Bob's private PSNR at ``bob_snr`` vs the strongest Eve's identification rate (left) and MS-SSIM
    (right) at ``eve_snr``, one marker per scheme, labelled with that Eve."""
    pts = privacy_utility(records, bob_snr, eve_snr)
    if not pts:
        return
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    markers = "osD^v<>pPX*h"
    for i, p in enumerate(pts):
        for ax, key in zip(axes, ("id_rate", "ms_ssim")):
            if p[key] is None:  # MS-SSIM is not defined for images of 160 px or less
                continue
            ax.plot(p[key], p["bob_psnr"], markers[i % len(markers)], ms=7, color=f"C{i % 10}",
                    label=f"{label(p['system'])} ({_eve_title(p['eve'])})")
    if chance:
        axes[0].axvline(chance["id_rate"], ls="--", color="grey", lw=1, label="chance")
        if chance.get("ms_ssim") is not None:
            axes[1].axvline(chance["ms_ssim"], ls="--", color="grey", lw=1)
    for ax, what in zip(axes, ("identification rate of the strongest Eve", "MS-SSIM of the strongest Eve")):
        ax.set_xlabel(f"{what} at {eve_snr:g} dB (lower: more private)")
        ax.set_ylabel(f"Bob's private PSNR at {bob_snr:g} dB")
        ax.grid(alpha=0.3)
    n = pts[0]["n_images"]
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=7)
    fig.suptitle(f"Privacy vs utility, every scheme against its strongest measured Eve (n = {n} images)")
    fig.tight_layout(rect=(0, 0.16, 1, 0.95))
    fig.savefig(path, dpi=150)
    plt.close(fig)
