"""IQ recordings in SigMF (https://sigmf.org): ``NAME.sigmf-data`` (cf32_le samples) + ``NAME.sigmf-meta``.

No GNU Radio here: :func:`write`, :func:`read` and :class:`MetaWriter` are used by the tests and by
the GNU Radio recorder/player blocks (:class:`gr_stegsem.phy.blocks.sigmf_sink`,
:class:`~gr_stegsem.phy.blocks.sigmf_source`).

What a recording's metadata holds (:class:`MetaWriter`): ``core:description`` (:func:`describe`: what
was recorded, the PHY numerology and segment length, the sample rate, the gr-stegsem version); one
capture at sample 0 with the start time and, where the flowgraph knows it (USRP), ``core:frequency``
(Hz; left out for simulated and ZeroMQ baseband, which has no RF centre frequency); and one annotation
per burst a PHY receiver decoded (:func:`burst_annotation`). gr-stegsem's own fields use the
``stegsem`` namespace, declared in ``core:extensions``.
"""
from __future__ import annotations

import bisect
import datetime as _dt
import json
import math
import numbers
import os
import threading
from pathlib import Path

import numpy as np

from .. import __version__
from .header import SegmentHeader
from .ofdm import OfdmParams

DATATYPE = "cf32_le"
NAMESPACE = "stegsem"  # gr-stegsem's extension fields: stegsem:frame_id, ... (declared in core:extensions)
EXTENSION = {"name": NAMESPACE, "version": "1.0.0", "optional": True}


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


def _center(center_freq) -> float | None:
    """A centre frequency in Hz, or None for unknown (None or 0: baseband without an RF frequency)."""
    if center_freq is None:
        return None
    if isinstance(center_freq, bool) or not isinstance(center_freq, numbers.Real) or not math.isfinite(center_freq):
        raise ValueError(f"centre frequency must be a finite number of Hz, got {center_freq!r:.40}")
    return float(center_freq) if center_freq != 0 else None


def _si(value: float, unit: str) -> str:
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:g} {prefix}{unit}"
    return f"{value:g} {unit}"


def describe(what: str = "", seg_len: int = 0, sample_rate: float = 1e6, center_freq: float | None = None,
             amplitude: float = 1.0, params: OfdmParams | None = None) -> str:
    """The ``core:description`` of a recording: ``what`` (which flowgraph and receiver/role, what it
    hears), the OFDM PHY numerology and ``seg_len`` (JSCC symbols per burst; 0 = not a PHY stream),
    the transmitter's ``amplitude``, the sample rate (S/s), the centre frequency (Hz; None or 0 =
    baseband: simulated or ZeroMQ, no RF) and the gr-stegsem version."""
    rate = check_sample_rate(sample_rate)
    fc = _center(center_freq)
    what = str(what or "").strip()
    parts = [f"gr-stegsem {__version__} IQ recording" + (f": {what}" if what else "")]
    if int(seg_len) > 0:
        p = params or OfdmParams()
        parts.append(f"OFDM PHY: {p.fft_len}-point FFT, {p.cp_len}-sample cyclic prefix, {p.used.size} carriers "
                     f"({p.n_data} data, {len(p.pilots)} pilots), segments of up to {int(seg_len)} JSCC symbols "
                     f"per burst, TX amplitude {float(amplitude):g}")
    parts.append(f"sample rate {_si(rate, 'S/s')}")
    parts.append(f"centre frequency {_si(fc, 'Hz')}" if fc is not None else
                 "no RF centre frequency (simulated or ZeroMQ baseband: core:frequency left out)")
    return "; ".join(parts)


