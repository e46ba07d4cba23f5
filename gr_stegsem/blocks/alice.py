"""Alice: DeepJSCC encoder and INN embedding, as message blocks."""
from __future__ import annotations

import secrets
import threading
import time

import torch

from ..models.deepjscc import to_complex
from ._base import PduBlock, block_key, load_system, same_shape_runs
from .pdus import parse_image_pdu, parse_symbol_pdu, symbol_pdu, with_nonce


class jscc_encoder(PduBlock):
    """DeepJSCC encoder: image PDU on ``in`` -> symbol PDU on ``out``.

    Output: k complex symbols (k = C/2 * ceil(H/4) * ceil(W/4)), power-normalised to mean
    |z|^2 = 1 (Es = 1); meta carries frame_id, the original size (pixels), the latent shape
    (latent_c/h/w), secure=False and the role of the input.

    Args:
        model_path: DeepJSCC model file ('' = shipped models/deepjscc-bcr12).
        threads: torch CPU threads (0 = leave as is; the setting is process-wide).
        precision: 'fp32', 'bf16', 'int8' or 'auto' (:mod:`gr_stegsem.precision`; bf16 falls back to fp32 where
            the CPU lacks it).
        batch: at most this many frames (of one size) per encoder call; 1 = one per call.
        max_delay_ms: how long the oldest frame may wait for more (0: batch only frames already queued).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' (:mod:`gr_stegsem.device`; a CUDA device torch cannot use
            fails here); the PDUs stay on the CPU.
    """

    def __init__(self, model_path="", threads=0, precision="fp32", batch=1, max_delay_ms=0.0, device="cpu"):
        PduBlock.__init__(self, "stegsem_jscc_encoder", threads)
        self.system = load_system("jscc_encoder", model_path, precision=precision, device=device)
        self._batching(batch, max_delay_ms, ("in",), self._encode)
        self._input("in", lambda msg: self._enqueue(parse_image_pdu(msg)))
        self._output("out")

    def _encode(self, frames) -> None:
        for run in same_shape_runs(frames, lambda f: tuple(f.image.shape)):
            with torch.inference_mode():
                z = self.system.encode(torch.stack([f.image for f in run]))
                s = to_complex(z)
            for i, f in enumerate(run):
                self._publish("out", symbol_pdu(s[i:i + 1], f.frame_id, f.size, tuple(z.shape[1:]), secure=False,
                                                role=f.role, meta=f.meta))


