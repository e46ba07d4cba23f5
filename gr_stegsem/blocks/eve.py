"""Eve: the eavesdropper's attacks on tapped symbols (Tang et al. 2024, Section II-B, and the Eve zoo
of :mod:`gr_stegsem.eves`)."""
from __future__ import annotations

import queue
import threading

import torch

from .. import eves, schemes
from ..checkpoint import CheckpointError
from ..models.inn import LOST_MODES
from ._base import DEFAULT_INN, PduBlock, load_system
from .pdus import ATTACK, image_pdu, meta_set, parse_symbol_pdu, score_pdu


class eve_naive(PduBlock):
    """Eve's naive decoding, eq. (6): the legitimate DeepJSCC decoder on Eve's received symbols.

    Symbol PDU (container or plain) on ``in`` -> image PDU on ``out``, cropped to the original
    height x width (pixels); meta carried, with ``attack`` = 'naive'.

    Args:
        model_path: DeepJSCC model file Eve holds ('' = shipped deepjscc-bcr12).
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' where her models run (:mod:`gr_stegsem.device`).
    """

    def __init__(self, model_path="", threads=0, device="cpu"):
        PduBlock.__init__(self, "stegsem_eve_naive", threads)
        self.system = load_system("eve_naive", model_path, device=device)
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_symbol_pdu(msg, self.system.jscc.config)
        with torch.inference_mode():
            x = self.system.eve_naive(f.real_latent(), f.size)[0]
        self._publish("out", image_pdu(x, f.frame_id, meta=meta_set(f.meta, **{ATTACK: "naive"})))


class _queued_eve(PduBlock):
    """An Eve whose attack runs in a worker thread fed by a bounded queue of parsed symbol frames.

    The ``in`` handler parses the PDU (a malformed one is dropped by the guard) and queues it without
    waiting: when the queue is full the frame is dropped, counted in ``n_overflow`` and logged. The
    worker calls :meth:`_attack` on each frame; a frame that fails there is logged and dropped and
    the worker goes on. When the upstream reports done, the queued frames are attacked before this
    block reports done; at stop() they are discarded, and stop() waits for the frame in progress.
    With ``active`` False the PDUs are parsed, then ignored (nothing is posted, nothing dropped).

    Subclasses set ``config`` (the DeepJSCC config the symbols must fit), ``task`` (the attack, in
    words) and implement :meth:`_attack`.
    """

    task, done_word = "attack", "attacked"  # logged: "<task> busy", "stopped with n frame(s) not <done_word>"

    def __init__(self, name: str, queue_size: int, threads: int, outputs=("out",)):
        PduBlock.__init__(self, name, threads)
        if int(queue_size) < 1:
            raise ValueError(f"{name[len('stegsem_'):]}: queue_size must be >= 1, got {queue_size}")
        self.active = True
        self.config = None
        self.n_overflow = 0
        self._thread_name = name
        self._queue: queue.Queue = queue.Queue(maxsize=int(queue_size))
        self._halt = threading.Event()
        self._worker: threading.Thread | None = None
        self._input("in", self._handle)
        for port in outputs:
            self._output(port)
        self._hold_done()

    def _attack(self, f) -> None:
        """Attack one parsed frame and publish the result (runs in the worker thread)."""
        raise NotImplementedError

    def _can_finish(self) -> bool:
        # the upstream has finished: attack what is queued before this block reports done
        return self._inputs_empty("in") and (self._queue.unfinished_tasks == 0 or self._worker is None)

    def _handle(self, msg):
        f = parse_symbol_pdu(msg, self.config)
        if not self.active:  # attack switched off
            return
        try:
            self._queue.put_nowait(f)
        except queue.Full:
            self.n_overflow += 1
            self.n_dropped += 1
            self._warn(f"{self.task} busy: dropped frame {f.frame_id} "
                       f"({self.n_overflow} dropped so far, queue of {self._queue.maxsize})")

    def _run(self):
        while not self._halt.is_set():
            try:
                f = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                self._attack(f)
            except Exception as e:  # noqa: BLE001 - the worker must survive a bad frame
                self._drop(f"{self.task} of frame {f.frame_id} failed: {e.__class__.__name__}: {e}")
            finally:
                self._queue.task_done()

    def start(self):
        PduBlock.start(self)
        self._halt.clear()
        self._worker = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
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
            self._warn(f"stopped with {left} frame(s) not {self.done_word}")
        if self._worker is not None:
            self._worker.join()
            self._worker = None
        return True


