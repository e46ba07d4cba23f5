"""Eve: the eavesdropper's attacks on tapped symbols (Tang et al. 2024, Section II-B)."""
from __future__ import annotations

import queue
import threading

import torch

from ._base import PduBlock, load_system
from .pdus import ATTACK, image_pdu, meta_set, parse_symbol_pdu


class eve_naive(PduBlock):
    """Eve's naive decoding, eq. (6): the legitimate DeepJSCC decoder on Eve's received symbols.

    Symbol PDU (container or plain) on ``in`` -> image PDU on ``out``, cropped to the original
    height x width (pixels); meta carried, with ``attack`` = 'naive'.

    Args:
        model_path: DeepJSCC model file Eve holds ('' = shipped deepjscc-bcr12).
        threads: torch CPU threads (0 = leave as is).
    """

    def __init__(self, model_path="", threads=0):
        PduBlock.__init__(self, "stegsem_eve_naive", threads)
        self.system = load_system("eve_naive", model_path)
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_symbol_pdu(msg, self.system.jscc.config)
        with torch.inference_mode():
            x = self.system.eve_naive(f.real_latent(), f.size)[0]
        self._publish("out", image_pdu(x, f.frame_id, meta=meta_set(f.meta, **{ATTACK: "naive"})))


class eve_mia(PduBlock):
    """Eve's model inversion attack, eq. (7): optimise an image whose encoding matches the symbols.

    Symbol PDU on ``in`` -> image PDU on ``out`` (original height x width, pixels; meta ``attack`` =
    'mia'). The inversion
    (``steps`` Adam steps of rate ``lr``, start image seeded by ``seed``) runs in a worker thread fed
    by a queue of ``queue_size`` frames; the handler never waits: when the queue is full the PDU is
    dropped, counted in ``n_overflow`` and logged. When the upstream reports done (e.g. an
    image_source with done=True), the queued frames are inverted before this block reports done;
    at stop() they are discarded, and stop() waits for the inversion in progress to finish.
    ``steps`` = 0 disables the attack: PDUs are accepted and ignored (nothing is posted).

    Args:
        model_path: DeepJSCC model file Eve holds ('' = shipped deepjscc-bcr12); its encoder is inverted.
        steps: optimisation steps per image (0: attack off).
        lr: Adam learning rate.
        seed: seed of the start image.
        queue_size: frames that may wait for the worker.
        threads: torch CPU threads (0 = leave as is).
    """

    def __init__(self, model_path="", steps=200, lr=0.05, seed=0, queue_size=2, threads=0):
        PduBlock.__init__(self, "stegsem_eve_mia", threads)
        if int(steps) < 0:
            raise ValueError(f"eve_mia: steps must be >= 0 (0 = off), got {steps}")
        if int(queue_size) < 1:
            raise ValueError(f"eve_mia: queue_size must be >= 1, got {queue_size}")
        self.system = load_system("eve_mia", model_path)
        self.steps, self.lr, self.seed = int(steps), float(lr), int(seed)
        self.n_overflow = 0
        self._queue: queue.Queue = queue.Queue(maxsize=int(queue_size))
        self._halt = threading.Event()
        self._worker: threading.Thread | None = None
        self._input("in", self._handle)
        self._output("out")
        self._hold_done()

    def _can_finish(self) -> bool:
        # the upstream has finished: invert what is queued before this block reports done
        return self._inputs_empty("in") and (self._queue.unfinished_tasks == 0 or self._worker is None)

    def _handle(self, msg):
        f = parse_symbol_pdu(msg, self.system.jscc.config)
        if self.steps == 0:  # attack switched off
            return
        try:
            self._queue.put_nowait(f)
        except queue.Full:
            self.n_overflow += 1
            self.n_dropped += 1
            self._warn(f"model inversion busy: dropped frame {f.frame_id} "
                       f"({self.n_overflow} dropped so far, queue of {self._queue.maxsize})")

    def _run(self):
        while not self._halt.is_set():
            try:
                f = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                x = self.system.eve_mia(f.real_latent(), f.size, self.steps, self.lr, self.seed)[0]
                self._publish("out", image_pdu(x, f.frame_id, meta=meta_set(f.meta, **{ATTACK: "mia"})))
            except Exception as e:  # noqa: BLE001 - the worker must survive a bad frame
                self._drop(f"model inversion of frame {f.frame_id} failed: {e.__class__.__name__}: {e}")
            finally:
                self._queue.task_done()

    def start(self):
        PduBlock.start(self)
        self._halt.clear()
        self._worker = threading.Thread(target=self._run, name="stegsem_eve_mia", daemon=True)
        self._worker.start()
        return True

    def stop(self):
        PduBlock.stop(self)
        self._halt.set()
        left = 0
        while True:
            try:
                self._queue.get_nowait()
                self._queue.task_done()
                left += 1
            except queue.Empty:
                break
        if left:
            self._warn(f"stopped with {left} frame(s) not inverted")
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        return True