class inn_embed(PduBlock):
    """INN steganography (Alice): host and private symbol PDUs -> container symbol PDU.

    Inputs ``host`` and ``private`` are paired by frame_id; the pair must have the same image
    size. The container on ``out`` has the same number k of symbols, mean |z|^2 = 1, and the
    host's meta with secure=True and no role (nothing from the private PDU's meta is carried).
    A frame waiting for its partner longer than ``timeout`` seconds is logged and dropped (checked
    on every arrival and in stop()); at most ``max_pending`` frames wait at a time (oldest dropped).
    A PDU whose role contradicts its port (e.g. role=private on ``host``) is dropped.
    When the upstream blocks report done, it finishes after both inputs did (or ``timeout`` s
    after the first) and its queued PDUs are processed.

    With ``secure`` False (the no-security baseline, plain DeepJSCC) no INN is loaded: each private
    symbol PDU is forwarded on ``out`` as the transmitted frame (secure=False, no role) and PDUs on
    ``host`` are ignored.

    A keyed model (``stego-keyed-*``) needs ``key_file``: each container gets the next nonce of a
    counter started at a random 63-bit value (meta ``nonce``, uint64, public) and the private latent
    goes through the frame's keyed transform (:mod:`gr_stegsem.keys`) before embedding.

    Args:
        jscc_path: DeepJSCC model file ('' = shipped deepjscc-bcr12).
        inn_path: steganography model file ('' = shipped stego-l3_2).
        timeout: seconds an unpaired frame may wait.
        max_pending: bound on waiting frames.
        threads: torch CPU threads (0 = leave as is).
        secure: False sends the private image's symbols unprotected (plain DeepJSCC).
        key_file: the shared key of a keyed model ('' for the unkeyed ones); never logged.
        precision: 'fp32', 'bf16', 'int8' or 'auto' (:mod:`gr_stegsem.precision`).
        batch: at most this many pairs (of one size) per INN call; 1 = one per call.
        max_delay_ms: how long the oldest complete pair may wait for more (0: only pairs already queued).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto' (:mod:`gr_stegsem.device`; a CUDA device torch cannot use
            fails here); the PDUs stay on the CPU.
    """

    def __init__(self, jscc_path="", inn_path="", timeout=5.0, max_pending=64, threads=0, secure=True, key_file="",
                 precision="fp32", batch=1, max_delay_ms=0.0, device="cpu"):
        PduBlock.__init__(self, "stegsem_inn_embed", threads)
        if float(timeout) <= 0:
            raise ValueError(f"inn_embed: timeout must be > 0 seconds, got {timeout}")
        if int(max_pending) < 1:
            raise ValueError(f"inn_embed: max_pending must be >= 1, got {max_pending}")
        self.secure = bool(secure)
        self.system = load_system("inn_embed", jscc_path, inn_path, need_inn=self.secure, precision=precision,
                                  device=device, decodes=False)
        self._batching(batch, max_delay_ms, ("host", "private"), self._embed_pairs)
        self._key = block_key("inn_embed", key_file, self.system) if self.secure else None
        self._next_nonce = secrets.randbits(63)  # never reused: 2^63 frames before it could wrap
        self.timeout = float(timeout)
        self.max_pending = int(max_pending)
        self.n_unpaired = 0  # frames dropped for lack of a partner
        self._pending: dict[int, dict] = {}  # frame_id -> {"t": arrival, "host": SymbolFrame, "private": ...}
        self._lock = threading.Lock()
        self._input("host", lambda msg: self._handle("host", msg))
        self._input("private", lambda msg: self._handle("private", msg))
        self._output("out")
        self._hold_done()

    def _can_finish(self) -> bool:
        # finish when both inputs reported done (or `timeout` s after the first) and nothing is queued
        if not self._inputs_empty("host", "private"):
            return False
        self._maybe_flush(force=True)
        if self._n_done < 2 and time.monotonic() - self._first_done <= self.timeout:
            return False
        with self._lock:
            for fid in list(self._pending):
                self._unpaired(fid, "inputs finished")
        return True

    @property
    def pending(self) -> list[int]:
        """Frame ids waiting for their partner."""
        with self._lock:
            return sorted(self._pending)

    def _expire(self, now: float) -> None:
        old = [fid for fid, e in self._pending.items() if now - e["t"] > self.timeout]
        for fid in old:
            self._unpaired(fid, f"no partner within {self.timeout:g} s")

    def _unpaired(self, fid: int, why: str) -> None:
        e = self._pending.pop(fid)
        have = "host" if "host" in e else "private"
        self.n_unpaired += 1
        self._drop(f"frame {fid}: {have} PDU unpaired ({why})")

    def _handle(self, port: str, msg) -> None:
        f = parse_symbol_pdu(msg, self.system.jscc.config)
        if f.secure:
            raise ValueError(f"frame {f.frame_id} on '{port}' is already a container (secure=True)")
        if f.role is not None and f.role != port:
            raise ValueError(f"frame {f.frame_id} with role '{f.role}' arrived on the '{port}' input")
        if not self.secure:
            if port == "private":  # plain DeepJSCC: the private image's symbols are the frame
                self._publish("out", symbol_pdu(f.symbols, f.frame_id, f.size, f.latent, secure=False,
                                                role=None, meta=f.meta))
            return
        other = "private" if port == "host" else "host"
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            e = self._pending.get(f.frame_id)
            if e is None:
                while len(self._pending) >= self.max_pending:
                    oldest = min(self._pending, key=lambda k: self._pending[k]["t"])
                    self._unpaired(oldest, f"more than {self.max_pending} frames waiting")
                self._pending[f.frame_id] = {"t": now, port: f}
                return
            if port in e:  # a second PDU for the same slot: keep the newer one
                self._drop(f"frame {f.frame_id}: a newer {port} PDU replaces the waiting one")
                e[port] = f
                e["t"] = now
                return
            del self._pending[f.frame_id]
        pair = {port: f, other: e[other]}
        host, private = pair["host"], pair["private"]
        if host.size != private.size:
            raise ValueError(
                f"frame {host.frame_id}: host {host.height}x{host.width} and private "
                f"{private.height}x{private.width} images differ in size; pair dropped"
            )
        self._enqueue((host, private))

    def _embed_pairs(self, pairs) -> None:
        for run in same_shape_runs(pairs, lambda p: p[0].latent):
            metas, zps = [], []
            with torch.inference_mode():
                for host, private in run:
                    meta, zp = host.meta, private.real_latent()
                    if self._key is not None:
                        nonce, self._next_nonce = self._next_nonce, self._next_nonce + 1
                        zp = self.system.scramble_private(zp, self._key, nonce)
                        meta = with_nonce(meta, nonce)
                    metas.append(meta)
                    zps.append(zp)
                zh = torch.cat([h.real_latent() for h, _ in run]) if len(run) > 1 else run[0][0].real_latent()
                zc = self.system.embed(zh, torch.cat(zps) if len(zps) > 1 else zps[0])
                s = to_complex(zc)
            for i, ((host, _), meta) in enumerate(zip(run, metas)):
                self._publish("out", symbol_pdu(s[i:i + 1], host.frame_id, host.size, host.latent, secure=True,
                                                role=None, meta=meta))

    def stop(self):
        PduBlock.stop(self)
        with self._lock:
            for fid in list(self._pending):
                self._unpaired(fid, "flowgraph stopped")
        return True
