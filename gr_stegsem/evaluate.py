"""``stegsem eval``: Fig. 3, Fig. 4, Table I and Fig. 5 of Tang et al. (2024), and the security
report (every scheme against every Eve), on any image folders.

Every record is {system, receiver, target, snr_db, psnr, ms_ssim, lpips, n_images}: the mean
over the images of one (system, receiver, target, SNR); receivers are 'bob' and 'eve-<attack>'
(:mod:`gr_stegsem.eves`). Eve's reconstructions compared with the private image also carry
``id_rate``, the identification rate: the fraction of attacked images whose true private image is
the closest (LPIPS) of the N private images of the run (chance 1/N). Detection records (receiver
'eve-detect', target 'container') carry ``accuracy`` and ``auc`` over containers vs plain host
symbols. ``chance.json`` holds each metric between unrelated (host, private) pairs: the level an
Eve who learnt nothing reaches. Optional keys ``psnr_ci95``, ``ms_ssim_ci95`` and ``lpips_ci95``
(absent in older results.json) hold the half-width of each mean's 95 % confidence interval over
the images, t_{0.975, n-1} * sd / sqrt(n) (same unit as the metric; None for n < 2). Hosts are
resized (bicubic) to the size of the private image they are paired with, since the INN needs equal
latent shapes.
"""
from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from . import eves, precision, schemes
from .device import resolve_device
from .images import list_images, load_image
from .metrics import MSSSIM_MIN_SIDE, LPIPSGallery, Prepared, all_metrics, ms_ssim, psnr
from .schemes import Scheme

SYSTEMS = ("deepjscc", "stego-l3_2", "stego-l3_4")
ATTACKS = ("naive", "mia")  # the paper's two; eves.names() lists them all
METRICS = ("psnr", "ms_ssim", "lpips")
FIELDS = ("system", "receiver", "target", "snr_db", "psnr", "ms_ssim", "lpips", "n_images", "id_rate",
          "accuracy", "auc") + tuple(f"{m}_ci95" for m in METRICS)


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
    attacks: tuple[str, ...] = ATTACKS
    extra: dict = field(default_factory=dict)
    key: object = None  # keyed schemes' key (a Key or key file); None: a fresh random key per run
    eve_snrs: tuple[float, ...] | None = None  # Eve's SNRs (dB; default: Bob's, ``snrs``), eve_snr always
    skip_missing: bool = False  # a trained Eve without a model file against a scheme is skipped, not an error
    precision: str = "fp32"  # inference precision of the schemes and Eves: fp32, bf16 or auto (gr_stegsem.precision)
    device: str = "cpu"  # where schemes, Eves and metrics run: cpu, cuda, cuda:N or auto (gr_stegsem.device)


@lru_cache(maxsize=64)
def t_quantile(p: float, df: int) -> float:
    """Student's t quantile t_p(df) for 0.5 < p < 1: the CDF, 1/2 + the integral of the density from 0
    (composite Simpson, 2^14 intervals; ~1e-12), solved by bisection (to 1e-13). scipy.stats gives the
    same value (tests/test_eval_stats.py) but costs ~5 s of import per process."""
    if not 0.5 < p < 1 or df < 1:
        raise ValueError(f"t quantile needs 0.5 < p < 1 and df >= 1, got p={p}, df={df}")
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    n = 1 << 14
    w = np.ones(n + 1)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0

    def cdf(t: float) -> float:
        u = np.linspace(0.0, t, n + 1)
        f = np.exp(log_c - (df + 1) / 2 * np.log1p(u * u / df))
        return 0.5 + float(w @ f) * t / (3 * n)

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        lo, hi = hi, 2 * hi
    while hi - lo > 1e-13 * hi:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def ci95(sd: float, n: int) -> float | None:
    """Half-width of the 95 % confidence interval of a mean of n values of sample standard deviation
    ``sd`` (Student's t, n - 1 degrees of freedom); None for n < 2."""
    return None if n < 2 or math.isnan(sd) else float(t_quantile(0.975, n - 1) * sd / math.sqrt(n))


