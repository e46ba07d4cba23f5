"""INN signal steganography (Tang, Liu, Yang, He, Niyato, GLOBECOM 2024, Section III-B).

The private latent z_p is embedded into the host latent z_h by I affine coupling blocks in
the style of HiNet (Jing et al., ICCV 2021) / Lu et al. (CVPR 2021, the paper's [16]):

  forward  (eq. 11): z_h' = z_h + Phi(z_p);  z_p' = z_p * exp(s(z_h')) + eta(z_h')
  backward (eq. 12): z_p  = (z_p' - eta(z_h')) * exp(-s(z_h'));  z_h = z_h' - Phi(z_p)

with s = alpha * tanh(rho / alpha), a soft clamp of the exponent (alpha = ``clamp``).
After I blocks z_c = z_h^(I) is the container and l = z_p^(I) the lost information.
Latents are real tensors (B, C, h, w) as produced by :class:`~gr_stegsem.models.deepjscc.Encoder`.
"""
from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Optional, Union

import torch
from torch import nn

LOST_MODES = ("zeros", "gaussian")


@dataclass(frozen=True)
class INNConfig:
    channels: int = 8  # real latent channels C (equals the DeepJSCC latent)
    blocks: int = 8  # I
    hidden: int = 32  # width of Phi, rho, eta
    clamp: float = 2.0  # soft clamp alpha of the exponent
    lost: str = "zeros"  # Bob's estimate l_hat: "zeros" or "gaussian"

    def to_dict(self) -> dict:
        return asdict(self)


