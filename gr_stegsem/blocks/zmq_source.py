"""A ZeroMQ SUB source of complex samples that survives any message (issue 16, case 2).

GNU Radio 3.10.5's ``zeromq.sub_source`` ends its thread on a message it cannot parse (with tags:
one shorter than its tag header, e.g. empty or 1 byte; without: one that is not a whole number of
items) and the flowgraph goes on decoding nothing. This source receives with pyzmq and checks each
message first: raw complex64 samples, as ``zeromq.pub_sink`` sends them with ``pass_tags`` False.
"""
from __future__ import annotations

import threading

import numpy as np
import zmq
from gnuradio import gr

ITEM = np.dtype(np.complex64).itemsize  # 8 bytes
MAX_MESSAGE = 1 << 26  # bytes: a message larger than this (8 M samples) is dropped, not buffered


class zmq_iq_source(gr.sync_block):
    """ZeroMQ SUB (connects to ``address``) -> complex64 stream.

    A message that is empty, not a whole number of complex64 samples or over 64 MiB is dropped, logged
    (the first few, then every 100th) and counted (``n_bad``); the stream goes on with the next one.

    :meth:`finish` ends the stream gracefully: the samples already received are delivered, then the
    source reports done, so the flowgraph finishes the frames in flight (a receiver's Ctrl-C).
    At stop, the samples not yet delivered (buffered, and still queued in the socket: a receiver
    slower than the sender builds up a backlog there) are counted in ``n_unread`` and logged, so a
    stopped receiver's log says that the frames in them were lost at its stop, not on the link.

    Args:
        address: the PUB to connect to, e.g. tcp://127.0.0.1:5555.
        timeout: milliseconds a work call waits for a message before returning no samples.
        hwm: receive high-water mark in messages (-1: ZeroMQ's default).
    """

    def __init__(self, address="tcp://127.0.0.1:5555", timeout=100, hwm=-1):
        gr.sync_block.__init__(self, name="stegsem_zmq_iq_source", in_sig=None, out_sig=[np.complex64])
        self.address, self.timeout = str(address), int(timeout)
        self._ctx = zmq.Context.instance()
        self._sock = self._ctx.socket(zmq.SUB)
        if int(hwm) >= 0:
            self._sock.setsockopt(zmq.RCVHWM, int(hwm))
        self._sock.setsockopt(zmq.SUBSCRIBE, b"")
        self._sock.setsockopt(zmq.LINGER, 0)
        try:
            self._sock.connect(self.address)
        except zmq.ZMQError as e:
            self._sock.close()
            raise ValueError(f"zmq_iq_source: cannot connect to {self.address!r}: {e}") from None
        self._buf = np.zeros(0, np.complex64)
        self._lock = threading.Lock()
        self.n_messages = 0
        self.n_bad = 0
        self.n_unread = 0  # samples received or queued but not delivered when the flowgraph stopped
        self._finishing = False
        self.last_error = ""

    def _bad(self, why: str) -> None:
        self.n_bad += 1
        self.last_error = why
        if self.n_bad <= 5 or self.n_bad % 100 == 0:
            try:
                self.logger.warn(f"dropped message {self.n_messages} ({self.n_bad} so far): {why}")
            except Exception:  # noqa: BLE001 - logging must not take the block down
                pass

    def _receive(self) -> None:
        if not self._sock.poll(self.timeout):
            return
        while True:
            try:
                msg = self._sock.recv(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            self.n_messages += 1
            if len(msg) == 0:
                self._bad("empty message")
            elif len(msg) % ITEM:
                self._bad(f"{len(msg)} bytes is not a whole number of complex64 samples (8 bytes each)")
            elif len(msg) > MAX_MESSAGE:
                self._bad(f"{len(msg)} bytes is over the {MAX_MESSAGE}-byte limit")
            else:
                self._buf = np.concatenate([self._buf, np.frombuffer(msg, np.complex64)])
                if self._buf.size > 4 * MAX_MESSAGE // ITEM:  # the stream is not read: keep the newest
                    self._bad("receive buffer full (downstream stalled); oldest samples dropped")
                    self._buf = self._buf[-MAX_MESSAGE // ITEM:]
            if self._buf.size >= 1 << 16:
                return

    def finish(self) -> None:
        """Stop receiving: deliver what is buffered, then end the stream (the socket's backlog is
        counted at stop)."""
        self._finishing = True

    def work(self, input_items, output_items):
        out = output_items[0]
        with self._lock:
            if self._finishing and self._buf.size == 0:
                return -1  # WORK_DONE: the flowgraph finishes what is in flight
            if self._buf.size == 0:
                try:
                    self._receive()
                except zmq.ZMQError:  # the socket was closed by stop()
                    return -1
            n = min(len(out), self._buf.size)
            out[:n] = self._buf[:n]
            self._buf = self._buf[n:]
        return n

    def stop(self):
        with self._lock:
            unread, queued = self._buf.size, 0
            try:
                while queued < 100000:  # what the socket still holds (bounded: the sender may still be sending)
                    unread += len(self._sock.recv(zmq.NOBLOCK, copy=True)) // ITEM
                    queued += 1
            except zmq.ZMQError:  # Again: drained (or the socket is already closed)
                pass
            try:
                self._sock.close(0)
            except zmq.ZMQError:
                pass
            self._buf = np.zeros(0, np.complex64)
        self.n_unread = int(unread)
        if unread:
            try:
                self.logger.warn(f"stopped with {unread} samples not yet processed ({queued} messages still queued "
                                 "in the socket): the frames in them are lost at this stop")
            except Exception:  # noqa: BLE001
                pass
        return True
