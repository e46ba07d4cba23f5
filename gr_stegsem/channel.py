"""Channel models on complex symbols with unit average energy (Es = 1).

SNR is Es/N0 in dB: for unit-power symbols the complex noise CN(0, sigma^2) has total variance
sigma^2 = 10^(-SNR/10), i.e. sigma^2/2 on each of the real and imaginary parts (paper eq. 2, 5).
"""
from __future__ import annotations

import math

import torch

CHANNELS = ("awgn", "rayleigh")


def noise_variance(snr_db: float | torch.Tensor) -> float | torch.Tensor:
    """Total complex noise variance sigma^2 for Es/N0 = snr_db on unit-power symbols."""
    if isinstance(snr_db, torch.Tensor):
        return torch.pow(10.0, -snr_db / 10.0)
    return 10.0 ** (-float(snr_db) / 10.0)


def noise_voltage(snr_db: float) -> float:
    """``noise_voltage`` of GNU Radio's ``channels.channel_model`` for Es/N0 = snr_db on unit-power samples.

    On GNU Radio 3.10.5 the model adds complex noise of total power noise_voltage^2 (measured:
    0.00998 for 0.1; not 2 v^2), so v = sqrt(10^(-SNR/10)). tests/test_burst.py measures it.
    """
    return math.sqrt(noise_variance(snr_db))


def _per_item(v: float | torch.Tensor, batch: int, device) -> torch.Tensor:
    t = torch.as_tensor(v, dtype=torch.float32, device=device)
    return t.expand(batch).reshape(batch, 1) if t.dim() == 0 else t.reshape(batch, 1)


def complex_noise(shape, variance: float | torch.Tensor, generator: torch.Generator | None = None,
                  device=None) -> torch.Tensor:
    """CN(0, variance) samples; ``variance`` is a scalar or one value per batch item."""
    re = torch.randn(shape, generator=generator, device=device)
    im = torch.randn(shape, generator=generator, device=device)
    std = _per_item(variance, shape[0], device).sqrt() / math.sqrt(2.0)
    return torch.complex(re * std, im * std)


def awgn(symbols: torch.Tensor, snr_db: float | torch.Tensor,
         generator: torch.Generator | None = None) -> torch.Tensor:
    """y = z + n, n ~ CN(0, 10^(-SNR/10)); symbols (B, k) complex, snr_db scalar or (B,)."""
    return symbols + complex_noise(symbols.shape, noise_variance(snr_db), generator, symbols.device)


def rayleigh(symbols: torch.Tensor, snr_db: float | torch.Tensor, generator: torch.Generator | None = None,
             block: int | None = None) -> torch.Tensor:
    """Rayleigh block fading with zero-forcing equalisation at the receiver (perfect CSI).

    y = h z + n with h ~ CN(0, 1) constant over ``block`` symbols (default: the whole image);
    the receiver returns y / h, so the effective noise on a block is sigma^2 / |h|^2.
    """
    b, k = symbols.shape
    block = k if block is None else int(block)
    if block < 1:
        raise ValueError(f"fading block length must be >= 1 symbol, got {block}")
    nblocks = -(-k // block)
    h = complex_noise((b, nblocks), 1.0, generator, symbols.device)
    h = h.repeat_interleave(block, dim=1)[:, :k]
    y = h * symbols + complex_noise(symbols.shape, noise_variance(snr_db), generator, symbols.device)
    return y / h


def apply(symbols: torch.Tensor, snr_db: float | torch.Tensor, kind: str = "awgn",
          generator: torch.Generator | None = None) -> torch.Tensor:
    """Pass complex symbols (B, k) through the named channel ('awgn' or 'rayleigh')."""
    if kind == "awgn":
        return awgn(symbols, snr_db, generator)
    if kind == "rayleigh":
        return rayleigh(symbols, snr_db, generator)
    raise ValueError(f"unknown channel {kind!r}; choose one of {', '.join(CHANNELS)}")


def measured_snr_db(clean: torch.Tensor, noisy: torch.Tensor) -> float:
    """Es/N0 in dB estimated from a clean/noisy pair of complex symbol tensors."""
    es = clean.abs().pow(2).mean().item()
    n0 = (noisy - clean).abs().pow(2).mean().item()
    return 10.0 * math.log10(es / n0)
