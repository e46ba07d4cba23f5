"""Model files: weights in safetensors (no code executed on load) with a JSON config beside.

``models/NAME.safetensors`` + ``models/NAME.json``; the JSON holds {"kind", "config", ...}.
Training state for resuming is written with torch.save and read with weights_only=True.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from fractions import Fraction
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .models.deepjscc import DeepJSCC, DeepJSCCConfig, all_finite
from .models.eve_nets import Detector, DetectorConfig, Inverter, InverterConfig
from .models.cnn_stego import CNNStego, CNNStegoConfig
from .models.lbvq import LBVQ, LBVQConfig
from .models.inn import LOST_MODES, INNConfig, StegoINN

KINDS = {"deepjscc": (DeepJSCC, DeepJSCCConfig), "stego-inn": (StegoINN, INNConfig),
         "eve-inverter": (Inverter, InverterConfig), "eve-detector": (Detector, DetectorConfig),
         "stego-cnn": (CNNStego, CNNStegoConfig), "lbvq": (LBVQ, LBVQConfig)}

MAX_WIDTH = 512  # channels of any layer: 512x512 5x5 convs are 26 MB each
MAX_CHANNELS = 96  # real latent channels: bandwidth ratio k/n <= 1
MAX_BLOCKS = 64
MAX_JSON_BYTES = 1 << 20
# bounds of each numeric config field, checked before anything is built (inclusive)
LIMITS = {
    "deepjscc": {"width1": (1, MAX_WIDTH), "width": (1, MAX_WIDTH)},
    "stego-inn": {"channels": (2, MAX_CHANNELS), "blocks": (1, MAX_BLOCKS), "hidden": (1, MAX_WIDTH),
                  "clamp": (1e-3, 16.0)},
    "eve-inverter": {"channels": (2, MAX_CHANNELS), "width": (3, MAX_WIDTH), "blocks": (0, MAX_BLOCKS)},
    "eve-detector": {"channels": (2, MAX_CHANNELS), "width": (1, MAX_WIDTH)},
    "stego-cnn": {"channels": (2, MAX_CHANNELS), "width": (1, MAX_WIDTH), "layers": (0, MAX_BLOCKS)},
    "lbvq": {"width1": (1, MAX_WIDTH), "width": (1, MAX_WIDTH), "codebook": (4, 256), "scale": (0.1, 10.0)},
}


class CheckpointError(ValueError):
    """A model file is missing, unsafe, corrupt, or does not fit the requested use."""


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    # appended, not with_suffix: a model name may hold a dot (eve-chosen-dp-0.9)
    return p.parent / f"{p.name}.safetensors", p.parent / f"{p.name}.json"


def sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def save_model(model: torch.nn.Module, path: str | os.PathLike, **info) -> Path:
    """Write weights (.safetensors) and {kind, config, **info} (.json); returns the weights path."""
    kind = next(k for k, (cls, _) in KINDS.items() if isinstance(model, cls))
    weights, meta = _paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(weights), metadata={"kind": kind})
    doc = {"kind": kind, "config": model.config.to_dict(), **info}
    meta.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    return weights


def read_info(path: str | os.PathLike) -> dict:
    """The JSON description beside a model file."""
    weights, meta = _paths(path)
    if not meta.is_file():
        raise CheckpointError(f"model description not found: {meta}")
    if meta.stat().st_size > MAX_JSON_BYTES:
        raise CheckpointError(f"{meta}: model description larger than {MAX_JSON_BYTES} bytes")
    try:
        doc = json.loads(meta.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{meta}: invalid JSON ({e})") from None
    except RecursionError:
        raise CheckpointError(f"{meta}: invalid JSON (nested too deeply)") from None
    if not isinstance(doc, dict):
        raise CheckpointError(f"{meta}: expected a JSON object, got a JSON {type(doc).__name__}")
    return doc


def _number(value, want: type, lo, hi, where: str):
    """``value`` as ``want`` (int or float) within [lo, hi]; CheckpointError otherwise."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if want is int:
        ok = ok and isinstance(value, int)
    if not ok or not math.isfinite(value) or not lo <= value <= hi:
        kind = "an integer" if want is int else "a number"
        raise CheckpointError(f"{where} must be {kind} in [{lo}, {hi}], got {value!r}")
    return want(value)


def _check_bcr(value, where: str) -> None:
    if not isinstance(value, str):
        raise CheckpointError(f"{where} must be a ratio such as \"1/12\", got {value!r}")
    try:
        ratio = Fraction(value)
    except (ValueError, ZeroDivisionError):
        raise CheckpointError(f"{where} must be a ratio such as \"1/12\", got {value!r}") from None
    if not 0 < ratio <= 1:
        raise CheckpointError(f"{where} must be in (0, 1], got {value!r}")
    try:
        DeepJSCCConfig(bcr=value).latent_channels
    except ValueError as e:
        raise CheckpointError(f"{where}: {e}") from None