class _Acc:
    """Sums (and sums of squares) of per-image metrics per record key."""

    def __init__(self):
        self.sums = defaultdict(lambda: defaultdict(float))
        self.squares = defaultdict(lambda: defaultdict(float))
        self.counts = defaultdict(int)

    def add(self, key, metrics: dict[str, torch.Tensor]):
        n = next(iter(metrics.values())).numel()
        for name, v in metrics.items():
            self.sums[key][name] += float(v.double().sum())
            self.squares[key][name] += float(v.double().pow(2).sum())
        self.counts[key] += n

    def _ci95(self, key, name: str) -> float | None:
        n, s = self.counts[key], self.sums[key][name]
        if n < 2 or math.isnan(s):
            return None
        var = max(0.0, (self.squares[key][name] - s * s / n) / (n - 1))
        return round(ci95(math.sqrt(var), n), 5)

    def records(self) -> list[dict]:
        out = []
        for key in sorted(self.sums, key=lambda k: (k[0], k[1], k[2], k[3])):
            n = self.counts[key]
            rec = dict(zip(FIELDS[:4], key))
            for name in METRICS:
                v = self.sums[key][name] / n
                rec[name] = None if math.isnan(v) else round(v, 5)
            rec["n_images"] = n
            if "id_rate" in self.sums[key]:
                rec["id_rate"] = round(self.sums[key]["id_rate"] / n, 5)
            for name in METRICS:
                rec[f"{name}_ci95"] = self._ci95(key, name)
            out.append(rec)
        return out


def auc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """ROC AUC of scores (positives should score higher): the Mann-Whitney probability
    P(pos > neg) + P(pos = neg) / 2."""
    p, q = pos.double().view(-1, 1), neg.double().view(1, -1)
    return float(((p > q).double() + 0.5 * (p == q).double()).mean())


def detection_record(system: str, snr: float, pos: torch.Tensor, neg: torch.Tensor) -> dict:
    """Accuracy at the threshold 0.5 (balanced: the mean of both classes' rates) and AUC."""
    acc = 0.5 * (float((pos > 0.5).double().mean()) + float((neg <= 0.5).double().mean()))
    return {"system": system, "receiver": "eve-detect", "target": "container", "snr_db": snr, "psnr": None,
            "ms_ssim": None, "lpips": None, "n_images": len(pos), "accuracy": round(acc, 5),
            "auc": round(auc(pos, neg), 5)}


def _tile_metrics(x: torch.Tensor, ref: torch.Tensor | Prepared) -> dict[str, torch.Tensor]:
    """PSNR and MS-SSIM (NaN where too small) only: what a tile of Fig. 5 shows."""
    r = ref.images if isinstance(ref, Prepared) else ref
    ms = ms_ssim(x, ref) if min(x.shape[-2:]) >= MSSSIM_MIN_SIDE else torch.full((x.shape[0],), float("nan"))
    return {"psnr": psnr(x, r), "ms_ssim": ms}


def _tile(metrics: dict[str, torch.Tensor]) -> dict:
    """The first image's PSNR (dB) and MS-SSIM (None where too small) of per-image metrics."""
    ms = float(metrics["ms_ssim"][0])
    return {"psnr": float(metrics["psnr"][0]), "ms_ssim": None if math.isnan(ms) else ms}


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


def _systems(s: EvalSettings) -> dict[str, Scheme]:
    out = {}
    for name in s.systems:
        try:
            out[name] = schemes.load(name, s.models_dir)  # a missing model: 'model file not found'
        except schemes.UnknownScheme as e:
            raise ValueError(f"unknown system {name!r}; known here: {', '.join(e.known) or 'none'}") from None
        dev = out[name].set_device(s.device)  # before the precision, which depends on it
        if str(s.device) != "cpu":
            print(f"eval: {name} runs on {dev}", flush=True)
        if hasattr(out[name], "set_precision"):
            p = out[name].set_precision(s.precision)
            if s.precision != "fp32":
                print(f"eval: {name} runs in {p.used} ({p.reason})", flush=True)
        elif s.precision != "fp32":
            print(f"eval: {name} has no reduced-precision path: fp32", flush=True)
        if out[name].carries_host and s.hosts is None:
            raise ValueError(f"system {name} needs host images (--hosts)")
    return out


