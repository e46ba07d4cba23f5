"""Header protection: CRC-16, a rate-1/2 convolutional code with soft Viterbi decoding, bit packing.

The code is the K = 7 code with generators 133/171 (octal) of IEEE 802.11a (and of DVB, CCSDS),
terminated with K - 1 zero tail bits so that decoding ends in state 0. Soft inputs are log-likelihood
ratios, LLR = log P(bit = 0) / P(bit = 1) (positive means 0; BPSK maps 0 -> +1, 1 -> -1).
Pure numpy; no GNU Radio.
"""
from __future__ import annotations

import numpy as np

K = 7  # constraint length
STATES = 1 << (K - 1)
GENERATORS = (0o133, 0o171)
TAIL = K - 1


def _parity(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    p = np.zeros_like(x)
    while np.any(x):
        p ^= x & 1
        x >>= 1
    return p


def _tables() -> np.ndarray:
    """OUT[state, bit, j]: coded bit j for input ``bit`` in ``state`` (state = last K-1 inputs,
    newest in bit 0). The 7-bit register (newest input in bit 6 for the generator mask) is
    ``bit << 6 | state reversed`` -- we use the mirrored convention consistently in both directions."""
    s = np.arange(STATES)[:, None]
    b = np.arange(2)[None, :]
    reg = (b << (K - 1)) | s  # newest input at the MSB of the generator mask, oldest at bit 0
    return np.stack([_parity(reg & g) for g in GENERATORS], axis=-1).astype(np.int8)


OUT = _tables()
SIGN = (1 - 2 * OUT).astype(np.float64)  # BPSK image of each coded bit: 0 -> +1, 1 -> -1


def _next(state: np.ndarray, bit) -> np.ndarray:
    return (state >> 1) | (np.asarray(bit) << (K - 2))


def conv_encode(bits: np.ndarray) -> np.ndarray:
    """Rate-1/2 encoding of ``bits`` (0/1) plus the K-1 tail: 2 * (len + 6) coded bits.

    Each coded stream is the input convolved (mod 2) with its generator's taps: output j at step i
    is the parity of the inputs i - d (d = 0 .. K-1) whose generator bit K-1-d is set (the register of
    :func:`_tables`)."""
    bits = np.concatenate([np.asarray(bits, np.int64).reshape(-1), np.zeros(TAIL, np.int64)])
    out = np.empty((bits.size, 2), np.int8)
    for j, g in enumerate(GENERATORS):
        taps = (g >> (K - 1 - np.arange(K))) & 1
        out[:, j] = np.convolve(bits, taps)[:bits.size] & 1
    return out.reshape(-1)


# predecessors of each next state: next = (s >> 1) | (b << 5)  =>  b = next >> 5, s = (next << 1 | lsb) & 63
_NEXT = np.arange(STATES)
_BIT = _NEXT >> (K - 2)
_PREV = np.stack([((_NEXT << 1) | lsb) & (STATES - 1) for lsb in (0, 1)], axis=0)  # (2, STATES)
_SIGN_IN = SIGN[_PREV, _BIT[None, :]]  # (2, STATES, 2): BPSK image of the transition _PREV[i, s] -> s


def viterbi_decode(llr: np.ndarray, n_bits: int) -> np.ndarray:
    """Soft-decision Viterbi: ``llr`` of the 2 * (n_bits + 6) coded bits -> the n_bits data bits.

    The branch metrics of every step are computed at once; per step only the add-compare-select
    runs (ties keep the predecessor with lsb 0)."""
    llr = np.asarray(llr, np.float64).reshape(-1)
    steps = n_bits + TAIL
    if llr.size != 2 * steps:
        raise ValueError(f"expected {2 * steps} coded LLRs for {n_bits} bits, got {llr.size}")
    # branch[t, i, s]: metric of the transition from _PREV[i, s] = (2 s + i) mod 64 into state s at step
    # t. States s and s + 32 share their two predecessors 2 s' + i (s' = s mod 32): a butterfly, run on
    # fixed views -- the (i, j) view of the metrics is metric[2 j + i], broadcast over the two halves
    branch = list((llr.reshape(steps, 2) @ _SIGN_IN.reshape(-1, 2).T).reshape(steps, 2, 2, STATES // 2))
    metric = np.full(STATES, -np.inf)
    metric[0] = 0.0
    by_pred = metric.reshape(STATES // 2, 2).T[:, None, :]  # (i, 1, j) -> metric[2 j + i]
    new = metric.reshape(2, STATES // 2)  # (half, j) -> state half * 32 + j
    choice = np.empty((steps, STATES), bool)  # True: the predecessor with lsb 1 won
    rows = list(choice.reshape(steps, 2, STATES // 2))
    cand = np.empty((2, 2, STATES // 2))
    lo, hi = cand
    add, greater, maximum = np.add, np.greater, np.maximum
    for t in range(steps):
        add(by_pred, branch[t], out=cand)
        greater(hi, lo, out=rows[t])
        maximum(lo, hi, out=new)
    state = 0  # terminated
    bits = [0] * steps
    flat = choice.reshape(-1)
    for t in range(steps - 1, -1, -1):  # state s came from _PREV[c, s] = (2 s + c) mod 64 on input bit s >> 5
        bits[t] = state >> (K - 2)
        state = ((state << 1) | int(flat[t * STATES + state])) & (STATES - 1)
    return np.array(bits[:n_bits], np.int8)


def _crc_table() -> list[int]:
    """CRC-16/CCITT register update for each byte (MSB-first bits) fed into a register whose top byte
    is XORed with it: the bitwise algorithm of :func:`crc16` run over 8 bits."""
    table = []
    for byte in range(256):
        reg = byte << 8
        for _ in range(8):
            reg = ((reg << 1) ^ 0x1021 if reg & 0x8000 else reg << 1) & 0xFFFF
        table.append(reg)
    return table


_CRC_TABLE = _crc_table()


def crc16(bits: np.ndarray) -> np.ndarray:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of a bit sequence, as 16 bits (MSB first).
    Whole bytes go through a 256-entry table, the bits left over one at a time."""
    bits = np.asarray(bits, np.int64).reshape(-1)
    whole = bits.size - bits.size % 8
    reg = 0xFFFF
    for byte in np.packbits(bits[:whole].astype(np.uint8)).tolist():
        reg = ((reg << 8) & 0xFFFF) ^ _CRC_TABLE[(reg >> 8) ^ byte]
    for b in bits[whole:].tolist():
        fb = ((reg >> 15) & 1) ^ int(b)
        reg = (reg << 1) & 0xFFFF
        if fb:
            reg ^= 0x1021
    return int_to_bits(reg, 16)


def int_to_bits(value: int, width: int) -> np.ndarray:
    """``value`` as ``width`` bits, most significant first; ValueError when it does not fit."""
    value = int(value)
    if value < 0 or value >= 1 << width:
        raise ValueError(f"{value} does not fit in {width} bits")
    if width == 0:
        return np.zeros(0, np.int8)
    return (np.frombuffer(format(value, f"0{width}b").encode(), np.uint8) - ord("0")).astype(np.int8)


def bits_to_int(bits: np.ndarray) -> int:
    """Bits (most significant first) -> the non-negative integer they spell (0 for none)."""
    bits = np.asarray(bits).reshape(-1).tolist()
    return int("".join("1" if b else "0" for b in bits), 2) if bits else 0
