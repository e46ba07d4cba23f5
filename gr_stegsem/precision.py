"""Numeric precision of inference (encoder, INN, decoder): the one place where it is chosen.

``fp32`` (the default) runs everything in float32. ``bf16`` runs the models' convolutions in bfloat16
(oneDNN; eager layers under ``torch.autocast('cpu', torch.bfloat16)``, the fused INN with bfloat16
packed weights) while the power normalisation, the INN's coupling arithmetic and every result stay
float32. ``auto`` picks bf16 only where it is native (AVX512-BF16 or AMX) *and* a short probe, timed
once per process, finds bfloat16 convolutions faster than float32 ones on this CPU; else fp32.
A bf16 request on a CPU without native bfloat16 falls back to fp32 (``Precision.reason`` says why).

``int8`` (explicit only; ``auto`` never picks it: it misses the accuracy bound, see README) is post-training
static quantization (:func:`int8_models`): the inner convolutions of the DeepJSCC encoder and decoder (the
decoder's transposed ones as convolutions; the strided one as a convolution of its output phases) and every
convolution of the INN's sub-networks run as quantized convolutions of torch's oneDNN (else x86 / fbgemm)
engine, weights int8 per output channel (symmetric; 7 bits without VNNI, :func:`int8_bits`), activations
uint8 per tensor with ranges calibrated once per model on a fixed input set (:func:`calibration_images`);
the layers that see or make pixels, the PReLU / LeakyReLU activations, the power normalisation, the INN's
coupling arithmetic and every result stay float32. ``$STEGSEM_INT8_FLOAT`` keeps layers float32 and
``$STEGSEM_INT8_OBSERVER`` picks how ranges are calibrated. A torch without a quantized engine, or a
non-CPU device, falls back to fp32 with the reason.

Accuracy and speed of bf16 and int8 (tests/test_precision.py, tools/benchmark_precision.py,
tools/precision_eval.py): see README, "Reduced precision and frames per call".
"""
from __future__ import annotations

import contextlib
import copy
import os
import statistics
import threading
import time
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from .models.polyphase import Polyphase as _Polyphase

PRECISIONS = ("fp32", "bf16", "int8", "auto")
ENV = "STEGSEM_PRECISION"  # default precision when none is given (fp32 unless set)

_PROBE: bool | None = None
_PROBE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Precision:
    """A resolved precision: ``requested`` (fp32|bf16|int8|auto), ``used`` (fp32|bf16|int8) and why.

    ``dtype`` is the floating type between the layers: bfloat16 for bf16, float32 otherwise (int8
    quantizes inside its layers and hands float32 on)."""

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
    """'fp32' | 'bf16' | 'int8' | 'auto' (None: $STEGSEM_PRECISION, else 'fp32') -> the precision to run.

    ValueError for any other name. bf16 and int8 are used on CPUs only; elsewhere, on CPUs without
    native bfloat16 (bf16) and with a torch without a quantized engine (int8), they fall back to fp32."""
    req = str(name if name is not None else os.environ.get(ENV, "fp32")).strip().lower() or "fp32"
    if req not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    if req == "fp32":
        return Precision(req, "fp32", "requested")
    if req == "int8":
        if torch.device(device).type != "cpu":
            return Precision(req, "fp32", f"int8 inference is implemented for CPUs only (device {device})")
        engine = int8_engine()
        if engine is None:
            return Precision(req, "fp32", "this torch has no working quantized engine (onednn, x86 or fbgemm): "
                                          "fp32 fallback")
        return Precision(req, "int8", f"requested; quantized engine {engine}")
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


# --- int8: post-training static quantization ------------------------------------------------------
INT8_ENGINES = ("onednn", "x86", "fbgemm")  # preference order: oneDNN was the fastest here (README)
CALIBRATION_SNRS = (0.0, 5.0, 10.0, 15.0, 20.0)  # dB: the channel noise of the decoder's / extract's inputs
CALIBRATION_SEED = 0
OBSERVERS = ("minmax", "histogram")
INT8_FLOAT_ENV = "STEGSEM_INT8_FLOAT"  # layers int8 leaves in float32, e.g. "encoder,inn" (int8_models)
INT8_OBSERVER_ENV = "STEGSEM_INT8_OBSERVER"  # activation ranges of int8: minmax (default) or histogram
_ENGINE: list = []  # [engine or None], probed once per process
_ENGINE_LOCK = threading.Lock()


@contextlib.contextmanager
def _quantized_engine(engine: str):
    old = torch.backends.quantized.engine
    torch.backends.quantized.engine = engine
    try:
        yield
    finally:
        torch.backends.quantized.engine = old


