"""Public-key LWE encryption of quantised DeepJSCC symbols (seed 003's DeepJSCEC: Tung & Gündüz,
"Deep joint source-channel and encryption coding", ICC 2023), a *research reproduction, not vetted
cryptography*.

The cipher is Lindner–Peikert's (CT-RSA 2011, "Better key sizes (and attacks) for LWE-based
encryption") with a packed message: public A in Z_q^{n x n} (expanded from a public seed), Bob's
secret S in {-1,0,1}^{n x L}, error E ~ χ^{n x L}, public key B = A S + E (mod q). Alice, for a
frame of L plaintext symbols m in Z_p, draws r in {-1,0,1}^n, e1 ~ χ^n, e2 ~ χ^L and sends

    c1 = A^T r + e1                  (n elements of Z_q: a digital header, see below)
    c2 = B^T r + e2 + Δ m,  Δ = ⌊q/p⌋ (L elements of Z_q: the payload)

Bob computes c2 - S^T c1 = Δ m + (E^T r + e2 - S^T e1): the plaintext plus a zero-mean error whose
standard deviation :func:`decryption_noise_std` gives (χ: rounded Gaussian of std σ).

The payload travels as phases, c2 -> exp(2πi c2 / q) (a unit-power symbol; Es = 1): arithmetic mod
q is arithmetic on the circle, so Bob's derotation y exp(-2πi (S^T c1) / q) is exact for the integer
S^T c1 and leaves AWGN white. Channel noise and LWE noise then add on the phase and decoding degrades
gracefully, which is the point of DeepJSCEC. (A 4096-QAM grid, what the authors' code configures,
would turn a one-step noise error into a jump of 64 in Z_q; the circle has no such seams.) c1 is
multiplied by S in decryption, so it must arrive exactly: it is a per-frame header of n ⌈log2 q⌉
bits sent digitally (its channel uses are counted in the bandwidth, see :func:`header_bits`).

Parameters (:data:`DEFAULT`): n = 512, q = 4093, p = 16, σ = 3.54. q = 4093 and the width s = 8.87
are the values of the authors' code and of Lindner–Peikert's n = 192 set; LP's s is the Gaussian
*width*, σ = s / √(2π) = 3.54 (the authors' code uses 8.87 as σ, which with n = 192 gives a
decryption noise of std 1,542 in Z_q: uniform phases, nothing decrypts). n = 192 is a toy (primal
uSVP, :func:`core_svp`: 35 bits with ternary secrets); n = 512 gives 127 bits (classical core-SVP)
at a decryption noise of 92.6 (phase std 0.142 rad, an Es/N0 floor of 13.9 dB). Secrets are from
a ChaCha20 stream keyed by Bob's 256-bit key; Alice's per-frame randomness from the OS.
What this does not give: authentication (anyone with the public key can inject frames), IND-CCA
security, or protection of the frame's length and timing.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch

from .keys import Key

_DOMAIN = b"gr-stegsem/lwe/v1"
MAX_SYMBOLS = 1 << 22  # plaintext symbols per frame (a 4096 x 4096 image at 1/12)


@dataclass(frozen=True)
class LWEParams:
    n: int = 512  # LWE dimension
    q: int = 4093  # ciphertext modulus
    p: int = 16  # plaintext modulus (levels of the quantiser)
    sigma: float = 3.54  # std of the rounded-Gaussian errors (LP's width s = 8.87)

    def __post_init__(self):
        if not (isinstance(self.n, int) and 16 <= self.n <= 2048):
            raise ValueError(f"LWE dimension n must be an integer in [16, 2048], got {self.n!r}")
        if not (isinstance(self.q, int) and 17 <= self.q <= 65521):
            raise ValueError(f"ciphertext modulus q must be an integer in [17, 65521], got {self.q!r}")
        if not (isinstance(self.p, int) and 2 <= self.p <= self.q // 4):
            raise ValueError(f"plaintext modulus p must be an integer in [2, q/4], got {self.p!r}")
        if not (isinstance(self.sigma, (int, float)) and 0.5 <= self.sigma <= 64):
            raise ValueError(f"error std sigma must be in [0.5, 64], got {self.sigma!r}")

    @property
    def delta(self) -> int:
        return self.q // self.p

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT = LWEParams()


def quantise_phase(v: torch.Tensor, params: LWEParams) -> tuple[torch.Tensor, torch.Tensor]:
    """Complex symbols (B, k) -> (plaintext m in Z_p (B, k) int64, the phase 2π Δ m / q it decrypts to)."""
    m = torch.round(torch.angle(v) * (params.p / (2 * math.pi))).long() % params.p
    return m, m.double().mul(2 * math.pi * params.delta / params.q).float()


def decryption_noise_std(params: LWEParams = DEFAULT) -> float:
    """Std (Z_q units) of E^T r + e2 - S^T e1 with ternary S, r (variance 2/3) and rounded-Gaussian
    errors (variance σ^2 + 1/12): sqrt(s2 (1 + 4n/3))."""
    s2 = params.sigma ** 2 + 1 / 12
    return math.sqrt(s2 * (1 + 4 * params.n / 3))


def phase_noise_std(params: LWEParams = DEFAULT) -> float:
    """The decryption noise as a phase (rad) of the payload symbols."""
    return 2 * math.pi * decryption_noise_std(params) / params.q


def header_bits(params: LWEParams = DEFAULT) -> int:
    """Bits of c1 per frame: n elements of ⌈log2 q⌉ bits."""
    return params.n * math.ceil(math.log2(params.q))


def _delta_bkz(beta: int) -> float:
    """Root-Hermite factor of BKZ-β (Chen's formula, as in ADPS16)."""
    return ((math.pi * beta) ** (1 / beta) * beta / (2 * math.pi * math.e)) ** (1 / (2 * (beta - 1)))


@lru_cache(maxsize=64)
def core_svp(params: LWEParams = DEFAULT) -> dict:
    """Primal-uSVP block size and core-SVP cost of recovering S from (A, B) (Alkim, Ducas, Pöppelmann,
    Schwabe, "Post-quantum key exchange -- a new hope", USENIX Security 2016, sec. 6: the smallest β
    with σ sqrt(β) <= δ_β^(2β-d-1) (q^m ν^n)^(1/d), d = n + m + 1, over m <= n samples, the secret
    rescaled by ν = σ/σ_s; cost 2^(0.292 β) classical, 2^(0.265 β) quantum). An estimate of the
    best known attack of its kind, not the lattice-estimator's full analysis (no dual or hybrid
    attacks; hybrid attacks matter for sparse ternary secrets, and these are dense)."""
    n, q = params.n, params.q
    sig = math.sqrt(params.sigma ** 2 + 1 / 12)
    nu = sig / math.sqrt(2 / 3)
    for beta in range(40, 4 * n):
        lhs = sig * math.sqrt(beta)
        for m in range(max(1, n // 8), n + 1, 2):
            d = n + m + 1
            if lhs <= _delta_bkz(beta) ** (2 * beta - d - 1) * math.exp((m * math.log(q) + n * math.log(nu)) / d):
                return {"beta": beta, "samples": m, "classical_bits": round(0.292 * beta, 1),
                        "quantum_bits": round(0.265 * beta, 1)}
    return {"beta": None, "samples": None, "classical_bits": float("inf"), "quantum_bits": float("inf")}


# --- deterministic streams --------------------------------------------------------------------------
def _stream(seed: bytes, label: bytes, nbytes: int) -> np.ndarray:
    """``nbytes`` of ChaCha20 keystream (RFC 8439, ``cryptography``) under HMAC-SHA256(seed, label)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    k = hmac.new(seed, _DOMAIN + label, hashlib.sha256).digest()
    enc = Cipher(algorithms.ChaCha20(k, bytes(16)), mode=None).encryptor()
    return np.frombuffer(enc.update(bytes(nbytes)), dtype=np.uint8)


def _uniform_mod(seed: bytes, label: bytes, count: int, q: int) -> np.ndarray:
    """``count`` uniform values of Z_q by rejection from 16-bit words (masked to ⌈log2 q⌉ bits)."""
    bits = math.ceil(math.log2(q))
    out = np.empty(0, dtype=np.int64)
    extra = 0
    while out.size < count:
        need = int((count - out.size) * (1 << bits) / q * 1.02) + 64
        w = _stream(seed, label + extra.to_bytes(4, "little"), 2 * need).view("<u2").astype(np.int64)
        w &= (1 << bits) - 1
        out = np.concatenate([out, w[w < q]])
        extra += 1
    return out[:count]


def _ternary(stream: np.ndarray, count: int) -> np.ndarray:
    """Uniform values of {-1, 0, 1} from bytes by rejection (bytes >= 255 dropped)."""
    b = stream[stream < 255][:count]
    if b.size < count:
        raise RuntimeError("keystream too short for the ternary values")  # 1 in 2^-big: stream is 2x
    return b.astype(np.int64) % 3 - 1


def _gaussian(stream: np.ndarray, count: int, sigma: float) -> np.ndarray:
    """Rounded Gaussian values of std sigma from 2*count 32-bit words, pairwise (Box–Muller)."""
    w = stream[: 8 * count].view("<u4").astype(np.float64)  # interleaved pairs: a prefix of a longer draw
    u1 = (w[0::2] + 1.0) / 4294967297.0
    u2 = w[1::2] / 4294967296.0
    return np.rint(sigma * np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2)).astype(np.int64)


@dataclass(frozen=True)
class PublicKey:
    """(seed of A, B = A S + E mod q) for frames of up to ``B.shape[1]`` plaintext symbols."""

    params: LWEParams
    seed: bytes  # 32 bytes, public: expands to A
    b: np.ndarray  # (n, L) int64 in [0, q)

    @property
    def max_symbols(self) -> int:
        return int(self.b.shape[1])

    @property
    def a(self) -> np.ndarray:
        return _public_a(self.seed, self.params)


@lru_cache(maxsize=4)
def _public_a(seed: bytes, params: LWEParams) -> np.ndarray:
    n = params.n
    return _uniform_mod(seed, b"A", n * n, params.q).reshape(n, n)


class SecretKey:
    """Bob's secret: S (n x L, ternary) and the public key, both derived from a 256-bit :class:`Key`
    (so one key file serves any frame size). Its repr never shows the key."""

    def __init__(self, key: Key, params: LWEParams = DEFAULT):
        self.key, self.params = key, params
        self.seed = hmac.new(key._b, _DOMAIN + b"public-seed", hashlib.sha256).digest()
        self._s: dict[int, np.ndarray] = {}
        self._pk: dict[int, PublicKey] = {}

    def __repr__(self) -> str:
        return f"SecretKey({self.key!r}, n={self.params.n}, q={self.params.q})"

    def s(self, length: int) -> np.ndarray:
        """S (n, length) in {-1, 0, 1}; column j depends only on j (a prefix of a longer S)."""
        _check_length(length)
        if length not in self._s:
            n = self.params.n
            self._s = {length: _ternary(_stream(self.key._b, b"S", 2 * n * length + 4096), n * length)
                       .reshape(length, n).T.copy()}
        return self._s[length]

    def public(self, length: int) -> PublicKey:
        """The public key for frames of ``length`` plaintext symbols."""
        if length not in self._pk:
            p = self.params
            e = _gaussian(_stream(self.key._b, b"E", 8 * p.n * length), p.n * length, p.sigma).reshape(length, p.n).T
            a = _public_a(self.seed, p)
            b = (_matmul(a, self.s(length)) + e) % p.q
            self._pk = {length: PublicKey(p, self.seed, b)}
        return self._pk[length]


def _check_length(length: int) -> None:
    if not (isinstance(length, (int, np.integer)) and 1 <= length <= MAX_SYMBOLS):
        raise ValueError(f"an LWE frame holds 1 to {MAX_SYMBOLS} plaintext symbols, got {length!r}")


def _matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Exact integer product of small-entry matrices through float64 BLAS (|entries| < 2^16, inner
    dimension <= 2048: every partial sum is below 2^53)."""
    return np.rint(x.astype(np.float64) @ y.astype(np.float64)).astype(np.int64)


def encrypt(pk: PublicKey, m: np.ndarray, seed: bytes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Plaintext m (F, L) in Z_p -> (c1 (F, n), c2 (F, L)) in Z_q; fresh randomness per frame from
    the OS, or from ``seed`` (32 bytes; reproducible runs) with a label per frame."""
    p = pk.params
    m = np.asarray(m)
    if m.ndim != 2 or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"plaintext must be an integer array (frames, symbols), got {m.dtype} {m.shape}")
    frames, length = m.shape
    if length > pk.max_symbols:
        raise ValueError(f"frame of {length} symbols exceeds this public key's {pk.max_symbols}")
    if m.size and (m.min() < 0 or m.max() >= p.p):
        raise ValueError(f"plaintext symbols must be in [0, {p.p}), got [{m.min()}, {m.max()}]")
    seed = secrets.token_bytes(32) if seed is None else seed
    n = p.n
    c1 = np.empty((frames, n), dtype=np.int64)
    c2 = np.empty((frames, length), dtype=np.int64)
    a, b = pk.a, pk.b[:, :length]
    for f in range(frames):
        lab = f.to_bytes(4, "little")
        r = _ternary(_stream(seed, b"r" + lab, 2 * n + 1024), n)
        e = _gaussian(_stream(seed, b"e" + lab, 8 * (n + length)), n + length, p.sigma)
        c1[f] = (_matmul(a.T, r[:, None])[:, 0] + e[:n]) % p.q
        c2[f] = (_matmul(b.T, r[:, None])[:, 0] + e[n:] + p.delta * m[f]) % p.q
    return c1, c2


def decrypt(sk: SecretKey, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
    """Exact-arithmetic decryption (F, L) -> plaintext in Z_p (nearest multiple of Δ)."""
    mask = unmask(sk, c1, c2.shape[1])
    d = (c2 - mask) % sk.params.q
    return np.rint(d / sk.params.delta).astype(np.int64) % sk.params.p


def unmask(sk: SecretKey, c1: np.ndarray, length: int) -> np.ndarray:
    """S^T c1 mod q (F, L): what Bob subtracts from the payload (as a phase: the derotation)."""
    c1 = np.asarray(c1)
    if c1.ndim != 2 or c1.shape[1] != sk.params.n:
        raise ValueError(f"c1 must hold {sk.params.n} elements per frame, got shape {c1.shape}")
    if c1.size and (c1.min() < 0 or c1.max() >= sk.params.q):
        raise ValueError(f"c1 elements must be in [0, {sk.params.q})")
    return _matmul(c1, sk.s(length)) % sk.params.q


def to_phase(c: np.ndarray, q: int) -> torch.Tensor:
    """Z_q elements -> unit-power symbols exp(2πi c / q) (complex64 tensor)."""
    ang = torch.as_tensor(np.asarray(c, dtype=np.float64) * (2 * math.pi / q))
    return torch.polar(torch.ones_like(ang), ang).to(torch.complex64)


def pack_c1(c1: np.ndarray, params: LWEParams = DEFAULT) -> bytes:
    """c1 (n,) -> bytes, 16-bit little-endian per element (the header's payload)."""
    c1 = np.asarray(c1)
    if c1.shape != (params.n,):
        raise ValueError(f"c1 must hold {params.n} elements, got shape {c1.shape}")
    return c1.astype("<u2").tobytes()


def unpack_c1(raw: bytes, params: LWEParams = DEFAULT) -> np.ndarray:
    """The inverse of :func:`pack_c1`; ValueError for a wrong length or an element >= q."""
    if not isinstance(raw, (bytes, bytearray)) or len(raw) != 2 * params.n:
        got = len(raw) if isinstance(raw, (bytes, bytearray)) else type(raw).__name__
        raise ValueError(f"an LWE header holds {2 * params.n} bytes (n = {params.n}), got {got}")
    c1 = np.frombuffer(bytes(raw), dtype="<u2").astype(np.int64)
    if c1.max() >= params.q:
        raise ValueError(f"LWE header element {int(c1.max())} is not below q = {params.q}")
    return c1


# --- public key files ------------------------------------------------------------------------------
def write_public(path, pk: PublicKey) -> None:
    """Write a public key: PATH (safetensors: 'b', int16 (n, L)) with params and A's seed in its metadata.
    Public: it may be published (Kerckhoffs: Eve has it too)."""
    from safetensors.numpy import save_file

    meta = {"kind": "lwe-public-key", "seed": pk.seed.hex(), **{k: str(v) for k, v in pk.params.to_dict().items()}}
    save_file({"b": pk.b.astype(np.int16)}, str(path), metadata=meta)


def read_public(path) -> PublicKey:
    """Read a public key written by :func:`write_public`; the header is checked (kind, parameters,
    shape within bounds) before the matrix is loaded. ValueError names the problem."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
            if meta.get("kind") != "lwe-public-key":
                raise ValueError(f"{path} is not an LWE public key (kind {meta.get('kind')!r})")
            try:
                params = LWEParams(n=int(meta["n"]), q=int(meta["q"]), p=int(meta["p"]), sigma=float(meta["sigma"]))
                seed = bytes.fromhex(meta["seed"])
            except (KeyError, ValueError, TypeError) as e:
                raise ValueError(f"{path}: bad LWE public key parameters ({e})") from None
            if len(seed) != 32 or set(f.keys()) != {"b"}:
                raise ValueError(f"{path}: an LWE public key holds a 32-byte seed and one matrix 'b'")
            sl = f.get_slice("b")
            shape = tuple(sl.get_shape())
            if sl.get_dtype() != "I16" or len(shape) != 2 or shape[0] != params.n or not 1 <= shape[1] <= MAX_SYMBOLS:
                raise ValueError(f"{path}: matrix 'b' is {sl.get_dtype()} {shape}, expected int16 ({params.n}, L)"
                                 f" with L <= {MAX_SYMBOLS}")
            b = f.get_tensor("b").astype(np.int64)
    except FileNotFoundError:
        raise ValueError(f"LWE public key {path} not found (make one with 'stegsem keygen --lwe-public')") from None
    except (SafetensorError, OSError) as e:
        raise ValueError(f"{path}: cannot read the LWE public key ({str(e).splitlines()[0] if str(e) else e})") from None
    if b.min() < 0 or b.max() >= params.q:
        raise ValueError(f"{path}: public key entries must be in [0, {params.q})")
    return PublicKey(params, seed, b)
