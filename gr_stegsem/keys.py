"""Shared secret keys and the per-frame keyed transform derived from them.

A key is 256 random bits shared by Alice and Bob, stored as 64 hex digits in a file that only its
owner can read (``stegsem keygen``). Every frame carries a public 64-bit nonce, never reused under
one key. From (key, nonce) a standard primitive derives the frame's secret transform:

    k_frame   = HMAC-SHA256(key, "gr-stegsem/keyed-latent/v1" || n || nonce)       (RFC 2104)
    stream    = ChaCha20(k_frame, counter 0, nonce 0)  (RFC 8439; ``cryptography``'s implementation)
    perm      = argsort of the first n 64-bit words of ``stream``     (a uniform permutation of n)
    signs     = the next n bits of ``stream`` (bit 1 -> -1)

and the transform of a real latent vector v (length n) is T(v) = signs * v[perm], its inverse
T^-1(u)[perm] = signs * u. T is orthogonal: it keeps the power constraint and leaves AWGN white, so
Bob's noise after T^-1 is the noise he had before it.

What it protects: without the key, the latent Eve extracts (even with every shipped weight) is one of
n! 2^n arrangements, a fresh one per frame under a pseudo-random function, so pairs of *other* frames
(known or chosen plaintexts) tell her nothing about this one. What it does not: the multiset of
|values| (the latent's magnitude histogram) is unchanged; a reused nonce reuses the transform (one
known pair under it then decodes every frame with it: replay and nonce reuse are the receivers' job,
which drop repeated nonces); a compromised key opens every past and future frame (no forward
secrecy); nothing is authenticated (an active attacker can inject frames). argsort of 64-bit words
has a tie with probability below n^2 / 2^65 (3e-11 at n = 32,768), the only departure from uniform.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import numpy as np

KEY_BYTES = 32
NONCE_MAX = 2**64 - 1
_DOMAIN = b"gr-stegsem/keyed-latent/v1"
_HEX = re.compile(r"[0-9a-fA-F]{64}")


class BadKey(ValueError):
    """A key that cannot be used: the message names the problem, never the key's value."""


class Key:
    """A 256-bit secret. Its repr and str never show the value (keys must not reach logs)."""

    __slots__ = ("_b",)

    def __init__(self, raw: bytes):
        if not isinstance(raw, (bytes, bytearray)) or len(raw) != KEY_BYTES:
            n = len(raw) if isinstance(raw, (bytes, bytearray)) else type(raw).__name__
            raise BadKey(f"a key is {KEY_BYTES} bytes (256 bits), got {n}")
        self._b = bytes(raw)

    @classmethod
    def generate(cls) -> "Key":
        return cls(secrets.token_bytes(KEY_BYTES))

    @classmethod
    def from_hex(cls, text: str) -> "Key":
        t = "".join(text.split())
        if not _HEX.fullmatch(t):
            raise BadKey(f"a key is 64 hex digits (256 bits), got {len(t)} characters"
                            + ("" if re.fullmatch(r"[0-9a-fA-F]*", t) else " that are not all hex digits"))
        return cls(bytes.fromhex(t))

    def hex(self) -> str:
        return self._b.hex()

    def fingerprint(self) -> str:
        """8 hex digits that identify the key without revealing it (SHA-256 of a domain-separated input)."""
        return hashlib.sha256(b"gr-stegsem/key-fingerprint/v1" + self._b).hexdigest()[:8]

    def __repr__(self) -> str:
        return f"Key(fingerprint {self.fingerprint()})"

    __str__ = __repr__

    def __eq__(self, other) -> bool:
        return isinstance(other, Key) and hmac.compare_digest(self._b, other._b)

    def __hash__(self) -> int:
        return hash(self.fingerprint())


