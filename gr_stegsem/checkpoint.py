"""Model files: weights in safetensors (no code executed on load) with a JSON config beside.

``models/NAME.safetensors`` + ``models/NAME.json``; the JSON holds {"kind", "config", ...}.
Training state for resuming is written with torch.save and read with weights_only=True.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .models.deepjscc import DeepJSCC, DeepJSCCConfig
from .models.eve_nets import Detector, DetectorConfig, Inverter, InverterConfig
from .models.inn import INNConfig, StegoINN

KINDS = {"deepjscc": (DeepJSCC, DeepJSCCConfig), "stego-inn": (StegoINN, INNConfig),
         "eve-inverter": (Inverter, InverterConfig), "eve-detector": (Detector, DetectorConfig)}


class CheckpointError(ValueError):
    """A model file is missing, unsafe, corrupt, or does not fit the requested use."""


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_suffix(".safetensors"), p.with_suffix(".json")


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
    try:
        return json.loads(meta.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{meta}: invalid JSON ({e})") from None


def load_model(path: str | os.PathLike, kind: str | None = None) -> torch.nn.Module:
    """Load a model written by :func:`save_model` (safetensors only; pickles are refused)."""
    weights, meta = _paths(path)
    if Path(path).suffix not in ("", ".safetensors", ".json"):
        raise CheckpointError(f"{path}: only .safetensors model files are accepted (no pickles)")
    if not weights.is_file():
        raise CheckpointError(f"model file not found: {weights}")
    info = read_info(path)
    if info.get("kind") not in KINDS:
        raise CheckpointError(f"{meta}: unknown model kind {info.get('kind')!r}")
    if kind is not None and info["kind"] != kind:
        raise CheckpointError(f"{weights} holds a {info['kind']} model, not a {kind} model")
    cls, cfg_cls = KINDS[info["kind"]]
    try:
        model = cls(cfg_cls(**info["config"]))
        state = load_file(str(weights))
        model.load_state_dict(state)
    except (SafetensorError, RuntimeError, TypeError, ValueError) as e:
        msg = str(e).splitlines()[0]
        raise CheckpointError(f"{weights}: cannot load ({msg})") from None
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