class eve_mia(_queued_eve):
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
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' where her models run (:mod:`gr_stegsem.device`).
    """

    task, done_word = "model inversion", "inverted"

    def __init__(self, model_path="", steps=200, lr=0.05, seed=0, queue_size=2, threads=0, device="cpu"):
        if int(steps) < 0:
            raise ValueError(f"eve_mia: steps must be >= 0 (0 = off), got {steps}")
        _queued_eve.__init__(self, "stegsem_eve_mia", queue_size, threads)
        self.system = load_system("eve_mia", model_path, device=device)
        self.config = self.system.jscc.config
        self.steps, self.lr, self.seed = int(steps), float(lr), int(seed)
        self.active = self.steps > 0

    def _attack(self, f):
        x = self.system.eve_mia(f.real_latent(), f.size, self.steps, self.lr, self.seed)[0]
        self._publish("out", image_pdu(x, f.frame_id, meta=meta_set(f.meta, **{ATTACK: "mia"})))


class eve_attack(_queued_eve):
    """Any eavesdropper of the zoo (:mod:`gr_stegsem.eves`) on tapped symbols, in a worker thread.

    The Eve ``attack`` is built at construction against the scheme ``scheme`` (its models, and a
    trained Eve's own model ``models/eve-*``, from ``models_dir``); a missing or mismatched model
    (another kind, another bandwidth ratio) fails here, naming the block. Symbol PDU on ``in`` ->
      * an image Eve (naive, mia, inversion, glassbox, chosen, surrogate): image PDU on ``out``
        (original height x width, pixels; meta carried, ``attack`` = the attack's name);
      * the detector (detect): one score PDU per frame on ``score`` (meta frame_id, attack,
        ``score`` in [0, 1] = probability that an image is hidden, ``decision`` = score > threshold,
        ``threshold``; f32vector [score]).
    Queueing as in eve_mia: a queue of ``queue_size`` frames, overflow drops counted in
    ``n_overflow`` and logged, queued frames finished after an upstream done, discarded at stop().
    ``attack`` '' (or 'mia' with ``mia_steps`` 0) switches the block off: nothing is loaded, PDUs
    are accepted and ignored.

    Args:
        attack: one of gr_stegsem.eves.names() ('' = off).
        scheme: the scheme Eve attacks (deepjscc or stego-*; chosen and detect load
            ``eve-<attack>-<scheme>``).
        models_dir: folder with the scheme's and Eve's models ('' = the shipped models/).
        mia_steps: Adam steps of the model inversion (mia).
        lr: Adam learning rate of the model inversion (mia).
        seed: seed of the inversion's start image, of the glass-box and surrogate Eves' l_hat.
        lost: the glass-box Eve's l_hat, 'zeros' or 'gaussian' ('' = the INN model's).
        threshold: detection threshold on the score (detect).
        queue_size: frames that may wait for the worker.
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' where her models run (:mod:`gr_stegsem.device`).
    """

    block = "eve_attack"
    outputs = ("out", "score")

    def __init__(self, attack, scheme=DEFAULT_INN, models_dir="", mia_steps=200, lr=0.05, seed=0, lost="",
                 threshold=0.5, queue_size=2, threads=0, device="cpu"):
        b = self.block
        attack = str(attack or "").strip()
        if int(mia_steps) < 0:
            raise ValueError(f"{b}: mia_steps must be >= 0, got {mia_steps}")
        if lost not in ("",) + LOST_MODES:
            raise ValueError(f"{b}: lost must be '' or one of {', '.join(LOST_MODES)}, got {lost!r}")
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"{b}: threshold must be in [0, 1], got {threshold}")
        cls = None
        if attack:
            try:
                cls = eves.get(attack)
            except ValueError as e:
                raise ValueError(f"{b}: {e}") from None
        _queued_eve.__init__(self, f"stegsem_{b}", queue_size, threads, self.outputs)
        self.attack, self.threshold = attack, float(threshold)
        self.task = f"attack '{attack}'"
        self.active = cls is not None and not (attack == "mia" and int(mia_steps) == 0)
        self.scheme = self.eve = None
        if self.active:
            self.scheme, self.eve = _build_eve(b, cls, scheme, models_dir, device, mia_steps=int(mia_steps),
                                               mia_lr=float(lr), seed=int(seed), glassbox_lost=lost or None)
            self.config = self.scheme.jscc.config

    def _attack(self, f):
        y = f.real_latent().to(self.scheme.device)  # her models' device; the image PDU's pixels go back to the CPU
        if self.eve.output == "score":
            s = float(self.eve.score(y)[0])
            self._publish("score", score_pdu(s, f.frame_id, self.threshold, self.attack, f.meta))
            return
        x = self.eve.reconstruct(y, f.size)[0].cpu()
        self._publish("out", image_pdu(x, f.frame_id, meta=meta_set(f.meta, **{ATTACK: self.attack})))


def _build_eve(block: str, cls, scheme: str, models_dir, device="cpu", **options):
    """(scheme, Eve) for a block, their models on ``device``; a missing model, unknown scheme or attack that does
    not apply, or a device torch cannot use, names the block."""
    d = str(models_dir or "").strip() or None
    try:
        s = schemes.load(str(scheme), d)
        s.set_device(str(device))
        if not cls.applies(s):
            raise ValueError(f"attack {cls.name!r} does not apply to scheme {s.name!r} (see {cls.__module__})")
        return s, eves.build(cls.name, s, d, **options)
    except CheckpointError as e:
        raise CheckpointError(f"{block}: {e}") from None
    except ValueError as e:
        raise ValueError(f"{block}: {e}") from None


class eve_inversion(eve_attack):
    """Learned inversion, closed box (:mod:`gr_stegsem.eves.inversion`): Eve's own inverter network
    (model ``models_dir/eve-inversion``, trained on public images through the public encoder) maps
    the symbols to an image. Symbol PDU on ``in`` -> image PDU on ``out`` (original height x width,
    pixels; ``attack`` = 'inversion'). Worker thread and queue as in eve_attack.

    Args:
        scheme: the scheme Eve attacks (its DeepJSCC must be the one her model was trained for).
        models_dir: folder with the scheme's models and eve-inversion ('' = the shipped models/).
        queue_size: frames that may wait for the worker.
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' where her models run (:mod:`gr_stegsem.device`).
    """

    block, outputs = "eve_inversion", ("out",)

    def __init__(self, scheme=DEFAULT_INN, models_dir="", queue_size=2, threads=0, device="cpu"):
        eve_attack.__init__(self, "inversion", scheme, models_dir, queue_size=queue_size, threads=threads,
                            device=device)


class eve_glassbox(eve_attack):
    """Glass-box Eve (:mod:`gr_stegsem.eves.glassbox`): she holds every shipped model file (the INN
    too) and runs Bob's receiver on what she hears, with her own l_hat. Symbol PDU on ``in`` ->
    her private-image estimate as an image PDU on ``out`` (original height x width, pixels;
    ``attack`` = 'glassbox'). Worker thread and queue as in eve_attack.

    Args:
        scheme: the scheme whose published models she runs (deepjscc or stego-*).
        models_dir: folder with the scheme's models ('' = the shipped models/).
        lost: her l_hat, 'zeros' or 'gaussian' ('' = the INN model's).
        seed: seed of a 'gaussian' l_hat (the same for every frame).
        queue_size: frames that may wait for the worker.
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' where her models run (:mod:`gr_stegsem.device`).
    """

    block, outputs = "eve_glassbox", ("out",)

    def __init__(self, scheme=DEFAULT_INN, models_dir="", lost="", seed=0, queue_size=2, threads=0, device="cpu"):
        eve_attack.__init__(self, "glassbox", scheme, models_dir, seed=seed, lost=lost, queue_size=queue_size,
                            threads=threads, device=device)


class eve_chosen(eve_attack):
    """Chosen-plaintext Eve (:mod:`gr_stegsem.eves.chosen`): an inverter trained on containers she
    obtained from a captured transmitter of the scheme (model ``models_dir/eve-chosen-<scheme>``).
    Symbol PDU on ``in`` -> image PDU on ``out`` (original height x width, pixels; ``attack`` =
    'chosen'). Worker thread and queue as in eve_attack.

    Args:
        scheme: the scheme her model was trained against (deepjscc or stego-*).
        models_dir: folder with the scheme's models and eve-chosen-<scheme> ('' = the shipped models/).
        queue_size: frames that may wait for the worker.
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' where her models run (:mod:`gr_stegsem.device`).
    """

    block, outputs = "eve_chosen", ("out",)

    def __init__(self, scheme=DEFAULT_INN, models_dir="", queue_size=2, threads=0, device="cpu"):
        eve_attack.__init__(self, "chosen", scheme, models_dir, queue_size=queue_size, threads=threads, device=device)


class eve_surrogate(eve_attack):
    """Surrogate-INN Eve (:mod:`gr_stegsem.eves.surrogate`): her own INN trained with the paper's recipe
    (model ``models_dir/eve-surrogate``) extracts the private image. Symbol PDU on ``in`` -> image PDU
    on ``out`` (original height x width, pixels; ``attack`` = 'surrogate'). Needs a scheme that carries
    a host (stego-*). Worker thread and queue as in eve_attack.

    Args:
        scheme: the scheme Eve attacks (stego-*; its DeepJSCC must be her model's).
        models_dir: folder with the scheme's models and eve-surrogate ('' = the shipped models/).
        seed: seed of a 'gaussian' l_hat of her INN (the same for every frame).
        queue_size: frames that may wait for the worker.
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' where her models run (:mod:`gr_stegsem.device`).
    """

    block, outputs = "eve_surrogate", ("out",)

    def __init__(self, scheme=DEFAULT_INN, models_dir="", seed=0, queue_size=2, threads=0, device="cpu"):
        eve_attack.__init__(self, "surrogate", scheme, models_dir, seed=seed, queue_size=queue_size, threads=threads,
                            device=device)


class eve_detect(eve_attack):
    """Steganalysis Eve (:mod:`gr_stegsem.eves.detect`): is an image hidden in what she hears? Her CNN
    detector (model ``models_dir/eve-detect-<scheme>``) scores each frame. Symbol PDU on ``in`` -> one
    score PDU per frame on ``score`` (meta frame_id, attack 'detect', ``score`` in [0, 1], ``decision``
    = score > threshold, ``threshold``; f32vector [score]). Needs a scheme that carries a host
    (stego-*). Worker thread and queue as in eve_attack.

    Args:
        scheme: the scheme whose containers the detector was trained on (stego-*).
        models_dir: folder with the scheme's models and eve-detect-<scheme> ('' = the shipped models/).
        threshold: decision threshold on the score.
        queue_size: frames that may wait for the worker.
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' where her models run (:mod:`gr_stegsem.device`).
    """

    block, outputs = "eve_detect", ("score",)

    def __init__(self, scheme=DEFAULT_INN, models_dir="", threshold=0.5, queue_size=2, threads=0, device="cpu"):
        eve_attack.__init__(self, "detect", scheme, models_dir, threshold=threshold, queue_size=queue_size,
                            threads=threads, device=device)
