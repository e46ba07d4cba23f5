"""The chains as hierarchical blocks (gr_stegsem/blocks/chains.py): a link composed of three boxes
carries both images to Bob (byte-identical to the offline path with the noise off), through the OFDM
PHY too, and a malformed PDU inside a chain is still dropped, logged, counted and reported as
<chain>.<block> (tiny random models, 32x32 images)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from PIL import Image

pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402
from gnuradio import blocks as gr_blocks  # noqa: E402
from gnuradio import gr, pdu  # noqa: E402

from gr_stegsem import flowgraphs as fgs  # noqa: E402
from gr_stegsem import keys  # noqa: E402
from gr_stegsem.blocks import (alice_tx, alice_tx_phy, bob_rx, bob_rx_phy, eve_rx, eve_rx_phy, image_sink,  # noqa: E402
                               image_source, symbol_channel)
from gr_stegsem.blocks.pdus import meta_set  # noqa: E402
from gr_stegsem.images import tensor_to_array  # noqa: E402
from gr_stegsem.pipeline import transmit  # noqa: E402
from gr_stegsem.system import StegoSystem  # noqa: E402
from tests.conftest import write_tiny_models  # noqa: E402

INF = float("inf")


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    return write_tiny_models(tmp_path_factory.mktemp("chain_models"))


class Link(gr.top_block):
    """image_source x2 -> alice_tx -> symbol_channel (noise off) -> bob_rx and eve_rx -> image sinks;
    with ``phy``: alice_tx_phy -> (the stream) -> bob_rx_phy and eve_rx_phy."""

    def __init__(self, m, out, phy: bool = False):
        gr.top_block.__init__(self, "chains_qa")
        self.host_src = image_source("", size=32, role="host", done=True)
        self.private_src = image_source("", size=32, role="private", done=True)
        rx = dict(jscc_path=m["jscc"], inn_path=m["inn"], threads=1)
        eve = dict(jscc_path=m["jscc"], attacker="mia", mia_steps=2, threads=1)
        if phy:
            self.alice = alice_tx_phy(m["jscc"], m["inn"], threads=1, seg_len=200)
            self.bob = bob_rx_phy(**rx, seg_len=200)
            self.eve = eve_rx_phy(**eve, seg_len=200)
            self.connect(self.alice, self.bob)
            self.connect(self.alice, self.eve)
            self.bursts = gr_blocks.message_debug()
            self.msg_connect(self.bob, "bursts", self.bursts, "store")
        else:
            self.alice = alice_tx(m["jscc"], m["inn"], threads=1)
            self.channel = symbol_channel(INF)
            self.bob = bob_rx(**rx)
            self.eve = eve_rx(**eve)
            self.msg_connect(self.alice, "out", self.channel, "in")
            self.msg_connect(self.channel, "out", self.bob, "in")
            self.msg_connect(self.channel, "out", self.eve, "in")
        self.msg_connect(self.host_src, "out", self.alice, "host")
        self.msg_connect(self.private_src, "out", self.alice, "private")
        for port in ("host", "private"):
            setattr(self, f"bob_{port}_sink", image_sink(out, f"bob_{port}"))
            self.msg_connect(self.bob, port, getattr(self, f"bob_{port}_sink"), "in")
        for port in ("naive", "mia", "attack"):
            setattr(self, f"eve_{port}_sink", image_sink(out, f"eve_{port}"))
            self.msg_connect(self.eve, port, getattr(self, f"eve_{port}_sink"), "in")


def png(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_three_boxes_carry_both_images_to_bob(models, tmp_path):
    res = fgs.run(Link(models, tmp_path), timeout=60)
    assert res.finished
    recs = res.records
    assert [(r["frame_id"], r["role"]) for r in recs["bob_host_sink"]] == [(0, "host")]
    assert [(r["frame_id"], r["role"]) for r in recs["bob_private_sink"]] == [(0, "private")]
    assert len(recs["eve_naive_sink"]) == len(recs["eve_mia_sink"]) == 1 and recs["eve_attack_sink"] == []
    system = StegoSystem.load(models["jscc"], models["inn"])
    off = transmit(system, fgs.sent_image("", "host", 32), fgs.sent_image("", "private", 32), INF, INF,
                   mia_steps=0)["images"]
    for key, sink in (("bob/host", "bob_host_sink"), ("bob/private", "bob_private_sink"),
                      ("eve/naive", "eve_naive_sink")):
        assert np.array_equal(png(recs[sink][0]["path"]), tensor_to_array(off[key])), key
    assert (res.losses.offered, res.losses.decoded, res.losses.drops) == (1, 1, [])


def test_three_boxes_through_the_phy(models, tmp_path):
    """alice_tx_phy -> bob_rx_phy / eve_rx_phy on the same stream: 32 px = 256 symbols in two bursts
    of seg_len 200; each arrives and is posted on 'bursts'."""
    tb = Link(models, tmp_path, phy=True)
    res = fgs.run(tb, timeout=60)
    assert res.finished and res.losses.lost == 0 and res.losses.drops == []
    assert [r["role"] for r in res.records["bob_host_sink"] + res.records["bob_private_sink"]] == ["host", "private"]
    assert png(res.records["bob_private_sink"][0]["path"]).shape == (32, 32, 3)
    assert len(res.records["eve_naive_sink"]) == 1 and tb.bursts.num_messages() == 2


def test_a_malformed_pdu_inside_a_chain_is_dropped_counted_and_named(models):
    """A malformed image PDU reaches alice_tx's encoder through the chain's 'host' port and a malformed
    symbol PDU bob_rx's inn_extract through 'in': each is dropped and counted by that block, the
    chain keeps running, and flowgraphs.drops / Losses name them <chain>.<block>."""
    tb = gr.top_block()
    tb.alice = alice_tx(models["jscc"], models["inn"], threads=1)
    tb.bob = bob_rx(models["jscc"], models["inn"], threads=1)
    relays = {port: pdu.pdu_set(pmt.intern("relayed"), pmt.PMT_T) for port in ("host", "in")}
    tb.msg_connect(relays["host"], "pdus", tb.alice, "host")
    tb.msg_connect(relays["in"], "pdus", tb.bob, "in")
    tb.msg_connect(tb.alice, "out", tb.bob, "in")
    dbg = gr_blocks.message_debug()
    tb.msg_connect(tb.bob, "private", dbg, "store")
    meta = meta_set(pmt.make_dict(), frame_id=0, height=4, width=4)
    bad_image = pmt.cons(meta, pmt.init_u8vector(5, [0] * 5))  # 4x4 RGB needs 48 bytes
    bad_symbols = pmt.cons(pmt.make_dict(), pmt.init_c32vector(3, [0j] * 3))  # no frame meta
    tb.start()
    try:
        relays["host"].to_basic_block()._post(pmt.intern("pdus"), bad_image)
        relays["in"].to_basic_block()._post(pmt.intern("pdus"), bad_symbols)
        t0 = time.monotonic()
        while (tb.alice.host_enc.n_dropped, tb.bob.extract.n_dropped) != (1, 1) and time.monotonic() - t0 < 10:
            time.sleep(0.02)
    finally:
        tb.stop()
        tb.wait()
    assert "malformed PDU on 'in'" in tb.alice.host_enc.last_error
    assert "malformed PDU on 'in'" in tb.bob.extract.last_error
    assert [(name, n) for name, n, _ in fgs.drops(tb)] == [("alice.host_enc", 1), ("bob.extract", 1)]
    text = fgs.Losses(1, 0, fgs.drops(tb), "qa").summary()
    assert text.startswith("qa: 0 of 1 frames decoded by Bob, 1 lost - alice.host_enc dropped 1 (last: malformed")
    assert dbg.num_messages() == 0 and tb.alice.embed.n_in == 0  # nothing malformed got further


def test_chain_parameters_reach_the_inner_blocks(models, tmp_path):
    """The attacker runs in the one Eve block meant for it (mia: eve_mia, the zoo: eve_attack, naive:
    neither); a seed 004 scheme puts its switch into Alice's and Bob's chains over plain DeepJSCC; the
    ports are the ones the GRC YAML declares (tests/test_grc.py)."""
    j = models["jscc"]
    mia, naive = eve_rx(j, attacker="mia", mia_steps=3), eve_rx(j, attacker="naive")
    assert mia.mia.active and mia.mia.steps == 3 and not mia.attack.active
    assert not naive.mia.active and not naive.attack.active
    assert mia.hier_ports_in == ["in"] and mia.hier_ports_out == ["naive", "mia", "attack", "score"]
    with pytest.raises(ValueError, match="eve_rx: attacker: unknown attack 'nope'"):
        eve_rx(j, attacker="nope")
    keys.write_key(tmp_path / "k.key")
    key = str(tmp_path / "k.key")
    a, b = alice_tx(j, models["inn"], key_file=key, scheme="shuffle"), bob_rx(j, models["inn"], key_file=key,
                                                                              scheme="shuffle")
    assert not a.embed.secure and a.scheme_tx.kind == "shuffle" and not b.extract.secure
    assert b.scheme_rx.kind == "shuffle"
    plain = alice_tx(j, models["inn"])
    assert plain.embed.secure and plain.scheme_tx is None and plain.hier_ports_in == ["host", "private"]
    with pytest.raises(ValueError, match="inn_embed: key_file is set but model"):
        alice_tx(j, models["inn"], key_file=key)
