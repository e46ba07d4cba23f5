"""One secure transmission of a (host, private) pair, offline: Alice -> channels -> Bob and Eve.

Used by ``stegsem send`` and the offline demo; the GNU Radio flowgraphs call the same
:class:`~gr_stegsem.system.StegoSystem` methods block by block.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import torch

from .images import save_image
from .metrics import all_metrics
from .system import StegoSystem


def transmit(system: StegoSystem, host: torch.Tensor, private: torch.Tensor, snr_bob: float, snr_eve: float,
             mia_steps: int = 200, seed: int = 0, channel: str = "awgn", progress: bool = False, key=None) -> dict:
    """Send one pair; returns images {'bob/host', 'bob/private', 'eve/naive', 'eve/mia'} and metrics rows.

    A keyed scheme needs ``key``: the frame gets a random nonce, and 'eve/glassbox' (every shipped
    weight, no key: Bob's receiver with a guessed key) is added beside Bob."""
    xh, xp = host[None], private[None]
    if system.secure and xh.shape != xp.shape:
        raise ValueError(f"host {tuple(host.shape)} and private {tuple(private.shape)} must have the same size")
    size = tuple(xp.shape[-2:])
    nonce = secrets.randbits(63) if system.keyed else None
    tx = system.alice(xh, xp, key=key, nonce=nonce)
    g = torch.Generator().manual_seed(seed)
    y_bob = system.channel(tx, snr_bob, channel, g)
    y_eve = system.channel(tx, snr_eve, channel, g)
    images = {f"bob/{k}": v[0] for k, v in system.bob(y_bob, size, generator=g, key=key, nonce=nonce).items()}
    images["eve/naive"] = system.eve_naive(y_eve, size)[0]
    if system.keyed:
        images["eve/glassbox"] = system.bob_without_secrets(y_eve, size, generator=g)["private"][0]
    if mia_steps > 0:
        images["eve/mia"] = system.eve_mia(y_eve, size, mia_steps, seed=seed, progress=progress)[0]
    refs = {"host": xh, "private": xp}
    rows = []
    for key, img in images.items():
        for target, ref in refs.items():
            if target == "host" and not system.secure and key.startswith("bob"):
                continue
            if key == "bob/host" and target == "private" or key == "bob/private" and target == "host":
                continue
            m = all_metrics(img[None], ref)
            rows.append({"receiver": key, "snr_db": snr_bob if key.startswith("bob") else snr_eve,
                         "target": target, **{k: float(v[0]) for k, v in m.items()}})
    return {"images": images, "metrics": rows}


def write_report(result: dict, host: torch.Tensor, private: torch.Tensor, out: Path, title: str) -> Path:
    """PNG per image, a Fig. 5-style grid (grid.png at 300 dpi and grid.pdf; each reconstruction with
    its PSNR / MS-SSIM from ``result['metrics']`` below it) and metrics.md; returns the grid's PNG path."""
    from . import report

    plt = report.pyplot()
    out.mkdir(parents=True, exist_ok=True)
    tiles = [("host (sent)", host), ("private (sent)", private)] + list(result["images"].items())
    for name, img in tiles:
        save_image(img, out / (name.split(" ")[0].replace("/", "_") + ".png"))
    fig, axes = plt.subplots(1, len(tiles), figsize=(1.9 * len(tiles), 3))
    for ax, (name, img) in zip(axes, tiles):
        target = "host" if name.endswith("/host") else "private"  # Bob's host vs the host, the rest vs the private
        row = next((r for r in result["metrics"] if r["receiver"] == name and r["target"] == target), None)
        report.draw_tile(ax, img, name, row)
    report.tile_layout(fig, title + "\nbelow each reconstruction: PSNR / MS-SSIM against its reference "
                       "(the host for Bob's host, else the private image)")
    grid = out / "grid.png"
    report.save_figure(fig, grid)
    lines = [f"# {title}", "", "| receiver | SNR (dB) | compared with | PSNR (dB) | MS-SSIM | LPIPS |",
             "|---|---|---|---|---|---|"]
    for r in result["metrics"]:
        ms = "–" if r["ms_ssim"] != r["ms_ssim"] else f"{r['ms_ssim']:.3f}"
        lines.append(f"| {r['receiver']} | {r['snr_db']:g} | {r['target']} | {r['psnr']:.2f} | {ms} | {r['lpips']:.3f} |")
    (out / "metrics.md").write_text("\n".join(lines) + "\n")
    return grid