def _eves(s: EvalSettings, scheme: Scheme, key=None) -> dict[str, eves.Eve]:
    """The attacks of ``s.attacks`` that apply to ``scheme``, built (trained models loaded) up front."""
    out = {}
    for name in s.attacks:
        cls = eves.get(name)
        if name == "mia" and s.mia_steps <= 0 or not cls.applies(scheme):
            continue
        if s.skip_missing and cls.trainable:
            from .system import MODELS_DIR

            path = Path(s.models_dir or MODELS_DIR) / f"{cls.model_name(scheme.name)}.safetensors"
            if not path.is_file():
                print(f"eval: no {cls.title} model against {scheme.name} ({path}): that Eve is skipped", flush=True)
                continue
        out[name] = cls(scheme, s.models_dir, mia_steps=s.mia_steps, mia_lr=s.mia_lr, mia_tv=s.mia_tv, seed=s.seed,
                        glassbox_lost=s.lost, device_key=key)
    return out


def _galleries(pairs, device="cpu") -> dict[tuple, tuple[LPIPSGallery, dict]]:
    """Per image size: the LPIPS gallery of that size's private images (features on ``device``) and each
    image's index in it."""
    by_size: dict[tuple, list[int]] = defaultdict(list)
    for i, (xp, _, _) in enumerate(pairs):
        by_size[tuple(xp.shape[-2:])].append(i)
    return {size: (LPIPSGallery(torch.stack([pairs[i][0] for i in idx]).to(device)), {i: j for j, i in enumerate(idx)})
            for size, idx in by_size.items()}


def chance_record(pairs, galleries: dict | None = None, batch: int = 16, device="cpu") -> dict:
    """Each metric between unrelated images: host i vs private i (or private i+1 vs private i
    without hosts); the identification rate's chance is the mean 1/N of the images' galleries.
    ``prior``: each metric of the mean of the run's other private images (of the same size) against
    the image, what an Eve who learnt only the average face reaches without any information about
    the frame (aligned faces share their coarse structure: MS-SSIM well above unrelated pairs').
    ``galleries`` (:func:`_galleries`): the private images' LPIPS features are taken from them;
    images are compared ``batch`` at a time, on ``device`` (the galleries')."""
    acc = _Acc()
    by_size: dict[tuple, list[int]] = defaultdict(list)
    for i, (xp, _, _) in enumerate(pairs):
        by_size[tuple(xp.shape[-2:])].append(i)

    def private(idx: list[int]) -> Prepared:
        x = torch.stack([pairs[i][0] for i in idx]).to(device)
        if galleries and tuple(x.shape[-2:]) in galleries:
            gallery, index = galleries[tuple(x.shape[-2:])]
            return Prepared(x, gallery.features(torch.tensor([index[i] for i in idx])))
        return Prepared(x)

    n = len(pairs)

    def unrelated(i: int) -> torch.Tensor:
        return pairs[i][1] if pairs[i][1] is not None else pairs[(i + 1) % n][0]

    for idx in by_size.values():
        idx = [i for i in idx if unrelated(i).shape == pairs[i][0].shape]
        for k in range(0, len(idx), batch):
            part = idx[k:k + batch]
            acc.add(("chance", "chance", "private", 0.0),
                    all_metrics(torch.stack([unrelated(i) for i in part]).to(device), private(part)))
    for idx in by_size.values():
        if len(idx) > 1:
            x = torch.stack([pairs[i][0] for i in idx]).to(device)
            loo = (x.sum(0, keepdim=True) - x) / (len(idx) - 1)  # each image's leave-one-out mean
            for k in range(0, len(idx), batch):
                acc.add(("prior", "prior", "private", 0.0), all_metrics(loo[k:k + batch], private(idx[k:k + batch])))
    keys = ("psnr", "ms_ssim", "lpips", "n_images")
    recs = {r["system"]: {k: r[k] for k in keys} for r in acc.records()}
    rec = recs.get("chance", dict.fromkeys(keys[:3], None) | {"n_images": 0})
    rec["id_rate"] = round(sum(1.0 / len(by_size[tuple(xp.shape[-2:])]) for xp, _, _ in pairs) / n, 5)
    if "prior" in recs:
        rec["prior"] = recs["prior"]
    return rec


