"""Numeric precision of inference (encoder, INN, decoder): the one place where it is chosen.

``fp32`` (the default) runs everything in float32. ``bf16`` runs the models' convolutions in bfloat16
(oneDNN; eager layers under ``torch.autocast('cpu', torch.bfloat16)``, the fused INN with bfloat16
packed weights) while the power normalisation, the INN's coupling arithmetic and every result stay
float32. ``auto`` picks bf16 only where it is native (AVX512-BF16 or AMX) *and* a short probe, timed
once per process, finds bfloat16 convolutions faster than float32 ones on this CPU; else fp32.
A bf16 request on a CPU without native bfloat16 falls back to fp32 (``Precision.reason`` says why).

Accuracy of bf16 (tests/test_precision.py, tools/benchmark_precision.py): see README, "Reduced
precision and frames per call".
"""
from __future__ import annotations

import contextlib
import os
import statistics
import threading
import time
from dataclasses import dataclass

import torch

PRECISIONS = ("fp32", "bf16", "auto")
ENV = "STEGSEM_PRECISION"  # default precision when none is given (fp32 unless set)

_PROBE: bool | None = None
_PROBE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Precision:
    """A resolved precision: ``requested`` (fp32|bf16|auto), ``used`` (fp32|bf16) and why."""

    requested: str
    used: str
    reason: str

    @property
    def dtype(self) -> torch.dtype:
        return torch.bfloat16 if self.used == "bf16" else torch.float32


def bf16_native() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16 or AMX-BF16) and oneDNN can use it."""
    if not (torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled):
        return False
    cpu = getattr(torch, "cpu", None)
    try:
        native = bool(cpu._is_avx512_bf16_supported() or cpu._is_amx_tile_supported())
    except AttributeError:  # an older torch: oneDNN's own check (true also where bf16 is emulated)
        native = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return native


def _probe_ms(conv: torch.nn.Conv2d, x: torch.Tensor, bf16: bool, reps: int) -> float:
    with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        conv(x)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            conv(x)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def bf16_pays(reps: int = 7) -> bool:
    """Once per process: is a bfloat16 5x5 convolution of DeepJSCC's inner shape (32 -> 32 channels on
    64x64, batch 1) at least 10 % faster than the float32 one here? (~20 ms; interleaved medians)."""
    global _PROBE
    with _PROBE_LOCK:
        if _PROBE is None:
            torch.manual_seed(0)
            conv = torch.nn.Conv2d(32, 32, 5, padding=2).eval().to(memory_format=torch.channels_last)
            x = torch.rand(1, 32, 64, 64).contiguous(memory_format=torch.channels_last)
            with torch.inference_mode():
                t32 = _probe_ms(conv, x, False, reps)
                t16 = _probe_ms(conv, x, True, reps)
            _PROBE = t16 < 0.9 * t32
        return _PROBE


def resolve(name: str | None = None, device: str | torch.device = "cpu") -> Precision:
    """'fp32' | 'bf16' | 'auto' (None: $STEGSEM_PRECISION, else 'fp32') -> the precision to run.

    ValueError for any other name. bf16 is used on CPUs only; elsewhere, and on CPUs without native
    bfloat16, a 'bf16' request falls back to fp32."""
    req = str(name if name is not None else os.environ.get(ENV, "fp32")).strip().lower() or "fp32"
    if req not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    if req == "fp32":
        return Precision(req, "fp32", "requested")
    if torch.device(device).type != "cpu":
        return Precision(req, "fp32", f"bf16 inference is implemented for CPUs only (device {device})")
    if not bf16_native():
        return Precision(req, "fp32", "this CPU has no native bfloat16 (AVX512-BF16 or AMX): fp32 fallback")
    if req == "bf16":
        return Precision(req, "bf16", "requested; native bfloat16")
    if bf16_pays():
        return Precision(req, "bf16", "native bfloat16, and its convolutions are faster here")
    return Precision(req, "fp32", "native bfloat16, but its convolutions are not faster here (probe)")


def autocast(p: Precision | str):
    """The context the models' eager layers run in: bfloat16 autocast for bf16, nothing for fp32."""
    used = p.used if isinstance(p, Precision) else p
    if used == "bf16":
        return torch.autocast("cpu", torch.bfloat16)
    return contextlib.nullcontext()