def load_key(source) -> Key:
    """A :class:`Key` from a Key, a key file path (64 hex digits) or, for the API, a 64-hex-digit string.

    Errors name the file and the problem, never the file's content."""
    if isinstance(source, Key):
        return source
    if source is None or source == "":
        raise BadKey("no key given: this scheme needs a 256-bit key file (make one with 'stegsem keygen FILE')")
    s = str(source)
    if _HEX.fullmatch("".join(s.split())) and not Path(s).exists():
        return Key.from_hex(s)
    p = Path(s)
    try:
        if p.stat().st_size > 4096:
            raise BadKey(f"key file {p} is {p.stat().st_size} bytes, not a key (64 hex digits)")
        text = p.read_text("ascii")
    except BadKey:
        raise
    except FileNotFoundError:
        raise BadKey(f"key file {p} not found (make one with 'stegsem keygen {p}')") from None
    except (OSError, UnicodeDecodeError) as e:
        raise BadKey(f"key file {p} cannot be read: {getattr(e, 'strerror', None) or type(e).__name__}") from None
    try:
        return Key.from_hex(text)
    except BadKey as e:
        raise BadKey(f"key file {p}: {e}") from None


def write_key(path, key: Key | None = None, force: bool = False) -> Key:
    """Write ``key`` (default: a fresh random one) to ``path`` as hex, readable by its owner only (0600)."""
    key = key or Key.generate()
    p = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(p, flags, 0o600)
    except FileExistsError:
        raise BadKey(f"{p} exists; refusing to overwrite a key (remove it, or --force)") from None
    except OSError as e:
        raise BadKey(f"cannot write key file {p}: {e.strerror}") from None
    with os.fdopen(fd, "w") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(key.hex() + "\n")
    return key


def guessed(generator=None) -> Key:
    """A key drawn from a torch generator: what an Eve without the key (or Bob with a wrong one) uses."""
    import torch

    g = generator or torch.Generator().manual_seed(0)
    return Key(bytes(torch.randint(0, 256, (KEY_BYTES,), generator=g, dtype=torch.uint8).tolist()))


def check_nonce(nonce) -> int:
    """A frame nonce as an int in [0, 2^64 - 1]; ValueError otherwise."""
    if isinstance(nonce, bool) or not isinstance(nonce, (int, np.integer)):
        raise ValueError(f"a frame nonce is an integer in [0, 2^64), got {type(nonce).__name__}")
    n = int(nonce)
    if not 0 <= n <= NONCE_MAX:
        raise ValueError(f"a frame nonce is an integer in [0, 2^64), got {n}")
    return n


def frame_transform(key: Key, nonce: int, n: int, domain: bytes = _DOMAIN) -> tuple[np.ndarray, np.ndarray]:
    """The frame's secret (perm, signs) for n values: int64 (n,) and float32 (n,) of ±1. ``domain``
    separates the uses of one key (each scheme has its own label, so no two share a transform)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    if not 0 < n <= 2**28:
        raise ValueError(f"latent length {n} out of range")
    nonce = check_nonce(nonce)
    k = hmac.new(key._b, domain + n.to_bytes(8, "little") + nonce.to_bytes(8, "little"), hashlib.sha256).digest()
    enc = Cipher(algorithms.ChaCha20(k, bytes(16)), mode=None).encryptor()
    stream = enc.update(bytes(8 * n + (n + 7) // 8))
    words = np.frombuffer(stream, dtype="<u8", count=n)
    perm = np.argsort(words, kind="stable")
    bits = np.unpackbits(np.frombuffer(stream, dtype=np.uint8, offset=8 * n), bitorder="little")[:n]
    signs = (1.0 - 2.0 * bits).astype(np.float32)
    return perm, signs


def nonces_for(nonce, batch: int) -> list[int]:
    """Per-frame nonces of a batch: an int ``nonce`` numbers the frames nonce, nonce+1, ...; a sequence is used as is."""
    if isinstance(nonce, (list, tuple, np.ndarray)):
        out = [check_nonce(x) for x in nonce]
        if len(out) != batch:
            raise ValueError(f"{len(out)} nonces for a batch of {batch} frames")
    else:
        first = check_nonce(nonce)
        out = [check_nonce(first + i) for i in range(batch)]
    return out


class ReplayGuard:
    """Remembers the nonces seen under one key (the last ``window`` of them) and refuses repeats.

    Nonces are meant to be unique per key; a counter from a random start is what Alice sends."""

    def __init__(self, window: int = 1 << 16):
        self.window = int(window)
        self._seen: dict[int, None] = {}

    def fresh(self, nonce: int) -> bool:
        """True (and remembered) for a nonce not seen before; False for a repeat."""
        if nonce in self._seen:
            return False
        self._seen[nonce] = None
        if len(self._seen) > self.window:
            self._seen.pop(next(iter(self._seen)))
        return True