def int8_engine() -> str | None:
    """The quantized engine int8 runs on ('onednn', 'x86' or 'fbgemm'), or None where this torch has none
    that works: probed once per process with a tiny quantized convolution."""
    with _ENGINE_LOCK:
        if not _ENGINE:
            # torch 2.10+ marks quantized tensors deprecated (still implemented; the int8 path needs them)
            warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor, torch\.quantize_per_channel",
                                    category=UserWarning)
            found = None
            for engine in INT8_ENGINES:
                if engine not in torch.backends.quantized.supported_engines:
                    continue
                try:
                    conv = nn.Conv2d(2, 2, 3, padding=1)
                    q = _QConv(conv, (1 / 64, 128), (1 / 64, 128), engine)
                    with torch.inference_mode():
                        if torch.isfinite(q(torch.rand(1, 2, 4, 4))).all():
                            found = engine
                            break
                except (RuntimeError, AttributeError, ImportError, NotImplementedError):
                    continue
            _ENGINE.append(found)
        return _ENGINE[0]


def vnni() -> bool:
    """True when this CPU has VNNI (AVX512-VNNI or AVX-VNNI: u8 x s8 products summed in int32); without it
    x86 int8 kernels (vpmaddubsw) add pairs of products in saturating int16 (Linux: /proc/cpuinfo)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})
    except OSError:
        pass
    return False


def int8_bits() -> tuple[int, int]:
    """(weight bits, activation bits) of int8: (8, 8) with VNNI; else (7, 8), so that no pair of uint8 x int8
    products (at most 2 * 255 * 63 = 32130) saturates the int16 sums of vpmaddubsw (at full 8 bits they do)."""
    return (8, 8) if vnni() else (7, 8)


def _qparams(lo: float, hi: float) -> tuple[float, int]:
    """uint8 affine (scale, zero point) of a range, widened to contain 0."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = max((hi - lo) / 255.0, 1e-8)
    return scale, int(min(255, max(0, round(-lo / scale))))


def _as_conv(m: nn.Module) -> nn.Conv2d:
    """A Conv2d, or a stride-1 ConvTranspose2d as the same function in a Conv2d (flipped, transposed
    weights, padding k - 1 - p)."""
    if isinstance(m, nn.Conv2d):
        return m
    k, p = m.kernel_size, m.padding
    conv = nn.Conv2d(m.in_channels, m.out_channels, k, 1, (k[0] - 1 - p[0], k[1] - 1 - p[1]), bias=m.bias is not None)
    with torch.no_grad():
        conv.weight.copy_(m.weight.detach().transpose(0, 1).flip(-1, -2))
        if m.bias is not None:
            conv.bias.copy_(m.bias.detach())
    return conv


def _quantizable(m: nn.Module) -> bool:
    if isinstance(m, nn.Conv2d):
        return m.groups == 1 and m.padding_mode == "zeros"
    return isinstance(m, nn.ConvTranspose2d) and m.groups == 1 and m.dilation == (1, 1)


def _int8_layer(m: nn.Module, inq: tuple[float, int], outq: tuple[float, int], engine: str, weight_max: int):
    """The int8 replacement of a quantizable layer: :class:`_QConv`, in :class:`_Polyphase` when strided
    transposed."""
    if isinstance(m, nn.ConvTranspose2d) and m.stride != (1, 1):
        return _Polyphase(m, lambda conv: _QConv(conv, inq, outq, engine, weight_max))
    return _QConv(m, inq, outq, engine, weight_max)


