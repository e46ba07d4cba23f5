"""``stegsem eval``: Fig. 3, Fig. 4, Table I and Fig. 5 of Tang et al. (2024) on any image folders.

Every record is {system, receiver, target, snr_db, psnr, ms_ssim, lpips, n_images}: the mean
over the images of one (system, receiver, target, SNR). Hosts are resized (bicubic) to the size
of the private image they are paired with, since the INN needs equal latent shapes.
"""
from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tqdm import tqdm

from .images import list_images, load_image
from .metrics import all_metrics
from .system import StegoSystem

SYSTEMS = ("deepjscc", "stego-l3_2", "stego-l3_4")
FIELDS = ("system", "receiver", "target", "snr_db", "psnr", "ms_ssim", "lpips", "n_images")


@dataclass
class EvalSettings:
    data: Path
    out: Path
    hosts: Path | None = None
    snrs: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0)
    eve_snr: float = 5.0
    limit: int | None = None
    mia_steps: int = 200
    mia_limit: int | None = 8
    mia_lr: float = 0.05
    mia_tv: float = 1.0
    systems: tuple[str, ...] = SYSTEMS
    channel: str = "awgn"
    seed: int = 0
    batch: int = 8
    models_dir: Path | None = None
    lost: str | None = None
    extra: dict = field(default_factory=dict)


class _Acc:
    """Sums per-image metrics per record key."""

    def __init__(self):
        self.sums = defaultdict(lambda: defaultdict(float))
        self.counts = defaultdict(int)

    def add(self, key, metrics: dict[str, torch.Tensor]):
        n = next(iter(metrics.values())).numel()
        for name, v in metrics.items():
            self.sums[key][name] += float(v.double().sum())
        self.counts[key] += n

    def records(self) -> list[dict]:
        out = []
        for key in sorted(self.sums, key=lambda k: (k[0], k[1], k[2], k[3])):
            n = self.counts[key]
            rec = dict(zip(FIELDS[:4], key))
            for name in ("psnr", "ms_ssim", "lpips"):
                v = self.sums[key][name] / n
                rec[name] = None if math.isnan(v) else round(v, 5)
            rec["n_images"] = n
            out.append(rec)
        return out


def load_pairs(s: EvalSettings) -> list[tuple[torch.Tensor, torch.Tensor | None, str]]:
    """(private, host resized to the private's size or None, file name) for the first ``s.limit``
    images of ``s.data``, hosts taken in order (cycled) from ``s.hosts``."""
    privates = list_images(s.data)[: s.limit]
    hosts = list_images(s.hosts) if s.hosts else []
    pairs = []
    for i, p in enumerate(privates):
        xp = load_image(p)
        xh = load_image(hosts[i % len(hosts)], size=tuple(xp.shape[-2:])) if hosts else None
        pairs.append((xp, xh, p.name))
    return pairs


def _batches(pairs, batch):
    """Consecutive runs of equally sized pairs, at most ``batch`` long."""
    run = []
    for item in pairs:
        if run and (len(run) == batch or run[0][0].shape != item[0].shape):
            yield run
            run = []
        run.append(item)
    if run:
        yield run


def _systems(s: EvalSettings) -> dict[str, StegoSystem]:
    from .system import MODELS_DIR

    d = Path(s.models_dir) if s.models_dir else MODELS_DIR
    out = {}
    for name in s.systems:
        if name == "deepjscc":
            out[name] = StegoSystem.load(d / "deepjscc-bcr12")
            continue
        if not name.startswith("stego-"):
            raise ValueError(f"unknown system {name!r}; choose deepjscc or a stego-* model (shipped: "
                             f"{', '.join(SYSTEMS[1:])})")
        if s.hosts is None:
            raise ValueError(f"system {name} needs host images (--hosts)")
        out[name] = StegoSystem.load(d / "deepjscc-bcr12", d / name)  # a missing model: 'model file not found'
    return out


