"""Default demo images: real photographs bundled with scikit-image (no download needed)."""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from .images import array_to_tensor


def _square(a: np.ndarray, size: int) -> torch.Tensor:
    h, w = a.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    im = Image.fromarray(a[y:y + s, x:x + s]).resize((size, size), Image.BICUBIC)
    return array_to_tensor(np.asarray(im))


def default_private(size: int = 256) -> torch.Tensor:
    """The private image: skimage's 'astronaut' portrait (Eileen Collins), (3, size, size)."""
    from skimage import data

    return _square(data.astronaut(), size)


def default_host(size: int = 256) -> torch.Tensor:
    """The host image: skimage's 'chelsea' cat photograph, (3, size, size)."""
    from skimage import data

    return _square(data.chelsea(), size)
