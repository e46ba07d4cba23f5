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
        cells += [("Eve naive", grid.get(f"{system}/eve-naive")), ("Eve MIA", grid.get(f"{system}/eve-mia"))]
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
