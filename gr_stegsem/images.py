"""Image files <-> tensors, image folders, and the random-crop training dataset."""
from __future__ import annotations

import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

EXTENSIONS = (".jpg", ".jpeg", ".png")
MAX_SIDE = 4096
MAX_FILE_PIXELS = 8192 * 8192  # an image file may claim at most this many pixels before it is decoded


def list_images(folder: str | os.PathLike) -> list[Path]:
    """All JPEG/PNG files below ``folder`` (recursive), sorted; error if there are none."""
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
    if not files:
        raise FileNotFoundError(f"no JPEG/PNG images below {root}")
    return files


def list_images_in(folders) -> list[Path]:
    """:func:`list_images` of one folder or of each of several, in the given order."""
    folders = [folders] if isinstance(folders, (str, os.PathLike)) else list(folders)
    return [f for d in folders for f in list_images(d)]


def array_to_tensor(a: np.ndarray) -> torch.Tensor:
    """u8 RGB array (H, W, 3) -> float tensor (3, H, W) in [0, 1]; rejects other layouts."""
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got array of shape {a.shape}")
    if a.shape[0] > MAX_SIDE or a.shape[1] > MAX_SIDE:
        raise ValueError(f"image {a.shape[0]}x{a.shape[1]} exceeds {MAX_SIDE} pixels per side")
    return torch.from_numpy(np.array(a, dtype=np.uint8, copy=True)).permute(2, 0, 1).float().div_(255.0)


def tensor_to_array(x: torch.Tensor) -> np.ndarray:
    """Float tensor (3, H, W) in [0, 1] -> u8 RGB array (H, W, 3)."""
    return (x.detach().clamp(0, 1).mul(255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy())


@contextmanager
def open_image(path: str | os.PathLike):
    """``Image.open`` that refuses, with a ValueError naming the file, what is not a readable image or
    claims more than MAX_FILE_PIXELS pixels in its header (checked before anything is decoded; PIL's
    own decompression-bomb warning and error become this error too)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(f"{path}: image too large (over {MAX_FILE_PIXELS} pixels; a decompression bomb?)") from None
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"{path}: not a readable image file ({e.__class__.__name__})") from None
    with im:
        w, h = im.size
        if w < 1 or h < 1 or w * h > MAX_FILE_PIXELS:
            raise ValueError(f"{path}: image {h}x{w} refused (at most {MAX_FILE_PIXELS} pixels; a decompression "
                             "bomb?)")
        try:
            yield im
        except (UnidentifiedImageError, OSError) as e:  # truncated or corrupt data, found while decoding
            raise ValueError(f"{path}: not a readable image file ({e.__class__.__name__})") from None


def load_image(path: str | os.PathLike, size: tuple[int, int] | None = None, strict_rgb: bool = True) -> torch.Tensor:
    """Read an RGB image file as (3, H, W) in [0, 1], optionally resized (bicubic) to size = (H, W).

    With ``strict_rgb`` a grayscale or palette file is an error rather than silently converted.
    """
    with open_image(path) as im:
        if strict_rgb and im.mode not in ("RGB", "RGBA"):
            raise ValueError(f"{path}: expected an RGB image, got mode {im.mode!r}")
        im = im.convert("RGB")
        if size is not None and im.size != (size[1], size[0]):
            im = im.resize((size[1], size[0]), Image.BICUBIC)
        a = np.asarray(im)
    return array_to_tensor(a)


def save_image(x: torch.Tensor, path: str | os.PathLike) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(tensor_to_array(x)).save(path)


def read_for_crops(path, crop: int) -> np.ndarray:
    """An image file as a u8 RGB array (H, W, 3), upscaled (bicubic) so its shorter side is >= crop."""
    with open_image(path) as im:
        im = im.convert("RGB")
        w, h = im.size
        if min(w, h) < crop:
            s = crop / min(w, h)
            im = im.resize((max(crop, round(w * s)), max(crop, round(h * s))), Image.BICUBIC)
        return np.array(im, dtype=np.uint8)


class RandomCrops(torch.utils.data.Dataset):
    """Random ``crop``x``crop`` patches (with horizontal flips) from every image below the folders.

    Images smaller than the crop are upscaled first. Deterministic given the DataLoader seed.
    """

    def __init__(self, folders, crop: int):
        self.files = list_images_in(folders)
        self.crop = int(crop)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        a = read_for_crops(self.files[i], self.crop)
        h, w = a.shape[:2]
        y = int(torch.randint(0, h - self.crop + 1, ()).item())
        x = int(torch.randint(0, w - self.crop + 1, ()).item())
        t = array_to_tensor(a[y:y + self.crop, x:x + self.crop])
        if torch.rand(()) < 0.5:
            t = t.flip(-1)
        return t


class PreloadedCrops:
    """Every image below the folders decoded once into memory (u8) on ``device``; endless batches of
    random ``crop``x``crop`` patches with horizontal flips are then cut there.

    The fast path for GPU training, where decoding JPEGs on the host would starve the device. The
    same augmentation as :class:`RandomCrops` (images smaller than the crop are upscaled first).
    """

    def __init__(self, folders, crop: int, device: torch.device | str = "cpu", threads: int = 8):
        from concurrent.futures import ThreadPoolExecutor

        self.crop, self.device = int(crop), torch.device(device)
        files = list_images_in(folders)
        with ThreadPoolExecutor(max(1, threads)) as pool:
            arrays = list(pool.map(lambda f: read_for_crops(f, self.crop), files))
        self.images = [torch.from_numpy(a).permute(2, 0, 1).contiguous().to(self.device) for a in arrays]

    def __len__(self) -> int:
        return len(self.images)

    def batches(self, batch: int, seed: int):
        """Endless float batches (B, 3, crop, crop) in [0, 1] on the device; ``seed`` fixes them."""
        if len(self) < batch:
            raise ValueError(f"{len(self)} images are fewer than one batch of {batch}")
        g = torch.Generator().manual_seed(seed)
        c = self.crop
        while True:
            idx = torch.randint(0, len(self), (batch,), generator=g)
            out = []
            for i in idx.tolist():
                img = self.images[i]
                h, w = img.shape[1:]
                y = int(torch.randint(0, h - c + 1, (), generator=g))
                x = int(torch.randint(0, w - c + 1, (), generator=g))
                out.append(img[:, y:y + c, x:x + c])
            x = torch.stack(out).float().div_(255.0)
            flip = (torch.rand(batch, generator=g) < 0.5).to(self.device).view(-1, 1, 1, 1)
            yield torch.where(flip, x.flip(-1), x)
