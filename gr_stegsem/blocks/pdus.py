"""PDU formats of the gr-stegsem blocks (a PDU is ``pmt.cons(meta_dict, vector)``, as in gr-pdu).

Image PDU
    vector: u8vector of H*W*3 bytes, RGB, row-major (pixel (y, x) channel c at ``(y*W + x)*3 + c``).
    meta:   ``frame_id`` (long), ``height`` (long, pixels), ``width`` (long, pixels),
            optional ``role`` (symbol ``host`` or ``private``), optional ``attack`` (symbol: the name of
            the Eve attack that reconstructed the image, e.g. ``naive``, ``mia``, ``inversion``).
Symbol PDU
    vector: c32vector of k complex channel symbols (mean |z|^2 = 1 when sent; Es = 1).
    meta:   ``frame_id``, ``height``, ``width`` (longs: the original image size in pixels),
            ``latent_c``, ``latent_h``, ``latent_w`` (longs: the real latent shape, k = latent_c/2*h*w),
            ``secure`` (bool: True for an INN container), optional ``role`` (symbol).
Metrics PDU (image_sink)
    vector: empty u8vector; meta: ``frame_id`` (long), ``psnr`` (double, dB), ``ms_ssim`` (double,
    NaN for images under 161 px per side), ``lpips`` (double), optional ``role``.
Score PDU (a detecting Eve: eve_detect / eve_attack 'detect')
    vector: f32vector holding the score; meta: ``frame_id`` (long), ``attack`` (symbol ``detect``),
    ``score`` (double in [0, 1]: the probability that the frame hides an image), ``decision``
    (bool: score > threshold), ``threshold`` (double), and the symbol PDU's other meta keys.

``frame_id`` is an integer in [0, 2^63 - 1] (``MAX_FRAME_ID``: a pmt long; a pmt uint64 is accepted
up to that bound); anything else (a uint64 above it, a negative long, a double) makes the PDU malformed.
Other meta keys are carried through by the blocks unchanged. Parsers raise ``ValueError`` with a
message naming the problem; the blocks log it and drop the PDU.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import pmt
import torch

from ..images import MAX_SIDE
from ..models.deepjscc import DeepJSCCConfig, STRIDE, from_complex, latent_shape

FRAME_ID = "frame_id"
MAX_FRAME_ID = 2 ** 63 - 1  # frame ids are pmt longs (int64) when a block sends them on
HEIGHT = "height"
WIDTH = "width"
ROLE = "role"
ATTACK = "attack"
LATENT_C = "latent_c"
LATENT_H = "latent_h"
LATENT_W = "latent_w"
SECURE = "secure"
ROLES = ("host", "private")
LATENT_KEYS = (LATENT_C, LATENT_H, LATENT_W, SECURE)


@dataclass
class ImageFrame:
    """A parsed image PDU. ``image`` is float (3, H, W) in [0, 1]; ``meta`` the PDU's pmt dict."""

    frame_id: int
    height: int
    width: int
    role: str | None
    image: torch.Tensor
    meta: object

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width


@dataclass
class SymbolFrame:
    """A parsed symbol PDU. ``symbols`` is complex64 (1, k); ``latent`` the real latent (C, h, w)."""

    frame_id: int
    height: int
    width: int
    latent: tuple[int, int, int]
    secure: bool
    role: str | None
    symbols: torch.Tensor
    meta: object

    @property
    def size(self) -> tuple[int, int]:
        return self.height, self.width

    def real_latent(self) -> torch.Tensor:
        """The real latent (1, C, h, w) for the models (:func:`~gr_stegsem.models.deepjscc.from_complex`)."""
        return from_complex(self.symbols, self.latent)


# --- numpy <-> pmt uniform vectors ---------------------------------------------------------------
# pmt's Python bindings convert uniform vectors element by element through Python lists (2 ms for a
# 256x256 RGB image). PMT's serialised form of a uniform vector is a fixed header followed by the raw
# elements (u8 as bytes, c32 as big-endian float32 pairs), and pmt.serialize_str / deserialize_str
# convert it in C++, so numpy arrays go through that form instead. At import the fast path is checked
# against the list path; where they disagree (another PMT version) the list path is used.
_PST_UNIFORM_VECTOR = 0x0A
_UVI_U8 = 0x00
_UVI_C32 = 0x0A
_C32_WIRE = np.dtype(">c8")


