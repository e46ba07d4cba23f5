"""Burst OFDM for analog JSCC symbols: the modulator and a streaming receiver (numpy; scipy's FFT if present).

One burst carries one segment (see :mod:`.header`):

``guard | S&C | LTF | LTF | header x 9 | data x ceil(seg_len / 92) | guard``

each OFDM symbol ``fft_len`` = 128 bins with a ``cp_len`` = 16 cyclic prefix. 100 carriers are used
(-50 .. 50 without DC): 8 pilots (+-7, 21, 35, 49) and 92 data carriers.

* **S&C** -- Schmidl & Cox (IEEE Trans. Commun. 45(12), 1997) training symbol: QPSK on the even
  carriers only, so its time signal has two identical halves of 64 samples. Detection, coarse timing,
  and a CFO estimate with an acquisition range of +-1 carrier spacing = +-1/128 cycles/sample.
* **LTF** x 2 -- a known QPSK symbol on all used carriers, sent twice: fine timing (cross-correlation),
  fine CFO (phase between the copies), the channel estimate (least squares, smoothed by projecting
  onto ``cp_len`` delay taps: the noise in the estimate drops by 100/16) and the noise variance (from
  the difference of the copies) -> the per-segment SNR estimate. Once the header's CRC passes, its
  nine symbols are known and re-estimate the channel together with the LTFs (11 training symbols).
* **header** -- 192 bits (version 2: with the 64-bit frame nonce), K=7 rate-1/2 convolutional code,
  the 396 coded bits repeated (at least twice) over 9 symbols' 828 data slots in a pseudo-random
  order, BPSK; soft Viterbi. Decodes down to about 0 dB (87 % of the segments at 0 dB with
  the measure_phy impairments). ``header_symbols`` follows from ``HEADER_BITS``.
* **data** -- the JSCC symbols themselves, one per data carrier, never quantised. Pilots track the
  common phase (residual CFO, phase noise) and a phase slope across carriers (timing drift from a
  sample-clock offset) per symbol; the receiver returns equalised soft values (LMMSE with unit mean
  gain by default; LMMSE; ZF).

Power: the time signal is scaled so that unit-power carriers give unit mean sample power; a data
symbol's Es/N0 on its carrier is then the sample SNR + 10 log10(128/100) = +1.07 dB
(:func:`OfdmParams.data_snr_db`). The receiver divides by the same gain, so its soft values are in the
units Alice sent.
"""
from __future__ import annotations

import cmath
import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

try:  # pocketfft in C++ (vectorised over the rows, in place): about 1.5x fewer instructions than numpy's
    from scipy.fft import fft as _fft_rows
except ImportError:  # pragma: no cover - scipy is a dependency; numpy's FFT gives the same to rounding
    def _fft_rows(x, axis, norm, overwrite_x):
        return np.fft.fft(x, axis=axis, norm=norm)

from .fec import conv_encode, decode
from .header import HEADER_BITS, RESERVED, HeaderError, SegmentHeader, segment_plan

# soft-value equalisers: zero forcing, LMMSE, and LMMSE scaled to unit mean gain over the carriers
EQUALIZERS = ("ummse", "mmse", "zf")

TONE_REJECT = 0.5  # lag-L/2 S&C metric above which a trigger is a DC offset or CW tone, not a preamble
SCAN_BLOCK = 8192  # metric positions per pass of the detector's running sums
SCAN_FIRST = 256  # ... in the first pass right after a burst (the next one may follow at once)
SEED = 0x5E65E3  # the fixed pseudo-random preamble, pilot and interleaver sequences
_add, _min = np.add.reduce, np.minimum.reduce  # (ndarray.sum / .min: the same, through Python wrappers)


