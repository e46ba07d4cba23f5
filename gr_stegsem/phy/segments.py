"""Cutting a frame of JSCC symbols into segments, and putting received segments back together.

Pure Python/numpy (no GNU Radio): the GNU Radio blocks in :mod:`.blocks` wrap these.
A frame is what one symbol PDU holds (one image's channel symbols); a segment is what one burst
carries (:class:`~.header.SegmentHeader`). Missing symbols are filled with zeros -- the decoder's
best guess for a unit-power, zero-mean latent -- and flagged, so a frame with lost segments still
decodes into an image (graceful degradation instead of a lost frame).

The symbols are interleaved before they are cut (:func:`interleaver`): a lost segment then erases
symbols scattered over the whole latent -- which the decoder treats like extra noise -- instead of
a contiguous block of it (a band of the image gone).
"""
from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from .header import SegmentHeader, segment_plan


@dataclass(frozen=True)
class FrameInfo:
    """What the decoder needs besides the symbols (the symbol PDU meta; sizes in pixels).

    ``nonce``: the frame's public 64-bit nonce of the keyed steganography, None when not keyed."""

    frame_id: int
    height: int
    width: int
    latent: tuple
    secure: bool
    nonce: int | None = None

    @property
    def n_symbols(self) -> int:
        c, h, w = self.latent
        return c // 2 * h * w


@lru_cache(maxsize=32)
def interleaver(n: int) -> np.ndarray:
    """The fixed pseudo-random order in which a frame of ``n`` symbols is cut into segments:
    segment data = ``symbols[interleaver(n)]`` sliced by the segment plan (read-only array)."""
    perm = np.random.default_rng([0x5E6, n]).permutation(n)
    perm.setflags(write=False)
    return perm


def split(info: FrameInfo, symbols: np.ndarray, seg_len: int) -> list[tuple[SegmentHeader, np.ndarray]]:
    """(header, symbols) of each segment of a frame, interleaved; ValueError when the frame cannot be
    described (a nonce outside [0, 2^64) included). Every segment's header carries the frame's nonce."""
    symbols = np.asarray(symbols).reshape(-1)
    if symbols.size != info.n_symbols:
        raise ValueError(f"{symbols.size} symbols do not fill the {info.latent} latent")
    symbols = symbols[interleaver(symbols.size)]
    plan = segment_plan(symbols.size, seg_len)
    c, h, w = info.latent
    out = []
    for i, (off, n) in enumerate(plan):
        hdr = SegmentHeader(frame_id=info.frame_id % 65536, seg_index=i, seg_count=len(plan), seg_len=n,
                            height=info.height, width=info.width, latent_c=c, latent_h=h, latent_w=w,
                            secure=info.secure, nonce=0 if info.nonce is None else info.nonce,
                            keyed=info.nonce is not None)
        out.append((hdr.check(), symbols[off:off + n]))
    hdr.to_bits()  # every field in range (raises ValueError naming it)
    return out


@dataclass
class Frame:
    """A reassembled frame: symbols (zeros where lost), per-symbol validity, which segments arrived,
    and the mean SNR estimate (data Es/N0, dB) of the segments that did."""

    info: FrameInfo
    symbols: np.ndarray
    valid: np.ndarray
    segments: np.ndarray  # bool per segment: received (possibly with a cut-off tail)
    snr_db: float

    @property
    def complete(self) -> bool:
        return bool(self.valid.all())

    @property
    def lost_fraction(self) -> float:
        return float(1.0 - self.valid.mean())


@dataclass
class _Pending:
    info: FrameInfo
    seg_count: int
    symbols: np.ndarray
    valid: np.ndarray
    got: np.ndarray
    snrs: list = field(default_factory=list)
    since: float = 0.0

    def frame(self) -> Frame:
        """The frame in the latent's order (de-interleaved)."""
        snr = float(10 * np.log10(np.mean(10 ** (np.asarray(self.snrs) / 10)))) if self.snrs else float("nan")
        perm = interleaver(self.symbols.size)
        symbols, valid = np.empty_like(self.symbols), np.empty_like(self.valid)
        symbols[perm], valid[perm] = self.symbols, self.valid
        return Frame(self.info, symbols, valid, self.got.copy(), snr)


