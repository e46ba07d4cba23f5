"""GNU Radio blocks of the PHY: symbol PDUs <-> OFDM bursts on a sample stream.

TX: ``phy_tx`` (hier) = ``ofdm_modulator`` (symbol PDU -> one burst PDU per segment) ->
``pdu.pdu_to_tagged_stream`` (``packet_len``: gr-uhd sends each burst as a UHD burst).
RX: ``phy_rx`` (hier) = ``ofdm_receiver`` (sample stream -> segment PDUs) ->
``segment_reassembler`` (segments -> symbol PDUs, lost symbols zero-filled and flagged).
``segment_drop`` sits between the two to emulate segment loss (the graceful-degradation curve).

Symbol PDU into the modulator: as :mod:`gr_stegsem.blocks.pdus`; an optional ``nonce`` (pmt uint64 or
non-negative long, below 2^64: the keyed steganography's public frame nonce) goes into every segment
header of the frame.
Segment PDU: c32vector of the segment's soft symbols; meta ``frame_id``, ``seg_index``, ``seg_count``,
``seg_len``, ``height``, ``width``, ``latent_c/h/w``, ``secure``, ``keyed`` (bool), ``nonce`` (uint64, 0
when not keyed) (the header), ``snr_db`` (double, data Es/N0 estimate), ``cfo`` (double, cycles/sample),
``valid`` (u8vector, 1 per symbol received), ``sample`` (uint64, the burst's first sample -- the
Schmidl & Cox symbol's cyclic prefix -- counted from the first sample of the receiver's input stream).
``phy_rx`` passes them on at its ``bursts`` port; a ``sigmf_sink`` recording the same stream turns each
into an annotation (its ``bursts`` port).
Symbol PDU out of the reassembler: as :mod:`gr_stegsem.blocks.pdus`, plus ``phy_segments`` (u8vector:
1 per segment that arrived), ``phy_lost`` (double: fraction of the frame's symbols zero-filled),
``snr_db`` (double: mean estimate over the received segments, dB), for a keyed frame only ``nonce``
(uint64), and ``lwe_c1`` (u8vector) when the frame had a digital section that decoded (:mod:`.digital`).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

import numpy as np
import pmt
from gnuradio import gr, pdu

from ..blocks._base import PduBlock
from ..blocks.pdus import (MAX_FRAME_ID, c32vector_from_numpy, c32vector_to_numpy, meta_get, meta_int, meta_set,
                           parse_symbol_pdu, split_pdu, symbol_pdu, u8vector_from_numpy, u8vector_to_numpy)
from . import digital
from .header import SegmentHeader, segment_plan
from .ofdm import OfdmParams, OfdmReceiver, modulate
from .segments import FrameInfo, Reassembler, split

PACKET_LEN = "packet_len"
HEADER_KEYS = ("frame_id", "seg_index", "seg_count", "seg_len", "height", "width", "latent_c", "latent_h",
               "latent_w")
NONCE = "nonce"
LWE_C1 = "lwe_c1"  # gr_stegsem.blocks.digital.LWE_C1: DeepJSCEC's header, the PHY's digital section
SECTIONS_KEPT = 64  # decoded digital sections waiting for their frame


def meta_nonce(meta) -> int | None:
    """The ``nonce`` meta field (pmt uint64 or long), or None when absent; ValueError for a value that
    is not an integer in [0, 2^64)."""
    v = meta_get(meta, NONCE)
    if v is None:
        return None
    if pmt.is_uint64(v):
        n = int(pmt.to_uint64(v))
    elif pmt.is_integer(v):
        n = int(pmt.to_long(v))
    else:
        raise ValueError(f"PDU meta '{NONCE}' must be an integer (pmt uint64), got {pmt.write_string(v)[:40]}")
    if not 0 <= n < 1 << 64:
        raise ValueError(f"PDU meta '{NONCE}' = {n} is not in [0, 2^64)")
    return n


def params(seg_len: int = 3680) -> OfdmParams:
    return OfdmParams(seg_len=int(seg_len))


class ofdm_modulator(PduBlock):
    """Symbol PDU -> a PDU of samples holding one burst (guards included) per segment of at most
    ``seg_len`` symbols, back to back. Unit-power symbols give unit mean sample power; ``amplitude``
    scales the samples (e.g. 0.25 to keep a USRP's DAC out of clipping). Meta: frame_id, seg_count.
    A ``nonce`` in the symbol PDU's meta goes into every segment header (keyed); a bad one drops the PDU.
    QAM symbols (DeepJSCC-LBVQ) ride the data carriers like analog ones; a DeepJSCEC frame's LWE
    header (meta ``lwe_c1``) goes ahead of it as a digital section (:mod:`.digital`: CRC-16, rate-1/2
    code, QPSK) in segments of its own."""

    def __init__(self, seg_len: int = 3680, amplitude: float = 1.0):
        PduBlock.__init__(self, "ofdm_modulator")
        self.p = params(seg_len)
        self.amplitude = float(amplitude)
        self._input("in", self._handle)
        self._output("out")
        self._hold_done()

    def _handle(self, msg):
        f = parse_symbol_pdu(msg)
        info = FrameInfo(f.frame_id, f.height, f.width, f.latent, f.secure, meta_nonce(f.meta))
        segs = split(info, f.symbols.numpy().reshape(-1), self.p.seg_len)
        c1 = meta_get(f.meta, LWE_C1)
        if c1 is not None:  # DeepJSCEC's LWE header: the digital section, sent ahead of the frame
            if not pmt.is_u8vector(c1):
                raise ValueError(f"frame {f.frame_id}: meta '{LWE_C1}' must be a u8vector")
            segs = digital.segments(f.frame_id, f.secure, info.nonce, u8vector_to_numpy(c1).tobytes(),
                                    self.p.seg_len) + segs
        # one PDU per frame: its bursts back to back (each with its own guards). GNU Radio 3.10.5's
        # pdu_to_tagged_stream may end with PDUs still queued when 'done' arrives; one per frame
        # (held until the queue is empty, see _can_finish) delivers every burst
        x = np.concatenate([modulate(self.p, hdr, sym) for hdr, sym in segs])
        if self.amplitude != 1.0:
            x = x * np.complex64(self.amplitude)
        meta = meta_set(pmt.make_dict(), frame_id=f.frame_id, seg_count=len(segs))
        self._publish("out", pmt.cons(meta, c32vector_from_numpy(x)))

    def _can_finish(self) -> bool:
        return self._inputs_empty("in")


class ofdm_receiver(gr.sync_block):
    """Complex sample stream -> segment PDUs (port ``segments``): burst detection, CFO, timing,
    channel estimation, header decoding, pilot tracking, equalisation (soft values, never sliced).

    ``threshold``: Schmidl & Cox trigger level (0..1); ``equalizer``: ``ummse`` (default), ``mmse``
    or ``zf`` (see :class:`~.ofdm.OfdmReceiver`);
    ``amplitude``: the transmitter's scale (the receiver divides by it; the SNR estimate does not
    depend on it). Counters: ``stats`` (detections, header failures, segments, cut-off bursts, NaN/Inf
    samples: each is replaced by 0 and the data of its OFDM symbol flagged invalid).
    """

    def __init__(self, seg_len: int = 3680, threshold: float = 0.15, equalizer: str = "ummse",
                 amplitude: float = 1.0):
        gr.sync_block.__init__(self, name="ofdm_receiver", in_sig=[np.complex64], out_sig=None)
        if float(amplitude) <= 0:
            raise ValueError(f"amplitude must be > 0, got {amplitude}")
        self.rx = OfdmReceiver(params(seg_len), threshold=threshold, equalizer=equalizer)
        self.scale = np.complex64(1.0 / float(amplitude))
        self._origin = 0  # stream index of the receiver's sample 0 (moves on when it resynchronises)
        self.message_port_register_out(pmt.intern("segments"))

    @property
    def stats(self):
        return self.rx.stats

    def work(self, input_items, output_items):
        x = input_items[0]
        try:
            for seg in self.rx.feed(x * self.scale if self.scale != 1 else x):
                self._post(seg)
        except Exception as e:  # noqa: BLE001 - never raise into the scheduler
            self.logger.warn(f"receiver error, resynchronising: {e.__class__.__name__}: {e}")
            self.rx.reset()  # counts samples from 0 again: from the sample after this chunk
            self._origin = self.nitems_read(0) + len(x)
        return len(x)

    def _post(self, seg) -> None:
        """The segment as a PDU: meta (the header's fields, secure, keyed, nonce, snr_db, cfo, valid, sample:
        the keys of :func:`meta_set`, added in that order with the keys interned once) and the symbols."""
        h = seg.header
        add, k = pmt.dict_add, _POST_KEYS
        meta = pmt.make_dict()
        for key, name in zip(k, HEADER_KEYS):
            meta = add(meta, key, pmt.from_long(int(getattr(h, name))))
        meta = add(meta, k[-7], pmt.from_bool(bool(h.secure)))
        meta = add(meta, k[-6], pmt.from_bool(bool(h.keyed)))
        meta = add(meta, k[-5], pmt.from_uint64(int(h.nonce)))
        meta = add(meta, k[-4], pmt.from_double(float(seg.snr_db)))
        meta = add(meta, k[-3], pmt.from_double(float(seg.cfo)))
        meta = add(meta, k[-2], u8vector_from_numpy(seg.valid.view(np.uint8)))
        meta = add(meta, k[-1], pmt.from_uint64(self._origin + int(seg.start)))
        self.message_port_pub(_SEGMENTS, pmt.cons(meta, c32vector_from_numpy(seg.symbols)))


_POST_KEYS = tuple(pmt.intern(k) for k in HEADER_KEYS + ("secure", "keyed", "nonce", "snr_db", "cfo", "valid",
                                                        "sample"))
_SEGMENTS = pmt.intern("segments")


def parse_segment_pdu(msg):
    """Segment PDU -> (SegmentHeader, symbols, valid, snr_db); ValueError when malformed."""
    meta, vec = split_pdu(msg)
    if not pmt.is_c32vector(vec):
        raise ValueError("segment PDU vector must be a c32vector (soft symbols)")
    vals = {k: meta_int(meta, k, 0, MAX_FRAME_ID) for k in HEADER_KEYS}  # all go on as pmt longs
    sec = meta_get(meta, "secure", pmt.PMT_F)
    keyed = meta_get(meta, "keyed", pmt.PMT_F)
    hdr = SegmentHeader(**vals, secure=pmt.to_bool(sec) if pmt.is_bool(sec) else False,
                        nonce=meta_nonce(meta) or 0, keyed=pmt.to_bool(keyed) if pmt.is_bool(keyed) else False).check()
    sym = c32vector_to_numpy(vec)
    if sym.size != hdr.seg_len:
        raise ValueError(f"segment PDU has {sym.size} symbols, its meta says {hdr.seg_len}")
    if not np.isfinite(sym.view(np.float32)).all():
        raise ValueError("segment PDU contains NaN or Inf samples")
    v = meta_get(meta, "valid")
    valid = u8vector_to_numpy(v).astype(bool) if v is not None and pmt.is_u8vector(v) else None
    if valid is not None and valid.size != sym.size:
        raise ValueError("segment PDU 'valid' mask does not match its length")
    s = meta_get(meta, "snr_db")
    snr = pmt.to_double(s) if s is not None and pmt.is_real(s) else None
    return hdr, sym, valid, snr


class segment_reassembler(PduBlock):
    """Segment PDUs (port ``in``) -> symbol PDUs (port ``out``), one per frame.

    A frame leaves when all its segments are in, when more than ``max_pending`` frames are open
    (oldest first), or ``timeout`` seconds after its first segment (0 = no timeout); missing symbols
    are zeros, flagged in the meta (``phy_segments``, ``phy_lost``). Duplicated and reordered
    segments are handled; counters in ``reassembler.stats``.

    Digital sections (:mod:`.digital`, header height 0: DeepJSCEC's LWE header, sent ahead of its
    frame) are reassembled apart (``sections``), decoded (CRC-checked) and put on their frame as meta
    ``lwe_c1``; a frame whose section was lost or failed (``n_sections_failed``, logged) goes on
    without it (lwe_decrypt then drops it).
    """

    def __init__(self, max_pending: int = 2, timeout: float = 1.0):
        PduBlock.__init__(self, "segment_reassembler")
        self.reassembler = Reassembler(max_pending=int(max_pending), timeout=float(timeout) or None)
        self.sections = Reassembler(max_pending=int(max_pending), timeout=float(timeout) or None)
        self._decoded: OrderedDict = OrderedDict()  # (frame_id, nonce) -> section bytes, or None (failed)
        self.n_sections_failed = 0
        self._lock = threading.Lock()
        self._timer = None
        self._input("in", self._handle)
        self._output("out")
        self._hold_done()

    def _can_finish(self) -> bool:
        """Upstream is done: deliver the open frames (incomplete) once the queue is empty."""
        if not self._inputs_empty("in"):
            return False
        with self._lock:
            self._sections(self.sections.flush())
            frames = self.reassembler.flush()
        for f in frames:
            self._emit(f)
        return True

    def _handle(self, msg):
        hdr, sym, valid, snr = parse_segment_pdu(msg)
        with self._lock:
            if digital.is_digital(hdr):  # a digital section (DeepJSCEC's LWE header) for a frame to come
                self._sections(self.sections.add(hdr, sym, valid, snr))
                return
            frames = self.reassembler.add(hdr, sym, valid, snr)
        for f in frames:
            self._emit(f)

    def _sections(self, frames) -> None:
        """Decode reassembled digital sections (a failed CRC is remembered as None); bounded."""
        for f in frames:
            raw = digital.decode(f)
            if raw is None:
                self.n_sections_failed += 1
                self._warn(f"frame {f.info.frame_id}: its digital section (LWE header) did not decode "
                           f"({f.lost_fraction:.1%} of its symbols lost); the frame goes on without it")
            self._decoded[(f.info.frame_id, f.info.nonce)] = raw
            while len(self._decoded) > SECTIONS_KEPT:
                self._decoded.popitem(last=False)

    def _section_of(self, info) -> bytes | None:
        """The decoded digital section of a frame being delivered (None: none, or it failed; a section
        still incomplete when its frame is delivered is lost with it)."""
        with self._lock:
            return self._decoded.pop((info.frame_id, info.nonce), None)

    def _emit(self, frame) -> None:
        i = frame.info
        out = symbol_pdu(frame.symbols, i.frame_id, (i.height, i.width), i.latent, secure=i.secure)
        seg = frame.segments.astype(np.uint8)
        raw = self._section_of(i)
        meta = meta_set(pmt.car(out), phy_segments=u8vector_from_numpy(seg),
                        phy_lost=float(frame.lost_fraction), snr_db=float(frame.snr_db),
                        nonce=None if i.nonce is None else pmt.from_uint64(int(i.nonce)),  # keyed frames only
                        lwe_c1=None if raw is None else u8vector_from_numpy(np.frombuffer(raw, np.uint8)))
        if not frame.complete:
            self._warn(f"frame {i.frame_id}: {frame.lost_fraction:.1%} of its symbols lost "
                       f"({int((~frame.segments).sum())} of {seg.size} segments missing); zero-filled")
        self._publish("out", pmt.cons(meta, pmt.cdr(out)))

    def _tick(self):
        try:
            with self._lock:
                self._sections(self.sections.expire())
                frames = self.reassembler.expire()
            for f in frames:
                self._emit(f)
        except Exception as e:  # noqa: BLE001
            self._warn(f"timeout handling failed: {e}")
        if not self._halted:
            self._timer = threading.Timer(0.1, self._tick)
            self._timer.daemon = True
            self._timer.start()

    def start(self):
        PduBlock.start(self)
        if self.reassembler.timeout:
            self._tick()
        return True

    def stop(self):
        PduBlock.stop(self)
        if self._timer is not None:
            self._timer.cancel()
        return True


class segment_drop(PduBlock):
    """Drops each PDU with probability ``p`` (seeded): emulates lost segments/packets."""

    def __init__(self, p: float = 0.0, seed: int = 0):
        PduBlock.__init__(self, "segment_drop")
        if not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"drop probability must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng = np.random.default_rng(int(seed))
        self.n_lost = 0
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        if self.rng.random() < self.p:
            self.n_lost += 1
            return
        self._publish("out", msg)


def frame_samples(p: OfdmParams, side: int) -> int:
    """Samples of one frame's bursts for a side x side image at bcr 1/12 (k = 3 side^2 / 12 = side^2 / 4
    complex symbols)."""
    return sum(p.burst_len(n) for _, n in segment_plan(side * side // 4, p.seg_len))


def max_frame_samples(p: OfdmParams, side: int = 256) -> int:
    """:func:`frame_samples` of a 256 x 256 frame (16,384 symbols, 5 bursts): the output buffer of
    ``phy_tx`` holds two of them (a burst is written at once; larger frames are more bursts)."""
    return frame_samples(p, side)


class phy_tx(gr.hier_block2):
    """Symbol PDUs (message port ``in``) -> OFDM burst samples (stream, ``packet_len`` tags)."""

    def __init__(self, seg_len: int = 3680, amplitude: float = 1.0):
        gr.hier_block2.__init__(self, "phy_tx", gr.io_signature(0, 0, 0), gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.message_port_register_hier_in("in")
        self.modulator = ofdm_modulator(seg_len, amplitude)
        self.to_stream = pdu.pdu_to_tagged_stream(gr.types.complex_t, PACKET_LEN)
        # a whole burst is written at once; measured on 3.10.5, the buffer must hold two
        self.to_stream.set_min_output_buffer(2 * max_frame_samples(self.modulator.p))
        self.msg_connect(self, "in", self.modulator, "in")
        self.msg_connect(self.modulator, "out", self.to_stream, "pdus")
        self.connect(self.to_stream, self)


class phy_rx(gr.hier_block2):
    """OFDM burst samples (stream) -> symbol PDUs (message port ``out``) with loss flags and SNR.

    Port ``bursts``: the receiver's segment PDUs, one per decoded burst (before ``drop``), each with
    its first sample's index in the input stream (meta ``sample``), for a :class:`sigmf_sink`'s
    annotations. ``drop`` > 0 drops that fraction of the received segments (seeded by ``seed``) before reassembly,
    to measure graceful degradation."""

    def __init__(self, seg_len: int = 3680, threshold: float = 0.15, equalizer: str = "ummse",
                 amplitude: float = 1.0, max_pending: int = 2, timeout: float = 1.0, drop: float = 0.0,
                 seed: int = 0):
        gr.hier_block2.__init__(self, "phy_rx", gr.io_signature(1, 1, gr.sizeof_gr_complex), gr.io_signature(0, 0, 0))
        self.message_port_register_hier_out("out")
        self.message_port_register_hier_out("bursts")
        self.receiver = ofdm_receiver(seg_len, threshold, equalizer, amplitude)
        self.reassembler = segment_reassembler(max_pending, timeout)
        self.connect(self, self.receiver)
        self.msg_connect(self.receiver, "segments", self, "bursts")
        if float(drop) > 0:  # segment loss emulation between receiver and reassembler
            self.dropper = segment_drop(drop, seed)
            self.msg_connect(self.receiver, "segments", self.dropper, "in")
            self.msg_connect(self.dropper, "out", self.reassembler, "in")
        else:
            self.dropper = None
            self.msg_connect(self.receiver, "segments", self.reassembler, "in")
        self.msg_connect(self.reassembler, "out", self, "out")


class sigmf_annotator(PduBlock):
    """Segment PDUs of a PHY receiver (port ``bursts``, meta ``sample`` = the burst's first sample in
    the recorded stream) -> one annotation each (:func:`.sigmf_io.burst_annotation`) in the
    recording's ``.sigmf-meta``, rewritten (atomically) at most every ``interval`` s while bursts come
    -- slower when the file has grown: the writes take at most ~5 % of the time -- and at stop.
    ``writer``: a :class:`.sigmf_io.MetaWriter`, or None (no recording: the PDUs are ignored)."""

    def __init__(self, writer=None, sample_rate: float = 1e6, center_freq: float = 0.0, interval: float = 1.0):
        PduBlock.__init__(self, "sigmf_annotator")
        self.writer = writer
        self.sample_rate = float(sample_rate)
        self.center_freq = float(center_freq or 0.0)
        self.interval = max(0.01, float(interval))
        self._stop = threading.Event()
        self._thread = None
        self._input("bursts", self._handle)
        self._hold_done()

    def _handle(self, msg):
        if self.writer is None:
            return
        from . import sigmf_io

        meta = pmt.car(msg) if pmt.is_pair(msg) else pmt.PMT_NIL
        first = meta_int(meta, "sample", 0)  # the burst's first sample in the recorded stream
        hdr, _, valid, snr = parse_segment_pdu(msg)
        c = meta_get(meta, "cfo")
        cfo = pmt.to_double(c) if c is not None and pmt.is_real(c) else None
        self.writer.add(sigmf_io.burst_annotation(first, hdr, snr, cfo, self.sample_rate, self.center_freq,
                                                  None if valid is None else float(valid.mean())))

    def _can_finish(self) -> bool:
        return self._inputs_empty("bursts")

    def _write(self) -> float:
        """Rewrite the meta file; seconds it took (0 when it failed: logged)."""
        t0 = time.monotonic()
        try:
            self.writer.write()
        except OSError as e:
            self._warn(f"could not write {self.writer.path}: {e}")
            return 0.0
        return time.monotonic() - t0

    def _loop(self):
        took = 0.0
        while not self._stop.wait(max(self.interval, 20 * took)):
            if self.writer.dirty:
                took = self._write()

    def start(self):
        PduBlock.start(self)
        if self.writer is not None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="stegsem_sigmf_meta", daemon=True)
            self._thread.start()
        return True

    def stop(self):
        PduBlock.stop(self)
        if self.writer is not None:
            self._stop.set()
            if self._thread is not None:
                self._thread.join(10)
            self._write()
        return True


class sigmf_sink(gr.hier_block2):
    """Records a complex stream as a SigMF recording ``path`` (.sigmf-data + .sigmf-meta).

    ``path`` '' records nothing (the samples go to a null sink), so a flowgraph can expose recording
    as an optional parameter. The metadata holds the sample rate (S/s), the centre frequency (Hz, in
    the capture; 0 = baseband, left out) and a description (:func:`.sigmf_io.describe`: ``description``
    says what is recorded; ``seg_len`` > 0 adds the PHY's numerology, segment length and the
    transmitter's ``amplitude``). Message port ``bursts``: connect a :class:`phy_rx`'s ``bursts`` (a
    receiver of this same stream) for one annotation per decoded burst; the meta file is written at
    the start, while bursts come (every ``interval`` s at most) and at stop.
    """

    def __init__(self, path: str = "", sample_rate: float = 1e6, center_freq: float = 0.0, description: str = "",
                 seg_len: int = 0, amplitude: float = 1.0, interval: float = 1.0):
        gr.hier_block2.__init__(self, "sigmf_sink", gr.io_signature(1, 1, gr.sizeof_gr_complex), gr.io_signature(0, 0, 0))
        from gnuradio import blocks as grb

        from . import sigmf_io

        self.message_port_register_hier_in("bursts")
        self.path = str(path or "").strip()
        self.writer = None
        if self.path:
            extra = {"stegsem:seg_len": int(seg_len), "stegsem:amplitude": float(amplitude)} if int(seg_len) > 0 else {}
            text = sigmf_io.describe(description, seg_len, sample_rate, center_freq, amplitude)
            self.writer = sigmf_io.MetaWriter(self.path, sample_rate, center_freq, text, extra)
            self.writer.write(validate=True)
            self.sink = grb.file_sink(gr.sizeof_gr_complex, str(sigmf_io.data_path(self.path)), False)
            self.sink.set_unbuffered(False)
        else:
            self.sink = grb.null_sink(gr.sizeof_gr_complex)
        self.annotator = sigmf_annotator(self.writer, sample_rate, center_freq, interval)
        self.connect(self, self.sink)
        self.msg_connect(self, "bursts", self.annotator, "bursts")


class sigmf_source(gr.hier_block2):
    """Plays a SigMF recording (cf32_le) as a complex stream, once or looping; checks its metadata."""

    def __init__(self, path: str, repeat: bool = False):
        gr.hier_block2.__init__(self, "sigmf_source", gr.io_signature(0, 0, 0), gr.io_signature(1, 1, gr.sizeof_gr_complex))
        from gnuradio import blocks as grb

        from . import sigmf_io

        self.info = sigmf_io.read_info(path)
        self.source = grb.file_source(gr.sizeof_gr_complex, str(sigmf_io.data_path(path)), bool(repeat))
        self.connect(self.source, self)
