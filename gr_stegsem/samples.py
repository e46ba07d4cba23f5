"""Default demo images: real photographs bundled with scikit-image (no download needed)."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .images import array_to_tensor


def _square(a: np.ndarray, size: int | tuple[int, int]) -> torch.Tensor:
    """Centre square crop of ``a`` resized (bicubic) to size x size, or to (H, W) when a pair."""
    h, w = a.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    out_h, out_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    im = Image.fromarray(a[y:y + s, x:x + s]).resize((out_w, out_h), Image.BICUBIC)
    return array_to_tensor(np.asarray(im))


def default_private(size: int = 256) -> torch.Tensor:
    """The private image: skimage's 'astronaut' portrait (Eileen Collins), (3, size, size)."""
    from skimage import data

    return _square(data.astronaut(), size)


def default_host(size: int = 256) -> torch.Tensor:
    """The host image: skimage's 'chelsea' cat photograph, (3, size, size)."""
    from skimage import data

    return _square(data.chelsea(), size)


def default_image(role: str, size: int | tuple[int, int] = 256) -> torch.Tensor:
    """The default image of ``role`` ('host' or 'private') at size x size or (H, W) pixels."""
    from skimage import data

    if role == "host":
        return _square(data.chelsea(), size)
    if role == "private":
        return _square(data.astronaut(), size)
    raise ValueError(f"no default image for role {role!r}; use 'host' or 'private'")