@dataclass
class ReassemblyStats:
    segments: int = 0
    duplicates: int = 0  # a segment already held, or of a frame already delivered
    inconsistent: int = 0  # a header that contradicts the frame's other segments (nonce included)
    frames: int = 0
    incomplete: int = 0  # frames delivered with missing symbols


class Reassembler:
    """Collects segments into frames.

    A frame is delivered when all its segments are in; incomplete, when more than ``max_pending``
    frames are open (the oldest goes first), when it has waited ``timeout`` seconds since its first
    segment (:meth:`expire`; None waits forever), or at :meth:`flush`. Segments may come in any order;
    duplicates and segments of a frame already delivered (the last ``history`` frame ids) are dropped.
    """

    def __init__(self, max_pending: int = 2, timeout: float | None = 1.0, history: int = 64, clock=time.monotonic):
        if max_pending < 1:
            raise ValueError("max_pending must be >= 1")
        self.max_pending = int(max_pending)
        self.timeout = timeout
        self.clock = clock
        self._open: OrderedDict[int, _Pending] = OrderedDict()
        self._done: deque = deque(maxlen=int(history))
        self.stats = ReassemblyStats()

    def add(self, header: SegmentHeader, symbols: np.ndarray, valid: np.ndarray | None = None,
            snr_db: float | None = None) -> list[Frame]:
        """Add one segment; returns the frames this completes or pushes out."""
        symbols = np.asarray(symbols, np.complex64).reshape(-1)
        if symbols.size != header.seg_len:
            raise ValueError(f"segment has {symbols.size} symbols but its header says {header.seg_len}")
        valid = np.ones(symbols.size, bool) if valid is None else np.asarray(valid, bool).reshape(-1)
        self.stats.segments += 1
        fid = header.frame_id
        info = FrameInfo(fid, header.height, header.width, (header.latent_c, header.latent_h, header.latent_w),
                         header.secure, int(header.nonce) if header.keyed else None)
        out = []
        if fid in self._done and fid not in self._open:
            self.stats.duplicates += 1
            return out
        pend = self._open.get(fid)
        if pend is not None and (pend.info != info or pend.seg_count != header.seg_count):
            self.stats.inconsistent += 1
            return out
        if pend is None:
            n = info.n_symbols
            pend = _Pending(info, header.seg_count, np.zeros(n, np.complex64), np.zeros(n, bool),
                            np.zeros(header.seg_count, bool), since=self.clock())
            self._open[fid] = pend
            while len(self._open) > self.max_pending:
                out.append(self._deliver(next(iter(self._open))))
        if pend.got[header.seg_index]:
            self.stats.duplicates += 1
            return out
        off = header.offset
        pend.symbols[off:off + header.seg_len] = np.where(valid, symbols, 0)
        pend.valid[off:off + header.seg_len] = valid
        pend.got[header.seg_index] = True
        if snr_db is not None and np.isfinite(snr_db):
            pend.snrs.append(float(snr_db))
        if pend.got.all():
            out.append(self._deliver(fid))
        return out

    def expire(self) -> list[Frame]:
        """Deliver the frames that have waited longer than ``timeout``."""
        if self.timeout is None:
            return []
        now = self.clock()
        return [self._deliver(f) for f in [f for f, p in self._open.items() if now - p.since >= self.timeout]]

    def flush(self) -> list[Frame]:
        """Deliver every open frame (end of stream)."""
        return [self._deliver(f) for f in list(self._open)]

    def _deliver(self, fid: int) -> Frame:
        frame = self._open.pop(fid).frame()
        self._done.append(fid)
        self.stats.frames += 1
        self.stats.incomplete += not frame.complete
        return frame
