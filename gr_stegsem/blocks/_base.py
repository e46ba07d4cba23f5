"""Common plumbing of the message-only blocks: port registration, guarded handlers, model loading."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pmt
import torch
from gnuradio import gr

from ..checkpoint import CheckpointError
from ..system import StegoSystem, default_model

DEFAULT_JSCC = "deepjscc-bcr12"
DEFAULT_INN = "stego-l3_2"


class PduBlock(gr.basic_block):
    """A ``gr.basic_block`` with message ports only.

    Every input handler is guarded: a malformed PDU or a failure while processing it is logged
    (``self.logger.warn``) and the PDU dropped; nothing is raised into the scheduler.
    ``n_in``/``n_out``/``n_dropped`` count PDUs; ``last_error`` holds the last reason for a drop.

    Overload: when more than ``MAX_BACKLOG`` PDUs wait on an input (frames arrive faster than the
    block processes them), the oldest is dropped unprocessed (``n_overload``; logged for the first
    five and then every 100th), so a block's queue, and the process's memory, stay bounded and the
    frames that are processed are recent ones. GNU Radio's own bound is 8192 messages per port.
    """

    MAX_BACKLOG = 32

    # frames per call (see _batching): the defaults process each frame on arrival
    batch = 1
    max_delay = 0.0

    def __init__(self, name: str, threads: int = 0):
        gr.basic_block.__init__(self, name=name, in_sig=None, out_sig=None)
        self.n_in = 0
        self.n_out = 0
        self.n_dropped = 0
        self.n_overload = 0
        self.last_error = ""
        self._halted = False  # set by stop(): finish at once, do not wait for queued work
        self._n_done = 0  # 'done' messages received from upstream blocks
        self._first_done = None  # time.monotonic() of the first
        if int(threads) > 0:
            torch.set_num_threads(int(threads))

    # --- ports -------------------------------------------------------------------------------
    def _input(self, port: str, handler) -> None:
        self.message_port_register_in(pmt.intern(port))

        key = pmt.intern(port)

        def guarded(msg, _port=port, _handler=handler, _key=key):
            self.n_in += 1
            waiting = self.nmsgs(_key)
            if waiting > self.MAX_BACKLOG:  # overload: drop the oldest, keep the queue bounded
                self.n_overload += 1
                self.n_dropped += 1
                self.last_error = f"overload: {waiting} PDUs waiting on '{_port}' (more than {self.MAX_BACKLOG})"
                if self.n_overload <= 5 or self.n_overload % 100 == 0:
                    self._warn(f"dropped (the oldest; {self.n_overload} so far): {self.last_error}")
                return
            try:
                _handler(msg)
            except ValueError as e:
                self._drop(f"malformed PDU on '{_port}': {e}")
            except Exception as e:  # noqa: BLE001 - never raise into the scheduler
                self._drop(f"failed to process PDU on '{_port}': {e.__class__.__name__}: {e}")
            if self.batch > 1:  # a dropped PDU may have been the last one queued: the buffer's turn
                self._maybe_flush()

        # the gateway looks the handler up by name on this object, so give each port its own attribute
        guarded.__name__ = f"_msg_handler_{port}"
        setattr(self, guarded.__name__, guarded)
        self.set_msg_handler(pmt.intern(port), guarded)

    def _hold_done(self) -> None:
        """Route the scheduler's 'done' messages (an upstream block finished) through
        :meth:`_can_finish`, so that the block completes its work before it reports done itself.

        While it cannot finish, the block re-checks every 50 ms (a message to its own system port,
        handled in the block's thread, so no input handler runs at the same time).
        """
        done, recheck = pmt.intern("done"), pmt.intern("stegsem_recheck")

        def system(msg):
            try:
                if pmt.is_pair(msg) and pmt.eqv(pmt.car(msg), _FLUSH):  # a batch's delay ran out
                    self._timer_armed = False
                    self._maybe_flush()
                    return
                if not (pmt.is_pair(msg) and pmt.eqv(pmt.car(msg), done)):
                    self.gateway.system_handler(msg)
                    return
                if not pmt.eqv(pmt.cdr(msg), recheck):
                    self._n_done += 1
                    self._first_done = self._first_done or time.monotonic()
                if not self._halted and not self._can_finish():
                    t = threading.Timer(0.05, self._post, (pmt.intern("system"), pmt.cons(done, recheck)))
                    t.daemon = True
                    t.start()
                    return
            except Exception as e:  # noqa: BLE001
                self._warn(f"while finishing: {e.__class__.__name__}: {e}")
            self.gateway.system_handler(pmt.cons(done, pmt.from_long(1)))

        system.__name__ = "_msg_handler_system"
        setattr(self, system.__name__, system)
        self.set_msg_handler(pmt.intern("system"), system)

    def start(self):
        """Scheduler start; subclasses that override it call ``PduBlock.start(self)``."""
        self._halted = False
        self._n_done = 0
        self._first_done = None
        return True

    def stop(self):
        """Scheduler stop; subclasses that override it call ``PduBlock.stop(self)``. A block that dropped
        PDUs in this run logs the total, how many for overload, and the last reason (a long-running
        receiver's log ends with its losses)."""
        self._halted = True
        if self.n_dropped:
            self._warn(f"{self.n_dropped} PDUs dropped in this run ({self.n_overload} for overload); "
                       f"last: {self.last_error}")
        if hasattr(self, "_batch_ports"):  # frames still waiting for a batch are dropped, each logged
            self._drop_buffered("flowgraph stopped")
        return True

    # --- frames per call ------------------------------------------------------------------------
    def _batching(self, batch, max_delay_ms, ports: tuple[str, ...], process) -> None:
        """Process up to ``batch`` frames per model call (``process(items)`` publishes them in order).

        A frame waits in the block's buffer until ``batch`` frames are there, or, when no more PDUs
        wait on ``ports``, until the oldest has waited ``max_delay_ms`` (0: never wait: only frames that
        were already queued behind it join its call). With ``max_delay_ms`` > 0 the oldest frame is
        processed at the latest ``max_delay_ms`` after it arrived (plus the calls before it).
        ``batch`` 1 processes every frame on arrival (the default). The buffer is flushed before the block
        reports done. ``n_calls`` counts model calls, ``largest_batch`` the most frames in one.
        """
        if int(batch) < 1:
            raise ValueError(f"{self.name()}: batch must be >= 1 frame, got {batch}")
        if not float(max_delay_ms) >= 0:
            raise ValueError(f"{self.name()}: max_delay_ms must be >= 0, got {max_delay_ms}")
        self.batch, self.max_delay = int(batch), float(max_delay_ms) / 1e3
        self._batch_ports, self._process = tuple(ports), process
        self._buf: list[tuple[float, object]] = []
        self._timer_armed = False
        self.n_calls = 0
        self.largest_batch = 0
        if self.batch > 1:  # the buffer is flushed before the block reports done (_can_finish)
            self._hold_done()

    def _enqueue(self, item) -> None:
        """A parsed frame, ready for the model: processed now (batch 1) or buffered (see _batching)."""
        if self.batch == 1:  # errors go to the port's guard, as for any PDU
            self.n_calls += 1
            self.largest_batch = 1
            self._process([item])
            return
        self._buf.append((time.monotonic(), item))
        self._maybe_flush()

    def _maybe_flush(self, force: bool = False) -> None:
        if not self._buf:
            return
        age = time.monotonic() - self._buf[0][0]
        idle = self._inputs_empty(*self._batch_ports)
        if force or len(self._buf) >= self.batch or (age >= self.max_delay and (idle or self.max_delay > 0)):
            items = [it for _, it in self._buf]
            self._buf = []
            self._run_batch(items)
        elif idle and not self._timer_armed:  # wait for more frames, at most until the oldest's deadline
            self._timer_armed = True
            t = threading.Timer(max(0.0, self.max_delay - age), self._post,
                                (pmt.intern("system"), pmt.cons(_FLUSH, pmt.PMT_T)))
            t.daemon = True
            t.start()

    def _run_batch(self, items: list) -> None:
        self.n_calls += 1
        self.largest_batch = max(self.largest_batch, len(items))
        try:
            self._process(items)
        except Exception as e:  # noqa: BLE001 - never raise into the scheduler
            for _ in items:
                self._drop(f"failed to process a batch of {len(items)} frames: {e.__class__.__name__}: {e}")

    def _flush_for_done(self) -> bool:
        """For _can_finish: once the inputs are drained, process what the buffer holds; True when done."""
        if not self._inputs_empty(*self._batch_ports):
            return False
        self._maybe_flush(force=True)
        return True

    def _drop_buffered(self, why: str) -> None:
        for _ in getattr(self, "_buf", ()):
            self._drop(f"buffered frame not processed ({why})")
        self._buf = []

    def _inputs_empty(self, *ports: str) -> bool:
        return all(self.nmsgs(pmt.intern(p)) == 0 for p in ports)

    def _can_finish(self) -> bool:
        """After an upstream 'done': True when this block has nothing left to do (a batching block:
        once its inputs are drained and its buffer processed)."""
        return self._flush_for_done() if hasattr(self, "_batch_ports") else True

    def _output(self, port: str) -> None:
        self.message_port_register_out(pmt.intern(port))

    def _publish(self, port: str, pdu) -> None:
        self.message_port_pub(pmt.intern(port), pdu)
        self.n_out += 1

    def _drop(self, why: str) -> None:
        self.n_dropped += 1
        self.last_error = why
        self._warn(f"dropped: {why}")

    def _warn(self, text: str) -> None:
        try:
            self.logger.warn(text)
        except Exception:  # noqa: BLE001 - logging must never take the block down
            pass

    def _info(self, text: str) -> None:
        try:
            self.logger.info(text)
        except Exception:  # noqa: BLE001
            pass


_FLUSH = pmt.intern("stegsem_flush")


def same_shape_runs(items: list, shape) -> list[list]:
    """``items`` cut into runs of consecutive items with equal ``shape(item)``: one model call each,
    in arrival order."""
    runs: list[list] = []
    for it in items:
        if runs and shape(runs[-1][-1]) == shape(it):
            runs[-1].append(it)
        else:
            runs.append([it])
    return runs


def model_path(path, default: str) -> Path:
    """A block's model parameter: '' means the shipped ``models/<default>``."""
    p = str(path or "").strip()
    return default_model(default) if not p else Path(p).expanduser()


def load_block_key(block: str, path: str):
    """A block's key file -> Key; ValueError naming the block and the problem (never the key)."""
    from ..keys import BadKey, load_key

    try:
        return load_key(Path(path).expanduser())
    except BadKey as e:
        raise ValueError(f"{block}: {e}") from None


class Replayed(ValueError):
    """A frame whose nonce was seen before (a replay or a reused nonce)."""


def frame_nonce(f, guard, what: str) -> int:
    """The nonce of frame ``f`` (a parsed symbol PDU) that ``guard`` (keys.ReplayGuard) has not seen:
    ValueError when meta 'nonce' is missing, :class:`Replayed` when it repeats one."""
    from .pdus import meta_nonce

    nonce = meta_nonce(f.meta)
    if nonce is None:
        raise ValueError(f"frame {f.frame_id}: {what} needs its nonce (meta 'nonce' missing)")
    if not guard.fresh(nonce):
        raise Replayed(f"frame {f.frame_id}: nonce {nonce} was seen before (a replay or a reused nonce)")
    return nonce


def block_key(block: str, key_file, system):
    """The key of a keyed model from the block's ``key_file`` parameter (checked at construction).

    ValueError naming the block and the problem (never the key) for a keyed model without a key
    file, a key file with an unkeyed model, or a missing, unreadable or malformed file."""
    path = str(key_file or "").strip()
    keyed = bool(getattr(system, "keyed", False))
    if keyed and not path:
        raise ValueError(f"{block}: model {system.name} is keyed: set key_file to the shared key "
                         "(make one with 'stegsem keygen FILE')")
    if not keyed and path:
        raise ValueError(f"{block}: key_file is set but model {system.name} is not keyed "
                         "(use a stego-keyed-* model, or leave key_file empty)")
    return load_block_key(block, path) if path else None


def load_system(block: str, jscc_path, inn_path=None, need_inn: bool = False, precision="fp32",
                device="cpu", decodes: bool = True) -> StegoSystem:
    """Load the models once, at construction, to run on ``device`` (cpu, cuda, cuda:N or auto:
    :mod:`gr_stegsem.device`) in ``precision`` (fp32, bf16, int8 or auto: :mod:`gr_stegsem.precision`);
    ``decodes`` False: a block that never decodes an image (a keyed model's Bob decoder is not loaded).
    CheckpointError names the block and the file, ValueError a bad precision or device."""
    jscc = model_path(jscc_path, DEFAULT_JSCC)
    inn = model_path(inn_path, DEFAULT_INN) if need_inn else None
    try:
        system = StegoSystem.load(jscc, inn, companion=decodes)
    except CheckpointError as e:
        raise CheckpointError(f"{block}: {e}") from None
    try:
        system.set_device(str(device))  # before the precision, which depends on it
        system.set_precision(str(precision))
    except ValueError as e:
        raise ValueError(f"{block}: {e}") from None
    return system
