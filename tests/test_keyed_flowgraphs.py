"""Keyed steganography in the flowgraphs: the nonce travels from Alice's inn_embed to Bob's inn_extract
over the burst stream (sim_awgn) and through the OFDM PHY header (sim_radio); the glass-box Eve
runs without the key (tiny random models)."""
from __future__ import annotations

import pytest
import torch

pytest.importorskip("gnuradio.gr")

from gr_stegsem import flowgraphs as fgs  # noqa: E402
from gr_stegsem import keys  # noqa: E402
from tests.conftest import write_tiny_models  # noqa: E402


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    d = tmp_path_factory.mktemp("keyed_fg")
    write_tiny_models(d, inn_names=("stego-keyed-t",), keyed=("stego-keyed-t",))
    keys.write_key(d / "k.key")
    return d


def _params(zoo, out, **kw):
    p = dict(size=32, jscc_model=str(zoo / "deepjscc-bcr12.safetensors"), inn_model=str(zoo / "stego-keyed-t.safetensors"),
             mia_steps=0, out=str(out), key=str(zoo / "k.key"), attacker="glassbox")
    p.update(kw)
    return p


@pytest.mark.parametrize("graph", ["sim_awgn", "sim_radio"])
def test_keyed_frame_reaches_bob_and_the_glassbox_eve(zoo, tmp_path, graph):
    res = fgs.run(fgs.build(graph, **_params(zoo, tmp_path, size=64 if graph == "sim_radio" else 32)), timeout=90)
    assert res.finished
    (bob,) = res.records["bob_private_sink"]  # dropped without its nonce: the nonce made it through
    (eve,) = res.records["eve_attack_sink"]  # attacker glassbox runs in eve_attack
    assert bob["frame_id"] == eve["frame_id"] == 0


def test_keyed_flowgraph_without_key_fails_at_construction(zoo, tmp_path):
    with pytest.raises(ValueError, match="is keyed: set key_file"):
        fgs.build("sim_awgn", **_params(zoo, tmp_path, key=""))
