"""``stegsem watch``: a plain ZeroMQ SUB client for the image PDUs a flowgraph publishes.

Bob's and Eve's ZMQ flowgraphs publish every decoded image PDU with ``zeromq.pub_msg_sink``: one
ZeroMQ message per PDU, the PDU serialised with ``pmt.serialize_str``. This client uses pyzmq and
the ``pmt`` module only (no ``gnuradio.gr``, no torch): it deserialises each message, saves image
PDUs (u8 RGB, meta frame_id/height/width, see :mod:`gr_stegsem.blocks.pdus`) as PNG files and
reports one line per image.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np


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
    meta = pmt.to_python(pmt.car(msg)) or {}
    try:
        h, w = int(meta["height"]), int(meta["width"])
        int(meta["frame_id"])
    except (KeyError, TypeError, ValueError):
        raise ValueError("image PDU meta lacks frame_id/height/width") from None
    a = np.asarray(pmt.u8vector_elements(pmt.cdr(msg)), dtype=np.uint8)
    if a.size != h * w * 3:
        raise ValueError(f"image PDU has {a.size} bytes, meta says {h}x{w}x3")
    return meta, a.reshape(h, w, 3)


def file_name(meta: dict) -> str:
    attack, role = meta.get("attack"), meta.get("role")
    stem = f"eve_{attack}" if attack else (str(role) if role else "image")
    return f"{stem}_{int(meta['frame_id']):05d}.png"


def watch(address: str, out: str | Path, count: int = 0, timeout: float = 0.0, on_image=None,
          on_error=None) -> list[Received]:
    """Receive image PDUs from ``address`` (connect, subscribe to all) and save them under ``out``.

    Stops after ``count`` images (0: no limit) or ``timeout`` seconds (0: no limit), whichever is
    first; ``on_image(Received)`` / ``on_error(str)`` are called as messages arrive.
    """
    import zmq
    from PIL import Image

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SUBSCRIBE, b"")
    got: list[Received] = []
    t0 = time.monotonic()
    try:
        sock.connect(address)
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
            path = out / file_name(meta)
            Image.fromarray(a).save(path)
            r = Received(int(meta["frame_id"]), meta.get("role"), meta.get("attack"), a.shape[0], a.shape[1], path)
            got.append(r)
            if on_image:
                on_image(r)
    finally:
        sock.close(0)
    return got
