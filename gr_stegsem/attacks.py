"""Eve's attacks on a tapped DeepJSCC link (Tang et al. 2024, Section II-B).

* naive decoding, eq. (6): x_e = D(z_e) with the legitimate decoder;
* model inversion, eq. (7) (Chen et al., GLOBECOM 2023, the paper's [11]): Eve knows the
  encoder only and solves min_y mean((z_e - E(y))^2) + w_tv * TV(y) over images y in [0, 1]
  with Adam (projected onto [0, 1] after each step). The total-variation prior (anisotropic,
  mean absolute neighbour difference) is the usual image prior of inversion attacks; without it
  (w_tv = 0) the optimiser fits Eve's channel noise and the attack is much weaker.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tqdm import tqdm

from .models.deepjscc import DeepJSCC, all_finite


@torch.inference_mode()
def naive_decoding(jscc: DeepJSCC, y: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
    if not all_finite(y):
        raise ValueError("received symbols contain NaN or Inf values")
    return jscc.decode(y, size)


@dataclass
class InversionResult:
    images: torch.Tensor  # (B, 3, H, W) in [0, 1]
    losses: list[float]  # objective per step (mean over the batch)


def total_variation(img: torch.Tensor) -> torch.Tensor:
    """Anisotropic TV per image: mean |vertical| + mean |horizontal| neighbour difference."""
    dv = (img[..., 1:, :] - img[..., :-1, :]).abs().flatten(1).mean(1)
    dh = (img[..., :, 1:] - img[..., :, :-1]).abs().flatten(1).mean(1)
    return dv + dh


def model_inversion(jscc: DeepJSCC, y: torch.Tensor, size: tuple[int, int], steps: int = 200,
                    lr: float = 0.05, seed: int = 0, tv_weight: float = 1.0,
                    progress: bool = False) -> InversionResult:
    """Optimise images so that the encoder's latents match the received latents ``y`` (B, C, h, w)."""
    if steps < 1:
        raise ValueError(f"model inversion needs at least one step, got {steps}")
    if not all_finite(y):
        raise ValueError("received symbols contain NaN or Inf values")
    h, w = size
    g = torch.Generator().manual_seed(seed)
    img = (0.5 + 0.01 * torch.randn((y.shape[0], 3, h, w), generator=g)).to(y.device)
    img.requires_grad_(True)
    enc = jscc.encoder
    frozen = [p.requires_grad for p in enc.parameters()]
    enc.requires_grad_(False)
    opt = torch.optim.Adam([img], lr=lr)
    target = y.detach().clone()
    losses: list[float] = []
    try:
        with torch.enable_grad():
            for _ in tqdm(range(steps), desc="model inversion", disable=not progress, leave=False):
                fit = (enc(img) - target).pow(2).flatten(1).mean(1)
                loss = (fit + tv_weight * total_variation(img)).mean()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                with torch.no_grad():
                    img.clamp_(0.0, 1.0)
                losses.append(loss.item())
    finally:
        for p, r in zip(enc.parameters(), frozen):
            p.requires_grad_(r)
    return InversionResult(img.detach(), losses)
