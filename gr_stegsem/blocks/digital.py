"""Issue 13's digital defences as PDU blocks: DeepJSCC-LBVQ (codebook indices sent as 16-QAM,
seed 004's Scheme 4) and DeepJSCEC (public-key LWE on quantised phases, seed 003).

* ``vq_encoder`` (Alice): image PDU -> symbol PDU of QAM points. The indices come from
  :meth:`LBVQScheme.indices <gr_stegsem.schemes.lbvq.LBVQScheme.indices>` (what ``stegsem eval`` runs);
  the mapping index -> point is gr-digital's ``constellation_16qam`` (``map_to_points_v``).
* ``vq_decoder`` (Bob): symbol PDU -> image PDU. Hard: the constellation's ``decision_maker_v`` ->
  index -> codeword; soft: the posterior mean of the codewords (:meth:`LBVQ.features
  <gr_stegsem.models.lbvq.LBVQ.features>`, blind N0) over the same points. Then the model's decoder.
* ``lwe_encrypt`` (Alice, the public key only): image PDU -> symbol PDU of the payload phases
  exp(2πi c2/q); the frame's header c1 (n elements of Z_q) in meta ``lwe_c1`` (u8vector,
  :func:`gr_stegsem.lwe.pack_c1`: 2n bytes) and a frame nonce in meta ``nonce`` (uint64, a counter
  from a random start, as the keyed blocks send).
* ``lwe_decrypt`` (Bob, his key file): symbol PDU + ``lwe_c1`` -> image PDU. A frame without
  ``lwe_c1``, with a header of the wrong length or an element >= q, with a payload that does not fit
  the model or the LWE frame bound, or a repeated nonce is logged and dropped.

The constellation's point set must be the model's (:func:`gr_stegsem.models.lbvq.qam_points`, up to
the model's fixed gain); the label permutation between the two is found by nearest point at
construction (ValueError if the sets differ). Keys are never logged.
"""
from __future__ import annotations

import secrets
from pathlib import Path

import numpy as np
import pmt
import torch

from .. import keys as _keys
from .. import lwe
from ..checkpoint import CheckpointError
from ..models.deepjscc import from_complex, to_complex
from ..models.lbvq import DEMAPS
from ._base import PduBlock, Replayed, frame_nonce, load_block_key
from .pdus import image_pdu, meta_get, parse_image_pdu, parse_symbol_pdu, symbol_pdu, u8vector_from_numpy, \
    u8vector_to_numpy, with_nonce

LWE_C1 = "lwe_c1"  # meta key of DeepJSCEC's digital header (u8vector, lwe.pack_c1)
DEFAULT_LBVQ = "lbvq-16"
DEFAULT_JSCEC = "jscec-n512"
POINT_TOL = 1e-5  # |gr-digital point - model point| for the two sets to count as the same


def digital_kind(scheme: str) -> str:
    """'lbvq' / 'jscec' for the digital schemes' names (``lbvq-*``, ``jscec-*``), '' for any other."""
    s = str(scheme or "").strip()
    if s.startswith("lbvq-"):
        return "lbvq"
    if s.startswith("jscec-"):
        return "jscec"
    return ""


def _load_scheme(block: str, name, models_dir, kind: str):
    from .. import schemes

    name = str(name or "").strip()
    if digital_kind(name) != kind:
        want = "lbvq-<K>[-hard]" if kind == "lbvq" else "jscec-<codec>"
        raise ValueError(f"{block}: scheme must be a {kind} scheme ({want}), got {name!r}")
    d = str(models_dir or "").strip()
    try:
        return schemes.load(name, Path(d).expanduser() if d else None)
    except (CheckpointError, FileNotFoundError) as e:
        raise CheckpointError(f"{block}: {e}") from None


def constellation(order: int):
    """The gr-digital constellation object for a square QAM of ``order`` points (16: the stock
    ``digital.constellation_16qam()``; others: ``digital.constellation_rect`` is not wired up)."""
    from gnuradio import digital

    if order != 16:
        raise ValueError(f"the blocks map {order}-QAM with no stock gr-digital constellation; only 16-QAM is wired up")
    return digital.constellation_16qam()