def _subnet(c: int, hidden: int) -> nn.Sequential:
    """Phi, rho or eta: 3x3 conv -> 1x1 conv -> 3x3 conv, LeakyReLU between (lean for CPU use)."""
    net = nn.Sequential(
        nn.Conv2d(c, hidden, 3, padding=1), nn.LeakyReLU(0.2),
        nn.Conv2d(hidden, hidden, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(hidden, c, 3, padding=1),
    )
    nn.init.zeros_(net[-1].weight)  # each block starts as the identity
    nn.init.zeros_(net[-1].bias)
    return net


class InvertibleBlock(nn.Module):
    """One affine coupling block, eq. (11) forward and eq. (12) backward."""

    def __init__(self, channels: int, hidden: int, clamp: float):
        super().__init__()
        self.phi = _subnet(channels, hidden)
        self.rho = _subnet(channels, hidden)
        self.eta = _subnet(channels, hidden)
        self.clamp = clamp

    def _scale(self, zh: torch.Tensor) -> torch.Tensor:
        return self.clamp * torch.tanh(self.rho(zh) / self.clamp)

    def forward(self, zh: torch.Tensor, zp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zh = zh + self.phi(zp)
        zp = zp * torch.exp(self._scale(zh)) + self.eta(zh)
        return zh, zp

    def inverse(self, zh: torch.Tensor, zp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zp = (zp - self.eta(zh)) * torch.exp(-self._scale(zh))
        zh = zh - self.phi(zp)
        return zh, zp


class StegoINN(nn.Module):
    """I invertible blocks: ``embed`` (Alice) and ``extract`` (Bob)."""

    def __init__(self, config: INNConfig | None = None):
        super().__init__()
        self.config = config or INNConfig()
        c = self.config
        if c.lost not in LOST_MODES:
            raise ValueError(f"unknown l_hat mode {c.lost!r}; choose one of {', '.join(LOST_MODES)}")
        self.blocks = nn.ModuleList(InvertibleBlock(c.channels, c.hidden, c.clamp) for _ in range(c.blocks))

    def _check(self, *zs: torch.Tensor) -> None:
        for z in zs:
            if z.dim() != 4 or z.shape[1] != self.config.channels:
                raise ValueError(
                    f"INN expects latents with {self.config.channels} channels, got shape {tuple(z.shape)}"
                )
        if len(zs) == 2 and zs[0].shape != zs[1].shape:
            raise ValueError(f"host and private latents differ in shape: {tuple(zs[0].shape)} vs {tuple(zs[1].shape)}")

    def embed(self, zh: torch.Tensor, zp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_h, z_p) -> (z_c, l): container and lost information (not power-normalised)."""
        self._check(zh, zp)
        for block in self.blocks:
            zh, zp = block(zh, zp)
        return zh, zp

    def extract(self, zc: torch.Tensor, lost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(z_c_hat, l_hat) -> (z_h_hat, z_p_hat) by the backward pass, eq. (12)."""
        self._check(zc, lost)
        for block in reversed(self.blocks):
            zc, lost = block.inverse(zc, lost)
        return zc, lost

    def lost_estimate(self, like: torch.Tensor, mode: str | None = None,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Bob's l_hat: zeros, or N(0, 1/2) per real component (unit-power complex Gaussian)."""
        mode = mode or self.config.lost
        if mode == "zeros":
            return torch.zeros_like(like)
        if mode == "gaussian":
            # drawn on the CPU (``generator`` is a CPU generator) and moved: the same l_hat on every device
            return (torch.randn(like.shape, generator=generator) * 0.5 ** 0.5).to(like.device)
        raise ValueError(f"unknown l_hat mode {mode!r}; choose one of {', '.join(LOST_MODES)}")


# --- fast inference ---------------------------------------------------------------------------
# The INN is 72 small convolutions on an 8-channel latent: on CPUs its time goes to PyTorch's per-call
# weight reorders, the separate LeakyReLU passes and Python dispatch. The fused path below computes the
# same functions with oneDNN convolutions whose weights are pre-packed once per input shape and whose
# LeakyReLU is a fused post-op, in a TorchScript function (no Python per operation, no GIL held
# between operations). Same operations in the same order: its outputs equal the eager ones
# (tests/test_fast_inference.py checks them to 1e-6).

_SLOPE = 0.2  # LeakyReLU slope of the sub-networks (_subnet)


def _fused_subnet(x: torch.Tensor, w: list[torch.Tensor], b: list[torch.Tensor], j: int) -> torch.Tensor:
    lr: list[Optional[Union[float, int, complex]]] = [0.2]  # = _SLOPE; TorchScript needs the literal here
    no: list[Optional[Union[float, int, complex]]] = []
    # weights packed in bfloat16 (precision bf16): the sub-network runs in bfloat16, its result is float32
    x = x.to(w[j].dtype)
    x = torch.ops.mkldnn._convolution_pointwise(x, w[j], b[j], [1, 1], [1, 1], [1, 1], 1, "leaky_relu", lr, "")
    x = torch.ops.mkldnn._convolution_pointwise(x, w[j + 1], b[j + 1], [0, 0], [1, 1], [1, 1], 1, "leaky_relu", lr,
                                                "")
    return torch.ops.mkldnn._convolution_pointwise(x, w[j + 2], b[j + 2], [1, 1], [1, 1], [1, 1], 1, "none", no,
                                                   "").to(torch.float32)


def _fused_embed(zh: torch.Tensor, zp: torch.Tensor, w: list[torch.Tensor], b: list[torch.Tensor],
                 clamp: float) -> tuple[torch.Tensor, torch.Tensor]:
    # weights per block: phi (3 convs), rho (3), eta (3); InvertibleBlock.forward
    for i in range(len(w) // 9):
        j = 9 * i
        zh = zh + _fused_subnet(zp, w, b, j)
        zp = zp * torch.exp(clamp * torch.tanh(_fused_subnet(zh, w, b, j + 3) / clamp)) + _fused_subnet(zh, w, b, j + 6)
    return zh, zp


def _fused_extract(zc: torch.Tensor, lost: torch.Tensor, w: list[torch.Tensor], b: list[torch.Tensor],
                   clamp: float) -> tuple[torch.Tensor, torch.Tensor]:
    # InvertibleBlock.inverse, blocks in reverse order
    n = len(w) // 9
    for k in range(n):
        j = 9 * (n - 1 - k)
        lost = (lost - _fused_subnet(zc, w, b, j + 6)) * torch.exp(-(clamp * torch.tanh(_fused_subnet(zc, w, b, j + 3)
                                                                                         / clamp)))
        zc = zc - _fused_subnet(lost, w, b, j)
    return zc, lost


_KERNELS: tuple | None = None
_KERNELS_LOCK = threading.Lock()


def _kernels():
    """(embed, extract) compiled by TorchScript once per process, or None where that fails."""
    global _KERNELS
    with _KERNELS_LOCK:
        if _KERNELS is None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # TorchScript's deprecation notice
                    _KERNELS = (torch.jit.script(_fused_embed), torch.jit.script(_fused_extract))
            except Exception:  # noqa: BLE001 - an older/newer torch without the op: eager path
                _KERNELS = ()
        return _KERNELS or None


def fast_inference_enabled() -> bool:
    """The fused path is used unless ``STEGSEM_FAST_INFERENCE=0`` or oneDNN is missing."""
    return (os.environ.get("STEGSEM_FAST_INFERENCE", "1") != "0" and torch.backends.mkldnn.is_available()
            and torch.backends.mkldnn.enabled and hasattr(torch.ops.mkldnn, "_convolution_pointwise"))


class FusedINN:
    """Inference-only ``embed`` / ``extract`` of a :class:`StegoINN` with fused oneDNN kernels.

    Weights are packed for each input shape the first time it is seen (a few shapes are kept) and
    repacked when the model's parameters change. Anything the fused path does not cover (no oneDNN,
    tensors that need gradients or are not float32 CPU tensors, a sub-network of another architecture,
    a kernel failure) runs the model's own eager code.

    ``dtype`` torch.bfloat16 (precision bf16, :mod:`gr_stegsem.precision`) packs the weights in bfloat16:
    each sub-network runs in bfloat16 while inputs, outputs and the coupling arithmetic stay float32;
    the eager fallback then runs under bfloat16 autocast.
    """

    MAX_SHAPES = 8

    def __init__(self, inn: StegoINN, dtype: torch.dtype = torch.float32):
        if dtype not in (torch.float32, torch.bfloat16):
            raise ValueError(f"FusedINN runs in float32 or bfloat16, not {dtype}")
        self.inn = inn
        self.dtype = dtype
        self._packed: OrderedDict[tuple, tuple[list[torch.Tensor], list[torch.Tensor]]] = OrderedDict()
        self._lock = threading.Lock()
        self._key = None  # parameter identities and versions the packed weights were made from
        self.supported = fast_inference_enabled() and self._architecture_ok()
        self.last_path = ""  # "fused" or "eager": which path the last call took (for tests)

    def _convs(self) -> list[nn.Conv2d]:
        return [net[i] for blk in self.inn.blocks for net in (blk.phi, blk.rho, blk.eta) for i in (0, 2, 4)]

    def _architecture_ok(self) -> bool:
        for blk in self.inn.blocks:
            if not isinstance(blk, InvertibleBlock) or float(blk.clamp) != float(self.inn.config.clamp):
                return False
            for net in (blk.phi, blk.rho, blk.eta):
                if len(net) != 5 or not all(isinstance(net[i], nn.LeakyReLU) and net[i].negative_slope == _SLOPE
                                            for i in (1, 3)):
                    return False
                for i, k in ((0, 3), (2, 1), (4, 3)):
                    c = net[i]
                    if (not isinstance(c, nn.Conv2d) or c.kernel_size != (k, k) or c.padding != (k // 2, k // 2)
                            or c.stride != (1, 1) or c.dilation != (1, 1) or c.groups != 1 or c.bias is None
                            or c.padding_mode != "zeros"):
                        return False
        return True

    def _usable(self, *zs: torch.Tensor) -> bool:
        if not self.supported or torch.is_grad_enabled():
            return False
        for z in zs:
            if z.dtype != torch.float32 or z.device.type != "cpu" or z.requires_grad or z.dim() != 4:
                return False
        p = self.inn.blocks[0].phi[0].weight
        return p.dtype == torch.float32 and p.device.type == "cpu"

    def _weights(self, shape: tuple) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        convs = self._convs()
        key = tuple((id(c.weight), c.weight._version, id(c.bias), c.bias._version) for c in convs)
        with self._lock:
            if key != self._key:
                self._packed.clear()
                self._key = key
            hit = self._packed.get(shape)
            if hit is not None:
                self._packed.move_to_end(shape)
                return hit
            n, _, h, w = shape
            ws, bs = [], []
            for c in convs:
                wt = c.weight.detach()
                ws.append(torch.ops.mkldnn._reorder_convolution_weight(
                    wt.to(self.dtype), list(c.padding), [1, 1], [1, 1], 1, [n, wt.shape[1], h, w]))
                bs.append(c.bias.detach().to(self.dtype))
            self._packed[shape] = (ws, bs)
            while len(self._packed) > self.MAX_SHAPES:
                self._packed.popitem(last=False)
            return ws, bs

    def _run(self, which: int, a: torch.Tensor, b: torch.Tensor, eager):
        if self._usable(a, b):
            kernels = _kernels()
            if kernels is not None:
                try:
                    ws, bs = self._weights(tuple(a.shape))
                    out = kernels[which](a, b, ws, bs, float(self.inn.config.clamp))
                    self.last_path = "fused"
                    return out
                except RuntimeError:
                    self.supported = False  # e.g. a oneDNN without the fused op: eager from now on
        self.last_path = "eager"
        with torch.autocast("cpu", torch.bfloat16, enabled=self.dtype == torch.bfloat16 and a.device.type == "cpu"):
            out = eager(a, b)
        return tuple(t.float() for t in out)

    def embed(self, zh: torch.Tensor, zp: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`StegoINN.embed`, fused."""
        self.inn._check(zh, zp)
        return self._run(0, zh, zp, self.inn.embed)

    def extract(self, zc: torch.Tensor, lost: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`StegoINN.extract`, fused."""
        self.inn._check(zc, lost)
        return self._run(1, zc, lost, self.inn.extract)
