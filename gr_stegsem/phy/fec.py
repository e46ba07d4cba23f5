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


_TAPS = [(g >> (K - 1 - np.arange(K))) & 1 for g in GENERATORS]  # tap d: input i - d enters output i
_LANES = _TAPS[0] + 8 * _TAPS[1]  # both generators in one convolution: sums of <= 7 ones fit 3 bits


def conv_encode(bits: np.ndarray) -> np.ndarray:
    """Rate-1/2 encoding of ``bits`` (0/1) plus the K-1 tail: 2 * (len + 6) coded bits.

    Each coded stream is the input convolved (mod 2) with its generator's taps: output j at step i
    is the parity of the inputs i - d (d = 0 .. K-1) whose generator bit K-1-d is set (the register of
    :func:`_tables`). Both streams come from one integer convolution, generator 1's sums in bits 3..5."""
    bits = np.asarray(bits, np.int64).reshape(-1)
    if bits.size == 0:
        return np.zeros(2 * TAIL, np.int8)  # the tail alone
    both = np.convolve(bits, _LANES)  # len + K - 1 = len + TAIL steps: the tail's zeros flush the register
    out = np.empty((both.size, 2), np.int8)
    out[:, 0] = both & 1
    out[:, 1] = (both >> 3) & 1
    return out.reshape(-1)


# predecessors of each next state: next = (s >> 1) | (b << 5)  =>  b = next >> 5, s = (next << 1 | lsb) & 63
_NEXT = np.arange(STATES)
_BIT = _NEXT >> (K - 2)
_PREV = np.stack([((_NEXT << 1) | lsb) & (STATES - 1) for lsb in (0, 1)], axis=0)  # (2, STATES)
_SIGN_IN = SIGN[_PREV, _BIT[None, :]]  # (2, STATES, 2): BPSK image of the transition _PREV[i, s] -> s


def _gf2_mul(a: int, b: int) -> int:
    """Product of two polynomials over GF(2) (bit d = coefficient of D^d)."""
    out = 0
    while b:
        if b & 1:
            out ^= a
        a, b = a << 1, b >> 1
    return out


def _gf2_inverse_pair() -> tuple[int, int, int, int]:
    """The generators g0, g1 as delay polynomials over GF(2) (bit d = the coefficient of D^d, the tap
    on input i - d of :func:`conv_encode`) and polynomials a, b with a g0 + b g1 = 1 (extended Euclid;
    the generators are coprime -- the code is not catastrophic): then u = a c0 + b c1 for the codeword
    (c0, c1) = (u g0, u g1) of u."""
    g0, g1 = (sum(((g >> (K - 1 - d)) & 1) << d for d in range(K)) for g in GENERATORS)
    r0, r1, s0, s1, t0, t1 = g0, g1, 1, 0, 0, 1
    while r1:
        q, r = 0, r0
        while r and r.bit_length() >= r1.bit_length():  # polynomial division r0 / r1
            shift = r.bit_length() - r1.bit_length()
            q |= 1 << shift
            r ^= r1 << shift
        r0, r1, s0, s1, t0, t1 = r1, r, s1, s0 ^ _gf2_mul(q, s1), t1, t0 ^ _gf2_mul(q, t1)
    if r0 != 1:
        raise ValueError("the generators have a common factor: the code is catastrophic")
    return g0, g1, s0, t0


_G0, _G1, _INV0, _INV1 = _gf2_inverse_pair()


def _stream_int(bits: np.ndarray) -> int:
    """A 0/1 (or bool) sequence as an integer, element i in bit i."""
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def hard_codeword(llr: np.ndarray, n_bits: int) -> np.ndarray | None:
    """The n_bits data bits when the hard decisions of ``llr`` (2 * (n_bits + 6) coded LLRs) already
    form a terminated codeword, else None.

    That codeword then maximises sum(llr * (1 - 2 c)) over all bit sequences c, so it is the
    maximum-likelihood decision, the one the Viterbi decoder returns: with every |LLR| above 1e-12 of
    their sum, any other path into a state on it scores at least 2 * 10 (the free distance) * min |LLR|
    less, far beyond the rounding of the path metrics, so no survivor on it is a tie or a rounding
    accident. The streams are integers (bit i = step i), the data bits come from the pseudo-inverse
    a c0 + b c1 (:func:`_gf2_inverse_pair`) and are checked by re-encoding them."""
    mag = np.abs(llr)
    if not np.minimum.reduce(mag) > 1e-12 * np.add.reduce(mag):  # also False for NaN or Inf
        return None
    hard = llr < 0
    c0, c1 = _stream_int(hard[0::2]), _stream_int(hard[1::2])
    u = (_gf2_mul(c0, _INV0) ^ _gf2_mul(c1, _INV1)) & ((1 << n_bits) - 1)
    if _gf2_mul(u, _G0) != c0 or _gf2_mul(u, _G1) != c1:
        return None
    raw = np.frombuffer(u.to_bytes(max(1, -(-n_bits // 8)), "little"), np.uint8)
    return np.unpackbits(raw, count=n_bits, bitorder="little").view(np.int8)


def decode(llr: np.ndarray, n_bits: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`viterbi_decode`, and the codeword of its bits (:func:`conv_encode`; where the hard
    decisions are that codeword, those)."""
    llr = np.asarray(llr, np.float64).reshape(-1)
    steps = n_bits + TAIL
    if llr.size != 2 * steps:
        raise ValueError(f"expected {2 * steps} coded LLRs for {n_bits} bits, got {llr.size}")
    bits = hard_codeword(llr, n_bits)
    if bits is not None:
        return bits, (llr < 0).view(np.int8)
    bits = _trellis(llr, n_bits)
    return bits, conv_encode(bits)


def viterbi_decode(llr: np.ndarray, n_bits: int) -> np.ndarray:
    """Soft-decision Viterbi: ``llr`` of the 2 * (n_bits + 6) coded bits -> the n_bits data bits.

    When the hard decisions already form a codeword, that is the answer (:func:`hard_codeword`: the
    same bits as the trellis, without it). Otherwise the branch metrics of every step are computed at
    once and per step only the add-compare-select runs (ties keep the predecessor with lsb 0)."""
    llr = np.asarray(llr, np.float64).reshape(-1)
    steps = n_bits + TAIL
    if llr.size != 2 * steps:
        raise ValueError(f"expected {2 * steps} coded LLRs for {n_bits} bits, got {llr.size}")
    bits = hard_codeword(llr, n_bits)
    return bits if bits is not None else _trellis(llr, n_bits)


def _trellis(llr: np.ndarray, n_bits: int) -> np.ndarray:
    """The add-compare-select and traceback of :func:`viterbi_decode` (float64 LLRs of the right size)."""
    steps = n_bits + TAIL
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
    (:func:`crc16_int` of the bits read as one integer: whole bytes by table, the rest bit by bit)."""
    bits = np.asarray(bits).reshape(-1)
    return int_to_bits(crc16_int(bits_to_int(bits), bits.size), 16)


def crc16_int(value: int, n_bits: int) -> int:
    """:func:`crc16` of the ``n_bits`` bits of the integer ``value`` (most significant first), as an int."""
    whole, rest = divmod(n_bits, 8)
    reg = 0xFFFF
    for byte in (value >> rest).to_bytes(whole, "big"):
        reg = ((reg << 8) & 0xFFFF) ^ _CRC_TABLE[(reg >> 8) ^ byte]
    for i in range(rest - 1, -1, -1):
        fb = ((reg >> 15) & 1) ^ ((value >> i) & 1)
        reg = (reg << 1) & 0xFFFF
        if fb:
            reg ^= 0x1021
    return reg


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