def label_map(const, points: torch.Tensor) -> np.ndarray:
    """perm (M,) int: the gr-digital point index of model label i is perm[i] (nearest point);
    ValueError when the two point sets differ by more than POINT_TOL."""
    gp = np.asarray(const.points(), np.complex128)
    mp = points.detach().cpu().numpy().astype(np.complex128)
    if gp.size != mp.size:
        raise ValueError(f"the gr-digital constellation has {gp.size} points, the model's QAM {mp.size}")
    d = np.abs(mp[:, None] - gp[None, :])
    perm = d.argmin(1)
    err = float(d[np.arange(mp.size), perm].max())
    if len(set(perm.tolist())) != mp.size or err > POINT_TOL:
        raise ValueError(f"the gr-digital constellation's points are not the model's QAM points "
                         f"(largest distance {err:.3g}; a unit-power square QAM is expected)")
    return perm


class _QAM:
    """The model's labels <-> gr-digital points through one constellation object. The model may send
    its unit-power QAM times a fixed gain (``gain``, the rms of the model's points): the
    constellation's points are scaled by it on the way out and received symbols divided by it before
    the constellation's decisions."""

    def __init__(self, block: str, points: torch.Tensor):
        self.gain = float(points.abs().pow(2).mean().sqrt())
        try:
            if not self.gain > 0:
                raise ValueError("the model's QAM points are all zero")
            self.const = constellation(int(points.numel()))
            self.perm = label_map(self.const, points / self.gain)
        except ValueError as e:
            raise ValueError(f"{block}: {e}") from None
        self.inverse = np.empty_like(self.perm)
        self.inverse[self.perm] = np.arange(self.perm.size)

    def points(self, idx: np.ndarray) -> np.ndarray:
        """Model labels (k,) -> complex64 points (k,) as sent: the constellation's map_to_points_v
        times the model's gain."""
        m = self.const.map_to_points_v
        s = np.array([m(j)[0] for j in self.perm[np.asarray(idx).reshape(-1)].tolist()], np.complex64)
        return (s * np.float32(self.gain)).astype(np.complex64)

    def decide(self, y: np.ndarray) -> np.ndarray:
        """Received symbols (k,) -> model labels (k,) int64: the constellation's decision_maker_v on
        y / gain."""
        dm = self.const.decision_maker_v
        y = np.asarray(y, np.complex64).reshape(-1) / np.float32(self.gain)
        g = np.array([dm([v]) for v in y.tolist()], np.int64)
        return self.inverse[g]


class vq_encoder(PduBlock):
    """DeepJSCC-LBVQ (Alice): image PDU on ``in`` -> symbol PDU of 16-QAM points on ``out``.

    k = n/12 symbols for n pixel values (one codebook index each, 4 bits), the constellation's points
    times the model's fixed gain (what the scheme sends); meta as jscc_encoder's (frame_id, size in
    pixels, latent shape, secure False, role).

    Args:
        scheme: the LBVQ scheme (lbvq-16; a '-hard' suffix only matters at Bob).
        models_dir: folder with its model and the public deepjscc-bcr12 ('' = shipped models/).
        threads: torch CPU threads (0 = leave as is; process-wide).
    """

    def __init__(self, scheme=DEFAULT_LBVQ, models_dir="", threads=0):
        PduBlock.__init__(self, "stegsem_vq_encoder", threads)
        self.scheme = _load_scheme("vq_encoder", scheme, models_dir, "lbvq")
        self.qam = _QAM("vq_encoder", self.scheme.model.points)
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_image_pdu(msg)
        idx, shape = self.scheme.indices(f.image[None])
        s = self.qam.points(idx[0].numpy())
        self._publish("out", symbol_pdu(s, f.frame_id, f.size, shape, secure=False, role=f.role, meta=f.meta))


