"""The segment header: 176 bits of fields + CRC-16 = 192 bits, sent rate-1/2 coded (see :mod:`.fec`).

Every segment carries the whole frame description, so any one received segment lets the receiver
rebuild the frame (with the missing segments zero-filled) -- no segment is special.

=========== ==== ====================================================================
field       bits meaning
=========== ==== ====================================================================
version        2 header format, 2 (version 1, without the nonce, is no longer accepted)
frame_id      16 frame number (wraps at 65536)
seg_index     10 this segment's index, 0 .. seg_count - 1
seg_count     10 segments in the frame (1 .. 1023)
seg_len       14 complex data symbols in this segment (1 .. 16383)
height        12 image height in pixels (1 .. 4095)
width         12 image width in pixels
latent_c       8 real latent channels C (frame = C/2 * h * w complex symbols)
latent_h      10 latent height h
latent_w      10 latent width w
secure         1 1: an INN container, 0: plain DeepJSCC symbols
keyed          1 1: ``nonce`` is meaningful (keyed steganography), 0: it is zero
reserved       6 zero
nonce         64 the frame's public nonce (the keyed transform is derived from key and nonce)
crc           16 CRC-16/CCITT-FALSE over the 176 bits above
=========== ==== ====================================================================
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, fields

import numpy as np

from .fec import crc16, crc16_int

VERSION = 2
NONCE_BITS = 64  # the keyed frame nonce
FIELDS = (("version", 2), ("frame_id", 16), ("seg_index", 10), ("seg_count", 10), ("seg_len", 14),
          ("height", 12), ("width", 12), ("latent_c", 8), ("latent_h", 10), ("latent_w", 10),
          ("secure", 1), ("keyed", 1), ("reserved", 6), ("nonce", NONCE_BITS))
INFO_BITS = sum(w for _, w in FIELDS)  # 176
HEADER_BITS = INFO_BITS + 16  # 192
_names = [name for name, _ in FIELDS]
_at = sum(w for _, w in FIELDS[:_names.index("reserved")])
RESERVED = slice(_at, _at + dict(FIELDS)["reserved"])  # where the reserved bits sit: to_bits writes zeros
del _names, _at


class HeaderError(ValueError):
    """A header that fails its CRC or holds inconsistent fields."""


@dataclass(frozen=True)
class SegmentHeader:
    frame_id: int
    seg_index: int
    seg_count: int
    seg_len: int
    height: int
    width: int
    latent_c: int
    latent_h: int
    latent_w: int
    secure: bool
    nonce: int = 0  # the frame's public nonce; 0 unless keyed
    keyed: bool = False

    @property
    def frame_symbols(self) -> int:
        """Complex symbols of the whole frame, C/2 * h * w."""
        return self.latent_c // 2 * self.latent_h * self.latent_w

    @property
    def offset(self) -> int:
        """Index of this segment's first symbol in the frame. All segments but the last have the
        same length; the last one ends the frame."""
        if self.seg_index == self.seg_count - 1:
            return self.frame_symbols - self.seg_len
        return self.seg_index * self.seg_len

    def check(self) -> "SegmentHeader":
        """ValueError (HeaderError) when the fields cannot describe a real segment."""
        n = self.frame_symbols
        if self.latent_c < 2 or self.latent_c % 2:
            raise HeaderError(f"latent_c = {self.latent_c} must be even and >= 2")
        if not 0 <= self.seg_index < self.seg_count:
            raise HeaderError(f"segment {self.seg_index} of {self.seg_count}")
        if self.seg_len < 1 or n < 1:
            raise HeaderError(f"segment of {self.seg_len} symbols in a frame of {n}")
        if self.seg_index < self.seg_count - 1 and (self.seg_index + 1) * self.seg_len > n:
            raise HeaderError(f"segment {self.seg_index} of length {self.seg_len} runs past the frame's {n} symbols")
        if self.offset < 0 or self.offset + self.seg_len > n:
            raise HeaderError(f"segment {self.seg_index}/{self.seg_count} of {self.seg_len} does not fit {n} symbols")
        if not self.keyed and self.nonce != 0:
            raise HeaderError(f"nonce {self.nonce} in a header that is not keyed (must be 0)")
        return self

    def to_bits(self) -> np.ndarray:
        """The 192 header bits (fields, then CRC), MSB first. ValueError if a field does not fit (a
        nonce outside [0, 2^64) included) or a header that is not keyed has a nonce other than 0."""
        try:
            nonce = operator.index(self.nonce)
        except TypeError:
            raise ValueError(f"header field out of range: nonce {self.nonce!r} is not an integer") from None
        if not self.keyed and nonce != 0:
            raise ValueError(f"nonce {nonce} in a header that is not keyed (must be 0)")
        values = {f.name: getattr(self, f.name) for f in fields(self)}  # (asdict deep-copies: slow)
        values.update(version=VERSION, secure=int(bool(self.secure)), keyed=int(bool(self.keyed)), reserved=0,
                      nonce=nonce)
        word = 0  # the fields as one integer, the first field in the most significant bits
        for name, width in FIELDS:
            v = int(values[name])
            if v < 0 or v >= 1 << width:
                raise ValueError(f"header field out of range: {v} does not fit in {width} bits")
            word = word << width | v
        word = word << 16 | crc16_int(word, INFO_BITS)
        return _int_to_bits(word, HEADER_BITS)

    @classmethod
    def from_bits(cls, bits: np.ndarray) -> "SegmentHeader":
        """Parse 192 decoded bits; HeaderError on a CRC mismatch, wrong version or inconsistent fields."""
        bits = np.asarray(bits, np.int8).reshape(-1)
        if bits.size != HEADER_BITS:
            raise HeaderError(f"a header has {HEADER_BITS} bits, got {bits.size}")
        if np.maximum.reduce(bits.view(np.uint8)) > 1:  # not all 0/1: compare as bits, like the CRC below does
            info = bits[:INFO_BITS]
            if not np.array_equal(crc16(info), bits[INFO_BITS:]):
                raise HeaderError("header CRC mismatch")
            bits = (bits != 0).astype(np.int8)
        word = int.from_bytes(np.packbits(bits).tobytes(), "big") >> (-HEADER_BITS % 8)
        info = word >> 16
        if crc16_int(info, INFO_BITS) != word & 0xFFFF:
            raise HeaderError("header CRC mismatch")
        values, pos = {}, INFO_BITS
        for name, width in FIELDS:
            pos -= width
            values[name] = (info >> pos) & ((1 << width) - 1)
        if values.pop("version") != VERSION:
            raise HeaderError("unknown header version")
        values.pop("reserved")
        values["secure"] = bool(values["secure"])
        values["keyed"] = bool(values["keyed"])
        return cls(**values).check()


def _int_to_bits(value: int, width: int) -> np.ndarray:
    """``value`` (0 <= value < 2**width) as ``width`` bits (int8), most significant first."""
    nbytes = -(-width // 8)
    return np.unpackbits(np.frombuffer(value.to_bytes(nbytes, "big"), np.uint8))[8 * nbytes - width:].view(np.int8)


def segment_plan(n_symbols: int, max_len: int) -> list[tuple[int, int]]:
    """(offset, length) of each segment when a frame of ``n_symbols`` is cut into segments of at
    most ``max_len`` symbols: all of length ``max_len`` but the last."""
    if n_symbols < 1:
        raise ValueError("a frame needs at least one symbol")
    if not 1 <= max_len < 1 << 14:
        raise ValueError(f"segment length must be 1 .. 16383 symbols, got {max_len}")
    count = -(-n_symbols // max_len)
    if count >= 1 << 10:
        raise ValueError(f"{n_symbols} symbols need {count} segments of {max_len}; the header allows 1023")
    return [(i * max_len, min(max_len, n_symbols - i * max_len)) for i in range(count)]
