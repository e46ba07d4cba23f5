"""Alice's transmit chain and Bob's and Eve's receive chains as GNU Radio hierarchical blocks.

Three boxes make a link: image sources -> ``alice_tx`` -> a channel -> ``bob_rx`` / ``eve_rx`` ->
image sinks. The chains are processing only: sources, channels and sinks stay outside, so a
flowgraph's sinks keep their own names (``gr_stegsem.flowgraphs.records``). PDU formats as
:mod:`gr_stegsem.blocks.pdus`.

* ``alice_tx``: image PDUs on ``host`` and ``private`` -> jscc_encoder x2 -> inn_embed (-> scheme_tx
  for a ``dp-<ε>`` / ``shuffle*`` scheme) -> container symbol PDUs on ``out``.
* ``bob_rx``: symbol PDUs on ``in`` (-> scheme_rx) -> inn_extract -> jscc_decoder x2 -> image PDUs
  on ``host`` and ``private``.
* ``eve_rx``: symbol PDUs on ``in`` -> eve_naive, eve_mia and eve_attack (the Eve zoo) -> image PDUs
  on ``naive``, ``mia`` and ``attack``, detector scores on ``score``.
* ``alice_tx_phy``, ``bob_rx_phy``, ``eve_rx_phy``: the same with the OFDM PHY
  (:mod:`gr_stegsem.phy.blocks`): phy_tx after Alice's chain (burst samples on a complex stream,
  ``packet_len`` tags), phy_rx before the receivers' (a complex stream in; its decoded bursts'
  segment PDUs on ``bursts``, for a SigMF recorder's annotations or a constellation sink).

Each inner block is an attribute (``alice.embed``, ``bob.extract``, ``eve.mia``, ``bob.phy`` ...);
its drops are logged and counted as before (``n_dropped``), and
:func:`gr_stegsem.flowgraphs.losses` reports them as ``<chain>.<block>``. GNU Radio does not list a
hierarchical block's message ports: ``hier_ports_in`` / ``hier_ports_out`` do.
"""
from __future__ import annotations

from gnuradio import gr

from ..flowgraphs import models_folder, zoo_attack
from ..phy import blocks as phy  # (as a module: gr_stegsem.phy.blocks imports this package too)
from ..schemes.keyed import bob_decoder_path
from ._base import DEFAULT_INN, model_path
from .alice import inn_embed, jscc_encoder
from .bob import inn_extract, jscc_decoder
from .defences import link_transform, scheme_rx, scheme_tx
from .digital import digital_kind, lwe_decrypt, lwe_encrypt, vq_decoder, vq_encoder
from .eve import eve_attack, eve_mia, eve_naive

ROLES = ("host", "private")


class _Chain(gr.hier_block2):
    """A hierarchical block with message ports (``hier_ports_in`` / ``hier_ports_out``) and at most
    one complex stream in (``stream_in``) or out (``stream_out``)."""

    def __init__(self, name: str, stream_in: bool = False, stream_out: bool = False):
        sig = gr.io_signature(1, 1, gr.sizeof_gr_complex)
        none = gr.io_signature(0, 0, 0)
        gr.hier_block2.__init__(self, name, sig if stream_in else none, sig if stream_out else none)
        self.hier_ports_in: list[str] = []
        self.hier_ports_out: list[str] = []

    def _port_in(self, port: str, *dst) -> None:
        """Message input ``port`` to the inner (block, port) pairs ``dst``."""
        self.message_port_register_hier_in(port)
        self.hier_ports_in.append(port)
        for blk, p in dst:
            self.msg_connect(self, port, blk, p)

    def _port_out(self, port: str, *src) -> None:
        """Message output ``port`` from the inner (block, port) pairs ``src``."""
        self.message_port_register_hier_out(port)
        self.hier_ports_out.append(port)
        for blk, p in src:
            self.msg_connect(blk, p, self, port)