class vq_decoder(PduBlock):
    """DeepJSCC-LBVQ (Bob): received QAM symbol PDU on ``in`` -> image PDU on ``out`` (original size).

    ``demap`` 'hard': gr-digital's decision_maker_v (on the symbols over the model's gain) -> index ->
    codeword; 'soft': the posterior mean of the codewords with N0 estimated blindly from the frame
    (LBVQ.features, lbvq's eval receiver); '' = as the
    scheme's name says (``lbvq-16``: soft, ``lbvq-16-hard``: hard). Lost symbols (zeros from the PHY's
    reassembler) are, soft, the mean codeword. Meta carried (latent keys removed).

    Args:
        scheme: the LBVQ scheme (lbvq-16 or lbvq-16-hard).
        models_dir: folder with its model and deepjscc-bcr12 ('' = shipped models/).
        demap: '', 'soft' or 'hard'.
        threads: torch CPU threads (0 = leave as is).
    """

    def __init__(self, scheme=DEFAULT_LBVQ, models_dir="", demap="", threads=0):
        PduBlock.__init__(self, "stegsem_vq_decoder", threads)
        self.scheme = _load_scheme("vq_decoder", scheme, models_dir, "lbvq")
        demap = str(demap or "").strip() or self.scheme.demap
        if demap not in DEMAPS:
            raise ValueError(f"vq_decoder: demap must be one of '', {', '.join(DEMAPS)}; got {demap!r}")
        self.demap = demap
        self.qam = _QAM("vq_decoder", self.scheme.model.points)
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_symbol_pdu(msg, self.scheme.model.config.jscc)
        model = self.scheme.model
        with torch.inference_mode():
            if self.demap == "hard":
                feats = model.codewords[torch.from_numpy(self.qam.decide(f.symbols.numpy()))][None]
            else:
                feats = model.features(f.symbols, "soft")
            x = model.decode(feats, f.latent, f.size)[0]
        self._publish("out", image_pdu(x, f.frame_id, meta=f.meta))


class lwe_encrypt(PduBlock):
    """DeepJSCEC (Alice): image PDU on ``in`` -> symbol PDU of LWE ciphertext phases on ``out``.

    The image's DeepJSCC symbols are quantised to p phases (JSCECScheme.plaintext) and encrypted to
    Bob's public key (fresh randomness per frame from the OS); the k payload symbols exp(2πi c2/q)
    (unit power) are the PDU's vector, the header c1 is meta ``lwe_c1`` (2n bytes) and meta ``nonce``
    numbers the frame (a counter from a random 63-bit start). Alice holds no secret.

    Args:
        scheme: the DeepJSCEC scheme (jscec-n512).
        models_dir: folder with its codec and deepjscc-bcr12 ('' = shipped models/).
        public_key: Bob's LWE public key file ('stegsem keygen KEY --lwe-public FILE').
        threads: torch CPU threads (0 = leave as is).
    """

    def __init__(self, scheme=DEFAULT_JSCEC, models_dir="", public_key="", threads=0):
        PduBlock.__init__(self, "stegsem_lwe_encrypt", threads)
        path = str(public_key or "").strip()
        if not path:
            raise ValueError("lwe_encrypt: public_key is required (make one with "
                             "'stegsem keygen KEYFILE --lwe-public FILE')")
        self.scheme = _load_scheme("lwe_encrypt", scheme, models_dir, "jscec")
        try:
            self.public_key = lwe.read_public(Path(path).expanduser())
        except ValueError as e:
            raise ValueError(f"lwe_encrypt: {e}") from None
        if self.public_key.params != self.scheme.params:
            raise ValueError(f"lwe_encrypt: public key {path} has LWE parameters {self.public_key.params}, "
                             f"scheme {self.scheme.name} needs {self.scheme.params}")
        self._next = secrets.randbits(63)
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_image_pdu(msg)
        m, shape = self.scheme.plaintext(f.image[None])
        if m.shape[1] > self.public_key.max_symbols:
            raise ValueError(f"frame {f.frame_id}: {f.height}x{f.width} px give {m.shape[1]} symbols, more than "
                             f"the public key's {self.public_key.max_symbols} (make it with a larger --lwe-size)")
        c1, z = self.scheme.encrypt(m, shape, self.public_key)
        nonce, self._next = self._next, self._next + 1
        meta = pmt.dict_add(with_nonce(f.meta, nonce), pmt.intern(LWE_C1),
                            u8vector_from_numpy(np.frombuffer(lwe.pack_c1(c1[0], self.scheme.params), np.uint8)))
        self._publish("out", symbol_pdu(to_complex(z), f.frame_id, f.size, shape, secure=False, role=f.role,
                                        meta=meta))