def _finite(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def burst_annotation(start: int, header: SegmentHeader, snr_db: float | None, cfo: float | None,
                     sample_rate: float, center_freq: float | None = None, valid: float | None = None,
                     params: OfdmParams | None = None) -> dict:
    """The annotation of one received burst: ``start`` = its first sample (the Schmidl & Cox symbol's
    cyclic prefix) in the recording, ``core:sample_count`` = preamble + header + data samples (guards
    not included), ``core:label`` 'frame F seg S', the band it occupies (Hz, shifted by the CFO; at RF
    when ``center_freq`` is known, else at baseband) and the ``stegsem:`` fields: the header's, the
    SNR estimate ``snr_db`` (data Es/N0, dB), ``cfo`` (cycles/sample) and ``cfo_hz`` (Hz at
    ``sample_rate``), ``valid`` (fraction of its symbols received: < 1 for a cut-off burst)."""
    p = params or OfdmParams()
    rate = check_sample_rate(sample_rate)
    h = header
    if int(start) < 0:
        raise ValueError(f"burst start must be a sample index >= 0, got {start}")
    ann = {"core:sample_start": int(start), "core:sample_count": int(p.burst_len(h.seg_len) - 2 * p.guard),
           "core:label": f"frame {h.frame_id} seg {h.seg_index}"}
    ns = {"frame_id": int(h.frame_id), "seg_index": int(h.seg_index), "seg_count": int(h.seg_count),
          "seg_len": int(h.seg_len), "height": int(h.height), "width": int(h.width),
          "latent": [int(h.latent_c), int(h.latent_h), int(h.latent_w)], "secure": bool(h.secure),
          "keyed": bool(h.keyed)}
    if h.keyed:
        ns["nonce"] = int(h.nonce)
    snr = None if snr_db is None else _finite(snr_db)
    f = None if cfo is None else _finite(cfo)
    if snr is not None:
        ns["snr_db"] = round(snr, 3)
    shift = 0.0
    if f is not None:
        shift = f * rate
        ns["cfo"] = f
        ns["cfo_hz"] = round(shift, 3)
    if valid is not None and _finite(valid) is not None:
        ns["valid"] = round(float(valid), 4)
    ann.update({f"{NAMESPACE}:{k}": v for k, v in ns.items()})
    half = (p.occupied + 0.5) / p.fft_len * rate
    fc = _center(center_freq) or 0.0
    ann["core:freq_lower_edge"] = fc + shift - half
    ann["core:freq_upper_edge"] = fc + shift + half
    comment = (f"OFDM burst: segment {h.seg_index + 1} of {h.seg_count} of frame {h.frame_id} "
               f"({h.seg_len} JSCC symbols, {h.width}x{h.height} image, {'INN' if h.secure else 'plain DeepJSCC'}"
               f"{', keyed' if h.keyed else ''})")
    if snr is not None:
        comment += f"; SNR {snr:.1f} dB"
    if f is not None:
        comment += f"; CFO {shift:+.1f} Hz ({f:+.3e} cycles/sample)"
    ann["core:comment"] = comment
    return ann


def _sorted(d: dict) -> dict:
    return {k: d[k] for k in sorted(d)}


class MetaWriter:
    """The ``.sigmf-meta`` of a recording (cf32_le, one channel): the global fields and the capture
    (start time, ``core:frequency`` when ``center_freq`` is known) are fixed at construction,
    annotations are added as they come (:meth:`add`, kept in sample order), and :meth:`write`
    replaces the file atomically, so a reader never sees half a file and a recorder that is killed
    leaves the last complete one. Thread-safe. ``extra``: more global fields (``stegsem:`` ones)."""

    def __init__(self, path, sample_rate: float, center_freq: float | None = None, description: str = "",
                 extra: dict | None = None):
        self.path = meta_path(path)
        rate = check_sample_rate(sample_rate)
        fc = _center(center_freq)
        import sigmf

        self._global = {"core:datatype": DATATYPE, "core:sample_rate": rate, "core:num_channels": 1,
                        "core:description": str(description or "") or "gr-stegsem IQ recording",
                        "core:recorder": f"gr-stegsem {__version__}", "core:extensions": [dict(EXTENSION)],
                        "core:version": str(getattr(sigmf, "__specification__", "1.2.0")), **(extra or {})}
        self._capture = {"core:sample_start": 0,
                         "core:datetime": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}
        if fc is not None:
            self._capture["core:frequency"] = fc
        self._annotations: list[dict] = []
        self._starts: list[int] = []
        self._lock = threading.Lock()
        self.dirty = True  # annotations added since the last write

    def add(self, annotation: dict) -> None:
        """One annotation (a dict with at least ``core:sample_start``), inserted in sample order."""
        start = int(annotation["core:sample_start"])
        with self._lock:
            i = bisect.bisect_right(self._starts, start)
            self._starts.insert(i, start)
            self._annotations.insert(i, _sorted(annotation))
            self.dirty = True

    def __len__(self) -> int:
        return len(self._annotations)

    def metadata(self) -> dict:
        with self._lock:
            return {"global": _sorted(self._global), "captures": [_sorted(self._capture)],
                    "annotations": list(self._annotations)}

    def write(self, validate: bool = False) -> Path:
        """Write the file (atomically: a temporary file renamed over it); ``validate`` checks it with
        the sigmf library's validator first (jsonschema: slow for many annotations)."""
        with self._lock:
            self.dirty = False
        meta = self.metadata()
        if validate:
            from sigmf import validate as sigmf_validate

            sigmf_validate.validate(meta)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(meta, indent=4) + "\n")
        os.replace(tmp, self.path)
        return self.path


def write_meta(path, sample_rate: float, center_freq: float | None = None, description: str = "",
               annotations=(), extra: dict | None = None) -> Path:
    """Write ``path.sigmf-meta`` for cf32_le samples (the data file is written separately, e.g. by a
    GNU Radio file sink), validated. ``annotations``: dicts (as :func:`burst_annotation` makes) or
    (first sample, sample count, label) triples."""
    w = MetaWriter(path, sample_rate, center_freq, description, extra)
    for a in annotations:
        if not isinstance(a, dict):
            start, count, label = a
            a = {"core:sample_start": int(start), "core:sample_count": int(count), "core:label": str(label)}
        w.add(a)
    return w.write(validate=True)


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