# --- the chains' insides, shared by the variants with and without the PHY ------------------------------
def _digital_alice(hb: _Chain, kind, jscc_path, scheme, public_key, threads):
    """Issue 13's digital schemes: the private image PDUs straight into vq_encoder (``lbvq-*``) or
    lwe_encrypt (``jscec-*``, to ``public_key``), their models from the folder of ``jscc_path``; host
    images are not sent (``host`` goes nowhere)."""
    models = models_folder(jscc_path)
    hb.encoder = (vq_encoder(scheme, models, threads=threads) if kind == "lbvq"
                  else lwe_encrypt(scheme, models, public_key, threads=threads))
    hb._port_in("private", (hb.encoder, "in"))
    hb._port_in("host")
    return hb.encoder, "out"


def _alice(hb: _Chain, jscc_path, inn_path, secure, key_file, scheme, seed, timeout, max_pending, threads,
           public_key="", device="cpu"):
    """Alice's blocks in ``hb``, inputs ``host`` / ``private`` registered; returns her (block, port)
    output. A ``dp-<ε>`` / ``shuffle*`` scheme runs on plain DeepJSCC (no INN, the key goes to the
    shuffle), as seed 004 defined them; ``lbvq-*`` / ``jscec-*`` send the private image alone
    (:func:`_digital_alice`); every other scheme is the INN (or, secure False, plain DeepJSCC) alone.
    ``device``: where the DeepJSCC and INN blocks run their models (the digital schemes' run on the CPU)."""
    kind = digital_kind(scheme)
    if kind:
        return _digital_alice(hb, kind, jscc_path, scheme, public_key, threads)
    transform = link_transform(scheme)
    hb.host_enc = jscc_encoder(jscc_path, threads=threads, device=device)
    hb.private_enc = jscc_encoder(jscc_path, threads=threads, device=device)
    hb.embed = inn_embed(jscc_path, inn_path, timeout=timeout, max_pending=max_pending, threads=threads,
                         secure=bool(secure) and not transform, key_file="" if transform else key_file, device=device)
    for role, enc in zip(ROLES, (hb.host_enc, hb.private_enc)):
        hb._port_in(role, (enc, "in"))
        hb.msg_connect(enc, "out", hb.embed, role)
    hb.scheme_tx = scheme_tx(scheme, key_file, seed) if transform else None
    if hb.scheme_tx is None:
        return hb.embed, "out"
    hb.msg_connect(hb.embed, "out", hb.scheme_tx, "in")
    return hb.scheme_tx, "out"


def _bob(hb: _Chain, jscc_path, inn_path, lost, seed, secure, key_file, scheme, replay_window, threads, device="cpu"):
    """Bob's blocks in ``hb``, outputs ``host`` / ``private`` registered; returns his (block, port) input.
    ``lbvq-*`` / ``jscec-*``: vq_decoder / lwe_decrypt (``key_file``: Bob's key) to ``private``;
    nothing posts on ``host``. ``device``: as :func:`_alice`'s."""
    kind = digital_kind(scheme)
    if kind:
        models = models_folder(jscc_path)
        hb.decoder = (vq_decoder(scheme, models, threads=threads) if kind == "lbvq"
                      else lwe_decrypt(scheme, models, key_file, replay_window, threads=threads))
        hb._port_out("private", (hb.decoder, "out"))
        hb._port_out("host")
        return hb.decoder, "in"
    transform = link_transform(scheme)
    hb.scheme_rx = scheme_rx(scheme, key_file, replay_window) if transform else None
    hb.extract = inn_extract(jscc_path, inn_path, lost=lost, seed=seed, threads=threads,
                             secure=bool(secure) and not transform, key_file="" if transform else key_file,
                             replay_window=replay_window, device=device)
    hb.host_dec = jscc_decoder(jscc_path, threads=threads, device=device)
    # a keyed model's companion decoder of Bob's private image, where one ships (schemes.keyed)
    companion = None if transform else bob_decoder_path(model_path(inn_path, DEFAULT_INN))
    hb.private_dec = jscc_decoder(str(companion) if companion else jscc_path, threads=threads, device=device)
    for role, dec in zip(ROLES, (hb.host_dec, hb.private_dec)):
        hb.msg_connect(hb.extract, role, dec, "in")
        hb._port_out(role, (dec, "out"))
    if hb.scheme_rx is None:
        return hb.extract, "in"
    hb.msg_connect(hb.scheme_rx, "out", hb.extract, "in")
    return hb.scheme_rx, "in"


