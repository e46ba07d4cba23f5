"""DeepJSCC: deep joint source-channel coding for images.

Bourtsoulatze, Kurka, Gündüz, "Deep joint source-channel coding for wireless image
transmission", IEEE TCCN 5(3), 2019 (the paper's [4]).

The encoder maps an RGB image x in [0, 1] (B, 3, H, W) to k complex channel symbols with
per-image power normalisation, mean |z|^2 = 1 (Es = 1). The bandwidth compression ratio is
k/n with n = 3*H*W real source values; the latent lives on a stride-4 grid with
C = 96*k/n real channels (pairs of channels are the real and imaginary parts).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction

import torch
from torch import nn
import torch.nn.functional as F

from .polyphase import Polyphase

STRIDE = 4  # two stride-2 convolutions
MAX_PIXELS = 4096 * 4096


@dataclass(frozen=True)
class DeepJSCCConfig:
    """Architecture of one DeepJSCC model. ``bcr`` is k/n as a string such as "1/12"."""

    bcr: str = "1/12"
    width1: int = 32  # channels after the first stride-2 conv (Bourtsoulatze: 16)
    width: int = 64  # channels of the inner layers (Bourtsoulatze: 32)

    @property
    def latent_channels(self) -> int:
        ratio = Fraction(self.bcr)
        c = ratio * 2 * 3 * STRIDE * STRIDE  # real channels per stride-4 position
        if c.denominator != 1 or c < 2 or int(c) % 2:
            raise ValueError(
                f"bandwidth compression ratio {self.bcr} gives {c} real latent channels; "
                "it must be an even integer (e.g. 1/48, 1/24, 1/12, 1/6)"
            )
        return int(c)

    def to_dict(self) -> dict:
        return asdict(self)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 5, stride=stride, padding=2)


def _deconv(cin: int, cout: int, stride: int = 1) -> nn.Module:
    if stride == 1:
        return nn.ConvTranspose2d(cin, cout, 5, stride=1, padding=2)
    return nn.ConvTranspose2d(cin, cout, 5, stride=stride, padding=2, output_padding=stride - 1)


def all_finite(t: torch.Tensor) -> bool:
    """True when no element is NaN or +-Inf: ``torch.isfinite(t).all()`` in one min/max pass (min and max
    propagate NaN), several times faster on images."""
    if t.numel() == 0:
        return True
    if t.is_complex():
        t = torch.view_as_real(t)
    if not t.is_floating_point():
        return True
    lo, hi = torch.aminmax(t)
    return bool(torch.isfinite(lo) & torch.isfinite(hi))


def check_images(x: torch.Tensor) -> None:
    """Raise ValueError unless x is a finite (B, 3, H, W) float batch in [0, 1] of sane size."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"expected an image batch (B, 3, H, W), got shape {tuple(getattr(x, 'shape', ()))}")
    if x.shape[1] != 3:
        raise ValueError(f"expected RGB images with 3 channels, got {x.shape[1]} channels")
    h, w = x.shape[-2:]
    if h < STRIDE or w < STRIDE:
        raise ValueError(f"image {h}x{w} is too small (at least {STRIDE}x{STRIDE} pixels)")
    if h * w > MAX_PIXELS:
        raise ValueError(f"image {h}x{w} is too large (at most {MAX_PIXELS} pixels)")
    if not all_finite(x):
        raise ValueError("image contains NaN or Inf values")


def pad_to_stride(x: torch.Tensor) -> torch.Tensor:
    """Replicate-pad H and W up to a multiple of the encoder stride (4 pixels)."""
    h, w = x.shape[-2:]
    ph, pw = (-h) % STRIDE, (-w) % STRIDE
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x