def _uv_header(kind: int, n: int) -> bytes:
    return struct.pack(">BBIBB", _PST_UNIFORM_VECTOR, kind, n, 1, 0)  # tag, type, length, npad = 1, pad


def _uv_payload(vec, kind: int, n: int) -> tuple[bytes, int] | None:
    """The serialised vector and the offset of its elements, or None for an unexpected header."""
    b = pmt.serialize_str(vec)
    if len(b) < 7 or b[0] != _PST_UNIFORM_VECTOR or b[1] != kind or struct.unpack_from(">I", b, 2)[0] != n:
        return None
    off = 7 + b[6]
    return (b, off) if off <= len(b) else None


def _u8vector_fast(a: np.ndarray):
    return pmt.deserialize_str(_uv_header(_UVI_U8, a.size) + a.tobytes())


def _c32vector_fast(a: np.ndarray):
    return pmt.deserialize_str(_uv_header(_UVI_C32, a.size) + a.astype(_C32_WIRE).tobytes())


def _u8_elements_fast(vec, n: int) -> np.ndarray | None:
    p = _uv_payload(vec, _UVI_U8, n)
    return None if p is None or len(p[0]) - p[1] < n else np.frombuffer(p[0], np.uint8, n, p[1])


def _c32_elements_fast(vec, n: int) -> np.ndarray | None:
    p = _uv_payload(vec, _UVI_C32, n)
    if p is None or len(p[0]) - p[1] < 8 * n:
        return None
    return np.frombuffer(p[0], _C32_WIRE, n, p[1]).astype(np.complex64)


def _fast_path_works() -> bool:
    try:
        u = np.array([0, 1, 127, 128, 255], np.uint8)
        c = np.array([1 + 2j, -3.5 - 0.25j, 0, np.float32(1e-30) + 7e20j], np.complex64)
        pu, pc = _u8vector_fast(u), _c32vector_fast(c)
        return (pmt.is_u8vector(pu) and pmt.equal(pu, pmt.init_u8vector(u.size, u.tolist()))
                and pmt.is_c32vector(pc) and pmt.equal(pc, pmt.init_c32vector(c.size, c.tolist()))
                and np.array_equal(_u8_elements_fast(pu, u.size), u)
                and np.array_equal(_c32_elements_fast(pc, c.size), c))
    except Exception:  # noqa: BLE001
        return False


_FAST_PMT = _fast_path_works()


def u8vector_from_numpy(a) -> object:
    """pmt u8vector with the bytes of ``a`` (flattened)."""
    a = np.ascontiguousarray(a, dtype=np.uint8).reshape(-1)
    return _u8vector_fast(a) if _FAST_PMT else pmt.init_u8vector(a.size, a.tolist())


def c32vector_from_numpy(a) -> object:
    """pmt c32vector with the complex64 values of ``a`` (flattened)."""
    a = np.ascontiguousarray(a, dtype=np.complex64).reshape(-1)
    return _c32vector_fast(a) if _FAST_PMT else pmt.init_c32vector(a.size, a.tolist())


def u8vector_to_numpy(vec) -> np.ndarray:
    """The bytes of a pmt u8vector as a (read-only) uint8 array."""
    n = pmt.length(vec)
    a = _u8_elements_fast(vec, n) if _FAST_PMT else None
    return a if a is not None else np.frombuffer(bytearray(pmt.u8vector_elements(vec)), dtype=np.uint8)


def c32vector_to_numpy(vec) -> np.ndarray:
    """The values of a pmt c32vector as a (writable) complex64 array."""
    n = pmt.length(vec)
    a = _c32_elements_fast(vec, n) if _FAST_PMT else None
    return a if a is not None else np.asarray(pmt.c32vector_elements(vec), dtype=np.complex64)


# --- meta helpers ------------------------------------------------------------------------------
def _key(name: str):
    return pmt.intern(name)


def meta_get(meta, name: str, default=None):
    """Value of ``name`` in a pmt dict (as pmt), or ``default`` when absent."""
    return pmt.dict_ref(meta, _key(name), pmt.PMT_NIL) if pmt.dict_has_key(meta, _key(name)) else default