def check_config(kind: str, config, where: str):
    """The config dataclass of ``kind`` from a JSON ``config`` object, every field type- and
    range-checked first (so that no file can make the constructor allocate or loop without bound)."""
    _, cfg_cls = KINDS[kind]
    if not isinstance(config, dict):
        raise CheckpointError(f"{where}: 'config' must be a JSON object, got {type(config).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cfg_cls)}
    unknown = sorted(str(k) for k in config if k not in fields)
    if unknown:
        raise CheckpointError(f"{where}: unknown {kind} config field(s) {', '.join(unknown)}")
    values = {}
    for name, value in config.items():
        at = f"{where}: config.{name}"
        if name in LIMITS[kind]:
            values[name] = _number(value, type(fields[name].default), *LIMITS[kind][name], at)
        elif name == "bcr":
            _check_bcr(value, at)
            values[name] = value
        elif name == "lost":
            if value not in LOST_MODES:
                raise CheckpointError(f"{at} must be one of {', '.join(LOST_MODES)}, got {value!r}")
            values[name] = value
        else:  # a field without a bound here: refuse rather than build it unchecked
            raise CheckpointError(f"{at}: no bound is known for this field")
    return cfg_cls(**values)


def _expected_shapes(cls, config) -> dict[str, tuple[int, ...]]:
    """Names and shapes of the model's state dict, from a build on the 'meta' device (no memory)."""
    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in cls(config).state_dict().items()}


def _check_header(weights: Path, kind: str, expected: dict[str, tuple[int, ...]]) -> None:
    """The safetensors header (read without loading any tensor) is of ``kind`` where it says and
    names exactly the expected tensors, each float32 with the expected shape."""
    with safe_open(str(weights), framework="pt") as f:
        said = (f.metadata() or {}).get("kind", kind)
        if said != kind:
            raise CheckpointError(f"{weights}: the weights are of a {said} model, the JSON says {kind}")
        names = set(f.keys())
        missing, extra = sorted(set(expected) - names), sorted(names - set(expected))
        if missing or extra:
            what = [f"{label} {', '.join(ks[:3])}{' ...' if len(ks) > 3 else ''}"
                    for label, ks in (("missing", missing), ("unexpected", extra)) if ks]
            raise CheckpointError(f"{weights}: tensors do not fit the config ({'; '.join(what)})")
        for name in sorted(names):
            sl = f.get_slice(name)
            if sl.get_dtype() != "F32":
                raise CheckpointError(f"{weights}: tensor {name} is {sl.get_dtype()}, expected float32 (F32)")
            if tuple(sl.get_shape()) != expected[name]:
                raise CheckpointError(f"{weights}: tensor {name} has shape {tuple(sl.get_shape())}, "
                                      f"the config needs {expected[name]}")


def load_model(path: str | os.PathLike, kind: str | None = None) -> torch.nn.Module:
    """Load a model written by :func:`save_model` (safetensors only; pickles are refused)."""
    weights, meta = _paths(path)
    # a name may hold a dot (eve-chosen-dp-0.9): what is refused is a file that is not safetensors
    if Path(path).suffix not in ("", ".safetensors", ".json") and not weights.is_file():
        raise CheckpointError(f"{path}: only .safetensors model files are accepted (no pickles)")
    if not weights.is_file():
        raise CheckpointError(f"model file not found: {weights}")
    info = read_info(path)
    found = info.get("kind")
    if not isinstance(found, str) or found not in KINDS:
        raise CheckpointError(f"{meta}: unknown model kind {found!r}")
    if kind is not None and found != kind:
        raise CheckpointError(f"{weights} holds a {found} model, not a {kind} model")
    if "config" not in info:
        raise CheckpointError(f"{meta}: no 'config' (the model's architecture)")
    cls, _ = KINDS[found]
    config = check_config(found, info["config"], str(meta))
    try:
        _check_header(weights, found, _expected_shapes(cls, config))
        state = load_file(str(weights))
    except CheckpointError:
        raise
    except (SafetensorError, OSError, RuntimeError, ValueError) as e:
        msg = str(e).splitlines()[0] if str(e) else e.__class__.__name__
        raise CheckpointError(f"{weights}: cannot load ({msg})") from None
    bad = next((k for k, v in state.items() if not all_finite(v)), None)
    if bad is not None:
        raise CheckpointError(f"{weights}: tensor {bad} contains NaN or Inf values")
    model = cls(config)
    model.load_state_dict(state)
    model.eval()
    return model


def save_state(state: dict, path: str | os.PathLike) -> None:
    """Training state (weights, optimiser, RNG, step) for resuming; written atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_state(path: str | os.PathLike) -> dict:
    """Read a training state with ``weights_only=True``: a file that would run code is refused."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises UnpicklingError / RuntimeError with long messages
        first = str(e).strip().splitlines()[0] if str(e).strip() else e.__class__.__name__
        raise CheckpointError(f"{path}: refused or unreadable training state ({first})") from None