def evaluate(s: EvalSettings, progress: bool = True) -> list[dict]:
    """Run every system over every SNR for Bob and Eve; write results and figures to s.out."""
    s.out = Path(s.out)
    s.out.mkdir(parents=True, exist_ok=True)
    systems = _systems(s)
    pairs = load_pairs(s)
    eve_snrs = sorted(set(s.snrs) | {s.eve_snr})
    mia_n = len(pairs) if s.mia_limit is None else min(s.mia_limit, len(pairs))
    acc = _Acc()
    grid: dict[str, torch.Tensor] = {}
    total = len(systems) * (len(eve_snrs) + len(s.snrs)) * len(pairs)
    bar = tqdm(total=total, desc="eval", disable=not progress, dynamic_ncols=True)
    for name, sys_ in systems.items():
        first = 0  # index of the chunk's first image
        for bi, chunk in enumerate(_batches(pairs, s.batch)):
            xp = torch.stack([c[0] for c in chunk])
            xh = torch.stack([c[1] for c in chunk]) if chunk[0][1] is not None else None
            size = tuple(xp.shape[-2:])
            tx = sys_.alice(xh, xp)
            tx_host = sys_.encode(xh) if (not sys_.secure and xh is not None) else None
            for snr in sorted(set(s.snrs) | set(eve_snrs)):
                # Bob and Eve see independent noise; the seeds depend on (seed, SNR, image index) only,
                # so every system meets the same noise realisations
                key = s.seed * 1_000_003 + int(round(snr * 100)) * 10_007 + first
                g = torch.Generator().manual_seed(key)
                in_grid = bi == 0 and snr == s.eve_snr  # Fig. 5 shows Bob and Eve at Eve's SNR
                if snr in s.snrs or in_grid:  # Bob
                    y = sys_.channel(tx, snr, s.channel, g)
                    rec = sys_.bob(y, size, s.lost, g)
                    if in_grid:
                        grid[f"{name}/bob"] = {k: v[0] for k, v in rec.items()}
                if snr in s.snrs:
                    acc.add((name, "bob", "private", snr), all_metrics(rec["private"], xp))
                    if "host" in rec:
                        acc.add((name, "bob", "host", snr), all_metrics(rec["host"], xh))
                    elif tx_host is not None:
                        yh = sys_.channel(tx_host, snr, s.channel, g)
                        acc.add((name, "bob", "host", snr), all_metrics(sys_.decode(yh, size), xh))
                    bar.update(len(chunk))
                if snr in eve_snrs:  # Eve
                    y = sys_.channel(tx, snr, s.channel, torch.Generator().manual_seed(key + 500_009))
                    naive = sys_.eve_naive(y, size)
                    acc.add((name, "eve-naive", "private", snr), all_metrics(naive, xp))
                    if sys_.secure:
                        acc.add((name, "eve-naive", "host", snr), all_metrics(naive, xh))
                    mia = None
                    m = max(0, min(len(chunk), mia_n - first))
                    if s.mia_steps > 0 and m > 0:
                        mia = sys_.eve_mia(y[:m], size, s.mia_steps, s.mia_lr, s.seed, s.mia_tv)
                        acc.add((name, "eve-mia", "private", snr), all_metrics(mia, xp[:m]))
                        if sys_.secure:
                            acc.add((name, "eve-mia", "host", snr), all_metrics(mia, xh[:m]))
                    if in_grid:
                        grid[f"{name}/eve-naive"] = naive[0]
                        if mia is not None:
                            grid[f"{name}/eve-mia"] = mia[0]
                    bar.update(len(chunk))
            if bi == 0:
                grid["private"], grid["host"] = xp[0], (xh[0] if xh is not None else None)
            first += len(chunk)
    bar.close()
    records = acc.records()
    write_outputs(records, s, grid)
    return records


def write_outputs(records: list[dict], s: EvalSettings, grid: dict) -> None:
    from . import report

    (s.out / "results.json").write_text(json.dumps(records, indent=1) + "\n")
    with open(s.out / "results.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=FIELDS)
        w.writeheader()
        w.writerows(records)
    (s.out / "results.md").write_text(report.markdown(records, s.eve_snr))
    report.plot_bob(records, s.out / "fig3_bob.png")
    report.plot_eve(records, s.out / "fig4_eve.png")
    if grid:
        report.visual_grid(grid, s.out / "fig5_grid.png", s.eve_snr)