def evaluate(s: EvalSettings, progress: bool = True) -> list[dict]:
    """Run every system over every SNR for Bob and every attack of ``s.attacks`` for Eve; write
    results, figures and the security report to s.out."""
    s.out = Path(s.out)
    s.out.mkdir(parents=True, exist_ok=True)
    systems = _systems(s)
    key = None  # the keyed schemes' key
    if any("key" in sys_.published().secrets for sys_ in systems.values()):
        from .keys import Key, load_key

        key = load_key(s.key) if s.key is not None else Key.generate()
    # (a captured transmitter of an Eve runs under Alice's key: she queries it, never reads it)
    attackers = {name: _eves(s, sys_, key) for name, sys_ in systems.items()}  # missing Eve models fail here
    pairs = load_pairs(s)
    if not pairs:
        raise ValueError(f"no images in {s.data}")
    device = resolve_device(s.device)  # where the images, the metrics and every system's models are
    image_eves = any(e.output == "image" for a in attackers.values() for e in a.values())
    galleries = _galleries(pairs, device) if image_eves else {}
    eve_snrs = sorted(set(s.eve_snrs if s.eve_snrs is not None else s.snrs) | {s.eve_snr})
    mia_n = len(pairs) if s.mia_limit is None else min(s.mia_limit, len(pairs))
    acc = _Acc()
    scores: dict[tuple, list] = defaultdict(lambda: ([], []))  # (system, snr) -> (containers, covers)
    grid: dict[str, torch.Tensor] = {}
    tiles: dict[str, dict] = {}  # Fig. 5's tile -> its PSNR / MS-SSIM against its reference
    total = len(systems) * (len(eve_snrs) + len(s.snrs)) * len(pairs)
    bar = tqdm(total=total, desc="eval", disable=not progress, dynamic_ncols=True)
    first = 0  # index of the chunk's first image
    # chunks outside, systems inside: the references' LPIPS features and MS-SSIM statistics are
    # computed once per image (Prepared) and reused by every system, SNR and receiver; every record
    # sums its images in the same order as before, and no random state is shared between systems
    for bi, chunk in enumerate(_batches(pairs, s.batch)):
        xp = torch.stack([c[0] for c in chunk]).to(device)
        xh = torch.stack([c[1] for c in chunk]).to(device) if chunk[0][1] is not None else None
        size = tuple(xp.shape[-2:])
        if galleries:
            gallery, index = galleries[size]
            truth = torch.tensor([index[first + i] for i in range(len(chunk))])
        ref_p = Prepared(xp, gallery.features(truth) if galleries else None)
        ref_h = Prepared(xh) if xh is not None else None
        for name, sys_ in systems.items():
            # a keyed scheme numbers its frames by their index in the data (nonce = image index)
            tx = sys_.alice(xh, xp, key=key, nonce=first)
            tx_host = sys_.cover(xh) if xh is not None and not sys_.secure else None  # Bob's host reference
            tx_plain = sys_.plain_equivalent(xh, xp) if "detect" in attackers[name] else None  # detection's negatives
            for snr in sorted(set(s.snrs) | set(eve_snrs)):
                # Bob and Eve see independent noise; the seeds depend on (seed, SNR, image index) only,
                # so every system meets the same noise realisations
                nkey = s.seed * 1_000_003 + int(round(snr * 100)) * 10_007 + first
                g = torch.Generator().manual_seed(nkey)
                in_grid = bi == 0 and snr == s.eve_snr  # Fig. 5 shows Bob and Eve at Eve's SNR
                if snr in s.snrs or in_grid:  # Bob
                    y = sys_.channel(tx, snr, s.channel, g)
                    rec = sys_.bob(y, size, s.lost, g, key=key, nonce=first)
                    if in_grid:
                        grid[f"{name}/bob"] = {k: v[0].cpu() for k, v in rec.items()}
                bob_m = {}  # Bob's per-image metrics, reused for Fig. 5's tiles
                if snr in s.snrs:
                    bob_m["private"] = all_metrics(rec["private"], ref_p)
                    acc.add((name, "bob", "private", snr), bob_m["private"])
                    if "host" in rec:
                        bob_m["host"] = all_metrics(rec["host"], ref_h)
                        acc.add((name, "bob", "host", snr), bob_m["host"])
                    elif tx_host is not None:
                        yh = sys_.channel(tx_host, snr, s.channel, g)
                        acc.add((name, "bob", "host", snr), all_metrics(sys_.decode(yh, size), ref_h))
                    bar.update(len(chunk))
                if in_grid:
                    for k, img in rec.items():
                        ref = ref_p if k == "private" else ref_h
                        if ref is not None:
                            tiles[f"{name}/bob/{k}"] = _tile(bob_m.get(k) or _tile_metrics(img[:1], ref[:1]))
                if snr in eve_snrs:  # Eve: every attacker hears the same symbols
                    y = sys_.channel(tx, snr, s.channel, torch.Generator().manual_seed(nkey + 500_009))
                    for attack, eve in attackers[name].items():
                        rx = f"eve-{attack}"
                        if eve.output == "score":
                            yc = sys_.channel(tx_plain, snr, s.channel, torch.Generator().manual_seed(nkey + 700_001))
                            scores[(name, snr)][0].append(eve.score(y))
                            scores[(name, snr)][1].append(eve.score(yc))
                            continue
                        m = len(chunk) if attack != "mia" else max(0, min(len(chunk), mia_n - first))
                        if m == 0:
                            continue
                        with precision.autocast(getattr(sys_, "precision", "fp32")):  # Eve's models too
                            img = eve.reconstruct(y[:m], size).float()
                        rec_e = Prepared(img)  # compared with the private image, the gallery and the host
                        metrics = all_metrics(rec_e, ref_p[:m])
                        if galleries:
                            metrics["id_rate"] = (gallery.ranks(rec_e, truth[:m]) == 0).double()
                        acc.add((name, rx, "private", snr), metrics)
                        if sys_.secure:
                            acc.add((name, rx, "host", snr), all_metrics(rec_e, ref_h[:m]))
                        if in_grid:
                            grid[f"{name}/{rx}"] = img[0].cpu()
                            tiles[f"{name}/{rx}"] = _tile(metrics)
                    bar.update(len(chunk))
        if bi == 0:
            grid["private"], grid["host"] = xp[0].cpu(), (xh[0].cpu() if xh is not None else None)
        first += len(chunk)
    bar.close()
    records = acc.records()
    for (name, snr), (pos, neg) in sorted(scores.items()):
        records.append(detection_record(name, snr, torch.cat(pos), torch.cat(neg)))
    chance = chance_record(pairs, galleries, s.batch, device) if galleries else None
    write_outputs(records, s, grid, chance, tiles=tiles)
    return records