def meta_set(meta, **values):
    """A new pmt dict: ``meta`` with the given Python values converted (int -> long, bool, float -> double,
    str -> symbol); a value of None removes the key."""
    for name, v in values.items():
        if v is None:
            meta = pmt.dict_delete(meta, _key(name))
            continue
        if isinstance(v, bool):
            p = pmt.from_bool(v)
        elif isinstance(v, (int, np.integer)):
            p = pmt.from_long(int(v))
        elif isinstance(v, (float, np.floating)):
            p = pmt.from_double(float(v))
        elif isinstance(v, str):
            p = pmt.intern(v)
        else:
            p = v  # already a pmt
        meta = pmt.dict_add(meta, _key(name), p)
    return meta


def meta_int(meta, name: str, lo: int | None = None, hi: int | None = None) -> int:
    """Integer meta field ``name``, checked against [lo, hi]; ValueError naming the field otherwise."""
    v = meta_get(meta, name)
    if v is None:
        raise ValueError(f"PDU meta lacks '{name}'")
    if pmt.is_integer(v):
        n = pmt.to_long(v)
    elif pmt.is_uint64(v):
        n = pmt.to_uint64(v)
    else:
        raise ValueError(f"PDU meta '{name}' must be an integer (pmt long), got {pmt.write_string(v)[:40]}")
    if lo is not None and n < lo:
        raise ValueError(f"PDU meta '{name}' = {n} is below {lo}")
    if hi is not None and n > hi:
        raise ValueError(f"PDU meta '{name}' = {n} is above {hi}")
    return int(n)


def _role(meta) -> str | None:
    v = meta_get(meta, ROLE)
    if v is None:
        return None
    if not pmt.is_symbol(v) or pmt.symbol_to_string(v) not in ROLES:
        raise ValueError(f"PDU meta 'role' must be the symbol 'host' or 'private', got {pmt.write_string(v)[:40]}")
    return pmt.symbol_to_string(v)


def split_pdu(pdu):
    """(meta dict, vector) of a PDU (a nil meta becomes an empty dict); ValueError if not a PDU."""
    if not pmt.is_pair(pdu):
        raise ValueError("not a PDU: expected a pair (meta dict . vector)")
    meta, vec = pmt.car(pdu), pmt.cdr(pdu)
    if pmt.is_null(meta):  # gr-pdu allows PMT_NIL for empty metadata
        meta = pmt.make_dict()
    if not pmt.is_dict(meta):
        raise ValueError("PDU meta (car) is not a dict")
    return meta, vec


def _size(meta) -> tuple[int, int]:
    h = meta_int(meta, HEIGHT, STRIDE, MAX_SIDE)
    w = meta_int(meta, WIDTH, STRIDE, MAX_SIDE)
    return h, w


# --- image PDUs --------------------------------------------------------------------------------
def image_pdu(image, frame_id: int, role: str | None = None, meta=None):
    """Image PDU from a float tensor (3, H, W) in [0, 1] or a u8 array (H, W, 3).

    ``meta`` (a pmt dict) is carried over; frame_id, height, width (and role when given) are set,
    and symbol-only keys (latent shape, secure) are removed.
    """
    if isinstance(image, torch.Tensor):
        if image.dim() != 3 or image.shape[0] != 3:
            raise ValueError(f"expected an image tensor (3, H, W), got {tuple(image.shape)}")
        # HWC first: the element-wise ops then write a contiguous array (no copy afterwards)
        a = image.detach().permute(1, 2, 0).clamp(0, 1).mul_(255).round_().to(torch.uint8).cpu().numpy()
    else:
        a = np.asarray(image)
        if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"expected a u8 RGB array (H, W, 3), got {a.dtype} {a.shape}")
    h, w = a.shape[:2]
    if role is not None and role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}, got {role!r}")
    meta = pmt.make_dict() if meta is None else meta
    for k in LATENT_KEYS:
        meta = pmt.dict_delete(meta, _key(k))
    meta = meta_set(meta, frame_id=int(frame_id), height=h, width=w)
    if role is not None:
        meta = meta_set(meta, role=role)
    return pmt.cons(meta, u8vector_from_numpy(a))


