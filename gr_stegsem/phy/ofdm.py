"""Burst OFDM for analog JSCC symbols: the modulator and a streaming receiver (pure numpy).

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

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np

from .fec import conv_encode, viterbi_decode
from .header import HEADER_BITS, HeaderError, SegmentHeader, segment_plan

# soft-value equalisers: zero forcing, LMMSE, and LMMSE scaled to unit mean gain over the carriers
EQUALIZERS = ("ummse", "mmse", "zf")

TONE_REJECT = 0.5  # lag-L/2 S&C metric above which a trigger is a DC offset or CW tone, not a preamble
SCAN_BLOCK = 8192  # metric positions per pass of the detector's running sums
SEED = 0x5E65E3  # the fixed pseudo-random preamble, pilot and interleaver sequences


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

    def _to_freq(self, windows: np.ndarray) -> np.ndarray:
        """(S, N) sample windows -> (S, used) carrier values in Alice's units."""
        return np.fft.fft(windows, axis=1, norm="ortho")[:, self.used % self.fft_len] / self.gain


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
    for i in range(rows.shape[0]):
        out[i, p.pilot_index] = p.pilot_values(i)
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

    # --- streaming ------------------------------------------------------------------------
    def feed(self, samples: np.ndarray) -> list[RxSegment]:
        x = np.asarray(samples, np.complex64).reshape(-1)
        bad = ~np.isfinite(x)  # complex: False where either part is NaN or Inf
        if bad.any():  # one NaN would otherwise poison every running sum and FFT it enters
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
        p = self.p
        out = []
        L = p.fft_len // 2
        while True:
            s = self._pos - self._base
            if self._trig is not None and self._trig[0] == self._pos:  # a retry: the trigger found before
                trig = (self._trig[1] - self._base, self._trig[2], s)
            else:
                trig = self._detect(s, final)
            self._trig = None
            if trig == "wait":
                break
            if trig is None:
                # nothing here: keep the last window (a preamble may straddle the chunk boundary)
                self._pos = max(self._pos, self._base + self._buf.size - 2 * L - p.cp_len - 8)
                break
            d, cfo, first = trig
            needed = d + p.cp_len + 8 + (3 + p.header_symbols) * p.symbol_len + 2 * p.cp_len
            if needed > self._buf.size and not final:
                self._pos = self._base + first  # retry from the same threshold crossing
                self._trig = (self._pos, self._base + d, cfo)
                break
            if self._base + d > self._last_trigger + p.fft_len // 2:  # not a retry of the same trigger
                self.stats.detections += 1
            self._last_trigger = self._base + d
            if d + 3 * p.fft_len + 4 * p.cp_len + 4 > self._buf.size:  # final: cut inside its LTFs
                self.stats.header_failures += 1
                self._pos = self._base + self._buf.size
                break
            burst = self._acquired(d, cfo)
            if burst is None or burst.header is None:
                self.stats.header_failures += 1
                self._pos = self._base + d + L  # past this trigger's plateau
                continue
            n_sym = p.data_symbols(burst.header.seg_len)
            end = burst.t0 + (2 + p.header_symbols + n_sym) * p.symbol_len
            if end > self._buf.size and not final:
                self._pos = self._base + first
                self._trig = (self._pos, self._base + d, cfo)
                self._held = (self._base + d, cfo, self._base, burst)  # the retry reuses it
                break
            self._held = None
            seg, stop = self._data(burst, n_sym)
            seg.start = max(0, self._base + burst.t0 + p.backoff - p.symbol_len - p.cp_len)
            out.append(seg)
            self.stats.segments += 1
            self._pos = self._base + min(stop, self._buf.size)
        keep = max(0, min(self._pos - self._base, self._buf.size))
        if keep:
            self._buf = self._buf[keep:]
            self._base += keep
        return out

    # --- detection ------------------------------------------------------------------------
    def _metric(self, idx: np.ndarray):
        """S&C metric M and correlation P at buffer indices ``idx`` for the lag L = N/2 (the preamble's
        period), and the tone flag, each summed directly over its own window of L products (no
        running sums), so the values do not depend on where the buffer starts: the receiver's
        decisions are then the same whatever chunk sizes the samples arrive in.

        The tone flag is True where the window also repeats at lag L/2 (metric over the same second
        half > TONE_REJECT): a DC offset or a CW tone (periodic at every lag, S&C metric ~1 everywhere),
        not the preamble (random QPSK on the even carriers repeats at lag L only; its lag-L/2 metric is
        ~1/L)."""
        L = self.p.fft_len // 2
        H = L // 2
        w = self._buf[idx[:, None] + np.arange(2 * L)[None]].astype(np.complex128)
        first = np.conj(w[:, :L])
        out = []
        for lag in (L, H):
            x = w[:, lag:lag + L]
            P = np.sum(first * x, axis=1)
            R = np.sum(np.abs(x) ** 2, axis=1)
            out.append((np.where(R < 1e-20, 0.0, np.abs(P) ** 2 / np.maximum(R, 1e-30) ** 2), P))
        return out[0][0], out[0][1], out[1][0] > TONE_REJECT

    def _detect(self, s: int, final: bool):
        """First S&C trigger at or after buffer index ``s``: (index of the metric peak, coarse CFO in
        cycles/sample, index of the first sample over the threshold), None when there is none, or
        "wait" when the trigger's plateau runs past the buffer (more samples are needed to place it).

        Running sums find the candidates fast; the threshold crossing and the peak are then decided on
        directly computed values (:meth:`_metric`)."""
        p = self.p
        L = p.fft_len // 2
        total = self._buf.size - s - 2 * L  # metric positions s .. s + total - 1 in the buffer
        if total < L:
            return None
        span = p.cp_len + L // 2
        hits = np.zeros(0, np.int64)
        for b0 in range(0, total, SCAN_BLOCK):  # blocks of positions: bounded work per trigger, in cache
            hits = b0 + self._candidates(s + b0, min(SCAN_BLOCK, total - b0))
            if hits.size:
                break
        if hits.size == 0:
            return None  # the running sums' rounding put them over, or tones / DC
        i = int(hits[0])
        if i + span > total and not final:
            self._pos = self._base + s + max(0, i - 8)
            return "wait"
        near = s + i + np.arange(min(span, total - i))
        Mx, Px, tone = self._metric(near)
        Mx[tone] = 0.0
        j = int(np.argmax(Mx))
        return int(near[j]), float(np.angle(Px[j]) / (2 * np.pi * L)), s + i

    def _candidates(self, s: int, count: int) -> np.ndarray:
        """Offsets from buffer index ``s`` (below ``count``) of confirmed S&C positions: direct metric
        over the threshold and not tone-like (:meth:`_metric`), taken from the first batch of 32
        pre-filtered candidates that holds any, in order; empty when there are none."""
        L = self.p.fft_len // 2
        H = L // 2
        r = self._buf[s:s + count + 2 * L]
        # running sums in float64 over single-precision products: only a pre-filter (with a margin)
        # for the direct values that decide; all indices whose direct metric passes are kept
        cs = np.empty(r.size - L + 1, np.complex128)
        cs[0] = 0
        np.cumsum(np.conj(r[:-L]) * r[L:], dtype=np.complex128, out=cs[1:])
        e = np.empty(r.size + 1)
        e[0] = 0
        np.cumsum(np.abs(r) ** 2, dtype=np.float64, out=e[1:])
        R = e[2 * L:] - e[L:-L]  # energy of the second half
        P = cs[L:L + R.size] - cs[:R.size]  # P[d] = sum_{m<L} conj(r[d+m]) r[d+m+L]
        # M = |P|^2 / R^2 > threshold, without the division
        cand = np.flatnonzero(P.real ** 2 + P.imag ** 2 > (self.threshold * 0.999) * (R * R))
        if cand.size == 0:
            return cand
        cand = cand[R[cand] >= 1e-20]
        # the same at lag L/2 (over the same second-half window): high for DC and tones, ~1/L for the
        # preamble; where candidates are everywhere (DC offsets and tones) running sums pre-filter them
        if cand.size * 16 > R.size:
            cs2 = np.empty(r.size - H + 1, np.complex128)
            cs2[0] = 0
            np.cumsum(np.conj(r[:-H]) * r[H:], dtype=np.complex128, out=cs2[1:])
            n = R.size
            P2 = cs2[L:L + n] - cs2[:n]
            R2 = e[L + H:L + H + n] - e[H:H + n]
            cand = cand[(P2.real ** 2 + P2.imag ** 2 <= (TONE_REJECT * 1.05) * (R2 * R2))[cand]]
        for k in range(0, cand.size, 32):  # the first candidates whose direct values confirm them
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
        p = self.p
        N, CP = p.fft_len, p.cp_len
        lo, hi = d + N - 4, d + N + 3 * CP + 4  # LTF1 starts at d + N + 2 CP for d on the plateau start
        seg = self._buf[max(0, lo): hi + 2 * N + CP].astype(np.complex128)
        n = np.arange(seg.size) + max(0, lo)
        seg = seg * np.exp(-2j * np.pi * cfo * (n - d))
        offs = np.arange(max(0, lo), hi + 1)
        windows = np.lib.stride_tricks.sliding_window_view(seg, N)[:offs.size]
        corr = np.abs(windows @ np.conj(p.ltf_time))  # cross-correlation with the LTF at each offset
        t = int(offs[np.argmax(corr)])
        t0 = t - p.backoff  # LTF1 FFT window start (buffer index)
        w1 = self._buf[t0: t0 + N].astype(np.complex128)
        w2 = self._buf[t0 + N + CP: t0 + 2 * N + CP].astype(np.complex128)
        if w2.size < N:
            return None
        n1 = np.arange(t0, t0 + N) - d
        w1 = w1 * np.exp(-2j * np.pi * cfo * n1)
        w2 = w2 * np.exp(-2j * np.pi * cfo * (n1 + N + CP))
        fine = float(np.angle(np.vdot(w1, w2)) / (2 * np.pi * (N + CP)))
        w2 = w2 * np.exp(-2j * np.pi * fine * (N + CP))
        total = cfo + fine
        y = p._to_freq(np.stack([w1, w2]))
        h_raw = (y[0] + y[1]) / 2 / p.ltf
        h = p.smoother @ h_raw
        noise = float(np.mean(np.abs(y[0] - y[1]) ** 2) / 2)
        burst = _Burst(t0=t0, ref=d, cfo=total, h=h, noise=max(noise, 1e-12), h_ltf=h_raw)
        if self.min_snr_db is not None and np.mean(np.abs(h) ** 2) < burst.noise * 10 ** (self.min_snr_db / 10):
            return burst  # too weak for its header to decode: noise, or a trigger inside another burst
        try:
            burst.header = self._header(burst)
        except HeaderError:
            burst.header = None
        return burst

    def _symbols(self, burst: _Burst, first: int, count: int) -> np.ndarray:
        """Carrier values (count, used) of OFDM symbols ``first`` .. after the preamble (0 = header 0),
        CFO-corrected, divided by the channel estimate."""
        p = self.p
        N, S = p.fft_len, p.symbol_len
        starts = burst.t0 + (2 + first + np.arange(count)) * S
        idx = starts[:, None] + np.arange(N)[None]
        w = self._buf[np.minimum(idx, self._buf.size - 1)].astype(np.complex128)
        w[idx >= self._buf.size] = 0
        # the CFO correction exp(-2 pi i cfo (idx - ref)), as (per symbol start) x (per sample in a window)
        w *= np.exp(-2j * np.pi * burst.cfo * (starts - burst.ref))[:, None]
        w *= np.exp(-2j * np.pi * burst.cfo * np.arange(N))[None]
        return p._to_freq(w) / burst.h

    def _track(self, z: np.ndarray, first: int, h: np.ndarray, phase=(0.0, 0.0)):
        """Per-symbol pilot tracking: (phase, slope per carrier) fits and pilot coherence.

        The residual phase of the pilots of symbol m is modelled as a + b*k (k the carrier index):
        a from residual CFO and phase noise, b = 2*pi*tau/N from a timing drift tau (samples).
        Each symbol starts from the previous fit, so drifts of many radians over a burst are followed.
        """
        p = self.p
        kp = np.asarray(p.pilots, float)
        w = np.abs(h[p.pilot_index]) ** 2  # weight each pilot by its channel power
        sw = np.sqrt(w)
        A0 = np.stack([np.ones_like(kp), kp], 1)
        A = A0 * sw[:, None]  # weighted design matrix of a + b*k
        gram = A.T @ A
        full_rank = gram[0, 0] * gram[1, 1] - gram[0, 1] ** 2 > 1e-9 * gram[0, 0] * gram[1, 1]
        # (da, db) = G @ residual pilot phases: the weighted LS fit (normal equations; pinv below rank 2,
        # e.g. a zero channel)
        G = (np.linalg.inv(gram) @ A.T if full_rank else np.linalg.pinv(A)) * sw[None]
        n = z.shape[0]
        q = z[:, p.pilot_index] * self._pilot_rows(first, n)
        phi = np.angle(q)
        # one symbol at a time (each starts from the previous fit), in Python floats: 8 pilots per symbol
        # are too few for numpy's per-call cost
        g0, g1 = G.tolist()
        pilots = list(zip(g0, g1, kp.tolist()))
        a, b = float(phase[0]), float(phase[1])
        two_pi, pi = 2 * np.pi, np.pi
        out = []
        for row in phi.tolist():
            da = db = 0.0
            for (u, v, k), ph in zip(pilots, row):
                r = (ph - (a + b * k) + pi) % two_pi - pi  # the residual phase, wrapped
                da += u * r
                db += v * r
            a, b = a + da, b + db
            out.append((a, b))
        fits = np.array(out, float).reshape(n, 2)
        num = np.abs(np.sum(w * q * np.exp(-1j * (fits[:, :1] + fits[:, 1:] * kp[None])), axis=1))
        coh = num / np.maximum(np.sum(w * np.abs(q), axis=1), 1e-30)
        return fits, coh

    def _pilot_rows(self, first: int, count: int) -> np.ndarray:
        """(count, pilots) pilot values of the OFDM symbols first .. first + count - 1."""
        return self.p._rng_sequences[2][(first + np.arange(count)) % 256]

    def _derotate(self, z: np.ndarray, fits: np.ndarray) -> np.ndarray:
        """Remove each symbol's fitted pilot phase a + b*k from all its carriers."""
        k = self.p.used.astype(float)
        return z * np.exp(-1j * (fits[:, :1] + fits[:, 1:] * k[None]))

    def _header(self, burst: _Burst) -> SegmentHeader:
        p = self.p
        z = self._symbols(burst, 0, p.header_symbols)
        fits, _ = self._track(z, 0, burst.h)
        z = self._derotate(z, _smooth(fits, 1))  # phase and slope are near-linear over the header symbols
        d_idx = p.data_index
        gain = np.abs(burst.h[d_idx]) ** 2 / burst.noise
        llr = (2 * z[:, d_idx].real * gain[None]).reshape(-1)
        coded_len = 2 * (HEADER_BITS + 6)
        slots = llr[p.header_perm]  # slot j of the coded stream sits at header_perm[j]
        combined = np.bincount(np.arange(slots.size) % coded_len, weights=slots, minlength=coded_len)
        burst.phase = tuple(fits[-1])
        header = SegmentHeader.from_bits(viterbi_decode(combined, HEADER_BITS))  # HeaderError: bad CRC
        if self.header_aided:
            self._refine_channel(burst, header, z)
        return header

    def _refine_channel(self, burst: _Burst, header: SegmentHeader, z: np.ndarray) -> None:
        """Decision-directed channel estimate from the header, once its CRC has passed: its symbols are
        then known (re-encoded bits and pilots), so they join the two LTFs as training -- 11 symbols
        instead of 2 at the default parameters -- which cuts the estimation noise that a ZF/MMSE
        equaliser adds to every data symbol by 5.5x. ``z``: the header symbols divided by the LTF
        estimate, pilot phase removed."""
        p = self.p
        known = with_pilots(p, header_carriers(p, header))
        h_raw = (2 * burst.h_ltf + (z * burst.h[None] / known).sum(0)) / (2 + z.shape[0])
        burst.h = p.smoother @ h_raw

    def _data(self, burst: _Burst, n_sym: int):
        """Equalised data of the burst, validity, and the buffer index where the search resumes."""
        p = self.p
        S = p.symbol_len
        first = p.header_symbols
        avail = max(0, min(n_sym, (self._buf.size - burst.t0 - (2 + first) * S - p.fft_len) // S + 1))
        z = self._symbols(burst, first, avail) if avail else np.zeros((0, p.used.size), complex)
        fits, coh = self._track(z, first, burst.h, burst.phase)
        bad = coh < self.quality
        cut = avail
        for m in range(avail):
            if bad[m] and (m + 1 >= avail or bad[m + 1]):
                cut = m
                break
        z = self._derotate(z[:cut], _smooth(fits[:cut], self.smooth))
        d_idx = p.data_index
        n = burst.header.seg_len
        data = np.zeros(n_sym * p.n_data, np.complex64)
        zd = z[:, d_idx]
        if self.equalizer != "zf":  # LMMSE for unit-power symbols: shrink the weak carriers
            g = np.abs(burst.h[d_idx]) ** 2
            w = g / (g + burst.noise)
            if self.equalizer == "ummse":  # ... relative to the strong ones only: unit mean gain
                w = w / w.mean()
            zd = zd * w[None]
        data[:cut * p.n_data] = zd.reshape(-1)
        valid = np.zeros(n_sym * p.n_data, bool)
        valid[:cut * p.n_data] = True
        if self._bad.size:  # OFDM symbols (with their cyclic prefix) that held a zeroed sample
            start = self._base + burst.t0 + (2 + first) * S - p.cp_len
            m = (self._bad - start) // S
            for k in np.unique(m[(m >= 0) & (m < cut)]):
                valid[k * p.n_data:(k + 1) * p.n_data] = False
        if cut < n_sym:
            self.stats.cut_off += 1
        snr = float(10 * np.log10(max(np.mean(np.abs(burst.h) ** 2) / burst.noise, 1e-12)))
        stop = burst.t0 + (2 + first + cut) * S
        if cut == n_sym:
            stop += p.guard // 2
        return RxSegment(burst.header, data[:n], valid[:n], snr, burst.cfo, 0), stop


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