class _QConv(nn.Module):
    """A convolution in int8: float32 in -> uint8 per tensor (the calibrated input range) -> quantized
    convolution with int8 weights per output channel (symmetric) -> float32 out.

    ``inq`` / ``outq``: (scale, zero point) of the input and the output. On the oneDNN engine the
    convolution writes float32 itself (dequantization fused, int32 accumulation: no rounding of the
    output, ``outq`` unused); on x86 / fbgemm it writes uint8 in the output range, dequantized after.
    The packed weights keep their engine whatever ``torch.backends.quantized.engine`` is at call time."""

    def __init__(self, conv: nn.Module, inq: tuple[float, int], outq: tuple[float, int], engine: str,
                 weight_max: int = 127):
        super().__init__()
        conv = _as_conv(conv)
        w = conv.weight.detach().float()
        ws = (w.abs().flatten(1).amax(1) / float(weight_max)).clamp_min(1e-12)
        qw = torch.quantize_per_channel(w, ws.double(), torch.zeros(w.shape[0], dtype=torch.long), 0, torch.qint8)
        self.in_scale, self.in_zero_point = float(inq[0]), int(inq[1])
        self.engine = engine
        self.stride, self.padding, self.dilation = list(conv.stride), list(conv.padding), list(conv.dilation)
        self.bias = None if conv.bias is None else conv.bias.detach().float().clone()
        if engine == "onednn":
            self.w_scale, self.w_zero_point = ws.float(), torch.zeros(w.shape[0], dtype=torch.long)
            self.packed = torch.ops.onednn.qconv_prepack(qw.int_repr(), self.w_scale, self.in_scale, self.in_zero_point,
                                                         self.stride, self.padding, self.dilation, 1, None)
        else:
            import torch.ao.nn.quantized as nnq

            with _quantized_engine(engine):
                self.q = nnq.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                                    conv.dilation, 1, conv.bias is not None)
                self.q.set_weight_bias(qw, self.bias)
            self.q.scale, self.q.zero_point = float(outq[0]), int(outq[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = torch.quantize_per_tensor(x.float(), self.in_scale, self.in_zero_point, torch.quint8)
        if self.engine != "onednn":
            return self.q(q).dequantize()
        # the uint8 codes of q without a copy (int_repr() copies, element by element)
        u = torch.empty(0, dtype=torch.uint8).set_(q.untyped_storage(), q.storage_offset(), q.size(), q.stride())
        return torch.ops.onednn.qconv2d_pointwise(u, self.in_scale, self.in_zero_point, self.packed, self.w_scale,
                                                  self.w_zero_point, self.bias, self.stride, self.padding,
                                                  self.dilation, 1, 1.0, 0, torch.float32, "none", [], "")


def calibration_images(size: int = 256) -> torch.Tensor:
    """The fixed calibration set (4, 3, size, size): the package's two demo images (skimage's
    'astronaut' portrait and 'chelsea' cat, :mod:`gr_stegsem.samples`), centre crops, and their mirror
    images. No data set is read."""
    from .samples import default_host, default_private

    x = torch.stack([default_private(size), default_host(size)])
    return torch.cat([x, x.flip(-1)])


class _Ranges:
    """Observers of the inputs and outputs of a model's quantizable convolutions during calibration."""

    def __init__(self, modules: dict[str, nn.Module], observer: str, reduce_range: bool = False):
        from torch.ao.quantization import observer as obs

        if observer not in OBSERVERS:
            raise ValueError(f"observer must be one of {', '.join(OBSERVERS)}, got {observer!r}")
        klass = obs.MinMaxObserver if observer == "minmax" else obs.HistogramObserver

        def make():
            return klass(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=reduce_range)

        self.obs = {name: (make(), make()) for name in modules}
        self.handles = [m.register_forward_hook(self._hook(name)) for name, m in modules.items()]

    def _hook(self, name):
        def hook(_m, args, out):
            self.obs[name][0](args[0].detach().float())
            self.obs[name][1](out.detach().float())
        return hook

    def close(self) -> dict[str, tuple[tuple[float, int], tuple[float, int]]]:
        for h in self.handles:
            h.remove()
        out = {}
        for name, (oi, oo) in self.obs.items():
            qs = []
            for o in (oi, oo):
                if o.min_val.numel() == 0 or not torch.isfinite(o.min_val):
                    raise RuntimeError(f"int8 calibration: layer {name} saw no input")
                scale, zp = o.calculate_qparams()
                qs.append((float(scale), int(zp)))
            out[name] = tuple(qs)
        return out


def _quantize_modules(model: nn.Module, names: list[str], observer: str, run, engine: str,
                      bits: tuple[int, int]) -> nn.Module:
    """A copy of ``model`` whose modules ``names`` are :class:`_QConv` with ranges observed while ``run``
    drives the float model."""
    mods = dict(model.named_modules())
    ranges = _Ranges({n: mods[n] for n in names}, observer, bits[1] < 8)
    try:
        with torch.inference_mode():
            run()
    finally:
        q = ranges.close()
    out = copy.deepcopy(model)
    for n in names:
        parent, _, leaf = n.rpartition(".")
        setattr(out.get_submodule(parent) if parent else out, leaf,
                _int8_layer(mods[n], *q[n], engine, 2 ** (bits[0] - 1) - 1))
    return out.eval().requires_grad_(False)


@dataclass
class Int8Models:
    """int8 copies of a system's models (:func:`int8_models`): ``jscc`` a DeepJSCC whose encoder and decoder
    hold quantized convolutions, ``inn`` a StegoINN with quantized sub-networks (None: no INN, or one that
    is not a StegoINN and stays float32), ``quantized`` the names of the quantized layers."""

    jscc: nn.Module
    inn: nn.Module | None
    engine: str
    observer: str
    bits: tuple[int, int]  # (weights, activations)
    quantized: tuple[str, ...]


def int8_models(jscc: nn.Module, inn: nn.Module | None = None, observer: str | None = None,
                images: torch.Tensor | None = None, keep_float: tuple[str, ...] | None = None,
                bits: tuple[int, int] | None = None) -> Int8Models:
    """Post-training static quantization of a DeepJSCC model and (optionally) its StegoINN for CPU inference.

    Quantized (int8 weights per output channel, uint8 activations per tensor): the encoder's convolutions
    after the first, the decoder's transposed convolutions before its last (as convolutions; the strided one as
    one of its output phases), and the three convolutions of every INN sub-network (phi, rho, eta).
    Activation ranges (``observer`` 'minmax': the extremes; 'histogram': torch's HistogramObserver, the
    L2-optimal clipping of the histogram; None: $STEGSEM_INT8_OBSERVER, else 'minmax') come from running
    the float32 models on :func:`calibration_images` (or ``images``): the encoder on the images; the
    decoder on their latents through AWGN at every :data:`CALIBRATION_SNRS`; the INN's embed on every
    (host, private) pair of their latents and its extract on the containers (unit power) through the same
    channels with Bob's l_hat (the model's lost mode, seeded) and without noise with the true lost
    information. The same quantized sub-network serves embed and extract, so the coupling stays invertible
    up to the sub-networks' rounding of their (then slightly different) inputs.

    ``keep_float``: names (prefixes such as 'encoder', 'decoder.net.0', 'inn') of layers to leave in
    float32 (None: $STEGSEM_INT8_FLOAT, comma-separated; default none); with every INN layer kept, the
    INN runs its float32 fused path. ``bits``: (weight, activation) bits, default :func:`int8_bits`."""
    from .models.deepjscc import normalize_power
    from .models.inn import StegoINN
    from .schemes.base import Scheme  # its channel: the AWGN the calibration latents pass

    engine = int8_engine()
    if engine is None:
        raise RuntimeError("this torch has no working quantized engine (onednn, x86 or fbgemm)")
    bits = bits or int8_bits()
    observer = observer or os.environ.get(INT8_OBSERVER_ENV, "").strip() or "minmax"
    if keep_float is None:
        keep_float = tuple(k.strip() for k in os.environ.get(INT8_FLOAT_ENV, "").split(",") if k.strip())
    x = calibration_images() if images is None else images
    x = x.contiguous(memory_format=torch.channels_last)
    enc, dec = jscc.encoder, jscc.decoder
    g = torch.Generator().manual_seed(CALIBRATION_SEED)
    with torch.inference_mode():
        z = enc(x)

    # the encoder: its first layer sees the pixels; every later convolution
    def wanted(part, names):
        return [n for n in names if not any(f"{part}.{n}".startswith(k) for k in keep_float)]

    enc_names = wanted("encoder", [f"net.{i}" for i, m in enumerate(enc.net) if i > 0 and _quantizable(m)])
    qenc = _quantize_modules(enc, enc_names, observer, lambda: enc(x), engine, bits)
    # the decoder: its last layer makes the pixels; the transposed convolutions before it
    last = max(i for i, m in enumerate(dec.net) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)))
    dec_names = wanted("decoder", [f"net.{i}" for i, m in enumerate(dec.net) if i < last and _quantizable(m)])
    noisy = torch.cat([Scheme.channel(z, snr, generator=g) for snr in CALIBRATION_SNRS])
    qdec = _quantize_modules(dec, dec_names, observer, lambda: dec(noisy), engine, bits)
    qjscc = copy.copy(jscc)  # shares config; its own encoder / decoder attributes
    qjscc._modules = dict(jscc._modules, encoder=qenc, decoder=qdec)
    names = [f"encoder.{n}" for n in enc_names] + [f"decoder.{n}" for n in dec_names]

    qinn = None
    if isinstance(inn, StegoINN):
        zh, zp = z, z.roll(1, 0)  # each image hosts the next one
        inn_names = wanted("inn", [name for name, m in inn.named_modules() if isinstance(m, nn.Conv2d)])

        def run():
            zc, lost = inn.embed(zh, zp)
            inn.extract(zc, lost)
            zc = normalize_power(zc)
            for snr in CALIBRATION_SNRS:
                y = Scheme.channel(zc, snr, generator=g)
                inn.extract(y, inn.lost_estimate(y, None, g))

        if inn_names:
            qinn = _quantize_modules(inn, inn_names, observer, run, engine, bits)
            names += [f"inn.{n}" for n in inn_names]
    return Int8Models(qjscc, qinn, engine, observer, bits, tuple(names))
