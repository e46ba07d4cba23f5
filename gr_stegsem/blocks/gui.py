"""image_view: decoded images shown live in a Qt widget, for GRC ``qt_gui`` flowgraphs (sim_radio_gui).

The block is a message-only ``gr.basic_block`` like the others; PyQt5 is imported only when its
widget is made (:meth:`image_view.qwidget`), so ``gr_stegsem.blocks`` imports without Qt and the
block runs (keeping its state) in a headless flowgraph too.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import pmt

from ._base import PduBlock
from .pdus import ATTACK, is_metrics_pdu, meta_get, parse_image_pdu, parse_metrics_pdu, split_pdu, u8vector_to_numpy

MAX_PANELS = 8  # input ports in0 .. in7
METRICS_KEPT = 16  # metrics of this many recent frames wait per panel for their image (either may come first)


@dataclass
class Panel:
    """What one panel shows: the last image received (u8 RGB (H, W, 3)), its frame id and the Eve
    attack that made it (meta 'attack', '' for Bob), that frame's metrics once they arrived, and
    ``last``: (frame id, metrics) of the latest frame up to the one shown whose metrics arrived."""

    caption: str
    image: np.ndarray | None = None
    frame_id: int | None = None
    attack: str = ""
    metrics: dict | None = None  # psnr (dB), ms_ssim, lpips of frame_id
    last: tuple[int, dict] | None = None
    n_images: int = 0
    n_metrics: int = 0

    def text(self) -> str:
        """The caption under the image: the panel's caption (and attack), the frame id, and its PSNR and
        MS-SSIM -- until they come, an earlier frame's, named."""
        head = self.caption + (f" ({self.attack})" if self.attack and self.attack not in self.caption else "")
        if self.frame_id is None:
            return f"{head}\nwaiting for the first image"
        if self.metrics is not None:
            return f"{head}\nframe {self.frame_id}\n{_metrics_text(self.metrics)}"
        if self.last is None:
            return f"{head}\nframe {self.frame_id}\nPSNR -, MS-SSIM - (metrics to come)"
        return f"{head}\nframe {self.frame_id} (metrics to come)\nframe {self.last[0]}: {_metrics_text(self.last[1])}"


def _metrics_text(m: dict) -> str:
    """'PSNR 27.10 dB, MS-SSIM 0.9312' (MS-SSIM is NaN under 161 px per side: 'n/a')."""
    ms = m.get("ms_ssim", math.nan)
    return f"PSNR {m['psnr']:.2f} dB, MS-SSIM " + (f"{ms:.4f}" if math.isfinite(ms) else "n/a")