def latent_shape(height: int, width: int, config: DeepJSCCConfig) -> tuple[int, int, int]:
    """Real latent shape (C, H/4, W/4) for an image of height x width pixels (after padding)."""
    return (config.latent_channels, -(-height // STRIDE), -(-width // STRIDE))


def num_symbols(height: int, width: int, config: DeepJSCCConfig) -> int:
    """k, the number of complex channel symbols for one image."""
    c, h, w = latent_shape(height, width, config)
    return c // 2 * h * w


def normalize_power(z: torch.Tensor) -> torch.Tensor:
    """Scale each item of a real latent batch so that its complex symbols have mean |z|^2 = 1."""
    # mean |z|^2 over k complex symbols = 2 * mean of the squared real components
    p = 2.0 * z.pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return z / p.sqrt().view(-1, *([1] * (z.dim() - 1)))


def to_complex(z: torch.Tensor) -> torch.Tensor:
    """Real latent (B, C, h, w) -> complex symbols (B, k), k = C/2*h*w; channel i pairs with i+C/2."""
    c = z.shape[1] // 2
    return torch.complex(z[:, :c].flatten(1).float(), z[:, c:].flatten(1).float())


def from_complex(s: torch.Tensor, shape: tuple[int, int, int]) -> torch.Tensor:
    """Complex symbols (B, k) -> real latent (B, C, h, w); inverse of :func:`to_complex`."""
    c, h, w = shape
    if s.dim() != 2 or s.shape[1] != c // 2 * h * w:
        raise ValueError(
            f"expected {c // 2 * h * w} complex symbols per image for latent {c}x{h}x{w}, got {tuple(s.shape)}"
        )
    if not all_finite(s):
        raise ValueError("channel symbols contain NaN or Inf values")
    b = s.shape[0]
    return torch.cat([s.real.reshape(b, c // 2, h, w), s.imag.reshape(b, c // 2, h, w)], 1)


class Encoder(nn.Module):
    """Image (B, 3, H, W) in [0, 1] -> power-normalised real latent (B, C, H/4, W/4)."""

    def __init__(self, config: DeepJSCCConfig):
        super().__init__()
        w1, w = config.width1, config.width
        self.net = nn.Sequential(
            _conv(3, w1, 2), nn.PReLU(w1),
            _conv(w1, w, 2), nn.PReLU(w),
            _conv(w, w), nn.PReLU(w),
            _conv(w, w), nn.PReLU(w),
            _conv(w, config.latent_channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = pad_to_stride(x) * 2.0 - 1.0
        # under CPU bfloat16 autocast (gr_stegsem.precision) the first layer, which sees the pixels, and the
        # power normalisation stay float32 (bfloat16 would round the pixels: +0.03 dB error at 20 dB SNR)
        with torch.autocast("cpu", enabled=False):
            x = self.net[1](self.net[0](x))
        for layer in list(self.net)[2:]:  # (a list: slicing the Sequential would build a module per call)
            x = layer(x)
        return normalize_power(x.float())


class Decoder(nn.Module):
    """Noisy real latent (B, C, h, w) -> image (B, 3, 4h, 4w) in [0, 1]."""

    def __init__(self, config: DeepJSCCConfig):
        super().__init__()
        w1, w = config.width1, config.width
        self.net = nn.Sequential(
            _deconv(config.latent_channels, w), nn.PReLU(w),
            _deconv(w, w), nn.PReLU(w),
            _deconv(w, w), nn.PReLU(w),
            _deconv(w, w1, 2), nn.PReLU(w1),
            _deconv(w1, 3, 2), nn.Sigmoid(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # under CPU bfloat16 autocast the last layer, which makes the pixels, stays float32 (gr_stegsem.precision);
        # in inference there it runs as the convolution of its output phases (same function, 1.4x faster)
        layers = list(self.net)
        fast = torch.is_autocast_enabled("cpu") and not torch.is_grad_enabled() and z.device.type == "cpu"
        for layer in layers[:-3]:
            z = layer(z)
        z = z.float()
        with torch.autocast("cpu", enabled=False):
            z = layers[-3](z)
            z = self._last_phases()(z) if fast else layers[-2](z)
            return layers[-1](z)

    def _last_phases(self) -> nn.Module:
        """The last (strided, transposed) layer as a :class:`Polyphase` copy, rebuilt when its weights change."""
        last = self.net[-2]
        key = (last.weight.data_ptr(), last.weight._version, last.bias.data_ptr(), last.bias._version)
        cached = self.__dict__.get("_phases")  # not a submodule: no state-dict entry, not moved by .to()
        if cached is None or cached[0] != key:
            cached = self.__dict__["_phases"] = (key, Polyphase(last))
        return cached[1]


class DeepJSCC(nn.Module):
    """Encoder + decoder pair; the channel sits between them (see :mod:`gr_stegsem.channel`)."""

    def __init__(self, config: DeepJSCCConfig | None = None):
        super().__init__()
        self.config = config or DeepJSCCConfig()
        self.encoder = Encoder(self.config)
        self.decoder = Decoder(self.config)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] (B, 3, H, W) -> real latent (B, C, ceil(H/4), ceil(W/4)), mean |z|^2 = 1."""
        check_images(x)
        return self.encoder(x)

    def decode(self, z: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        """Real latent -> images, cropped back to ``size`` = (H, W) when given."""
        if z.dim() != 4 or z.shape[1] != self.config.latent_channels:
            raise ValueError(
                f"latent with {self.config.latent_channels} channels expected for bcr {self.config.bcr}, "
                f"got shape {tuple(z.shape)}"
            )
        x = self.decoder(z)
        if size is not None:
            x = x[..., : size[0], : size[1]]
        return x