def _eve(hb: _Chain, jscc_path, attacker, scheme, models_dir, mia_steps, lr, seed, lost, threshold, queue_size,
         threads, device="cpu"):
    """Eve's blocks in ``hb``, outputs registered; returns her three attackers' (block, port) inputs.

    ``attacker`` 'mia' runs in eve_mia, any other attack of the zoo but naive in eve_attack (its
    models: ``scheme`` from ``models_dir``); the other one of the two is switched off. Her models run on
    ``device``."""
    try:
        zoo = zoo_attack(attacker)
    except ValueError as e:
        raise ValueError(f"eve_rx: attacker: {e}") from None
    hb.naive = eve_naive(jscc_path, threads=threads, device=device)
    hb.mia = eve_mia(jscc_path, steps=mia_steps if str(attacker) == "mia" else 0, lr=lr, seed=seed,
                     queue_size=queue_size, threads=threads, device=device)
    hb.attack = eve_attack(zoo, scheme=scheme, models_dir=models_dir, mia_steps=mia_steps, lr=lr, seed=seed,
                           lost=lost, threshold=threshold, queue_size=queue_size, threads=threads, device=device)
    for name in ("naive", "mia", "attack"):
        hb._port_out(name, (getattr(hb, name), "out"))
    hb._port_out("score", (hb.attack, "score"))
    return [(hb.naive, "in"), (hb.mia, "in"), (hb.attack, "in")]


# --- the chains ---------------------------------------------------------------------------------------
class alice_tx(_Chain):
    """Alice's transmit chain: host and private image PDUs (``host``, ``private``, paired by frame_id)
    -> DeepJSCC encoders -> INN embedding -> container symbol PDUs on ``out`` (k symbols, mean
    |z|^2 = 1; meta as inn_embed's).

    ``scheme`` '' (or an INN scheme's name): the INN, or with ``secure`` False plain DeepJSCC;
    ``dp-<ε>`` / ``shuffle`` / ``shuffle-static``: seed 004's defences on plain DeepJSCC (scheme_tx:
    DP noise seeded by ``seed``, or the keyed shuffle with ``key_file``).

    Args:
        jscc_path: DeepJSCC model file ('' = shipped deepjscc-bcr12).
        inn_path: steganography INN model file ('' = shipped stego-l3_2).
        secure: False sends the private image's symbols unprotected (plain DeepJSCC).
        key_file: the shared key of a keyed INN (stego-keyed-*) or of the shuffles ('' otherwise).
        scheme: '' or a seed 004 defence (dp-<ε>, shuffle, shuffle-static), or issue 13's digital
            schemes: lbvq-16 (the private image as 16-QAM; models from the folder of jscc_path) and
            jscec-n512 (LWE to ``public_key``); these send no host image.
        seed: the DP noise's seed (0: fresh randomness).
        timeout: seconds a frame may wait for its partner image.
        max_pending: bound on frames waiting for their partner.
        threads: torch CPU threads (0 = leave as is; process-wide).
        public_key: Bob's LWE public key file (jscec-* only).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto': where the encoders and the INN run (:mod:`gr_stegsem.device`).
    """

    def __init__(self, jscc_path="", inn_path="", secure=True, key_file="", scheme="", seed=0, timeout=5.0,
                 max_pending=64, threads=0, public_key="", device="cpu"):
        _Chain.__init__(self, "alice_tx")
        self._port_out("out", _alice(self, jscc_path, inn_path, secure, key_file, scheme, seed, timeout,
                                     max_pending, threads, public_key, device))