class image_view(PduBlock):
    """A grid of panels, each showing the latest image PDU on its port with a caption.

    Port ``in<i>`` feeds panel i (i < len(captions)): image PDUs (a decoder's or an Eve's output,
    what an image_sink takes) and the metrics PDUs of the image_sink of the same images (its
    ``metrics`` port). The caption reads captions[i] (with the image meta's ``attack``, e.g. Eve's
    'mia'), the frame id, and the PSNR (dB) and MS-SSIM of the frame shown, once its metrics came.

    The widget (:meth:`qwidget`, a QWidget for a GRC GUI hint) is made on the first call, in Qt's
    GUI thread (a QApplication must exist: a qt_gui flowgraph makes one). PDUs arrive in GNU
    Radio's threads; the widget repaints a panel in the GUI thread through a queued Qt signal.
    ``panels`` holds the state (with or without a widget).

    Args:
        captions: one caption per panel, 1 to 8 strings.
        side: each image is scaled to fit side x side px (aspect kept); 0 shows it at its own size.
        columns: panels per row of the grid.
    """

    def __init__(self, captions=("Bob: host", "Bob: private", "Eve: naive", "Eve: attacker"), side=256, columns=4):
        PduBlock.__init__(self, "stegsem_image_view")
        if isinstance(captions, str) or not 1 <= len(captions) <= MAX_PANELS \
                or not all(isinstance(c, str) for c in captions):
            raise ValueError(f"image_view: captions must be a list of 1 to {MAX_PANELS} strings, got {captions!r}")
        if not 0 <= int(side) <= 4096 or int(columns) < 1:
            raise ValueError(f"image_view: side must be 0..4096 px and columns >= 1, got {side}, {columns}")
        self.side, self.columns = int(side), int(columns)
        self.panels = [Panel(str(c)) for c in captions]
        self._pending: list[dict[int, dict]] = [{} for _ in captions]  # frame id -> metrics, per panel
        self._lock = threading.Lock()
        self._widget = None
        for i in range(MAX_PANELS):
            self._input(f"in{i}", lambda msg, i=i: self._handle(i, msg))

    def _handle(self, i: int, msg) -> None:
        if i >= len(self.panels):
            raise ValueError(f"port in{i} has no panel ({len(self.panels)} captions)")
        if is_metrics_pdu(msg):
            fid, m = parse_metrics_pdu(msg)
            with self._lock:
                p = self.panels[i]
                p.n_metrics += 1
                if fid == p.frame_id:
                    p.metrics, p.last = m, (fid, m)
                elif p.frame_id is not None and fid < p.frame_id:  # late: its image was replaced already
                    if p.last is None or fid > p.last[0]:
                        p.last = (fid, m)
                else:  # its image is still on the way
                    pending = self._pending[i]
                    pending[fid] = m
                    for old in sorted(pending)[:-METRICS_KEPT]:
                        del pending[old]
        else:
            f = parse_image_pdu(msg)
            a = u8vector_to_numpy(split_pdu(msg)[1]).reshape(f.height, f.width, 3).copy()
            attack = meta_get(f.meta, ATTACK)
            with self._lock:
                p = self.panels[i]
                p.image, p.frame_id, p.n_images = a, f.frame_id, p.n_images + 1
                p.attack = pmt.symbol_to_string(attack) if attack is not None and pmt.is_symbol(attack) else ""
                p.metrics = self._pending[i].pop(f.frame_id, None)
                if p.metrics is not None:
                    p.last = (f.frame_id, p.metrics)
        if self._widget is not None:
            self._widget.changed.emit(i)

    def snapshot(self, i: int) -> Panel:
        """A copy of panel i's state (taken under the lock; the image array is shared, never written)."""
        with self._lock:
            p = self.panels[i]
            return Panel(p.caption, p.image, p.frame_id, p.attack, None if p.metrics is None else dict(p.metrics),
                         None if p.last is None else (p.last[0], dict(p.last[1])), p.n_images, p.n_metrics)

    def qwidget(self):
        """The block's QWidget (made on the first call; needs a QApplication)."""
        if self._widget is None:
            from PyQt5 import QtWidgets

            if QtWidgets.QApplication.instance() is None:
                raise RuntimeError("image_view: its widget needs a QApplication (a GRC qt_gui flowgraph makes one)")
            self._widget = _widget_class()(self)
        return self._widget


def _widget_class():
    """The QWidget class of image_view (defined on first use: PyQt5 is imported here only)."""
    global _WIDGET
    if _WIDGET is not None:
        return _WIDGET
    from PyQt5 import QtCore, QtGui, QtWidgets

    class ImageViewWidget(QtWidgets.QWidget):
        """Panels in a grid: an image (QLabel with a pixmap) above its caption (QLabel, text)."""

        changed = QtCore.pyqtSignal(int)  # panel index; emitted from GNU Radio's threads (queued)

        def __init__(self, block: image_view, parent=None):
            QtWidgets.QWidget.__init__(self, parent)
            self.block = block
            grid = QtWidgets.QGridLayout(self)
            self.images, self.captions = [], []
            box = block.side or 64
            for i, p in enumerate(block.panels):
                img = QtWidgets.QLabel()
                img.setAlignment(QtCore.Qt.AlignCenter)
                img.setMinimumSize(box, box)
                img.setStyleSheet("background-color: #202020;")
                cap = QtWidgets.QLabel(p.text())
                cap.setAlignment(QtCore.Qt.AlignHCenter | QtCore.Qt.AlignTop)
                cap.setWordWrap(True)
                row, col = divmod(i, block.columns)
                grid.addWidget(img, 2 * row, col)
                grid.addWidget(cap, 2 * row + 1, col)
                self.images.append(img)
                self.captions.append(cap)
            self.changed.connect(self.refresh)

        def refresh(self, i: int) -> None:
            """Repaint panel i from the block's state (GUI thread)."""
            p = self.block.snapshot(i)
            if p.image is not None:
                h, w = p.image.shape[:2]
                a = np.ascontiguousarray(p.image)
                pix = QtGui.QPixmap.fromImage(QtGui.QImage(a.data, w, h, 3 * w, QtGui.QImage.Format_RGB888).copy())
                side = self.block.side
                if side and max(w, h) != side:
                    pix = pix.scaled(side, side, QtCore.Qt.KeepAspectRatio, QtCore.Qt.SmoothTransformation)
                self.images[i].setPixmap(pix)
            self.captions[i].setText(p.text())

    _WIDGET = ImageViewWidget
    return _WIDGET


_WIDGET = None
