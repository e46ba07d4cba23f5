"""``stegsem watch``: a plain ZeroMQ SUB client for the image PDUs a flowgraph publishes.

Bob's and Eve's ZMQ flowgraphs publish every decoded image PDU with ``zeromq.pub_msg_sink``: one
ZeroMQ message per PDU, the PDU serialised with ``pmt.serialize_str``. This client uses pyzmq and
the ``pmt`` module only (no ``gnuradio.gr``, no torch): it deserialises each message, saves image
PDUs (u8 RGB, meta frame_id/height/width, see :mod:`gr_stegsem.blocks.pdus`) as PNG files and
reports one line per image.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_SIDE = 4096  # pixels per side of an image PDU (as gr_stegsem.images)
MAX_FRAME_ID = 2 ** 63 - 1
MAX_NAME = 40  # characters of a name component taken from the sender's meta
MAX_MESSAGE = MAX_SIDE * MAX_SIDE * 3 + (1 << 16)  # bytes; a larger ZeroMQ message is refused by the socket
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_ZMQ_ADDRESS = re.compile(r"^(tcp|ipc|inproc|pgm|epgm|udp)://(.+)$")


@dataclass
class Received:
    frame_id: int
    role: str | None
    attack: str | None
    height: int
    width: int
    path: Path

    def line(self) -> str:
        who = f"eve/{self.attack}" if self.attack else (self.role or "image")
        return f"frame {self.frame_id}: {who} {self.height}x{self.width} -> {self.path}"


def parse_message(data: bytes):
    """A ZeroMQ message from pub_msg_sink -> (meta dict, u8 array (H, W, 3)); ValueError if not an image PDU."""
    import pmt

    try:
        msg = pmt.deserialize_str(data)
    except Exception as e:  # noqa: BLE001 - pmt raises RuntimeError on garbage
        raise ValueError(f"not a serialised pmt ({e.__class__.__name__})") from None
    if not pmt.is_pair(msg) or not pmt.is_dict(pmt.car(msg)) or not pmt.is_u8vector(pmt.cdr(msg)):
        raise ValueError("not an image PDU (meta dict, u8vector)")
    try:
        meta = pmt.to_python(pmt.car(msg)) or {}
    except Exception as e:  # noqa: BLE001 - pmt.to_python fails on PMT types it does not know
        raise ValueError(f"image PDU meta is not convertible ({e.__class__.__name__})") from None
    if "height" not in meta or "width" not in meta or "frame_id" not in meta:
        raise ValueError("image PDU meta lacks frame_id/height/width")
    h, w = whole(meta["height"], "height", 1, MAX_SIDE), whole(meta["width"], "width", 1, MAX_SIDE)
    meta["frame_id"] = whole(meta["frame_id"], "frame_id", 0, MAX_FRAME_ID)
    n = pmt.length(pmt.cdr(msg))
    if n != h * w * 3:
        raise ValueError(f"image PDU has {n} bytes, meta says {h}x{w}x3")
    return meta, np.asarray(pmt.u8vector_elements(pmt.cdr(msg)), dtype=np.uint8).reshape(h, w, 3)


def whole(value, what: str, lo: int, hi: int) -> int:
    """A meta value that must be a whole number in [lo, hi] (an integral float is accepted); ValueError."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value, ok = int(value), True
    if not ok or not lo <= value <= hi:
        raise ValueError(f"image PDU meta {what} must be an integer in [{lo}, {hi}], got {value!r:.40}")
    return value


def safe_name(value, default: str) -> str:
    """A file name component from a sender's meta value: letters, digits, '_' and '-' only (no
    separators, no '..'), at most MAX_NAME characters; ``default`` when nothing is left."""
    text = _UNSAFE.sub("_", str(value)).strip("_-")[:MAX_NAME]
    return text or default


def file_name(meta: dict) -> str:
    """``eve_<attack>_<frame>.png`` or ``<role>_<frame>.png``, each component sanitised (:func:`safe_name`)."""
    attack, role = meta.get("attack"), meta.get("role")
    stem = f"eve_{safe_name(attack, 'attack')}" if attack else (safe_name(role, "image") if role else "image")
    return f"{stem}_{whole(meta['frame_id'], 'frame_id', 0, MAX_FRAME_ID):05d}.png"


def check_address(address: str) -> str:
    """ValueError unless ``address`` looks like a ZeroMQ endpoint (scheme://..., tcp with host:port)."""
    m = _ZMQ_ADDRESS.match(str(address))
    if m and m.group(1) == "tcp":
        host, _, port = m.group(2).rpartition(":")
        if not host or not (port == "*" or (port.isdigit() and 0 < int(port) < 65536)):
            m = None
    if not m:
        raise ValueError(f"invalid ZeroMQ address {address!r} (expected e.g. tcp://127.0.0.1:5556)")
    return address


def _save(a: np.ndarray, out: Path, meta: dict) -> Path:
    """Write the image as a PNG inside ``out`` (never elsewhere, whatever the meta says)."""
    from PIL import Image

    path = out / file_name(meta)
    if path.resolve().parent != out.resolve():
        raise ValueError(f"file name {path.name!r} leaves {out}")
    Image.fromarray(a).save(path)
    return path


def watch(address: str, out: str | Path, count: int = 0, timeout: float = 0.0, on_image=None,
          on_error=None) -> list[Received]:
    """Receive image PDUs from ``address`` (connect, subscribe to all) and save them under ``out``.

    Stops after ``count`` images (0: no limit) or ``timeout`` seconds (0: no limit), whichever is
    first; ``on_image(Received)`` / ``on_error(str)`` are called as messages arrive.
    """
    import zmq

    check_address(address)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    got: list[Received] = []
    t0 = time.monotonic()
    try:
        try:
            sock.connect(address)
        except zmq.ZMQError as e:
            raise ValueError(f"invalid ZeroMQ address {address!r} ({e})") from None
        while not count or len(got) < count:
            wait = 0.2
            if timeout:
                left = timeout - (time.monotonic() - t0)
                if left <= 0:
                    break
                wait = min(wait, left)
            if not sock.poll(int(wait * 1000)):
                continue
            data = sock.recv()
            try:
                meta, a = parse_message(data)
            except ValueError as e:
                if on_error:
                    on_error(f"skipped a message of {len(data)} bytes: {e}")
                continue
            try:
                path = _save(a, out, meta)
            except Exception as e:  # noqa: BLE001 - an unwritable name must not end the client
                if on_error:
                    on_error(f"could not save frame {meta['frame_id']}: {e.__class__.__name__}: {e}")
                continue
            role, attack = meta.get("role"), meta.get("attack")
            r = Received(meta["frame_id"], safe_name(role, "image") if role else None,
                         safe_name(attack, "attack") if attack else None, a.shape[0], a.shape[1], path)
            got.append(r)
            if on_image:
                on_image(r)
    finally:
        sock.close(0)
    return got