def parse_image_pdu(pdu) -> ImageFrame:
    """Image PDU -> :class:`ImageFrame`; ValueError on anything malformed."""
    meta, vec = split_pdu(pdu)
    if not pmt.is_u8vector(vec):
        raise ValueError("image PDU vector must be a u8vector (RGB bytes)")
    frame_id = meta_int(meta, FRAME_ID, 0, MAX_FRAME_ID)
    h, w = _size(meta)
    n = pmt.length(vec)
    if n != h * w * 3:
        raise ValueError(f"image PDU has {n} bytes but meta says {h}x{w}x3 = {h * w * 3}")
    a = u8vector_to_numpy(vec).reshape(h, w, 3).astype(np.float32)  # exact; the division is torch's, as before
    x = torch.from_numpy(a).permute(2, 0, 1).div_(255.0)
    return ImageFrame(frame_id, h, w, _role(meta), x, meta)


# --- symbol PDUs -------------------------------------------------------------------------------
def symbol_pdu(symbols, frame_id: int, size: tuple[int, int], latent: tuple[int, int, int],
               secure: bool = False, role: str | None = None, meta=None):
    """Symbol PDU from complex symbols (k,) or (1, k) (tensor or array).

    ``size`` = (H, W) of the original image in pixels; ``latent`` = (C, h, w) the real latent shape.
    ``meta`` (a pmt dict) is carried over; ``role`` None removes a carried role.
    """
    s = symbols.detach().cpu().numpy() if isinstance(symbols, torch.Tensor) else np.asarray(symbols)
    s = np.ascontiguousarray(s.reshape(-1), dtype=np.complex64)
    c, lh, lw = (int(v) for v in latent)
    if s.size != c // 2 * lh * lw:
        raise ValueError(f"{s.size} symbols do not fill a {c}x{lh}x{lw} latent")
    meta = pmt.make_dict() if meta is None else meta
    meta = meta_set(meta, frame_id=int(frame_id), height=int(size[0]), width=int(size[1]),
                    latent_c=c, latent_h=lh, latent_w=lw, secure=bool(secure), role=role)
    return pmt.cons(meta, c32vector_from_numpy(s))


def parse_symbol_pdu(pdu, config: DeepJSCCConfig | None = None) -> SymbolFrame:
    """Symbol PDU -> :class:`SymbolFrame`; ValueError on anything malformed.

    With ``config`` the latent shape must be the one that model gives for the image size in meta.
    """
    meta, vec = split_pdu(pdu)
    if not pmt.is_c32vector(vec):
        raise ValueError("symbol PDU vector must be a c32vector (complex channel symbols)")
    frame_id = meta_int(meta, FRAME_ID, 0, MAX_FRAME_ID)
    h, w = _size(meta)
    c = meta_int(meta, LATENT_C, 2)
    lh = meta_int(meta, LATENT_H, 1)
    lw = meta_int(meta, LATENT_W, 1)
    if c % 2:
        raise ValueError(f"PDU meta 'latent_c' = {c} must be even (real and imaginary halves)")
    if config is not None and (c, lh, lw) != latent_shape(h, w, config):
        raise ValueError(
            f"latent {c}x{lh}x{lw} in meta does not fit the model: a {h}x{w} image gives "
            f"{'x'.join(map(str, latent_shape(h, w, config)))} (bcr {config.bcr})"
        )
    k = pmt.length(vec)
    if k != c // 2 * lh * lw:
        raise ValueError(f"symbol PDU has {k} samples but latent {c}x{lh}x{lw} needs {c // 2 * lh * lw}")
    s = c32vector_to_numpy(vec)
    if not np.isfinite(s.view(np.float32)).all():
        raise ValueError("symbol PDU contains NaN or Inf samples")
    sec = meta_get(meta, SECURE, pmt.PMT_F)
    if not pmt.is_bool(sec):
        raise ValueError("PDU meta 'secure' must be a bool")
    return SymbolFrame(frame_id, h, w, (c, lh, lw), pmt.to_bool(sec), _role(meta),
                       torch.from_numpy(s)[None], meta)  # c32vector_to_numpy: a fresh writable array


# --- metrics PDUs ------------------------------------------------------------------------------
def metrics_pdu(frame_id: int, values: dict, role: str | None = None):
    """Metrics PDU: meta {frame_id, psnr, ms_ssim, lpips (doubles), role?}, empty u8vector."""
    meta = meta_set(pmt.make_dict(), frame_id=int(frame_id),
                    **{k: float(v) for k, v in values.items()}, role=role)
    return pmt.cons(meta, pmt.init_u8vector(0, []))


METRICS = ("psnr", "ms_ssim", "lpips")