def rerender(out: Path, eve_snr: float = 5.0) -> list[str]:
    """Tables, figures and the security report again from OUT/results.json (and chance.json), e.g.
    after a change of the report or to pick another Eve SNR; returns the files written."""
    out = Path(out)
    path = out / "results.json"
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation records: {path} not found (run 'stegsem eval --out {out}' first)")
    try:
        records = json.loads(path.read_text())
        chance = json.loads((out / "chance.json").read_text()) if (out / "chance.json").is_file() else None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: invalid JSON ({e})") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) and set(FIELDS[:8]) <= set(r) for r in records):
        raise ValueError(f"{path}: not a list of evaluation records")
    write_outputs(records, EvalSettings(data=out, out=out, eve_snr=eve_snr), {}, chance, csv_json=False)
    return [p.name for p in sorted(out.glob("*")) if p.suffix in (".md", ".png", ".pdf")]


def write_outputs(records: list[dict], s: EvalSettings, grid: dict, chance: dict | None = None,
                  csv_json: bool = True, tiles: dict | None = None) -> None:
    """results.{json,csv,md}, security.md and the figures (each as .png at 300 dpi and .pdf);
    ``tiles``: Fig. 5's per-tile PSNR / MS-SSIM (see :func:`report.visual_grid`)."""
    from . import report

    if csv_json:
        (s.out / "results.json").write_text(json.dumps(records, indent=1) + "\n")
        with open(s.out / "results.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=FIELDS)
            w.writeheader()
            w.writerows(records)
    (s.out / "results.md").write_text(report.markdown(records, s.eve_snr))
    report.plot_bob(records, s.out / "fig3_bob.png")
    report.plot_eve(records, s.out / "fig4_eve.png")
    if chance is not None and csv_json:
        (s.out / "chance.json").write_text(json.dumps(chance, indent=1) + "\n")
    if any(r["receiver"].startswith("eve-") for r in records):
        (s.out / "security.md").write_text(report.security_markdown(records, s.eve_snr, chance))
        report.plot_security(records, s.out / "fig_security.png", chance)
        report.plot_privacy_utility(records, s.out / "fig_privacy_utility.png", chance, eve_snr=s.eve_snr)
    if grid:
        report.visual_grid(grid, s.out / "fig5_grid.png", s.eve_snr, tiles=tiles)
