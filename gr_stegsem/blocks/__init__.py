"""GNU Radio message blocks of gr-stegsem (the only part of the package that imports GNU Radio).

Each block is a ``gr.basic_block`` with message ports only and calls the library
(:class:`gr_stegsem.system.StegoSystem`, :mod:`gr_stegsem.attacks`, the Eve zoo :mod:`gr_stegsem.eves`,
:mod:`gr_stegsem.metrics`).
PDU formats: :mod:`gr_stegsem.blocks.pdus`. GRC definitions: ``grc/gr_stegsem_*.block.yml``.

Alice: image_source -> jscc_encoder (host, private) -> inn_embed -> symbol_channel;
Bob: inn_extract -> jscc_decoder -> image_sink; seed 004's defences: dp_noise, feature_shuffle /
feature_unshuffle around the channel; issue 13's digital defences: vq_encoder / vq_decoder
(DeepJSCC-LBVQ, 16-QAM through gr-digital's constellation) and lwe_encrypt / lwe_decrypt (DeepJSCEC,
public-key LWE); Eve: eve_naive / eve_mia / eve_attack (any attack of the
zoo; eve_inversion, eve_glassbox, eve_chosen, eve_surrogate with one fixed) -> image_sink, and the
detector eve_detect (or eve_attack 'detect') -> score_sink. image_view shows decoded images and their
image_sink's metrics live in a Qt widget (GRC qt_gui flowgraphs; PyQt5 is imported only for its widget).
On a sample stream (flowgraphs/): inn_embed -> burst_framer -> pdu.pdu_to_tagged_stream -> channel
(channels.channel_model, ZMQ, ...) -> burst_to_pdu -> inn_extract / eve_*.
The same chains as hierarchical blocks (:mod:`.chains`): alice_tx, bob_rx, eve_rx, and with the OFDM
PHY alice_tx_phy, bob_rx_phy, eve_rx_phy.
"""
from .alice import inn_embed, jscc_encoder
from .bob import inn_extract, jscc_decoder
from .burst import burst_framer, burst_to_pdu
from .chains import alice_tx, alice_tx_phy, bob_rx, bob_rx_phy, eve_rx, eve_rx_phy
from .channel import symbol_channel
from .defences import dp_noise, feature_shuffle, feature_unshuffle, scheme_rx, scheme_tx
from .digital import lwe_decrypt, lwe_encrypt, vq_decoder, vq_encoder
from .eve import eve_attack, eve_chosen, eve_detect, eve_glassbox, eve_inversion, eve_mia, eve_naive, eve_surrogate
from .files import image_sink, image_source, score_sink
from .gui import image_view
from .zmq_source import zmq_iq_source

__all__ = ["image_source", "jscc_encoder", "inn_embed", "symbol_channel", "inn_extract", "jscc_decoder",
           "eve_naive", "eve_mia", "eve_attack", "eve_inversion", "eve_glassbox", "eve_chosen", "eve_surrogate",
           "eve_detect", "image_sink", "score_sink", "burst_framer", "burst_to_pdu", "dp_noise", "feature_shuffle",
           "feature_unshuffle", "scheme_tx", "scheme_rx", "zmq_iq_source", "image_view", "alice_tx", "bob_rx", "eve_rx",
           "alice_tx_phy", "bob_rx_phy", "eve_rx_phy", "vq_encoder", "vq_decoder", "lwe_encrypt", "lwe_decrypt"]
