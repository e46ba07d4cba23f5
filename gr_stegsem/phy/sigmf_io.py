"""IQ recordings in SigMF (https://sigmf.org): ``NAME.sigmf-data`` (cf32_le samples) + ``NAME.sigmf-meta``.

No GNU Radio here: :func:`write` and :func:`read` are used by the tests, by offline replay
(:func:`gr_stegsem.phy.replay.decode_samples`) and by the GNU Radio recorder/player blocks
(:class:`gr_stegsem.phy.blocks.sigmf_sink`, :class:`~gr_stegsem.phy.blocks.sigmf_source`).
"""
from __future__ import annotations

import datetime as _dt
import math
import numbers
from pathlib import Path

import numpy as np

DATATYPE = "cf32_le"


def base_path(path) -> Path:
    """'rec', 'rec.sigmf-meta' or 'rec.sigmf-data' -> Path('rec')."""
    p = Path(path)
    if p.name.endswith((".sigmf-meta", ".sigmf-data")):
        p = p.with_name(p.name.rsplit(".", 1)[0])
    return p


def data_path(path) -> Path:
    b = base_path(path)
    return b.with_name(b.name + ".sigmf-data")


def meta_path(path) -> Path:
    b = base_path(path)
    return b.with_name(b.name + ".sigmf-meta")


def check_sample_rate(value, where: str = "") -> float:
    """``value`` as a sample rate in S/s: a finite number > 0 (not a bool, not text); ValueError in one
    line otherwise (``where``: the file named in the message)."""
    prefix = f"{where}: " if where else ""
    if value is None:
        raise ValueError(f"{prefix}core:sample_rate is missing (a SigMF recording must give its sample rate in S/s)")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{prefix}core:sample_rate must be a number of S/s, got {value!r:.40}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{prefix}core:sample_rate must be a finite number > 0 S/s, got {value!r}")
    return float(value)


def write_meta(path, sample_rate: float, center_freq: float | None = None, description: str = "",
               annotations=()) -> Path:
    """Write ``path.sigmf-meta`` for cf32_le samples (the data file is written separately, e.g. by a
    GNU Radio file sink). ``annotations``: (first sample, sample count, label) triples."""
    from sigmf import SigMFFile

    sample_rate = check_sample_rate(sample_rate)
    meta = SigMFFile(data_file=None, skip_checksum=True, global_info={
        "core:datatype": DATATYPE, "core:sample_rate": float(sample_rate),
        "core:description": description or "gr-stegsem IQ recording", "core:recorder": "gr-stegsem"})
    capture = {"core:datetime": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
    if center_freq is not None:
        capture["core:frequency"] = float(center_freq)
    meta.add_capture(0, metadata=capture)
    for start, count, label in annotations:
        meta.add_annotation(int(start), int(count), metadata={"core:label": str(label)})
    out = meta_path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta.tofile(str(out), overwrite=True)
    return out


def write(path, samples, sample_rate: float, center_freq: float | None = None, description: str = "",
          annotations=()) -> Path:
    """Write a complete recording (data + meta); returns the base path."""
    x = np.ascontiguousarray(np.asarray(samples, np.complex64).reshape(-1))
    d = data_path(path)
    d.parent.mkdir(parents=True, exist_ok=True)
    x.tofile(d)
    write_meta(path, sample_rate, center_freq, description, annotations)
    return base_path(path)


def read_info(path) -> dict:
    """The recording's global fields and first capture; ValueError naming what is wrong (a missing,
    non-numeric, NaN/Inf, zero or negative ``core:sample_rate`` included)."""
    from sigmf import sigmffile

    m, d = meta_path(path), data_path(path)
    if not m.is_file():
        raise ValueError(f"no SigMF metadata at {m}")
    if not d.is_file():
        raise ValueError(f"no SigMF data file at {d}")
    try:
        rec = sigmffile.fromfile(str(base_path(path)), skip_checksum=True)
    except Exception as e:  # noqa: BLE001 - sigmf raises several types for a bad file
        why = " ".join(str(e).split())[:200]  # one line, whatever sigmf says
        raise ValueError(f"{m}: not a valid SigMF recording ({e.__class__.__name__}: {why})") from None
    dtype = rec.get_global_field("core:datatype")
    if dtype != DATATYPE:
        raise ValueError(f"{m}: datatype {dtype!r} is not supported (gr-stegsem records and replays {DATATYPE})")
    rate = check_sample_rate(rec.get_global_field("core:sample_rate"), str(m))
    caps = rec.get_captures()
    return {"sample_rate": rate,
            "center_freq": caps[0].get("core:frequency") if caps else None,
            "description": rec.get_global_field("core:description"),
            "annotations": rec.get_annotations(), "samples": d.stat().st_size // 8}


def read(path) -> tuple[np.ndarray, dict]:
    """(complex64 samples, info) of a recording."""
    info = read_info(path)
    return np.fromfile(data_path(path), dtype=np.complex64), info
