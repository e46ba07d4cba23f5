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


def plain_reference(jscc_path, host: torch.Tensor, private: torch.Tensor, snr_db: float, seed: int = 0) -> list[dict]:
    """What plain DeepJSCC (the same public codec, no steganography) reaches on the same images over
    AWGN at ``snr_db`` (Es/N0, dB): one metrics row per image (receiver 'plain DeepJSCC'), the
    yardstick of the stego numbers on images far from the test set."""
    plain = StegoSystem.load(jscc_path)
    g = torch.Generator().manual_seed(seed)
    rows = []
    with torch.inference_mode():
        for target, x in (("private", private), ("host", host)):
            y = plain.channel(plain.alice(None, x[None]), snr_db, "awgn", g)
            m = all_metrics(plain.bob(y, tuple(x.shape[-2:]))["private"], x[None])
            rows.append({"receiver": "plain DeepJSCC", "snr_db": snr_db, "target": target,
                         **{k: float(v[0]) for k, v in m.items()}})
    return rows


def reference_lines(result: dict, reference: list[dict]) -> list[str]:
    """metrics.md's comparison: Bob's stego images against plain DeepJSCC on the same images."""
    lines = ["", "Plain DeepJSCC on the same images and SNR (no hidden image; the yardstick for these images — "
             "the README's tables average over the test faces, which the codec reproduces far better than "
             "an arbitrary photo):", "", "| image | plain DeepJSCC PSNR (dB) | Bob (stego) PSNR (dB) | cost (dB) |",
             "|---|---|---|---|"]
    for r in reference:
        want = (f"bob/{r['target']}", r["target"])
        bob = next((m for m in result["metrics"] if (m["receiver"], m["target"]) == want), None)
        got = f"{bob['psnr']:.2f} | {r['psnr'] - bob['psnr']:.2f}" if bob else "– | –"
        lines.append(f"| {r['target']} | {r['psnr']:.2f} | {got} |")
    return lines


def write_report(result: dict, host: torch.Tensor, private: torch.Tensor, out: Path, title: str,
                 reference: list[dict] | None = None) -> Path:
    """PNG per image, a Fig. 5-style grid (grid.png at 300 dpi and grid.pdf; each reconstruction with
    its PSNR / MS-SSIM from ``result['metrics']`` below it) and metrics.md (with ``reference``, the
    :func:`plain_reference` rows beside Bob's); returns the grid's PNG path."""
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
    if reference:
        lines += reference_lines(result, reference)
    (out / "metrics.md").write_text("\n".join(lines) + "\n")
    return grid
