"""QA for the key parameters of inn_embed / inn_extract (tiny random models, 32x32 images)."""
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
from gr_stegsem.system import StegoSystem  # noqa: E402
from tests.conftest import write_tiny_models  # noqa: E402
from tests.test_blocks import _symbols, photos, run_block  # noqa: E402,F401

HEX = "f0e1d2c3b4a5968778695a4b3c2d1e0f" * 2


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("keyed_models")
    m = write_tiny_models(d, "jscc", ("plain", "stego-keyed-t"), keyed=("stego-keyed-t",))
    m["keyed"] = str(d / "stego-keyed-t.safetensors")
    m["plain"] = str(d / "plain.safetensors")
    (d / "k.key").write_text(HEX + "\n")
    m["key"] = str(d / "k.key")
    return m


@pytest.fixture(scope="module")
def system(models):
    return StegoSystem.load(models["jscc"], models["keyed"])


def _vec(pdu):
    return np.asarray(pmt.c32vector_elements(pmt.cdr(pdu)), dtype=np.complex64)


def test_keyed_chain_matches_the_scheme_and_numbers_frames(models, system, photos):
    a = photos["arrays"]
    emb = sb.inn_embed(models["jscc"], models["keyed"], key_file=models["key"])
    posts = []
    for fid in range(3):
        posts += [("host", _symbols(system, a[fid], fid, "host")), ("private", _symbols(system, a[fid + 1], fid))]
    out = run_block(emb, posts, expect=3)["out"]
    out.sort(key=lambda o: pdus.pdu_meta(o)["frame_id"])
    nonces = [pdus.meta_nonce(pmt.car(o)) for o in out]
    assert len(set(nonces)) == 3 and nonces == sorted(nonces)  # a counter: fresh per frame
    k = keys.load_key(models["key"])
    for fid, o in enumerate(out):
        xh = torch.from_numpy(a[fid]).permute(2, 0, 1).float()[None] / 255
        xp = torch.from_numpy(a[fid + 1]).permute(2, 0, 1).float()[None] / 255
        ref = to_complex(system.alice(xh, xp, key=k, nonce=nonces[fid]))[0].numpy()
        assert np.allclose(_vec(o), ref, atol=1e-6)  # the offline scheme's numbers
    # Bob with the key: the scheme's private latent; a replay of frame 1 is dropped, and logged
    ex = sb.inn_extract(models["jscc"], models["keyed"], key_file=models["key"])
    got = run_block(ex, [("in", out[0]), ("in", out[1]), ("in", out[1])], outs=("host", "private"), expect=4,
                    timeout=3)
    assert len(got["private"]) == 2 and ex.n_replayed == 1 and "seen before" in ex.last_error
    y = from_complex(torch.from_numpy(_vec(out[0]))[None], pdus.parse_symbol_pdu(out[0]).latent)
    zh, zp = system.extract(y)
    want = to_complex(system.unscramble_private(zp, k, nonces[0]))[0].numpy()
    assert np.allclose(_vec(got["private"][0]), want, atol=1e-5)


def test_keyed_extract_drops_a_container_without_nonce(models, system):
    z = system.embed(system.encode(torch.rand(1, 3, 32, 32)), system.encode(torch.rand(1, 3, 32, 32)))
    bare = pdus.symbol_pdu(to_complex(z), 4, (32, 32), tuple(z.shape[1:]), secure=True)
    ex = sb.inn_extract(models["jscc"], models["keyed"], key_file=models["key"])
    got = run_block(ex, [("in", bare)], outs=("host", "private"), expect=1, timeout=0.5)
    assert got["private"] == [] and "needs its nonce" in ex.last_error
    bad = pmt.cons(pmt.dict_add(pmt.car(bare), pmt.intern("nonce"), pmt.intern("x")), pmt.cdr(bare))
    run_block(ex, [("in", bad)], outs=("host", "private"), expect=1, timeout=0.5)
    assert "'nonce' must be an integer" in ex.last_error


@pytest.mark.parametrize("kw, why", [
    (dict(model="keyed"), "is keyed: set key_file"),
    (dict(model="plain", key_file="key"), "key_file is set but model plain is not keyed"),
    (dict(model="keyed", key_file="/nonexistent/k.key"), "key file /nonexistent/k.key not found"),
    (dict(model="keyed", key_file="short"), "a key is 64 hex digits"),
])
def test_key_problems_fail_at_construction_without_the_key(models, tmp_path, kw, why):
    (tmp_path / "short").write_text(HEX[:40])
    kf = kw.get("key_file", "")
    kf = models["key"] if kf == "key" else str(tmp_path / "short") if kf == "short" else kf
    for cls in (sb.inn_embed, sb.inn_extract):
        with pytest.raises(ValueError, match=why) as e:
            cls(models["jscc"], models[kw["model"]], key_file=kf)
        assert HEX[:40] not in str(e.value) and cls.__name__ in str(e.value)


def test_bob_chain_uses_a_keyed_models_shipped_bob_decoder(tmp_path):
    from gr_stegsem.checkpoint import load_model, save_model

    m = write_tiny_models(tmp_path, "jscc", ("stego-keyed-t",), keyed=("stego-keyed-t",))
    (tmp_path / "k.key").write_text(HEX + "\n")
    jscc = load_model(m["jscc"], "deepjscc")
    with torch.no_grad():
        for p in jscc.decoder.parameters():
            p.mul_(0.5)
    save_model(jscc, tmp_path / "bob-decoder-stego-keyed-t")
    rx = sb.bob_rx(m["jscc"], m["inn"], key_file=str(tmp_path / "k.key"), threads=1)
    w = next(rx.private_dec.system.jscc.decoder.parameters())
    assert torch.equal(w, next(jscc.decoder.parameters()))  # Bob's private decoder: the companion
    h = next(rx.host_dec.system.jscc.decoder.parameters())
    assert torch.equal(h, 2 * w)  # the host's: the public decoder


def test_embed_and_extract_blocks_skip_the_companion_decoder(tmp_path):
    """They never decode an image: a keyed model's Bob decoder is not loaded (Bob's chain still has it)."""
    from gr_stegsem.checkpoint import load_model, save_model
    from gr_stegsem.system import StegoSystem

    m = write_tiny_models(tmp_path, "jscc", ("stego-keyed-t",), keyed=("stego-keyed-t",))
    (tmp_path / "k.key").write_text(HEX + "\n")
    save_model(load_model(m["jscc"], "deepjscc"), tmp_path / "bob-decoder-stego-keyed-t")
    assert StegoSystem.load(m["jscc"], m["inn"]).bob_decoder is not None
    for cls in (sb.inn_embed, sb.inn_extract):
        blk = cls(m["jscc"], m["inn"], key_file=str(tmp_path / "k.key"))
        assert blk.system.keyed and blk.system.bob_decoder is None
