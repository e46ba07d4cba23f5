"""Image files in and out of a flowgraph: image_source and image_sink."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pmt

from ..images import EXTENSIONS, list_images, load_image, save_image
from ._base import PduBlock
from .pdus import ROLES, image_pdu, metrics_pdu, parse_image_pdu


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
        paths: an image file, a folder (all JPEG/PNG below it, sorted) or a list of these.
        loop: start over after the last image (frame ids keep counting up).
        size: resize every image to size x size pixels (bicubic); 0 keeps the file's size.
        role: '' or 'host' / 'private', written into the meta.
        interval: seconds between frames (give one when looping, or the message queues grow).
        done: when not looping, tell the scheduler this block is finished after the last image
            (a message-only flowgraph can then end by itself).
    """

    def __init__(self, paths, loop=False, size=0, role="", interval=0.0, done=False):
        PduBlock.__init__(self, "stegsem_image_source")
        self.files = image_files(paths)
        if role not in ("",) + ROLES:
            raise ValueError(f"image_source: role must be '', 'host' or 'private', got {role!r}")
        if int(size) < 0 or float(interval) < 0:
            raise ValueError("image_source: size (pixels) and interval (seconds) must be >= 0")
        self.loop, self.size, self.role = bool(loop), int(size), role or None
        self.interval, self.done = float(interval), bool(done)
        self.finished = threading.Event()  # set after the last frame (not looping) or on stop()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._output("out")

    def _run(self):
        frame = 0
        try:
            while not self._halt.is_set():
                for path in self.files:
                    if self._halt.is_set():
                        return
                    try:
                        x = load_image(path, (self.size, self.size) if self.size else None)
                        pdu = image_pdu(x, frame, role=self.role)
                    except ValueError as e:
                        self._drop(f"skipping {path}: {e}")
                        continue
                    self._publish("out", pdu)
                    frame += 1
                    if self.interval and self._halt.wait(self.interval):
                        return
                if not self.loop:
                    break
            if self.done and not self._halt.is_set():
                self._post(pmt.intern("system"), pmt.cons(pmt.intern("done"), pmt.from_long(1)))
        finally:
            self.finished.set()

    def start(self):
        PduBlock.start(self)
        self._halt.clear()
        self.finished.clear()
        self._thread = threading.Thread(target=self._run, name="stegsem_image_source", daemon=True)
        self._thread.start()
        return True

    def stop(self):
        PduBlock.stop(self)
        self._halt.set()
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
    ``records`` lists one dict per frame written: frame_id, role, path and the metrics.

    Args:
        folder: output folder (created).
        prefix: file name prefix.
        reference: '' or the reference image file/folder.
    """

    def __init__(self, folder, prefix="frame", reference=""):
        PduBlock.__init__(self, "stegsem_image_sink")
        self.folder = Path(str(folder)).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True)
        if not prefix or "/" in prefix or os.sep in prefix:
            raise ValueError(f"image_sink: prefix must be a plain file name part, got {prefix!r}")
        self.prefix = prefix
        self.references = image_files(reference) if str(reference or "").strip() else []
        self.records: list[dict] = []
        self._metrics = None
        if self.references:
            from .. import metrics

            metrics.lpips_model("cpu")  # load LPIPS now: a missing backbone fails here, not mid-run
            self._metrics = metrics.all_metrics
        self._input("in", self._handle)
        self._output("metrics")

    def _handle(self, msg):
        f = parse_image_pdu(msg)
        path = self.folder / f"{self.prefix}_{f.frame_id:05d}.png"
        save_image(f.image, path)
        rec = {"frame_id": f.frame_id, "role": f.role, "path": str(path)}
        if self._metrics is not None:
            ref_path = self.references[f.frame_id % len(self.references)]
            ref = load_image(ref_path, f.size)
            m = {k: float(v[0]) for k, v in self._metrics(f.image[None], ref[None]).items()}
            rec.update(m, reference=str(ref_path))
            self._info(f"frame {f.frame_id}: PSNR {m['psnr']:.2f} dB, MS-SSIM {m['ms_ssim']:.4f}, "
                       f"LPIPS {m['lpips']:.4f} (vs {ref_path.name})")
            self._publish("metrics", metrics_pdu(f.frame_id, m, f.role))
        self.records.append(rec)
