"""The PHY's digital section: bytes of a frame that must arrive exactly (DeepJSCEC's LWE header c1,
meta ``lwe_c1``), sent in segments of their own ahead of the frame's analog segments.

Pure numpy (no GNU Radio). The bytes are read as little-endian 16-bit words (c1: n elements of
Z_q), each sent in ``word_bits`` bits (12 when every word is below 4096, as for q = 4093, else 16),
MSB first, followed by a CRC-16 (:func:`.fec.crc16`), rate-1/2 K = 7 convolutional coding
(:func:`.fec.conv_encode`) and QPSK (Gray: bit pair (b0, b1) -> ((1 - 2 b0) + i (1 - 2 b1)) / √2,
unit power), the symbols then cut into segments like any frame's (:func:`.segments.split`:
interleaved, the same burst format). For c1 of n = 512: 6,144 bits, 6,166 QPSK symbols (+2 of padding).

A digital section's segment header describes no image: ``height`` = 0 (:data:`DIGITAL`; an image
frame is at least 4 px high), ``width`` = the number of words, ``latent_c`` = 2 ``word_bits`` and
``latent_h`` x ``latent_w`` large enough for the symbols; frame_id, secure, keyed and nonce are the
frame's, so the receiver pairs the section with its frame by (frame_id, nonce). The receiver decodes
it with soft Viterbi (lost symbols are erasures, LLR 0) and accepts it only when the CRC matches;
a frame whose section is lost or fails arrives without ``lwe_c1``.
"""
from __future__ import annotations

import math

import numpy as np

from .fec import TAIL, conv_encode, crc16, viterbi_decode
from .segments import Frame, FrameInfo, split

DIGITAL = 0  # header 'height' of a digital section
MAX_WORDS = (1 << 12) - 1  # the header's 'width' field
MAX_SIDE = (1 << 10) - 1  # latent_h / latent_w fields


def word_bits(words: np.ndarray) -> int:
    """Bits per word: 12 when every word is below 4096, else 16."""
    return 12 if words.size == 0 or int(words.max()) < 4096 else 16


def _coded_symbols(n_words: int, bits: int) -> int:
    """QPSK symbols of n_words words: (n_words * bits + 16 CRC + 6 tail) coded bits pairs."""
    return n_words * bits + 16 + TAIL


def _latent(n_words: int, bits: int) -> tuple[int, int, int]:
    k = -(-_coded_symbols(n_words, bits) // bits)  # latent positions: C/2 = bits symbols each
    h = -(-k // MAX_SIDE)
    return 2 * bits, h, -(-k // h)


def encode(raw: bytes) -> tuple[np.ndarray, tuple[int, int, int], int]:
    """Bytes (an even number, at most 2 * 4095) -> (QPSK symbols complex64 padded to the section's
    latent, the latent (C, h, w), the number of words). ValueError naming the problem."""
    raw = bytes(raw)
    if not raw or len(raw) % 2 or len(raw) // 2 > MAX_WORDS:
        raise ValueError(f"a digital section holds 1 to {MAX_WORDS} 16-bit words (an even number of bytes), "
                         f"got {len(raw)} bytes")
    words = np.frombuffer(raw, "<u2").astype(np.int64)
    b = word_bits(words)
    bits = ((words[:, None] >> np.arange(b - 1, -1, -1)) & 1).astype(np.int8).reshape(-1)
    coded = conv_encode(np.concatenate([bits, crc16(bits)])).reshape(-1, 2)
    sym = ((1 - 2 * coded[:, 0]) + 1j * (1 - 2 * coded[:, 1])) / math.sqrt(2)
    latent = _latent(words.size, b)
    out = np.zeros(latent[0] // 2 * latent[1] * latent[2], np.complex64)
    out[:sym.size] = sym
    return out, latent, int(words.size)


def segments(frame_id: int, secure: bool, nonce, raw: bytes, seg_len: int):
    """(header, symbols) of each segment of the digital section of frame ``frame_id`` (its nonce,
    None when not keyed)."""
    sym, latent, n = encode(raw)
    return split(FrameInfo(frame_id, DIGITAL, n, latent, bool(secure), nonce), sym, seg_len)


def is_digital(header) -> bool:
    """True for a digital section's segment header."""
    return header.height == DIGITAL


def decode(frame: Frame) -> bytes | None:
    """A reassembled digital section -> its bytes, or None when its words do not fit its latent or
    the CRC fails (too many symbols lost or wrong)."""
    i = frame.info
    b, n = i.latent[0] // 2, i.width
    m = _coded_symbols(n, b)
    if b not in (12, 16) or n < 1 or _latent(n, b) != tuple(i.latent) or frame.symbols.size < m:
        return None
    y = np.asarray(frame.symbols[:m], np.complex128) * np.asarray(frame.valid[:m], np.float64)
    llr = np.stack([y.real, y.imag], 1).reshape(-1)  # positive: bit 0 (max-sum Viterbi: any scale)
    info = viterbi_decode(llr, n * b + 16)
    bits, crc = info[:n * b], info[n * b:]
    if not np.array_equal(crc16(bits), crc):
        return None
    words = (bits.reshape(n, b).astype(np.int64) << np.arange(b - 1, -1, -1)).sum(1)
    return words.astype("<u2").tobytes()