def header_c1(meta, params: lwe.LWEParams) -> np.ndarray:
    """The frame's LWE header from meta ``lwe_c1`` -> c1 (1, n) int64; ValueError naming the problem
    (missing, not a u8vector, wrong length, an element >= q)."""
    v = meta_get(meta, LWE_C1)
    if v is None:
        raise ValueError(f"no LWE header (meta '{LWE_C1}' missing)")
    if not pmt.is_u8vector(v):
        raise ValueError(f"meta '{LWE_C1}' must be a u8vector ({2 * params.n} bytes)")
    return lwe.unpack_c1(u8vector_to_numpy(v).tobytes(), params)[None]


class lwe_decrypt(PduBlock):
    """DeepJSCEC (Bob): ciphertext symbol PDU (meta ``lwe_c1``, ``nonce``) on ``in`` -> image PDU on ``out``.

    Derotates the payload by S^T c1 (S from Bob's key file) and decodes (JSCECScheme.bob). Dropped
    with a log line: a frame without ``lwe_c1`` or whose header has the wrong length or an element >= q,
    a payload whose length does not fit the model's latent for its image size or exceeds the LWE
    frame bound, a frame without a nonce or whose nonce repeats one of the last ``replay_window``
    (``n_replayed``). A wrong key decodes to noise (nothing to detect it by). Meta carried, less
    ``lwe_c1``.

    Args:
        scheme: the DeepJSCEC scheme (jscec-n512).
        models_dir: folder with its codec and deepjscc-bcr12 ('' = shipped models/).
        key_file: Bob's 256-bit key file (never logged).
        replay_window: nonces remembered for the replay check.
        threads: torch CPU threads (0 = leave as is).
    """

    def __init__(self, scheme=DEFAULT_JSCEC, models_dir="", key_file="", replay_window=65536, threads=0):
        PduBlock.__init__(self, "stegsem_lwe_decrypt", threads)
        path = str(key_file or "").strip()
        if not path:
            raise ValueError("lwe_decrypt: key_file is required (Bob's key: 'stegsem keygen FILE')")
        if int(replay_window) < 1:
            raise ValueError(f"lwe_decrypt: replay_window must be >= 1, got {replay_window}")
        self.scheme = _load_scheme("lwe_decrypt", scheme, models_dir, "jscec")
        self._key = load_block_key("lwe_decrypt", path)
        self.scheme.secret_key(self._key)  # S is derived once, here
        self._replay = _keys.ReplayGuard(int(replay_window))
        self.n_replayed = 0
        self._input("in", self._handle)
        self._output("out")

    def _handle(self, msg):
        f = parse_symbol_pdu(msg, self.scheme.jscc.config)
        k = f.symbols.shape[1]
        if k > lwe.MAX_SYMBOLS:
            raise ValueError(f"frame {f.frame_id}: {k} payload symbols exceed an LWE frame's {lwe.MAX_SYMBOLS}")
        c1 = header_c1(f.meta, self.scheme.params)
        try:
            frame_nonce(f, self._replay, "an LWE frame")
        except Replayed as e:
            self.n_replayed += 1
            self._drop(str(e))
            return
        with torch.inference_mode():
            z = from_complex(f.symbols, f.latent)
            x = self.scheme.bob(z, f.size, key=self._key, c1=c1)["private"][0]
        self._publish("out", image_pdu(x, f.frame_id, meta=pmt.dict_delete(f.meta, pmt.intern(LWE_C1))))


__all__ = ["vq_encoder", "vq_decoder", "lwe_encrypt", "lwe_decrypt", "digital_kind", "LWE_C1"]