class alice_tx_phy(_Chain):
    """:class:`alice_tx` -> the OFDM PHY transmitter (phy_tx): host and private image PDUs -> burst
    samples on a complex stream (``packet_len`` tags; unit mean power times ``amplitude``).

    Args: as :class:`alice_tx`, and
        seg_len: PHY segment length (JSCC symbols per burst).
        amplitude: scale of the unit-power samples (e.g. 0.25 before a USRP's DAC).
    """

    def __init__(self, jscc_path="", inn_path="", secure=True, key_file="", scheme="", seed=0, timeout=5.0,
                 max_pending=64, threads=0, seg_len=3680, amplitude=1.0, public_key="", device="cpu"):
        _Chain.__init__(self, "alice_tx_phy", stream_out=True)
        out = _alice(self, jscc_path, inn_path, secure, key_file, scheme, seed, timeout, max_pending, threads,
                     public_key, device)
        self.phy = phy.phy_tx(seg_len, amplitude)
        self.msg_connect(*out, self.phy, "in")
        self.connect(self.phy, self)


class bob_rx(_Chain):
    """Bob's receive chain: received container symbol PDUs on ``in`` -> INN extraction (Bob's
    estimate ``lost`` of the lost information) -> DeepJSCC decoders -> image PDUs on ``host`` and
    ``private`` (original size, pixels). With ``secure`` False (plain DeepJSCC) only ``private``
    posts. ``scheme`` as Alice's (:class:`alice_tx`): the shuffles are undone before the decoders.

    Args:
        jscc_path: DeepJSCC model file ('' = shipped deepjscc-bcr12).
        inn_path: steganography INN model file ('' = shipped stego-l3_2).
        lost: 'zeros' or 'gaussian'.
        seed: seed of the 'gaussian' estimate.
        secure: False for the plain DeepJSCC baseline (must match Alice).
        key_file: the shared key of a keyed INN or of the shuffles ('' otherwise).
        scheme: '' or a seed 004 defence (dp-<ε>, shuffle, shuffle-static), or lbvq-16 / lbvq-16-hard /
            jscec-n512 (key_file: Bob's key), as Alice's; the digital ones post on ``private`` only.
        replay_window: nonces remembered for the replay check (keyed INN, per-frame shuffle).
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto': where the INN and the decoders run (:mod:`gr_stegsem.device`).
    """

    def __init__(self, jscc_path="", inn_path="", lost="zeros", seed=0, secure=True, key_file="", scheme="",
                 replay_window=65536, threads=0, device="cpu"):
        _Chain.__init__(self, "bob_rx")
        self._port_in("in", _bob(self, jscc_path, inn_path, lost, seed, secure, key_file, scheme, replay_window,
                                 threads, device))


def _phy_rx(hb: _Chain, entries, seg_len, phy_threshold, equalizer, amplitude, max_pending, timeout, drop, seed):
    """phy_rx in ``hb`` from its stream input to the chain's ``entries``; its bursts on ``bursts``."""
    hb.phy = phy.phy_rx(seg_len, phy_threshold, equalizer, amplitude, max_pending, timeout, drop, seed)
    hb.connect(hb, hb.phy)
    for blk, port in entries:
        hb.msg_connect(hb.phy, "out", blk, port)
    hb._port_out("bursts", (hb.phy, "bursts"))


