"""``stegsem train eve KIND``: train an eavesdropper's model against one scheme, from public images.

Each batch: Eve's own public images (hosts from ``hosts``, private-like images from ``private``)
go through what her threat model lets her run (the Eve module's ``pairs``: the public encoder, or
a captured transmitter), then her channel at an SNR drawn uniformly per batch from ``snr_range``
(Es/N0, dB), then her network and loss. Seeded, resumable, progress bar and CSV log (the shared
training loop). The surrogate-INN Eve is the paper's own INN trainer with her seed and data.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import torch

from .. import eves, schemes
from ..schemes.deepjscc import JSCC_FILE
from .inn import train_inn
from .loop import LoopSettings, crop_batches, run, setup_distributed


def train_eve(kind: str, scheme_name: str, out: str | Path, *, private: list[str], hosts: list[str],
              models_dir: str | Path | None = None, crop: int = 128, batch: int = 16, steps: int = 4000,
              lr: float = 1e-3, seed: int = 0, snr_range: tuple[float, float] = (0.0, 20.0), workers: int = 1,
              save_every: int = 250, resume: bool = True, preload: bool = False, minutes: float | None = None,
              init: str | Path | None = None, key=None) -> dict:
    cls = eves.get(kind)
    if not cls.trainable:
        raise ValueError(f"Eve {kind!r} has no model to train (trainable: "
                         f"{', '.join(n for n in eves.names() if eves.get(n).trainable)})")
    scheme = schemes.load(scheme_name, models_dir)
    if not cls.applies(scheme):
        raise ValueError(f"the {cls.title} Eve does not apply to scheme {scheme_name} (it hides no image)")
    if kind == "surrogate":  # her own INN with the paper's recipe
        d = Path(models_dir) if models_dir else None
        jscc = (d or _models()) / JSCC_FILE
        return train_inn(jscc, private, hosts, out, crop=crop, batch=batch, steps=steps, lr=lr, seed=seed,
                         snr_range=snr_range, workers=workers, save_every=save_every, resume=resume,
                         preload=preload, minutes=minutes, init=init)
    ddp = setup_distributed()
    torch.manual_seed(seed)
    model = cls.build_model(scheme).to(ddp.device)
    if init is not None:
        from ..checkpoint import load_model

        start = load_model(init, cls.kind)
        if start.config != model.config:
            raise ValueError(f"--init model {init} has {start.config}, not {model.config}")
        model.load_state_dict(start.state_dict())
    hb = crop_batches(hosts, crop, batch, seed + 7919, workers, preload, ddp.device)
    pb = crop_batches(private, crop, batch, seed + 104729, workers, preload, ddp.device)
    g = torch.Generator().manual_seed(seed + 1)
    lo, hi = snr_range
    keyed = "key" in scheme.published().secrets
    if keyed:  # the captured transmitter's key: the given one, or one she never learns
        from ..keys import Key, load_key

        key = load_key(key) if key is not None else Key.generate()
    tx = scheme.transmitter(key if keyed else None, nonce=secrets.randbits(62))  # a fresh counter start

    def step(_: int):
        xh, xp = next(hb), next(pb)
        snr = float(torch.empty(()).uniform_(lo, hi, generator=g))
        z, target = cls.pairs(scheme, xh, xp, tx)
        y = scheme.channel(z, snr, "awgn", g).clone()  # out of inference mode, for autograd
        loss, metrics = cls.loss(model, y, target.clone())
        return loss, {**metrics, "snr_db": snr}

    info = {"eve": kind, "scheme": scheme_name, "jscc_config": scheme.jscc.config.to_dict(),
            "private": [str(p) for p in private], "hosts": [str(h) for h in hosts], "crop": crop, "batch": batch,
            "lr": lr, "seed": seed, "snr_range_db": list(snr_range), "init": str(init) if init else None,
            "device": str(ddp.device)}
    if keyed:
        info["transmitter_key"] = key.fingerprint()  # which key, not the key
    settings = LoopSettings(Path(out), steps, lr, seed, save_every, resume, info, minutes)
    return run(model, model.parameters(), step, settings, ddp)


def _models() -> Path:
    from ..system import MODELS_DIR

    return MODELS_DIR