def is_metrics_pdu(pdu) -> bool:
    """True for a metrics PDU (an empty u8vector with 'psnr' in the meta), False for anything else."""
    if not pmt.is_pair(pdu):
        return False
    meta, vec = pmt.car(pdu), pmt.cdr(pdu)
    return (pmt.is_u8vector(vec) and pmt.length(vec) == 0 and pmt.is_dict(meta)
            and pmt.dict_has_key(meta, _key("psnr")))


def parse_metrics_pdu(pdu) -> tuple[int, dict]:
    """Metrics PDU -> (frame_id, {psnr, ms_ssim, lpips: float}); ValueError on anything malformed."""
    meta, vec = split_pdu(pdu)
    if not pmt.is_u8vector(vec) or pmt.length(vec) != 0:
        raise ValueError("metrics PDU vector must be an empty u8vector")
    frame_id = meta_int(meta, FRAME_ID, 0, MAX_FRAME_ID)
    values = {}
    for k in METRICS:
        v = meta_get(meta, k)
        if v is None or not pmt.is_number(v) or pmt.is_complex(v):
            raise ValueError(f"metrics PDU meta lacks the number '{k}'")
        values[k] = float(pmt.to_double(v))
    return frame_id, values


@dataclass
class ScoreFrame:
    """A parsed score PDU (see the module docstring)."""

    frame_id: int
    attack: str
    score: float
    decision: bool
    threshold: float
    meta: object


def score_pdu(score: float, frame_id: int, threshold: float, attack: str = "detect", meta=None):
    """Score PDU: ``meta`` (a pmt dict, carried; symbol-only keys removed) with frame_id, attack, score,
    decision = score > threshold and threshold; f32vector [score]."""
    meta = pmt.make_dict() if meta is None else meta
    for k in LATENT_KEYS:
        meta = pmt.dict_delete(meta, _key(k))
    s = float(score)
    meta = meta_set(meta, frame_id=int(frame_id), attack=attack, score=s, decision=bool(s > threshold),
                    threshold=float(threshold))
    return pmt.cons(meta, pmt.init_f32vector(1, [s]))


def _meta_float(meta, name: str) -> float:
    v = meta_get(meta, name)
    if v is None or not pmt.is_number(v) or pmt.is_complex(v):
        raise ValueError(f"score PDU meta lacks the number '{name}'")
    return float(pmt.to_double(v))


def parse_score_pdu(pdu) -> ScoreFrame:
    """Score PDU -> :class:`ScoreFrame`; ValueError on anything malformed."""
    meta, vec = split_pdu(pdu)
    if not pmt.is_f32vector(vec) or pmt.length(vec) != 1:
        raise ValueError("score PDU vector must be an f32vector holding one score")
    frame_id = meta_int(meta, FRAME_ID, 0, MAX_FRAME_ID)
    score, threshold = _meta_float(meta, "score"), _meta_float(meta, "threshold")
    if not 0.0 <= score <= 1.0:
        raise ValueError(f"score PDU score {score} is outside [0, 1]")
    decision = meta_get(meta, "decision")
    if decision is None or not pmt.is_bool(decision):
        raise ValueError("score PDU meta 'decision' must be a bool")
    attack = meta_get(meta, ATTACK)
    attack = pmt.symbol_to_string(attack) if attack is not None and pmt.is_symbol(attack) else ""
    return ScoreFrame(frame_id, attack, score, pmt.to_bool(decision), threshold, meta)


def pdu_meta(pdu) -> dict:
    """The PDU's meta dict as Python values (for tests and logging)."""
    return pmt.to_python(pmt.car(pdu)) or {}


# --- the keyed schemes' frame nonce (public; 64 bits, pmt uint64) ----------------------------------
NONCE = "nonce"


def meta_nonce(meta) -> int | None:
    """The frame's nonce from meta, or None when absent; ValueError for a value that is not an
    integer in [0, 2^64)."""
    v = meta_get(meta, NONCE)
    if v is None:
        return None
    if pmt.is_uint64(v):
        return int(pmt.to_uint64(v))
    if pmt.is_integer(v) and pmt.to_long(v) >= 0:
        return int(pmt.to_long(v))
    raise ValueError(f"PDU meta '{NONCE}' must be an integer in [0, 2^64), got {pmt.write_string(v)[:40]}")


def with_nonce(meta, nonce: int):
    """``meta`` with the frame nonce set (pmt uint64)."""
    return pmt.dict_add(meta, _key(NONCE), pmt.from_uint64(int(nonce)))