class bob_rx_phy(_Chain):
    """The OFDM PHY receiver (phy_rx) -> :class:`bob_rx`: complex samples -> Bob's host and private
    image PDUs; ``bursts``: the segment PDU of every decoded burst (snr_db, cfo, sample).

    Args: as :class:`bob_rx` (``seed`` also seeds the segment drops), and
        seg_len: PHY segment length (must match Alice's).
        phy_threshold: the PHY's Schmidl & Cox detection threshold (0..1; phy_rx's threshold).
        equalizer: 'ummse', 'mmse' or 'zf'.
        amplitude: the transmitter's scale (the receiver divides by it).
        max_pending: frames the reassembler keeps open.
        timeout: seconds after its first segment a frame leaves incomplete (0 = never).
        drop: fraction of received segments dropped (graceful-degradation test; 0 in use).
    """

    def __init__(self, jscc_path="", inn_path="", lost="zeros", seed=0, secure=True, key_file="", scheme="",
                 replay_window=65536, threads=0, seg_len=3680, phy_threshold=0.15, equalizer="ummse",
                 amplitude=1.0, max_pending=2, timeout=1.0, drop=0.0, device="cpu"):
        _Chain.__init__(self, "bob_rx_phy", stream_in=True)
        entry = _bob(self, jscc_path, inn_path, lost, seed, secure, key_file, scheme, replay_window, threads, device)
        _phy_rx(self, [entry], seg_len, phy_threshold, equalizer, amplitude, max_pending, timeout, drop, seed)


class eve_rx(_Chain):
    """Eve's receive chain: symbol PDUs she taps on ``in`` -> naive decoding (``naive``) and her
    attacker: 'mia' (model inversion, ``mia``), any other attack of the Eve zoo (``attack``; the
    detector's verdicts on ``score``), or 'naive' (naive decoding only). Image PDUs carry meta
    ``attack``; the attackers queue ``queue_size`` frames and drop (count, log) what arrives while full.

    Args:
        jscc_path: DeepJSCC model file Eve holds ('' = shipped deepjscc-bcr12).
        attacker: naive, mia or another attack of gr_stegsem.eves.
        scheme: the scheme a zoo attacker attacks (its models and hers from models_dir).
        models_dir: folder of those models ('' = the shipped models/).
        mia_steps: model inversion steps (0 = off).
        lr: the model inversion's Adam learning rate.
        seed: seed of the inversion's start image and of the glass-box / surrogate Eves' l_hat.
        lost: the glass-box Eve's l_hat, 'zeros' or 'gaussian' ('' = the INN model's).
        threshold: the detector's threshold on its score.
        queue_size: frames that may wait for an attacker.
        threads: torch CPU threads (0 = leave as is).
        device: 'cpu', 'cuda', 'cuda:N' or 'auto': where her models run (:mod:`gr_stegsem.device`).
    """

    def __init__(self, jscc_path="", attacker="mia", scheme=DEFAULT_INN, models_dir="", mia_steps=200, lr=0.05,
                 seed=0, lost="", threshold=0.5, queue_size=2, threads=0, device="cpu"):
        _Chain.__init__(self, "eve_rx")
        self._port_in("in", *_eve(self, jscc_path, attacker, scheme, models_dir, mia_steps, lr, seed, lost,
                                  threshold, queue_size, threads, device))


class eve_rx_phy(_Chain):
    """The OFDM PHY receiver (phy_rx) -> :class:`eve_rx`: complex samples -> Eve's image PDUs and
    scores; ``bursts`` as :class:`bob_rx_phy`'s.

    Args: as :class:`eve_rx` (``seed`` also seeds the segment drops) and the PHY's of :class:`bob_rx_phy`.
    """

    def __init__(self, jscc_path="", attacker="mia", scheme=DEFAULT_INN, models_dir="", mia_steps=200, lr=0.05,
                 seed=0, lost="", threshold=0.5, queue_size=2, threads=0, seg_len=3680, phy_threshold=0.15,
                 equalizer="ummse", amplitude=1.0, max_pending=2, timeout=1.0, drop=0.0, device="cpu"):
        _Chain.__init__(self, "eve_rx_phy", stream_in=True)
        entries = _eve(self, jscc_path, attacker, scheme, models_dir, mia_steps, lr, seed, lost, threshold,
                       queue_size, threads, device)
        _phy_rx(self, entries, seg_len, phy_threshold, equalizer, amplitude, max_pending, timeout, drop, seed)


__all__ = ["alice_tx", "alice_tx_phy", "bob_rx", "bob_rx_phy", "eve_rx", "eve_rx_phy"]
