"""QA for dp_noise, feature_shuffle and feature_unshuffle: the blocks compute the schemes' functions."""
from __future__ import annotations

import numpy as np
import pytest
import torch

gr = pytest.importorskip("gnuradio.gr")
import pmt  # noqa: E402

from gr_stegsem import blocks as sb  # noqa: E402
from gr_stegsem import keys  # noqa: E402
from gr_stegsem.blocks import pdus  # noqa: E402
from gr_stegsem.models.deepjscc import from_complex, to_complex  # noqa: E402
from gr_stegsem.schemes.dp import DPScheme  # noqa: E402
from gr_stegsem.schemes.shuffle import ShuffleScheme  # noqa: E402
from tests.test_blocks import run_block  # noqa: E402

HEX = "0123456789abcdef" * 4


def _frame(fid=0, seed=0):
    z = torch.randn(1, 8, 8, 8, generator=torch.Generator().manual_seed(seed))
    z = z / z.pow(2).mean().mul(2).sqrt()
    return z, pdus.symbol_pdu(to_complex(z), fid, (32, 32), (8, 8, 8), role="private")


def _latent(pdu):
    return from_complex(torch.from_numpy(np.asarray(pmt.c32vector_elements(pmt.cdr(pdu)), np.complex64))[None],
                        (8, 8, 8))


@pytest.fixture()
def key(tmp_path):
    p = tmp_path / "k.key"
    p.write_text(HEX)
    return str(p)


def test_dp_noise_is_the_scheme_mechanism():
    z, pdu = _frame()
    out = run_block(sb.dp_noise(epsilon=0.9, seed=7), [("in", pdu)])["out"]
    ref = DPScheme(sb.defences._NO_CODEC, 0.9).privatize(z, torch.Generator().manual_seed(7))
    assert torch.allclose(_latent(out[0]), ref, atol=1e-6)
    assert pdus.pdu_meta(out[0])["role"] == "private"
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError, match="dp_noise: the privacy budget"):
            sb.dp_noise(epsilon=bad)


@pytest.mark.parametrize("static", [False, True])
def test_shuffle_unshuffle_round_trip_and_replay(key, static):
    frames = [_frame(i, i) for i in range(3)]
    sh = run_block(sb.feature_shuffle(key, static=static), [("in", p) for _, p in frames], expect=3)["out"]
    sh.sort(key=lambda o: pdus.pdu_meta(o)["frame_id"])
    k = keys.load_key(key)
    s = ShuffleScheme(sb.defences._NO_CODEC, static)
    for (z, _), o in zip(frames, sh):
        nonce = pdus.meta_nonce(pmt.car(o))
        assert (nonce is None) == static
        assert torch.allclose(_latent(o), s.shuffle(z, k, nonce), atol=1e-7)
    un = sb.feature_unshuffle(key, static=static)
    back = run_block(un, [("in", sh[0]), ("in", sh[1]), ("in", sh[1])], expect=3, timeout=2)["out"]
    assert torch.allclose(_latent(back[0]), frames[0][0], atol=1e-7)
    if static:
        assert len(back) == 3
    else:
        assert len(back) == 2 and un.n_replayed == 1
        _, bare = _frame(9)
        run_block(un, [("in", bare)], expect=1, timeout=0.5)
        assert "needs its nonce" in un.last_error


def test_shuffle_key_problems(tmp_path):
    for cls in (sb.feature_shuffle, sb.feature_unshuffle):
        with pytest.raises(ValueError, match="key_file is required"):
            cls("")
        with pytest.raises(ValueError, match="not found"):
            cls(str(tmp_path / "none.key"))
        (tmp_path / "bad.key").write_text("12")
        with pytest.raises(ValueError, match="64 hex digits"):
            cls(str(tmp_path / "bad.key"))


# --- the scheme switch of sim_awgn ---------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_zoo(tmp_path_factory):
    from tests.conftest import write_tiny_models

    d = tmp_path_factory.mktemp("switch")
    write_tiny_models(d)
    keys.write_key(d / "k.key")
    return d


@pytest.mark.parametrize("scheme", ["shuffle", "shuffle-static", "dp-0.9"])
def test_sim_awgn_runs_seed004_schemes(tiny_zoo, tmp_path, scheme):
    """scheme=shuffle*: with the noise off Bob's image is plain DeepJSCC's, byte for byte (the key undoes
    the order) while Eve's naive decoding is not; dp: Bob and Eve both get the noised frame."""
    from PIL import Image

    from gr_stegsem import flowgraphs as fgs
    from gr_stegsem.images import tensor_to_array
    from gr_stegsem.pipeline import transmit
    from gr_stegsem.system import StegoSystem

    inf = float("inf")
    res = fgs.run_sim(timeout=60, size=32, jscc_model=str(tiny_zoo / "deepjscc-bcr12.safetensors"),
                      inn_model=str(tiny_zoo / "stego-l3_2.safetensors"), mia_steps=0, out=str(tmp_path),
                      scheme=scheme, key=str(tiny_zoo / "k.key"), snr_bob=inf, snr_eve=inf, attacker="naive")
    bob = np.asarray(Image.open(res.records["bob_private_sink"][0]["path"]))
    eve = np.asarray(Image.open(res.records["eve_naive_sink"][0]["path"]))
    assert res.records["bob_host_sink"] == []  # plain DeepJSCC underneath: no host
    plain = StegoSystem.load(tiny_zoo / "deepjscc-bcr12.safetensors")
    off = transmit(plain, fgs.sent_image("", "host", 32), fgs.sent_image("", "private", 32), inf, inf, mia_steps=0)
    if scheme.startswith("shuffle"):
        assert np.array_equal(bob, tensor_to_array(off["images"]["bob/private"]))
        assert not np.array_equal(eve, bob)
    else:
        assert np.array_equal(eve, bob)  # DP: no secret, Bob decodes what Eve decodes


def test_scheme_switch_passes_other_schemes_and_checks_its_arguments(tmp_path):
    z, pdu = _frame()
    out = run_block(sb.scheme_tx(""), [("in", pdu)])["out"]
    assert torch.equal(_latent(out[0]), z)
    assert sb.scheme_rx("stego-keyed-l3_2").transform is None
    with pytest.raises(ValueError, match="scheme_tx: key_file is required"):
        sb.scheme_tx("shuffle")
    with pytest.raises(ValueError, match="dp-<ε>"):
        sb.scheme_tx("dp-x")
    with pytest.raises(ValueError, match="privacy budget"):
        sb.scheme_tx("dp-0")
