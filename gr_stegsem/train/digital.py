"""Train the digital defences of seeds 003 and 004, fine-tuned from the public DeepJSCC.

LBVQ (seed 004, :mod:`gr_stegsem.models.lbvq`): VQ-VAE training (van den Oord et al. 2017, eq. 3)
through the QAM channel: loss = MSE(D(c_hat), x) + ||sg(v) - c_i||^2 + 0.25 ||v - sg(c_i)||^2, with
c_hat Bob's soft demapping of the noisy QAM symbol of index i (the posterior mean of the codewords,
N0 estimated blindly as Bob does) and the straight-through estimator c_hat + v - sg(v) carrying the
decoder's gradient to the encoder's symbol v.

DeepJSCEC (seed 003, :mod:`gr_stegsem.lwe`): each DeepJSCC symbol's phase is quantised to p levels
(straight-through), rotated by the LWE decryption noise (Gaussian of the cipher's exact std, the sum
of ~4n/3 independent products) and sent as a unit-power symbol through AWGN: what Bob sees after
decryption. The codec is a ``deepjscc`` model; the evaluation uses the real cipher.
SNR (Es/N0, dB) uniform per batch.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from .. import channel, lwe
from ..checkpoint import load_model, read_info, save_model
from ..metrics import psnr_from_mse
from ..models.deepjscc import from_complex, to_complex
from ..models.lbvq import LBVQ, LBVQConfig, qam_points
from .loop import LoopSettings, crop_batches, run, setup_distributed

COMMITMENT = 0.25  # VQ-VAE's β


@torch.inference_mode()
def calibrate(model: LBVQ, batches, count: int = 16) -> float:
    """The gain on the unit-power QAM that makes Es = 1 on average over ``count`` batches of crops:
    1 / sqrt(mean |s_i|^2) over the indices the model chooses (it favours the outer points)."""
    pts = qam_points(model.config.codebook).to(next(model.parameters()).device)
    es = [pts[model.indices(next(batches))[0]].abs().pow(2).mean() for _ in range(count)]
    return float(torch.stack(es).mean().rsqrt())


def set_scale(model: LBVQ, scale: float) -> LBVQ:
    """``model`` with its transmit gain set (its config and points; the weights are unchanged)."""
    model.config = replace(model.config, scale=float(scale))
    model.points = qam_points(model.config.codebook).to(model.points.device) * model.config.scale
    return model


def calibrate_file(path: str | Path, data: list[str], crop: int = 128, batch: int = 64, count: int = 16,
                   seed: int = 1) -> float:
    """Calibrate a trained LBVQ model file in place (its JSON's config.scale; weights untouched)."""
    model = load_model(path, "lbvq")
    info = read_info(path)
    batches = crop_batches(data, crop, batch, seed, 0, False, torch.device("cpu"))
    scale = calibrate(set_scale(model, 1.0), batches, count)
    rest = {k: v for k, v in info.items() if k not in ("kind", "config")}
    rest["power_calibration"] = {"crops": batch * count, "crop": crop, "seed": seed,
                                 "mean_es_unit_qam": round(scale ** -2, 5)}
    save_model(set_scale(model, scale), path, **rest)
    return scale


def train_lbvq(jscc_init: str | Path, data: list[str], out: str | Path, *, codebook: int = 16, crop: int = 128,
               batch: int = 16, steps: int = 5000, lr: float = 2e-4, seed: int = 0,
               snr_range: tuple[float, float] = (0.0, 20.0), workers: int = 1, save_every: int = 250,
               resume: bool = True, preload: bool = False, minutes: float | None = None) -> dict:
    ddp = setup_distributed()
    torch.manual_seed(seed)
    init = load_model(jscc_init, "deepjscc")
    model = LBVQ(LBVQConfig(init.config.bcr, init.config.width1, init.config.width, codebook)).to(ddp.device)
    model.jscc.load_state_dict(init.state_dict())
    model.train()
    batches = crop_batches(data, crop, batch, seed + 7919, workers, preload, ddp.device)
    lo, hi = snr_range

    def step(_: int):
        x = next(batches)
        snr = float(torch.empty(()).uniform_(lo, hi))
        z = model.jscc.encoder(x)
        v = to_complex(z)
        cw = model.codewords
        idx = (v.detach().unsqueeze(-1) - cw.detach()).abs().argmin(-1)
        y = channel.apply(model.points[idx], snr)
        c_hat = model.features(y, "soft")
        feed = c_hat + (v - v.detach())
        xr = model.jscc.decode(from_complex(feed, tuple(z.shape[1:])), tuple(x.shape[-2:]))
        mse = F.mse_loss(xr, x)
        chosen = cw[idx]
        vq = (v.detach() - chosen).abs().pow(2).mean() + COMMITMENT * (v - chosen.detach()).abs().pow(2).mean()
        used = torch.unique(idx).numel()
        return mse + vq, {"psnr": psnr_from_mse(mse.item()), "vq": vq.item(), "codewords_used": used, "snr_db": snr}

    info = {"init": str(jscc_init), "data": [str(d) for d in data], "crop": crop, "batch": batch, "lr": lr,
            "seed": seed, "snr_range_db": list(snr_range), "device": str(ddp.device), "commitment": COMMITMENT}
    settings = LoopSettings(Path(out), steps, lr, seed, save_every, resume, info, minutes)
    last = run(model, model.parameters(), step, settings, ddp)
    if ddp.main:  # the transmit gain for Es = 1 on average (training ran on unit-power QAM)
        last["scale"] = calibrate_file(out, data, crop)
    return last


def train_jscec(jscc_init: str | Path, data: list[str], out: str | Path, *, params: lwe.LWEParams = lwe.DEFAULT,
                crop: int = 128, batch: int = 16, steps: int = 5000, lr: float = 2e-4, seed: int = 0,
                snr_range: tuple[float, float] = (0.0, 20.0), workers: int = 1, save_every: int = 250,
                resume: bool = True, preload: bool = False, minutes: float | None = None) -> dict:
    ddp = setup_distributed()
    torch.manual_seed(seed)
    codec = load_model(jscc_init, "deepjscc").to(ddp.device).train().requires_grad_(True)
    batches = crop_batches(data, crop, batch, seed + 7919, workers, preload, ddp.device)
    lo, hi = snr_range
    noise = lwe.phase_noise_std(params)

    def step(_: int):
        x = next(batches)
        snr = float(torch.empty(()).uniform_(lo, hi))
        z = codec.encoder(x)
        v = to_complex(z)
        phi = torch.angle(v)
        _, phase_q = lwe.quantise_phase(v.detach(), params)
        phi_st = phi + (phase_q - phi).detach()
        rot = phi_st + noise * torch.randn_like(phi)
        y = channel.apply(torch.polar(torch.ones_like(rot), rot), snr)
        xr = codec.decode(from_complex(y, tuple(z.shape[1:])), tuple(x.shape[-2:]))
        mse = F.mse_loss(xr, x)
        return mse, {"psnr": psnr_from_mse(mse.item()), "snr_db": snr}

    info = {"lwe": params.to_dict(), "init": str(jscc_init), "data": [str(d) for d in data], "crop": crop,
            "batch": batch, "lr": lr, "seed": seed, "snr_range_db": list(snr_range), "device": str(ddp.device)}
    settings = LoopSettings(Path(out), steps, lr, seed, save_every, resume, info, minutes)
    return run(codec, codec.parameters(), step, settings, ddp)