@dataclass(frozen=True)
class OfdmParams:
    """Numerology of the burst OFDM (lengths in samples, carriers as signed bin indices)."""

    fft_len: int = 128
    cp_len: int = 16
    occupied: int = 50  # carriers -occupied .. occupied, DC unused
    pilots: tuple = (-49, -35, -21, -7, 7, 21, 35, 49)
    seg_len: int = 3680  # data symbols per segment at most (40 OFDM symbols)
    guard: int = 64  # zero samples before and after a burst (flushes channel filters, gaps for radios)
    backoff: int = 3  # samples the FFT window starts ahead of the first path (inside the CP)

    def __post_init__(self):
        if self.fft_len % 2 or not 0 < 2 * self.occupied < self.fft_len:
            raise ValueError(f"occupied carriers +-{self.occupied} do not fit an FFT of {self.fft_len}")
        if not 0 < self.backoff < self.cp_len:
            raise ValueError("backoff must lie inside the cyclic prefix")
        if not set(self.pilots) <= set(self.used):
            raise ValueError("pilot carriers must be used carriers")

    # --- carriers ---------------------------------------------------------------------------
    @cached_property
    def used(self) -> np.ndarray:
        k = np.arange(-self.occupied, self.occupied + 1)
        return k[k != 0]

    @cached_property
    def data(self) -> np.ndarray:
        return np.array([k for k in self.used if k not in self.pilots])

    @cached_property
    def data_index(self) -> np.ndarray:
        """Positions of the data carriers among the used ones."""
        return np.searchsorted(self.used, self.data)

    @cached_property
    def pilot_index(self) -> np.ndarray:
        """Positions of the pilot carriers among the used ones."""
        return np.searchsorted(self.used, self.pilots)

    @property
    def n_data(self) -> int:
        return int(self.data.size)

    @property
    def symbol_len(self) -> int:
        return self.fft_len + self.cp_len

    @property
    def gain(self) -> float:
        """Time-domain scale: unit-power used carriers -> unit mean sample power."""
        return float(np.sqrt(self.fft_len / self.used.size))

    def data_snr_db(self, sample_snr_db: float) -> float:
        """Es/N0 of a data symbol on its carrier for a given sample SNR (dB)."""
        return float(sample_snr_db + 10 * np.log10(self.fft_len / self.used.size))

    def sample_snr_db(self, data_snr_db: float) -> float:
        """The sample SNR (dB, e.g. for ``channels.channel_model``) that gives a data Es/N0."""
        return float(data_snr_db - 10 * np.log10(self.fft_len / self.used.size))

    @property
    def header_symbols(self) -> int:
        coded = 2 * (HEADER_BITS + 6)
        return -(-2 * coded // self.n_data)  # every coded bit at least twice

    def data_symbols(self, seg_len: int) -> int:
        return -(-int(seg_len) // self.n_data)

    def burst_len(self, seg_len: int) -> int:
        """Samples of one burst of ``seg_len`` data symbols, guards included."""
        return (3 + self.header_symbols + self.data_symbols(seg_len)) * self.symbol_len + 2 * self.guard

    def overhead(self, n_symbols: int) -> dict:
        """Channel uses (complex samples) spent on a frame of ``n_symbols`` JSCC symbols, by kind."""
        plan = segment_plan(n_symbols, self.seg_len)
        ofdm = sum(self.data_symbols(n) for _, n in plan)
        per_burst = 3 + self.header_symbols
        total = sum(self.burst_len(n) for _, n in plan)
        return {
            "segments": len(plan),
            "data": n_symbols,
            "preamble": len(plan) * 3 * self.symbol_len,
            "header": len(plan) * self.header_symbols * self.symbol_len,
            "pilots_and_unused": ofdm * self.fft_len - n_symbols,
            "cyclic_prefix": (ofdm + len(plan) * per_burst) * self.cp_len,
            "guard": len(plan) * 2 * self.guard,
            "total": total,
            "efficiency": n_symbols / total,
        }

    # --- fixed sequences --------------------------------------------------------------------
    @cached_property
    def _rng_sequences(self):
        rng = np.random.default_rng(SEED)
        qpsk = lambda n: ((1 - 2 * rng.integers(0, 2, n)) + 1j * (1 - 2 * rng.integers(0, 2, n))) / np.sqrt(2)
        even = self.used[self.used % 2 == 0]
        sc = np.zeros(self.used.size, complex)
        sc[np.isin(self.used, even)] = np.sqrt(2) * qpsk(even.size)  # same symbol energy as the others
        ltf = qpsk(self.used.size)
        pilot_signs = 1.0 - 2 * rng.integers(0, 2, (256, len(self.pilots)))
        perm = rng.permutation(self.header_symbols * self.n_data)
        return sc, ltf, pilot_signs, perm

    @property
    def sc(self) -> np.ndarray:
        return self._rng_sequences[0]

    @property
    def ltf(self) -> np.ndarray:
        return self._rng_sequences[1]

    def pilot_values(self, index: int) -> np.ndarray:
        """Pilot BPSK values of the OFDM symbol ``index`` after the preamble (0 = first header symbol)."""
        return self._rng_sequences[2][index % 256]

    @property
    def header_perm(self) -> np.ndarray:
        return self._rng_sequences[3]

    @cached_property
    def ltf_time(self) -> np.ndarray:
        """The LTF's useful part in time (N samples, without CP): the fine-timing template."""
        return self._to_time(self.ltf[None])[0, self.cp_len:]

    @cached_property
    def smoother(self) -> np.ndarray:
        """Projection of a raw channel estimate on the used carriers onto ``cp_len`` delay taps."""
        f = np.exp(-2j * np.pi * np.outer(self.used, np.arange(self.cp_len)) / self.fft_len)
        return f @ np.linalg.pinv(f)

    # --- time <-> frequency -----------------------------------------------------------------
    def _to_time(self, carriers: np.ndarray) -> np.ndarray:
        """(S, used) carrier values -> (S, N + CP) samples, unit mean power per used carrier -> 1."""
        grid = np.zeros((carriers.shape[0], self.fft_len), complex)
        grid[:, self.used % self.fft_len] = carriers
        t = np.fft.ifft(grid, axis=1, norm="ortho") * self.gain
        return np.concatenate([t[:, -self.cp_len:], t], axis=1)

    @cached_property
    def used_bins(self) -> np.ndarray:
        """FFT bins of the used carriers."""
        return self.used % self.fft_len

    @cached_property
    def data_bins(self) -> np.ndarray:
        """FFT bins of the data carriers."""
        return self.data % self.fft_len

    @cached_property
    def pilot_bins(self) -> np.ndarray:
        """FFT bins of the pilot carriers."""
        return np.asarray(self.pilots) % self.fft_len

    def _to_freq(self, windows: np.ndarray) -> np.ndarray:
        """(S, N) sample windows -> (S, used) carrier values in Alice's units."""
        return np.fft.fft(windows, axis=1, norm="ortho")[:, self.used_bins] / self.gain


# --- transmitter ---------------------------------------------------------------------------------
def header_carriers(p: OfdmParams, header: SegmentHeader) -> np.ndarray:
    """(header_symbols, n_data) BPSK values of the coded, repeated and interleaved header."""
    coded = conv_encode(header.to_bits())
    slots = p.header_symbols * p.n_data
    reps = np.resize(coded, slots)  # every coded bit at least twice, in order, then cyclically
    out = np.empty(slots)
    out[p.header_perm] = 1.0 - 2 * reps
    return out.reshape(p.header_symbols, p.n_data)


def with_pilots(p: OfdmParams, rows: np.ndarray) -> np.ndarray:
    """Data rows (n, n_data) -> all used carriers (n, used) with the pilots of OFDM symbols 0..n-1 (counted
    from the header's first symbol) on the pilot carriers."""
    out = np.empty((rows.shape[0], p.used.size), complex)
    out[:, p.data_index] = rows
    out[:, p.pilot_index] = p._rng_sequences[2][np.arange(rows.shape[0]) % 256]
    return out


def modulate(p: OfdmParams, header: SegmentHeader, symbols: np.ndarray) -> np.ndarray:
    """One burst (complex64 samples, guards included) for a segment's complex data ``symbols``."""
    symbols = np.asarray(symbols, np.complex128).reshape(-1)
    if symbols.size != header.seg_len:
        raise ValueError(f"{symbols.size} symbols but the header says seg_len = {header.seg_len}")
    if not np.isfinite(symbols.view(np.float64)).all():
        raise ValueError("segment contains NaN or Inf symbols")
    n_data = p.data_symbols(symbols.size)
    rows = [p.sc, p.ltf, p.ltf]
    carriers = np.zeros((3 + p.header_symbols + n_data, p.used.size), complex)
    carriers[:3] = rows
    payload = np.zeros(n_data * p.n_data, complex)
    payload[:symbols.size] = symbols
    carriers[3:] = with_pilots(p, np.concatenate([header_carriers(p, header), payload.reshape(n_data, p.n_data)]))
    t = p._to_time(carriers).reshape(-1)
    z = np.zeros(p.guard, complex)
    return np.concatenate([z, t, z]).astype(np.complex64)


# --- receiver ------------------------------------------------------------------------------------
@dataclass
class RxSegment:
    """A received segment: the decoded header, soft data symbols (zero where ``valid`` is False),
    per-symbol validity, the SNR estimate (data Es/N0, dB), CFO (cycles/sample) and burst start."""

    header: SegmentHeader
    symbols: np.ndarray
    valid: np.ndarray
    snr_db: float
    cfo: float
    start: int  # absolute sample index of the burst's first S&C sample (its CP)


@dataclass
class RxStats:
    detections: int = 0  # S&C triggers
    header_failures: int = 0  # triggers whose header did not decode (noise, collisions, too weak)
    segments: int = 0
    cut_off: int = 0  # segments whose tail was lost (pilots stopped matching or the stream ended)
    nonfinite: int = 0  # NaN/Inf input samples, replaced by 0 (their OFDM symbols' data flagged invalid)


@dataclass
class _Burst:
    t0: int  # buffer index of the LTF1 FFT window start
    ref: int  # buffer index where the CFO correction's phase is zero (the trigger)
    cfo: float
    h: np.ndarray
    noise: float
    header: SegmentHeader | None = None
    phase: tuple = (0.0, 0.0)
    h_ltf: np.ndarray | None = None  # the raw (unsmoothed) channel estimate of the 2 LTFs
    rot: np.ndarray | None = None  # exp(-2 pi i cfo n), n = 0 .. N-1: the CFO correction within a window


class OfdmReceiver:
    """Streaming burst receiver: :meth:`feed` samples in any chunk sizes, get :class:`RxSegment` s.

    ``threshold``: the S&C metric |P|^2 / R^2 (0..1) that triggers a detection; 0.15 detects bursts
    down to about 0 dB data SNR, while noise alone exceeds it with probability ~exp(-10) per
    sample -- and a trigger only becomes a segment when its header passes the CRC.
    ``quality``: pilot coherence (0..1) below which a data symbol counts as lost; two such symbols
    in a row end the burst there (a burst cut off mid-way), and the search resumes at that point.
    ``smooth``: degree of the polynomial in time fitted to the per-symbol pilot phase and slope
    estimates over a burst (residual CFO and sample-clock drift are near-linear over a burst, so
    this averages the pilot noise of 40 symbols); -1 keeps the raw per-symbol estimates.
    ``equalizer``: ``ummse`` (default), ``mmse`` or ``zf``. ZF divides by the channel estimate (unbiased
    per carrier, but a faded carrier's noise is amplified); LMMSE multiplies that by g/(g + N0), g the
    carrier's power gain, which shrinks the faded carriers' values toward 0; ``ummse`` rescales those
    weights to unit mean over the data carriers, so a frame keeps the symbol scale the JSCC decoder was
    trained on while the faded carriers still count less. Measured best of the three for the image
    quality (tools/measure_phy.py).
    ``header_aided``: once a header passes its CRC, re-estimate the channel from the LTFs and the
    (now known) header symbols together (:meth:`_refine_channel`); False uses the LTFs alone.
    ``min_snr_db``: a trigger whose LTFs estimate the data Es/N0 below this (dB) is a header failure
    without decoding the header (the costliest step of a false trigger); None decodes every trigger's
    header. Measured by ``tools/benchmark_phy_rx.py --detection``: the 246 triggers on 10 s of noise
    estimate -10.1 dB (median), -6.5 dB at most; the 973 segments decoded by measure_phy's detection
    run (0 to 20 dB) -1.8 dB and up. tests/test_phy_receiver_equivalence.py checks that no header of
    a noise trigger is decoded and that bursts at -3 dB (where only some headers decode) and 0 dB
    come out the same with and without the gate.
    """

    def __init__(self, params: OfdmParams | None = None, threshold: float = 0.15, quality: float = 0.5,
                 smooth: int = 2, equalizer: str = "ummse", header_aided: bool = True,
                 min_snr_db: float | None = -6.0):
        self.p = params or OfdmParams()
        self.threshold = float(threshold)
        self.quality = float(quality)
        self.smooth = int(smooth)
        if equalizer not in EQUALIZERS:
            raise ValueError(f"equalizer must be one of {', '.join(EQUALIZERS)}, got {equalizer!r}")
        self.equalizer = equalizer
        self.header_aided = bool(header_aided)
        self.min_snr_db = None if min_snr_db is None else float(min_snr_db)
        self.stats = RxStats()
        p = self.p
        N, L, S, CP = p.fft_len, p.fft_len // 2, p.symbol_len, p.cp_len
        # the numerology and fixed tables of the per-burst steps, as plain attributes (no property calls)
        self._N, self._L, self._S, self._CP = N, L, S, CP
        self._n_data, self._n_hdr, self._gain, self._backoff, self._guard = (
            p.n_data, p.header_symbols, p.gain, p.backoff, p.guard)
        self._used_bins, self._data_bins, self._pilot_bins = p.used_bins, p.data_bins, p.pilot_bins
        self._pilot_index, self._data_index = p.pilot_index, p.data_index
        self._ltf_time, self._perm = p.ltf_time, p.header_perm
        # the smoother F pinv(F) as its two factors: (used, taps) @ ((taps, used) @ h), a third of the work
        taps = np.exp(-2j * np.pi * np.outer(p.used, np.arange(p.cp_len)) / p.fft_len)
        self._taps, self._taps_pinv = taps, np.linalg.pinv(taps)
        self._half_inv_ltf = 0.5 / p.ltf
        self._win = np.arange(p.cp_len + L // 2)[:, None] + np.arange(2 * L)[None]  # metric windows, 1 per row
        self._span = np.arange(p.cp_len + L // 2)  # the positions searched for a trigger's metric peak
        self._ltf_pair = np.stack([np.arange(N), S + np.arange(N)])  # LTF1 and LTF2 windows
        # -2 pi i n for the sample offsets n of the acquisition's segment and the OFDM symbol starts m S
        # (complex already: cfo times these is the CFO correction's exponent, without casts)
        self._cfo_n = -2j * np.pi * np.arange(4 * N + 8 * CP)
        self._cfo_step = -2j * np.pi * S * np.arange(p.data_symbols((1 << 14) - 1) + 1)
        self._kp = np.asarray(p.pilots, float)
        self._kA = np.stack([np.ones_like(self._kp), self._kp])  # (2, pilots): the fit a + b*k
        self._kpow = np.stack([np.ones_like(self._kp), self._kp, self._kp ** 2])
        coded_len = 2 * (HEADER_BITS + 6)
        self._slot_bit = np.arange(self._n_hdr * self._n_data) % coded_len  # coded bit in each header slot
        # the header symbols' known carriers: the pilots, and where each slot's BPSK value goes (flat index)
        self._known_pilots = with_pilots(p, np.zeros((self._n_hdr, self._n_data)))
        row, col = np.divmod(self._perm, self._n_data)
        self._slot_pos = row * p.used.size + self._data_index[col]
        # the coded bit (0 .. coded_len - 1) at each position of the header's (symbols, used) grid; coded_len
        # on the pilots (a bin that is dropped)
        pos_bit = np.full(self._n_hdr * p.used.size, coded_len)
        pos_bit[self._slot_pos] = self._slot_bit
        self._pos_bit = pos_bit
        self._coded_len = coded_len
        self._pilot_cache = {}
        self.reset()

    def reset(self) -> None:
        """Forget the buffered samples and start searching afresh (the statistics are kept)."""
        self._buf = np.zeros(0, np.complex64)
        self._base = 0  # absolute index of _buf[0]
        self._pos = 0  # absolute index where the search resumes
        self._last_trigger = -(1 << 62)
        self._bad = np.zeros(0, np.int64)  # absolute indices of non-finite input samples (zeroed)
        self._held = None  # (absolute trigger index, CFO, _base then, burst): acquired, its end not in yet
        self._trig = None  # (absolute search start, absolute trigger index, CFO) of a trigger to retry
        self._near = False  # a burst or trigger just ended: scan a short first block for the next one
        self._crowded = False  # the last pre-filter found candidates everywhere (DC, tones)

    # --- streaming ------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> list[RxSegment]:
        x = np.asarray(samples, np.complex64).reshape(-1)
        # a finite sum: no NaN or Inf (only huge finite values can overflow it: then look closer)
        bad = None if math.isfinite(_add(x.view(np.float32))) else ~np.isfinite(x)
        if bad is not None and bad.any():  # one NaN would otherwise poison every running sum and FFT it enters
            x = np.where(bad, np.complex64(0), x)
            self.stats.nonfinite += int(bad.sum())
            at = self._base + self._buf.size + np.flatnonzero(bad)
            self._bad = np.concatenate([self._bad[self._bad >= self._base], at])
        self._buf = np.concatenate([self._buf, x]) if self._buf.size else x.copy()
        return self._run(final=False)

    def flush(self) -> list[RxSegment]:
        """End of stream: decode what a burst cut off by the end still holds."""
        out = self._run(final=True)
        self._base += self._buf.size
        self._pos = self._base
        self._buf = np.zeros(0, np.complex64)
        return out

    def _run(self, final: bool) -> list[RxSegment]:
        out = []
        N, L, S, CP = self._N, self._L, self._S, self._CP
        n_hdr = self._n_hdr
        while True:
            s = self._pos - self._base
            if self._trig is not None and self._trig[0] == self._pos:  # a retry: the trigger found before
                trig = (self._trig[1] - self._base, self._trig[2], s)
            else:
                trig = self._detect(s, final, SCAN_FIRST if self._near else SCAN_BLOCK)
            self._trig = None
            self._near = trig is not None
            if trig == "wait":
                break
            if trig is None:
                # nothing here: keep the last window (a preamble may straddle the chunk boundary)
                self._pos = max(self._pos, self._base + self._buf.size - 2 * L - CP - 8)
                break
            d, cfo, first = trig
            needed = d + CP + 8 + (3 + n_hdr) * S + 2 * CP
            if needed > self._buf.size and not final:
                self._pos = self._base + first  # retry from the same threshold crossing
                self._trig = (self._pos, self._base + d, cfo)
                break
            if self._base + d > self._last_trigger + L:  # not a retry of the same trigger
                self.stats.detections += 1
            self._last_trigger = self._base + d
            if d + 3 * N + 4 * CP + 4 > self._buf.size:  # final: cut inside its LTFs
                self.stats.header_failures += 1
                self._pos = self._base + self._buf.size
                break
            burst = self._acquired(d, cfo)
            if burst is None or burst.header is None:
                self.stats.header_failures += 1
                self._pos = self._base + d + L  # past this trigger's plateau
                continue
            n_sym = -(-burst.header.seg_len // self._n_data)
            end = burst.t0 + (2 + n_hdr + n_sym) * S
            if end > self._buf.size and not final:
                self._pos = self._base + first
                self._trig = (self._pos, self._base + d, cfo)
                self._held = (self._base + d, cfo, self._base, burst)  # the retry reuses it
                break
            self._held = None
            seg, stop = self._data(burst, n_sym)
            seg.start = max(0, self._base + burst.t0 + self._backoff - S - CP)
            out.append(seg)
            self.stats.segments += 1
            self._pos = self._base + min(stop, self._buf.size)
        keep = max(0, min(self._pos - self._base, self._buf.size))
        if keep:
            self._buf = self._buf[keep:]
            self._base += keep
        return out

    # --- detection ------------------------------------------------------------------------
    def _metric(self, idx: np.ndarray, start: int | None = None):
        """S&C metric M and correlation P at buffer indices ``idx`` for the lag L = N/2 (the preamble's
        period), and the tone flag, each summed directly over its own window of L products (no
        running sums), so the values do not depend on where the buffer starts: the receiver's
        decisions are then the same whatever chunk sizes the samples arrive in. ``start``: idx is
        start, start + 1, ... (the windows of one slice: running sums over it, within rounding of the
        direct sums).

        The tone flag is True where the window also repeats at lag L/2 (metric over the same second
        half > TONE_REJECT): a DC offset or a CW tone (periodic at every lag, S&C metric ~1 everywhere),
        not the preamble (random QPSK on the even carriers repeats at lag L only; its lag-L/2 metric is
        ~1/L)."""
        L = self._L
        H = L // 2
        n = idx.size
        if start is not None and n <= self._span.size:
            # contiguous windows: sums over each window as differences of running sums within the
            # span's own samples (from ``start``: the same values whatever the buffer)
            x = self._buf[start:start + n + 2 * L - 1].astype(np.complex128)
            c = x[:n + L - 1].conj()
            cs = np.empty((2, n + L), np.complex128)
            cs[:, 0] = 0
            (c * x[L:n + 2 * L - 1]).cumsum(out=cs[0, 1:])
            (c * x[H:n + L + H - 1]).cumsum(out=cs[1, 1:])
            P, P2 = cs[:, L:] - cs[:, :n]
            es = np.empty(n + 2 * L)
            es[0] = 0
            (x.real ** 2 + x.imag ** 2).cumsum(out=es[1:])
            R = es[2 * L:] - es[L:n + L]
            R2 = es[H + L:H + L + n] - es[H:H + n]
        else:
            w = self._buf[idx[:, None] + self._win[0]].astype(np.complex128)
            first = w[:, :L].conj()
            P = _add(first * w[:, L:], 1)
            P2 = _add(first * w[:, H:H + L], 1)
            e = w.real ** 2 + w.imag ** 2
            R = _add(e[:, L:], 1)
            R2 = _add(e[:, H:H + L], 1)
        M = (P.real ** 2 + P.imag ** 2) / (R * R)
        tone = P2.real ** 2 + P2.imag ** 2 > TONE_REJECT * (R2 * R2)
        if min(_min(R), _min(R2)) < 1e-20:  # (near) silence: no metric
            M[R < 1e-20] = 0.0
            tone &= R2 >= 1e-20
        return M, P, tone

    def _detect(self, s: int, final: bool, block: int = SCAN_BLOCK):
        """First S&C trigger at or after buffer index ``s``: (index of the metric peak, coarse CFO in
        cycles/sample, index of the first sample over the threshold), None when there is none, or
        "wait" when the trigger's plateau runs past the buffer (more samples are needed to place it).

        Running sums find the candidates fast; the threshold crossing and the peak are then decided on
        directly computed values (:meth:`_metric`), so the blocks that the running sums scan (``block``
        positions first, then twice as many each time up to SCAN_BLOCK) change nothing but the work:
        the first trigger of the first block that holds one is the first trigger after ``s``. Where the
        first pre-filtered candidate is itself a trigger (a preamble's rising edge, usually), one
        :meth:`_metric` call confirms it and places the peak."""
        L = self._L
        total = self._buf.size - s - 2 * L  # metric positions s .. s + total - 1 in the buffer
        if total < L:
            return None
        span = self._span.size
        hits = None
        near = None
        b0 = 0
        while b0 < total:  # blocks of positions: bounded work per trigger, in cache
            cand = self._prefilter(s + b0, min(block, total - b0))
            if cand.size and self._crowded:  # DC or a tone: candidates everywhere, few of them triggers
                confirmed = self._confirm(s + b0, cand)
                if confirmed.size:
                    hits = b0 + int(confirmed[0])
                    break
            elif cand.size:
                i = b0 + int(cand[0])
                near = self._span[:min(span, total - i)] + (s + i)
                Mx, Px, tone = self._metric(near, s + i)
                if Mx[0] > self.threshold and not tone[0]:
                    hits = i
                    break
                near = None
                confirmed = self._confirm(s + b0, cand)
                if confirmed.size:
                    hits = b0 + int(confirmed[0])
                    break
            b0 += block
            block = min(2 * block, SCAN_BLOCK)
        if hits is None:
            return None  # the running sums' rounding put them over, or tones / DC
        i = hits
        if i + span > total and not final:
            self._pos = self._base + s + max(0, i - 8)
            return "wait"
        if near is None:
            near = self._span[:min(span, total - i)] + (s + i)
            Mx, Px, tone = self._metric(near, s + i)
        Mx[tone] = 0.0
        j = int(Mx.argmax())
        return int(near[j]), cmath.phase(Px[j]) / (2 * np.pi * L), s + i

    def _prefilter(self, s: int, count: int) -> np.ndarray:
        """Offsets from buffer index ``s`` (below ``count``) where running sums put the S&C metric over
        the threshold (with a margin) and not tone-like: the candidates for :meth:`_metric`.
        ``self._crowded``: whether they were everywhere before the tone pre-filter (DC or a tone)."""
        L = self._L
        H = L // 2
        r = self._buf[s:s + count + 2 * L]
        # running sums in float64 over single-precision products: only a pre-filter (with a margin)
        # for the direct values that decide; all indices whose direct metric passes are kept
        cs = np.empty(r.size - L + 1, np.complex128)
        cs[0] = 0
        (r[:-L].conj() * r[L:]).cumsum(dtype=np.complex128, out=cs[1:])
        e = np.empty(r.size + 1)
        e[0] = 0
        (r * r.conj()).real.cumsum(dtype=np.float64, out=e[1:])
        R = e[2 * L:] - e[L:-L]  # energy of the second half
        P = cs[L:L + R.size] - cs[:R.size]  # P[d] = sum_{m<L} conj(r[d+m]) r[d+m+L]
        # M = |P|^2 / R^2 > threshold, without the division
        cand = (P.real ** 2 + P.imag ** 2 > (R * R) * (self.threshold * 0.999)).nonzero()[0]
        if cand.size == 0:
            return cand
        cand = cand[R[cand] >= 1e-20]
        # (not a preamble's plateau of ~ CP + L / 2 positions in a short block after a burst)
        self._crowded = cand.size * 16 > R.size and (cand.size > 4 * self._L or cand.size * 2 > R.size)
        # the same at lag L/2 (over the same second-half window): high for DC and tones, ~1/L for the
        # preamble; where candidates are everywhere (DC offsets and tones) running sums pre-filter them
        if self._crowded:
            cs2 = np.empty(r.size - H + 1, np.complex128)
            cs2[0] = 0
            np.cumsum(np.conj(r[:-H]) * r[H:], dtype=np.complex128, out=cs2[1:])
            n = R.size
            P2 = cs2[L:L + n] - cs2[:n]
            R2 = e[L + H:L + H + n] - e[H:H + n]
            cand = cand[(P2.real ** 2 + P2.imag ** 2 <= (TONE_REJECT * 1.05) * (R2 * R2))[cand]]
        return cand

    def _confirm(self, s: int, cand: np.ndarray) -> np.ndarray:
        """The candidates (offsets from ``s``) whose direct values confirm them (:meth:`_metric`: over
        the threshold, not tone-like), from the first batch of 32 that holds any; empty if none does."""
        for k in range(0, cand.size, 32):
            M, _, tone = self._metric(s + cand[k:k + 32])
            hits = cand[k:k + 32][(M > self.threshold) & ~tone]
            if hits.size:
                return hits
        return cand[:0]

    def _acquired(self, d: int, cfo: float) -> _Burst | None:
        """:meth:`_acquire`, or the burst acquired at the same trigger by the previous call (whose end was
        not in the buffer yet): it depends only on samples that were there already, so it is the same."""
        if self._held is not None:
            at, held_cfo, base, burst = self._held
            self._held = None
            if at == self._base + d and held_cfo == cfo:
                shift = base - self._base  # the buffer has been trimmed since
                burst.t0 += shift
                burst.ref += shift
                return burst
        return self._acquire(d, cfo)

    def _acquire(self, d: int, cfo: float) -> _Burst | None:
        """Fine timing, fine CFO, channel and noise estimates, header decoding for a trigger at d."""
        N, CP, S, B = self._N, self._CP, self._S, self._backoff
        lo, hi = d + N - 4, d + N + 3 * CP + 4  # LTF1 starts at d + N + 2 CP for d on the plateau start
        a = max(0, lo - B)  # from the earliest LTF1 window start to the latest LTF2 window end
        x = self._buf[a: hi + 2 * N + CP].astype(np.complex128)
        x *= np.exp(self._cfo_n[:x.size] * cfo + (-2j * np.pi * cfo * (a - d)))  # coarse CFO removed
        offs = hi + 1 - max(0, lo)
        # cross-correlation with the LTF at each offset lo .. hi
        corr = np.abs(np.correlate(x[lo - a: lo - a + offs + N - 1], self._ltf_time, "valid"))
        t0 = max(0, lo) + int(corr.argmax()) - B  # LTF1 FFT window start (buffer index)
        k = t0 - a
        if x.size < k + S + N:
            return None
        w = x[self._ltf_pair + k]  # the two LTF windows, (2, N)
        fine = cmath.phase(np.vdot(w[0], w[1])) / (2 * np.pi * S)
        y = self._used(_fft_rows(w, axis=1, norm="ortho", overwrite_x=True))
        y[0] *= 1 / self._gain
        y[1] *= cmath.exp(-2j * np.pi * fine * S) / self._gain
        h_raw = (y[0] + y[1]) * self._half_inv_ltf
        h = self._taps @ (self._taps_pinv @ h_raw)  # = p.smoother @ h_raw
        diff = y[0] - y[1]
        noise = np.vdot(diff, diff).real / diff.size / 2
        burst = _Burst(t0=t0, ref=d, cfo=cfo + fine, h=h, noise=max(noise, 1e-12), h_ltf=h_raw)
        if self.min_snr_db is not None and np.vdot(h, h).real / h.size < burst.noise * 10 ** (self.min_snr_db / 10):
            return burst  # too weak for its header to decode: noise, or a trigger inside another burst
        try:
            burst.header = self._header(burst)
        except HeaderError:
            burst.header = None
        return burst

    def _spectra(self, burst: _Burst, first: int, count: int):
        """FFTs (count, N) of OFDM symbols ``first`` .. after the preamble (0 = header 0), each window
        CFO-corrected from its own first sample (zero samples past the buffer's end), and each
        symbol's remaining CFO phase exp(-2 pi i cfo (window start - ref)) (count,): their product is
        the symbols' carrier values in Alice's units (the FFTs include the division by the gain)."""
        N, S = self._N, self._S
        start = burst.t0 + (2 + first) * S
        if start + count * S <= self._buf.size:  # in the buffer: the windows are a reshaped slice
            w = self._buf[start:start + count * S].reshape(count, S)[:, :N]
        else:
            idx = start + np.arange(count)[:, None] * S + np.arange(N)[None]
            w = self._buf[np.minimum(idx, self._buf.size - 1)]
            w[idx >= self._buf.size] = 0
        if burst.rot is None:  # (with the division by the gain)
            burst.rot = np.exp(self._cfo_n[:N] * burst.cfo) / self._gain
        # the CFO correction exp(-2 pi i cfo (idx - ref)) = (per symbol start) x (per sample in a window)
        phase = np.exp(self._cfo_step[:count] * burst.cfo + (-2j * np.pi * burst.cfo * (start - burst.ref)))
        w = w.astype(np.complex128)
        w *= burst.rot
        return _fft_rows(w, axis=1, norm="ortho", overwrite_x=True), phase

    def _used(self, f: np.ndarray) -> np.ndarray:
        """The used carriers (symbols, used) of FFTs (symbols, N): bins N - occupied .. N - 1, 1 .. occupied."""
        occ = self.p.occupied
        return np.concatenate((f[:, self._N - occ:], f[:, 1:occ + 1]), axis=1)

    def _fit_matrix(self, hp: np.ndarray):
        """The pilot weights (|h|^2 of the channel ``hp`` on the pilots), the matrix G of their weighted
        least-squares fit of a + b*k ((a, b) = G @ pilot phases), and whether that fit is well
        conditioned."""
        w = (hp * hp.conj()).real  # weight each pilot by its channel power
        s0, s1, s2 = (self._kpow @ w).tolist()  # the Gram matrix of the weighted fit
        det = s0 * s2 - s1 * s1
        if det > 1e-9 * s0 * s2:  # the normal equations
            return w, (np.array([[s2, -s1], [-s1, s0]]) / det) @ (self._kA * w), det > 1e-4 * s0 * s2
        sw = np.sqrt(w)  # below rank 2 (e.g. a zero channel): the pseudo-inverse
        return w, np.linalg.pinv(self._kA.T * sw[:, None]) * sw[None], False

    def _track(self, q: np.ndarray, hp: np.ndarray, phase=(0.0, 0.0), coherence: bool = True):
        """Per-symbol pilot tracking of the pilot values ``q`` (symbols, pilots; divided by the channel
        estimate ``hp`` on the pilots and by the known pilot values): (phase, slope per carrier) fits
        and pilot coherence (None unless ``coherence``).

        The residual phase of the pilots of symbol m is modelled as a + b*k (k the carrier index):
        a from residual CFO and phase noise, b = 2*pi*tau/N from a timing drift tau (samples).
        Each symbol starts from the previous fit, so drifts of many radians over a burst are followed.
        """
        w, G, well = self._fit_matrix(hp)
        fits = _pilot_fits(np.arctan2(q.imag, q.real), G, self._kA, phase, vectorised=well and q.shape[0] > 16)
        if not coherence:
            return fits, None
        num = np.abs((q * np.exp(-1j * (fits @ self._kA))) @ w)
        return fits, num / np.maximum(np.abs(q) @ w, 1e-30)

    def _pilot_rows(self, first: int, count: int) -> np.ndarray:
        """(count, pilots) pilot values of the OFDM symbols first .. first + count - 1 (complex: they
        multiply complex values)."""
        rows = self._pilot_cache.get((first, count))
        if rows is None:
            rows = self.p._rng_sequences[2][(first + np.arange(count)) % 256].astype(np.complex128)
            self._pilot_cache[first, count] = rows
        return rows

    def _rotation(self, fits: np.ndarray, columns=None, factor=None) -> np.ndarray:
        """exp(-i (a + b*k)) for each symbol's fit (a, b) on the used carriers k (or on ``columns``,
        indices into the used ones), times ``factor`` (one per symbol) if given: exp(-i b k) as powers
        of exp(-i b) (cumulative products; 1e-14 off the direct exponentials at |k| = 50, at a fraction
        of their cost)."""
        occ = self.p.occupied
        n = fits.shape[0]
        e = np.exp(fits * -1j)  # exp(-i a), exp(-i b)
        step = e[:, 1]
        rot = np.empty((n, 2 * occ), np.complex128)  # k = -occupied .. -1, 1 .. occupied: the used carriers
        up = rot[:, occ:]  # k = 1 .. occupied: powers of exp(-i b)
        up[...] = step[:, None]
        np.multiply.accumulate(up, axis=1, out=up)
        np.conjugate(up[:, ::-1], out=rot[:, :occ])  # k = -occupied .. -1
        if columns is not None:
            rot = rot[:, columns]
        common = e[:, 0]
        if factor is not None:
            common *= factor
        rot *= common[:, None]
        return rot

    def _header(self, burst: _Burst) -> SegmentHeader:
        n = self._n_hdr
        f, phase = self._spectra(burst, 0, n)
        z = self._used(f)
        z *= phase[:, None]  # the header's carrier values (Alice's units)
        h = burst.h
        hp = h[self._pilot_index]
        fits, _ = self._track(z[:, self._pilot_index] * (self._pilot_rows(0, n) / hp), hp, coherence=False)
        z *= self._rotation(_smooth(fits, 1))  # phase and slope are near-linear over the header symbols
        # BPSK LLRs 2 Re(z / h) |h|^2 / N0 on the data carriers (the pilots' go to a bin that is dropped)
        llr = (z * (h.conj() * (2 / burst.noise))).real
        combined = np.bincount(self._pos_bit, weights=llr.reshape(-1), minlength=self._coded_len + 1)[:-1]
        burst.phase = tuple(fits[-1].tolist())
        bits, coded = decode(combined, HEADER_BITS)  # the Viterbi decoder's bits, and their codeword
        header = SegmentHeader.from_bits(bits)  # HeaderError: bad CRC
        if self.header_aided:
            # the header's own bits are those decoded unless a reserved bit was set (sent as zero)
            self._refine_channel(burst, header, z, None if bits[RESERVED].any() else coded)
        return header

    def _refine_channel(self, burst: _Burst, header: SegmentHeader, z: np.ndarray, coded=None) -> None:
        """Decision-directed channel estimate from the header, once its CRC has passed: its symbols are
        then known (re-encoded bits and pilots), so they join the two LTFs as training -- 11 symbols
        instead of 2 at the default parameters -- which cuts the estimation noise that a ZF/MMSE
        equaliser adds to every data symbol by 5.5x. ``z``: the header symbols' carrier values, pilot
        phase removed; ``coded``: the header's codeword, if known already."""
        if coded is None:
            coded = conv_encode(header.to_bits())
        bpsk = np.zeros(self._coded_len + 1, np.complex128)  # each coded bit's BPSK value; 0 for the pilots' bin
        bpsk[:-1] = 1.0 - 2 * coded
        known = bpsk[self._pos_bit].reshape(self._known_pilots.shape)
        known += self._known_pilots  # = with_pilots(p, header_carriers(p, header)), BPSK
        h_raw = (2 * burst.h_ltf + _add(z * known, 0)) / (2 + z.shape[0])  # (z * known: z divided by +-1)
        burst.h = self._taps @ (self._taps_pinv @ h_raw)  # = p.smoother @ h_raw

    def _data(self, burst: _Burst, n_sym: int):
        """Equalised data of the burst, validity, and the buffer index where the search resumes.

        Works on the FFT bins directly: the pilots (divided by the channel, the symbol's CFO phase and
        the known pilot values) for the tracking, then the data carriers times one factor per symbol
        (CFO phase, fitted phase) and one per carrier (channel, equaliser weight, fitted slope)."""
        S, nd = self._S, self._n_data
        first = self._n_hdr
        avail = max(0, min(n_sym, (self._buf.size - burst.t0 - (2 + first) * S - self._N) // S + 1))
        f, phase = self._spectra(burst, first, avail)
        h = burst.h
        hp = h[self._pilot_index]
        z = self._used(f)  # (the data carriers are picked at the end)
        q = z[:, self._pilot_index]
        q *= phase[:, None] * (self._pilot_rows(first, avail) / hp)
        fits, coh = self._track(q, hp, burst.phase)
        bad = coh < self.quality
        lost = (bad[:-1] & bad[1:]).nonzero()[0]  # two in a row ...
        cut = int(lost[0]) if lost.size else avail
        if cut == avail and avail and bad[-1]:  # ... or the last one
            cut = avail - 1
        if self.equalizer == "zf":
            per_carrier = 1 / h
        else:  # LMMSE for unit-power symbols, w / h with w = g / (g + N0): shrink the weak carriers
            g = (h * h.conj()).real
            gn = g + burst.noise
            per_carrier = h.conj() / gn
            if self.equalizer == "ummse":  # ... relative to the strong ones only: unit mean gain
                per_carrier *= nd / _add((g / gn)[self._data_index])
        rot = self._rotation(_smooth(fits[:cut], self.smooth), factor=phase[:cut])
        rot *= per_carrier
        rot *= z[:cut]
        n = burst.header.seg_len
        data = np.zeros(n_sym * nd, np.complex64)
        data[:cut * nd] = rot[:, self._data_index].reshape(-1)
        valid = np.zeros(n_sym * nd, bool)
        valid[:cut * nd] = True
        if self._bad.size:  # OFDM symbols (with their cyclic prefix) that held a zeroed sample
            start = self._base + burst.t0 + (2 + first) * S - self._CP
            m = (self._bad - start) // S
            for k in np.unique(m[(m >= 0) & (m < cut)]):
                valid[k * nd:(k + 1) * nd] = False
        if cut < n_sym:
            self.stats.cut_off += 1
        snr = 10 * math.log10(max(np.vdot(h, h).real / h.size / burst.noise, 1e-12))
        stop = burst.t0 + (2 + first + cut) * S
        if cut == n_sym:
            stop += self._guard // 2
        return RxSegment(burst.header, data[:n], valid[:n], snr, burst.cfo, 0), stop


def _pilot_fits(phi: np.ndarray, G: np.ndarray, kA: np.ndarray, phase, vectorised: bool = True) -> np.ndarray:
    """(n, 2) fits (a, b) of the pilot phases ``phi`` (n, pilots) one symbol after the other: symbol m's
    residuals r = wrap(phi - (a + b k)) against the previous fit (``phase`` before the first), then
    (a, b) += G @ r. So a burst's phase may drift by many radians. ``kA``: the rows 1 and k of the
    pilots; ``G``: their weighted least-squares fit (G @ kA.T = identity).

    ``vectorised`` (for a well-conditioned G): all symbols at once. Each pilot's phase is unwrapped
    against the same pilot one symbol earlier (the first against ``phase``'s line); where every
    unwrapped phase lies within pi of the line of the previous symbol's fit G @ (unwrapped phases),
    the wrapped residuals are those unwrapped ones less the line, and the recursion's fit is
    G @ (unwrapped phases) itself (a + G @ (u - a's line) = G @ u). From the first symbol where one
    does not (pilots too noisy), and without ``vectorised``, the recursion runs one symbol at a time
    in Python floats (8 pilots per symbol are too few for numpy's per-call cost)."""
    two_pi, pi = 2 * np.pi, np.pi
    a, b = float(phase[0]), float(phase[1])
    n = phi.shape[0]
    fits, m0 = _NO_FITS, 0
    if n and vectorised:
        line0 = kA.T @ np.array([a, b])
        ext = np.empty((n + 1, phi.shape[1]))
        ext[0] = line0
        ext[1:] = phi
        steps = ext[1:] - ext[:-1]
        steps += pi
        np.remainder(steps, two_pi, out=steps)
        steps -= pi
        guess = steps.cumsum(0)
        guess += line0  # each pilot's phase, unwrapped along the symbols
        fits = guess @ G.T
        ext[1:n] = fits[:-1] @ kA  # the line each symbol's residuals are wrapped against
        off = np.maximum.reduce(np.abs(guess - ext[:n]), 1)
        m0 = n if np.maximum.reduce(off) < pi - 1e-9 else int((off >= pi - 1e-9).argmax())
        if m0 == n:
            return fits
        fits = fits[:m0]
        a, b = fits[-1].tolist() if m0 else (a, b)
    g0, g1 = G.tolist()
    pilots = list(zip(g0, g1, kA[1].tolist()))
    out = []
    for row in phi[m0:].tolist():
        da = db = 0.0
        for (u, v, k), ph in zip(pilots, row):
            r = (ph - (a + b * k) + pi) % two_pi - pi  # the residual phase, wrapped
            da += u * r
            db += v * r
        a, b = a + da, b + db
        out.append((a, b))
    return np.concatenate([fits, np.array(out, float).reshape(-1, 2)])


_NO_FITS = np.zeros((0, 2))


def _smooth(fits: np.ndarray, degree: int) -> np.ndarray:
    """Least-squares polynomial (in the symbol index) through per-symbol (phase, slope) fits."""
    n = fits.shape[0]
    if degree < 0 or n < 3:
        return fits
    return _poly_projection(n, min(degree, n - 2)) @ fits


@lru_cache(maxsize=256)
def _poly_projection(n: int, degree: int) -> np.ndarray:
    """(n, n) matrix that maps values at 0 .. n-1 onto their least-squares polynomial of ``degree``
    (the Vandermonde columns scaled to unit norm first, as numpy.polyfit does)."""
    v = np.vander(np.arange(n, dtype=float), degree + 1)
    v = v / np.sqrt((v * v).sum(0))
    return v @ np.linalg.pinv(v)
