"""Files in and out of a flowgraph: image_source, image_sink, and score_sink (a detector's verdicts)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pmt

from ..images import EXTENSIONS, list_images, load_image, save_image
from ._base import PduBlock
from .pdus import (FRAME_ID, MAX_FRAME_ID, ROLES, image_pdu, meta_int, meta_set, metrics_pdu, parse_image_pdu,
                   parse_score_pdu, split_pdu)

DEFAULT_SIZE = 256  # pixels per side of the embedded default images when size = 0
DEFAULT_REFERENCE = "default:"  # image_sink reference prefix naming an embedded default image


def image_files(paths) -> list[Path]:
    """Image files named by ``paths``: a file, a folder (recursive JPEG/PNG, sorted) or a list of these."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for p in paths:
        p = Path(str(p)).expanduser()
        if p.is_dir():
            files.extend(list_images(p))
        elif p.is_file():
            if p.suffix.lower() not in EXTENSIONS:
                raise ValueError(f"{p}: not a JPEG/PNG file")
            files.append(p)
        else:
            raise FileNotFoundError(f"image file or folder not found: {p}")
    if not files:
        raise FileNotFoundError("no images given")
    return files


class image_source(PduBlock):
    """Image files -> image PDUs on ``out`` (u8 RGB, frame ids 0, 1, 2, ...), from a thread.

    Args:
        paths: an image file, a folder (all JPEG/PNG below it, sorted) or a list of these;
            '' with role 'host' / 'private': the embedded default image of that role
            (:func:`gr_stegsem.samples.default_host` / :func:`~gr_stegsem.samples.default_private`,
            scikit-image's cat / astronaut portrait, no file needed) at ``size`` (256 when 0).
        loop: start over after the last image (frame ids keep counting up).
        size: resize every image to size x size pixels (bicubic); 0 keeps the file's size.
        role: '' or 'host' / 'private', written into the meta.
        interval: seconds between frames (give one when looping, or the message queues grow).
        done: when not looping, tell the scheduler this block is finished after the last image
            (a message-only flowgraph can then end by itself).
        window: pace the source to what downstream takes (0: off, post as fast as the files load):
            at most ``window`` frames are in flight, i.e. posted and not yet acknowledged by a PDU
            on the input ``ack`` whose meta ``frame_id`` is that frame's or a later one (connect
            the last block of the receive chain there, e.g. an image_sink's ``done``). Frames go
            through the chain in order, so an ack for frame i frees frames <= i (a lost frame
            never holds the window).
        ack_timeout: seconds a frame may stay unacknowledged before it stops counting against the
            window (logged; counted in ``n_ack_timeouts``), so a frame lost on the way cannot stall
            the source.
    """

    def __init__(self, paths="", loop=False, size=0, role="", interval=0.0, done=False, window=0,
                 ack_timeout=30.0):
        PduBlock.__init__(self, "stegsem_image_source")
        if role not in ("",) + ROLES:
            raise ValueError(f"image_source: role must be '', 'host' or 'private', got {role!r}")
        if int(size) < 0 or float(interval) < 0:
            raise ValueError("image_source: size (pixels) and interval (seconds) must be >= 0")
        if int(window) < 0 or not float(ack_timeout) > 0:
            raise ValueError(f"image_source: window must be >= 0 frames and ack_timeout > 0 s, got {window}, "
                             f"{ack_timeout}")
        self.loop, self.size, self.role = bool(loop), int(size), role or None
        self.default_image = None  # (3, size, size) tensor when no paths are given
        if isinstance(paths, (str, os.PathLike)) and not str(paths).strip():
            if self.role is None:
                raise ValueError("image_source: no image paths given; the embedded default images need "
                                 "role 'host' or 'private'")
            from .. import samples

            side = self.size or DEFAULT_SIZE
            self.default_image = samples.default_image(self.role, (side, side))
            self.files = [Path(f"<default {self.role} image>")]
        else:
            self.files = image_files(paths)
        self.interval, self.done = float(interval), bool(done)
        self.window, self.ack_timeout = int(window), float(ack_timeout)
        self.n_ack_timeouts = 0  # frames that were never acknowledged within ack_timeout
        self.max_in_flight = 0  # the most frames ever in flight at once (<= window when pacing)
        self._unacked: dict[int, float] = {}  # frame id -> time it was posted
        self._acks = threading.Condition()
        self.finished = threading.Event()  # set after the last frame (not looping) or on stop()
        self._halt = threading.Event()
        self._finishing = threading.Event()  # finish(): no more frames, then 'done'
        self._wake = threading.Event()  # set by stop() and finish(): ends an interval's wait
        self._thread: threading.Thread | None = None
        self._output("out")
        self._input("ack", self._ack)

    def _ack(self, msg):
        """A PDU on ``ack``: every frame up to its meta frame_id has been consumed downstream."""
        try:
            fid = meta_int(split_pdu(msg)[0], FRAME_ID, 0, MAX_FRAME_ID)
        except ValueError as e:  # an ack is not a frame: a bad one is logged, not counted as a drop
            self._warn(f"ignored a malformed ack: {e}")
            return
        with self._acks:
            for f in [f for f in self._unacked if f <= fid]:
                del self._unacked[f]
            self._acks.notify_all()

    def _wait_for_slot(self) -> bool:
        """Block until fewer than ``window`` frames are in flight; False when the source is stopped or
        finishing."""
        if not self.window:
            return not self._halt.is_set()
        with self._acks:
            while not self._halt.is_set() and not self._finishing.is_set():
                now = time.monotonic()
                for fid, t in list(self._unacked.items()):
                    if now - t > self.ack_timeout:
                        del self._unacked[fid]
                        self.n_ack_timeouts += 1
                        self._warn(f"frame {fid}: not acknowledged within {self.ack_timeout:g} s; sending on")
                if len(self._unacked) < self.window:
                    return True
                oldest = min(self._unacked.values())
                self._acks.wait(min(0.5, max(0.01, oldest + self.ack_timeout - now)))
        return False

    def _run(self):
        frame = 0
        try:
            while not self._halt.is_set() and not self._finishing.is_set():
                for path in self.files:
                    if self._finishing.is_set() or not self._wait_for_slot():
                        break
                    try:
                        if self.default_image is not None:
                            x = self.default_image
                        else:
                            x = load_image(path, (self.size, self.size) if self.size else None)
                        pdu = image_pdu(x, frame, role=self.role)
                    except ValueError as e:  # unreadable, too large, not RGB: the message names the file
                        self._drop(f"skipping {path}: {e}")
                        continue
                    except Exception as e:  # noqa: BLE001 - one bad file must not end the source
                        self._drop(f"skipping {path}: {e.__class__.__name__}: {e}")
                        continue
                    if self.window:
                        with self._acks:
                            self._unacked[frame] = time.monotonic()
                            self.max_in_flight = max(self.max_in_flight, len(self._unacked))
                    self._publish("out", pdu)
                    frame += 1
                    if self.interval and self._wake.wait(self.interval) and self._halt.is_set():
                        return
                if not self.loop:
                    break
            if (self.done or self._finishing.is_set()) and not self._halt.is_set():
                self._post(pmt.intern("system"), pmt.cons(pmt.intern("done"), pmt.from_long(1)))
        finally:
            self.finished.set()

    def finish(self) -> None:
        """Send no more frames and report done, so the flowgraph finishes the frames in flight (a
        looping source's graceful end: Alice stopped at a timeout or by Ctrl-C)."""
        self._finishing.set()
        self._wake.set()
        with self._acks:
            self._acks.notify_all()

    def start(self):
        PduBlock.start(self)
        self._halt.clear()
        self._finishing.clear()
        self._wake.clear()
        self.finished.clear()
        with self._acks:
            self._unacked.clear()
        self._thread = threading.Thread(target=self._run, name="stegsem_image_source", daemon=True)
        self._thread.start()
        return True

    def stop(self):
        PduBlock.stop(self)
        self._halt.set()
        self._wake.set()
        with self._acks:
            self._acks.notify_all()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        return True


