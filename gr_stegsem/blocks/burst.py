"""Symbol PDUs <-> bursts on a sample stream, for an ideal (symbol-synchronous) stream channel.

Alice: ``burst_framer`` pads each symbol PDU with ``guard`` zero samples on both sides, then GNU
Radio's ``pdu.pdu_to_tagged_stream`` puts it on a stream (meta items become tags on its first sample).
Receivers: the stream passes a channel (``channels.channel_model``, a ZMQ link, ...) and
``burst_to_pdu`` cuts the k data samples back out at a known sample ``delay`` relative to the burst's
``packet_len`` tag and posts them as a symbol PDU with the burst's meta.

Why not ``pdu.tagged_stream_to_pdu``: ``channels.channel_model``'s fractional resampler shifts the
data against the tags (by -3 samples at epsilon = 1 on GNU Radio 3.10.5: a received sample n carries
the sent sample n + 3) and holds its last samples back until more input arrives, so the last burst
would never leave a tagged-stream receiver. The trailing guard flushes the data out and ``delay``
re-aligns it. This is the ideal-channel simulation; over the air the PHY does the synchronisation.
"""
from __future__ import annotations

import numpy as np
import pmt
from gnuradio import gr

from ._base import PduBlock
from .pdus import c32vector_from_numpy, c32vector_to_numpy

PACKET_LEN = "packet_len"
GUARD = "guard"
CHANNEL_MODEL_DELAY = -3  # samples; channels.channel_model at epsilon = 1.0, GNU Radio 3.10.5


class burst_framer(PduBlock):
    """Symbol PDU -> the same PDU with ``guard`` zero samples before and after (meta ``guard``).

    Ports: ``in`` (c32vector PDU), ``out`` (c32vector PDU of k + 2*guard samples).
    ``guard`` must exceed |delay| of the receivers and the channel's filter memory (16 is plenty).
    ``max_len`` (samples, guards included; 0: no bound) is the longest burst the stream after the
    framer can take: a longer one would stall ``pdu_to_tagged_stream`` ('Buffer too small for
    min_noutput_items'), so it is dropped and logged, as are empty vectors and NaN/Inf samples.
    """

    def __init__(self, guard: int = 16, max_len: int = 0):
        PduBlock.__init__(self, "burst_framer")
        if int(guard) < 0:
            raise ValueError(f"guard must be >= 0 samples, got {guard}")
        if int(max_len) < 0 or (int(max_len) and int(max_len) <= 2 * int(guard)):
            raise ValueError(f"max_len must be 0 (no bound) or more than 2 * guard samples, got {max_len}")
        self.guard = int(guard)
        self.max_len = int(max_len)
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        if not pmt.is_pair(msg) or not pmt.is_dict(pmt.car(msg)) or not pmt.is_c32vector(pmt.cdr(msg)):
            raise ValueError("expected a PDU (meta dict, c32vector)")
        v = c32vector_to_numpy(pmt.cdr(msg))
        if v.size == 0:
            raise ValueError("empty symbol vector")
        if self.max_len and v.size + 2 * self.guard > self.max_len:
            raise ValueError(f"{v.size} symbols + 2 guards exceed the longest burst of {self.max_len} samples")
        if not np.isfinite(v.view(np.float32)).all():
            raise ValueError("symbols contain NaN or Inf values")
        z = np.zeros(self.guard, np.complex64)
        out = np.concatenate([z, v, z])
        meta = pmt.dict_add(pmt.car(msg), pmt.intern(GUARD), pmt.from_long(self.guard))
        self._publish("out", pmt.cons(meta, c32vector_from_numpy(out)))


def _tag_int(value) -> int | None:
    """An integer tag value (pmt long or uint64) as int; None for any other type."""
    if pmt.is_integer(value):
        return pmt.to_long(value)
    if pmt.is_uint64(value):
        return pmt.to_uint64(value)
    return None


