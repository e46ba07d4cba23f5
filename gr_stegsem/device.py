"""The device inference runs on (``cpu``, ``cuda``, ``cuda:N`` or ``auto``): the one place where it is resolved.

``cpu`` is the default everywhere. ``auto`` is the first CUDA device where torch sees one, else the CPU.
Models move to the device once (:meth:`gr_stegsem.schemes.base.Scheme.set_device`); a method marked
:func:`on_model_device` takes its tensor arguments there and hands its tensor results back on the
device of its first tensor argument, so callers that work on CPU tensors (the GNU Radio blocks, files)
keep CPU tensors, and callers that work on the device (``stegsem eval --device``) keep device tensors.
Random draws (channel noise, Bob's l_hat, the inversion's start image) come from the same seeded CPU
generators on every device and are moved, so a CUDA run sees the noise of a CPU run. On the CPU every
move is a no-op: the same tensors, the same numbers as without this module.
"""
from __future__ import annotations

import functools
import re

import torch

DEVICES = ("cpu", "cuda", "cuda:N", "auto")
CPU = torch.device("cpu")
_NAME = re.compile(r"cpu|auto|cuda(?::(\d+))?")


def resolve_device(name: str | torch.device | None = "cpu") -> torch.device:
    """'cpu' | 'cuda' | 'cuda:N' | 'auto' (None, '': 'cpu') -> the torch.device to run on ('cuda': the
    current CUDA device, with its index).

    ValueError, one line naming the device and why, for another name or a CUDA device this torch cannot
    use (no CUDA build, no GPU, no device N)."""
    if isinstance(name, torch.device):
        name = str(name)
    req = str(name if name is not None else "cpu").strip().lower() or "cpu"
    m = _NAME.fullmatch(req)
    if m is None:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if req == "cpu":
        return CPU
    available = torch.cuda.is_available()
    if req == "auto":
        if not available:
            return CPU
        req = "cuda"
    if not available:
        raise ValueError(f"device {req!r} requested but torch.cuda.is_available() is False "
                         f"(this torch: {torch.__version__}, CUDA build: {torch.version.cuda or 'none'})")
    n = torch.cuda.device_count()
    if m.group(1) is not None and int(m.group(1)) >= n:
        raise ValueError(f"device {req!r} requested but this machine has {n} CUDA device(s) (cuda:0..cuda:{n - 1})")
    # with its index, so that it equals the device of the tensors made there (cuda:0, not cuda)
    return torch.device("cuda", int(m.group(1)) if m.group(1) is not None else torch.cuda.current_device())


def to_device(obj, device: torch.device):
    """``obj`` with every tensor in it (itself, or in a tuple, list or dict) on ``device``; other values as they are."""
    if isinstance(obj, torch.Tensor):
        return obj.to(device)
    if isinstance(obj, tuple):
        return tuple(to_device(o, device) for o in obj)
    if isinstance(obj, list):
        return [to_device(o, device) for o in obj]
    if isinstance(obj, dict):
        return {k: to_device(v, device) for k, v in obj.items()}
    return obj


def on_model_device(method):
    """Decorator of a method of an object with a ``device`` (a scheme): tensor arguments go to
    ``self.device``, tensor results back to the device of the first tensor argument. Where that is
    already ``self.device`` (every CPU run) the method runs on its arguments as they are."""

    @functools.wraps(method)
    def run(self, *args, **kwargs):
        dev = getattr(self, "device", CPU)
        home = next((a.device for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)), dev)
        if home == dev:
            return method(self, *args, **kwargs)
        out = method(self, *to_device(args, dev), **to_device(kwargs, dev))
        return to_device(out, home)

    return run