class image_sink(PduBlock):
    """Image PDUs on ``in`` -> PNG files ``folder/{prefix}_{frame_id:05d}.png``, with optional metrics.

    With ``reference`` (an image file or folder, sorted; frame i pairs with image i modulo their
    number, resized to the frame's height x width) it computes PSNR (dB), MS-SSIM (NaN under 161
    pixels per side) and LPIPS (AlexNet) with :func:`gr_stegsem.metrics.all_metrics`, logs them and
    posts a metrics PDU on ``metrics`` (meta frame_id, psnr, ms_ssim, lpips; empty u8vector).
    ``reference`` 'default:host' / 'default:private' is the embedded default image of that role
    (what an image_source with no paths sends), at the frame's size.
    ``records`` lists one dict per frame received: frame_id, role, path (None when ``save`` is
    False) and the metrics. After each frame (saved or not) it posts a small PDU on ``done`` (meta
    frame_id and role, empty u8vector): the acknowledgement a paced image_source waits for.

    Frames that never arrive are counted: a frame id that skips ahead of the last one (modulo the
    PHY header's 2^16) adds the skipped ids to ``n_missing`` with a log line (the first five, then
    every 100th), and stop() logs the totals and the first and last id received, so a long-running
    receiver's log says how many frames it lost upstream (on the link, in the PHY or in a dropping
    block) even where no block logged it.

    Args:
        folder: output folder (created).
        prefix: file name prefix.
        reference: '', the reference image file/folder, or 'default:host' / 'default:private'.
        save: write the PNG files (False: metrics only).
    """

    def __init__(self, folder, prefix="frame", reference="", save=True):
        PduBlock.__init__(self, f"stegsem_image_sink {prefix}")  # logs say which sink: bob_private, eve_mia, ...
        self.folder = Path(str(folder)).expanduser()
        self.save = bool(save)
        if self.save:
            self.folder.mkdir(parents=True, exist_ok=True)
        if not prefix or "/" in prefix or os.sep in prefix:
            raise ValueError(f"image_sink: prefix must be a plain file name part, got {prefix!r}")
        self.prefix = prefix
        ref = str(reference or "").strip()
        self.default_reference = None
        if ref.startswith(DEFAULT_REFERENCE):
            role = ref[len(DEFAULT_REFERENCE):]
            if role not in ROLES:
                raise ValueError(f"image_sink: reference {ref!r}: use 'default:host' or 'default:private'")
            self.default_reference = role
            self.references = [Path(f"<default {role} image>")]
        else:
            self.references = image_files(ref) if ref else []
        self.records: list[dict] = []
        self.n_missing = 0  # frame ids skipped between received frames
        self._first_id = None
        self._last_id = None
        self._gaps = 0
        self._metrics = None
        if self.references:
            from .. import metrics

            metrics.lpips_model("cpu")  # load LPIPS now: a missing backbone fails here, not mid-run
            self._metrics = metrics.all_metrics
        self._input("in", self._handle)
        self._output("metrics")
        self._output("done")

    def _count_gap(self, fid: int) -> None:
        if self._last_id is not None:
            step = (fid - self._last_id) % 65536
            if 1 < step < 32768:  # ahead of the last one: the ids between never came (late or repeats: none)
                self.n_missing += step - 1
                self._gaps += 1
                if self._gaps <= 5 or self._gaps % 100 == 0:
                    self._warn(f"frames after {self._last_id} up to {fid} never arrived ({step - 1}; "
                               f"{self.n_missing} missing so far)")
        if self._last_id is None or 0 < (fid - self._last_id) % 65536 < 32768:
            self._last_id = fid
        if self._first_id is None:
            self._first_id = fid

    def stop(self):
        PduBlock.stop(self)
        if self.records or self.n_missing:
            self._info(f"{len(self.records)} frames received, {self.n_missing} frame ids never arrived "
                       f"(ids {self._first_id} to {self._last_id})")
        return True

    def _handle(self, msg):
        f = parse_image_pdu(msg)
        self._count_gap(f.frame_id)
        try:
            self._consume(f)
        finally:  # acknowledged even when saving or the metrics failed: the frame left the chain
            ack = meta_set(pmt.make_dict(), frame_id=f.frame_id, role=f.role)
            self.message_port_pub(pmt.intern("done"), pmt.cons(ack, pmt.init_u8vector(0, [])))

    def _consume(self, f):
        path = None
        if self.save:
            path = self.folder / f"{self.prefix}_{f.frame_id:05d}.png"
            save_image(f.image, path)
        rec = {"frame_id": f.frame_id, "role": f.role, "path": None if path is None else str(path)}
        if self._metrics is not None:
            ref_path = self.references[f.frame_id % len(self.references)]
            ref = self._reference(ref_path, f.size)
            m = {k: float(v[0]) for k, v in self._metrics(f.image[None], ref[None]).items()}
            rec.update(m, reference=str(ref_path))
            self._info(f"frame {f.frame_id}: PSNR {m['psnr']:.2f} dB, MS-SSIM {m['ms_ssim']:.4f}, "
                       f"LPIPS {m['lpips']:.4f} (vs {ref_path.name})")
            self._publish("metrics", metrics_pdu(f.frame_id, m, f.role))
        self.records.append(rec)

    def _reference(self, path: Path, size: tuple[int, int]):
        if self.default_reference is None:
            return load_image(path, size)
        from .. import samples

        return samples.default_image(self.default_reference, size)