class burst_to_pdu(gr.sync_block):
    """Complex sample stream with ``packet_len`` bursts -> symbol PDUs of the k data samples.

    For a burst tagged at sample o with packet_len L and meta ``guard`` = g, the data are the
    samples [o + g + delay, o + g + delay + L - 2g). ``delay`` (samples, may be negative) is the
    channel's shift of data against tags: -3 for ``channels.channel_model`` (GNU Radio 3.10.5),
    0 for a plain link. Output port ``pdus``; the meta is the burst's tags without packet_len/guard.

    Resynchronisation: samples without a burst tag are ignored, so a receiver that starts (or a ZMQ
    subscriber that connects) in the middle of a burst drops that partial burst and locks onto the
    next ``packet_len`` tag. A burst whose L samples did not all arrive before the next burst's tag
    (samples lost on the link, e.g. a ZMQ message dropped at the high-water mark) is cut off:
    logged, counted in ``n_dropped`` and not posted, so lost samples never shift a frame. So is a
    burst whose ``packet_len`` / ``guard`` tags are not integers or out of range (packet_len in
    [1, max_len], guard >= 0, 2 * guard < packet_len); the bursts after it are unaffected.
    ``n_outside`` counts the samples that belonged to no tagged burst (e.g. the tail of a burst whose
    start was missed), ``n_out`` the PDUs posted.
    """

    def __init__(self, delay: int = CHANNEL_MODEL_DELAY, max_len: int = 1 << 24):
        gr.sync_block.__init__(self, name="burst_to_pdu", in_sig=[np.complex64], out_sig=None)
        self.delay = int(delay)
        self.max_len = int(max_len)
        self.message_port_register_out(pmt.intern("pdus"))
        self._buf = np.zeros(0, np.complex64)
        self._base = 0  # absolute offset of self._buf[0]
        self._pending: list[tuple[int, int, object, int, int]] = []  # (data start, k, meta, tag offset, L)
        self.n_out = 0
        self.n_dropped = 0
        self.last_error = ""  # the last reason for a drop
        self.n_outside = 0  # samples outside every tagged burst (ignored)
        self._covered = 0  # absolute end of the furthest burst seen (tag offset + packet_len)

    def _drop(self, why: str) -> None:
        self.n_dropped += 1
        self.last_error = why
        try:
            self.logger.warn(f"burst dropped: {why}")
        except Exception:  # noqa: BLE001 - logging must never take the block down
            pass

    def _burst(self, off: int, items: dict) -> tuple[int, int] | None:
        """(packet_len, guard) of the burst tagged at ``off``, or None (dropped, logged) when a tag is
        not an integer or out of range: 1 <= packet_len <= max_len, 0 <= guard, 2 * guard < packet_len."""
        length, guard = _tag_int(items.pop(PACKET_LEN)), _tag_int(items.pop(GUARD, pmt.from_long(0)))
        if length is None or guard is None:
            self._drop(f"burst at sample {off}: packet_len / guard tags must be integers")
            return None
        if not (0 < length <= self.max_len and 0 <= guard and 2 * guard < length):
            self._drop(f"burst at sample {off} has packet_len {length} and guard {guard}")
            return None
        return length, guard

    def work(self, input_items, output_items):
        x = input_items[0]
        n = len(x)
        start = self.nitems_read(0)
        self._buf = np.concatenate([self._buf, x]) if self._buf.size else x.copy()
        if not self._buf.size or self._base + self._buf.size != start + n:
            self._base = start + n - self._buf.size
        tags = self.get_tags_in_window(0, 0, n)
        by_offset: dict[int, dict] = {}
        for t in tags:
            if pmt.is_symbol(t.key):  # a tag keyed otherwise cannot be ours
                by_offset.setdefault(t.offset, {})[pmt.symbol_to_string(t.key)] = t.value
        cur = start
        for off in sorted(by_offset):
            items = by_offset[off]
            if PACKET_LEN not in items:
                continue
            burst = self._burst(off, items)
            if burst is None:
                continue
            length, guard = burst
            self.n_outside += max(0, off - max(cur, self._covered))
            self._covered = max(self._covered, off + length)
            cur = off
            k = length - 2 * guard
            cut = [p for p in self._pending if p[3] + p[4] > off]
            for p in cut:  # the new burst starts before this one ended: samples were lost
                self._pending.remove(p)
                self._drop(f"burst of {p[4]} samples at sample {p[3]} cut off by a new burst at sample {off} "
                           f"({p[3] + p[4] - off} samples lost on the link)")
            meta = pmt.make_dict()
            for key, val in items.items():
                meta = pmt.dict_add(meta, pmt.intern(key), val)
            self._pending.append((off + guard + self.delay, k, meta, off, length))
        self.n_outside += max(0, start + n - max(cur, self._covered))
        end = self._base + self._buf.size
        while self._pending and self._pending[0][0] + self._pending[0][1] <= end:
            s, k, meta, _, _ = self._pending.pop(0)
            if s < self._base:
                self._drop(f"data of the burst at sample {s} are no longer buffered")
                continue
            data = self._buf[s - self._base: s - self._base + k]
            self.message_port_pub(pmt.intern("pdus"), pmt.cons(meta, c32vector_from_numpy(data)))
            self.n_out += 1
        keep_from = self._pending[0][0] if self._pending else end - max(0, -self.delay)
        keep_from = max(self._base, min(keep_from, end))
        if keep_from > self._base:
            self._buf = self._buf[keep_from - self._base:]
            self._base = keep_from
        if self._buf.size > self.max_len:
            self._drop(f"buffer exceeded {self.max_len} samples; resynchronising")
            self._pending.clear()
            self._buf = self._buf[-max(0, -self.delay):] if self.delay < 0 else np.zeros(0, np.complex64)
            self._base = end - self._buf.size
        return n