class score_sink(PduBlock):
    """Score PDUs of a detecting Eve (eve_detect) on ``in`` -> a log line and a record per frame,
    and the rows of ``folder/{prefix}.csv`` (frame_id, score, decision, threshold; written from the
    first frame on, appended to after that).

    ``records`` lists one dict per frame: frame_id, attack, score (probability in [0, 1] that an
    image is hidden), decision (bool: score > threshold) and threshold.

    Args:
        folder: output folder of the CSV file ('' = no file, records and log only).
        prefix: CSV file name without suffix.
    """

    COLUMNS = ("frame_id", "score", "decision", "threshold")

    def __init__(self, folder="", prefix="eve_detect"):
        PduBlock.__init__(self, f"stegsem_score_sink {prefix}")
        if not prefix or "/" in prefix or os.sep in prefix:
            raise ValueError(f"score_sink: prefix must be a plain file name part, got {prefix!r}")
        folder = str(folder or "").strip()
        self.path = Path(folder).expanduser() / f"{prefix}.csv" if folder else None
        self.records: list[dict] = []
        self._input("in", self._handle)

    def _handle(self, msg):
        f = parse_score_pdu(msg)
        rec = {"frame_id": f.frame_id, "attack": f.attack, "score": f.score, "decision": f.decision,
               "threshold": f.threshold}
        verdict = "an image is hidden" if f.decision else "nothing hidden"
        self._info(f"frame {f.frame_id}: {f.attack or 'detector'} score {f.score:.4f} "
                   f"(threshold {f.threshold:g}): {verdict}")
        if self.path is not None:
            new = not self.records
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "w" if new else "a") as fh:
                if new:
                    fh.write(",".join(self.COLUMNS) + "\n")
                fh.write(f"{f.frame_id},{f.score:.6f},{int(f.decision)},{f.threshold:g}\n")
        self.records.append(rec)
