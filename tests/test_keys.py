"""Keys, the per-frame keyed transform and the keyed steganography scheme (tiny random models)."""
from __future__ import annotations

import hashlib
import hmac
import os
import stat

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from gr_stegsem import keys, schemes
from gr_stegsem.cli import cli
from gr_stegsem.schemes.keyed import KeyedStego, keyed_transforms, random_transforms, scramble, unscramble
from gr_stegsem.system import StegoSystem
from tests.conftest import write_tiny_models

HEX = "00112233445566778899aabbccddeeff" * 2


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_models(tmp_path_factory.mktemp("keyed"), inn_names=("stego-l3_2", "stego-keyed-t"),
                             keyed=("stego-keyed-t",))


@pytest.fixture(scope="module")
def photos():
    from skimage import data

    a = torch.from_numpy(data.astronaut()).permute(2, 0, 1).float() / 255
    return torch.stack([a[:, y:y + 64:2, x:x + 64:2] for y, x in ((0, 0), (100, 200), (250, 150))])


# --- keys ------------------------------------------------------------------------------------
def test_key_never_shows_its_value():
    k = keys.Key.from_hex(HEX)
    assert HEX not in repr(k) and HEX not in str(k) and HEX not in f"{k}"
    assert k.hex() == HEX and len(k.fingerprint()) == 8
    assert keys.Key.from_hex(HEX.upper()) == k and keys.Key.generate() != k


@pytest.mark.parametrize("text, why", [("abc", "got 3 characters"), (HEX[:-2], "got 62"), (HEX + "00", "got 66"),
                                       ("zz" + HEX[2:], "not all hex digits"), ("", "got 0")])
def test_malformed_keys_are_refused_without_echo(text, why):
    with pytest.raises(keys.BadKey, match=why) as e:
        keys.Key.from_hex(text)
    assert text[4:] not in str(e.value) or not text[4:]


def test_key_files(tmp_path):
    p = tmp_path / "k.key"
    k = keys.write_key(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600
    assert keys.load_key(p) == k and keys.load_key(str(p)) == k
    with pytest.raises(keys.BadKey, match="exists"):
        keys.write_key(p)
    assert keys.write_key(p, force=True) != k
    (tmp_path / "bad.key").write_text("0123 not a key\n")
    with pytest.raises(keys.BadKey, match="bad.key: a key is 64 hex digits") as e:
        keys.load_key(tmp_path / "bad.key")
    assert "not a key" not in str(e.value)
    with pytest.raises(keys.BadKey, match="not found"):
        keys.load_key(tmp_path / "missing.key")
    with pytest.raises(keys.BadKey, match="cannot be read"):
        keys.load_key(tmp_path)  # a folder
    (tmp_path / "big.key").write_bytes(b"0" * 10000)
    with pytest.raises(keys.BadKey, match="not a key"):
        keys.load_key(tmp_path / "big.key")
    (tmp_path / "bin.key").write_bytes(bytes([0xff] * 64))
    with pytest.raises(keys.BadKey, match="cannot be read"):
        keys.load_key(tmp_path / "bin.key")
    with pytest.raises(keys.BadKey, match="no key given"):
        keys.load_key(None)


def test_keygen_cli(tmp_path):
    p = tmp_path / "alice.key"
    r = CliRunner().invoke(cli, ["keygen", str(p)])
    assert r.exit_code == 0, r.output
    assert keys.load_key(p).fingerprint() in r.output and keys.load_key(p).hex() not in r.output
    r = CliRunner().invoke(cli, ["keygen", str(p)])
    assert r.exit_code != 0 and "refusing to overwrite" in r.output and "Traceback" not in r.output


def test_frame_transform_is_the_documented_construction():
    """HMAC-SHA256 -> ChaCha20 keystream -> argsort of 64-bit words and sign bits, re-derived here."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    k, nonce, n = keys.Key.from_hex(HEX), 2**64 - 1, 1000
    perm, signs = keys.frame_transform(k, nonce, n)
    kf = hmac.new(bytes.fromhex(HEX), b"gr-stegsem/keyed-latent/v1" + n.to_bytes(8, "little")
                  + nonce.to_bytes(8, "little"), hashlib.sha256).digest()
    ks = Cipher(algorithms.ChaCha20(kf, bytes(16)), None).encryptor().update(bytes(8 * n + 125))
    words = np.frombuffer(ks[:8 * n], "<u8")
    assert np.array_equal(perm, np.argsort(words, kind="stable"))
    bits = np.unpackbits(np.frombuffer(ks[8 * n:], np.uint8), bitorder="little")[:n]
    assert np.array_equal(signs, 1 - 2 * bits.astype(np.float32))
    assert sorted(perm.tolist()) == list(range(n)) and set(np.unique(signs)) == {-1.0, 1.0}
    # another nonce or key gives an unrelated transform; the same (key, nonce) the same one
    p2, _ = keys.frame_transform(k, nonce - 1, n)
    p3, _ = keys.frame_transform(keys.Key.generate(), nonce, n)
    assert np.mean(p2 == perm) < 0.02 and np.mean(p3 == perm) < 0.02
    assert np.array_equal(keys.frame_transform(k, nonce, n)[0], perm)


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, "7", True, None])
def test_bad_nonces(bad):
    with pytest.raises(ValueError, match="nonce"):
        keys.frame_transform(keys.Key.from_hex(HEX), bad, 10)


def test_scramble_is_orthogonal_and_inverted():
    z = torch.randn(3, 8, 4, 4)
    for perm, signs in (random_transforms(3, z[0].numel()), keyed_transforms(keys.Key.generate(), [1, 2, 3], 128)):
        u = scramble(z, perm, signs)
        assert torch.equal(unscramble(u, perm, signs), z)
        assert torch.allclose(u.pow(2).sum((1, 2, 3)), z.pow(2).sum((1, 2, 3)))  # power kept
        assert not torch.equal(u, z)


def test_replay_guard():
    g = keys.ReplayGuard(window=3)
    assert [g.fresh(n) for n in (1, 2, 1, 3, 4, 2, 1)] == [True, True, False, True, True, False, True]  # 1 left the window


# --- the scheme ------------------------------------------------------------------------------
def test_keyed_scheme_is_found_loaded_and_listed_once(tiny):
    assert schemes.available(tiny["dir"]).count("stego-keyed-t") == 1
    s = schemes.load("stego-keyed-t", tiny["dir"])
    assert isinstance(s, KeyedStego) and s.keyed and s.published().secrets == ("key",)
    assert isinstance(StegoSystem.load(tiny["jscc"], tiny["dir"] / "stego-keyed-t"), KeyedStego)
    assert not schemes.load("stego-l3_2", tiny["dir"]).keyed
    os.symlink(tiny["dir"] / "stego-l3_2.safetensors", tiny["dir"] / "stego-keyed-fake.safetensors")
    os.symlink(tiny["dir"] / "stego-l3_2.json", tiny["dir"] / "stego-keyed-fake.json")
    with pytest.raises(ValueError, match="not trained for a key"):
        schemes.load("stego-keyed-fake", tiny["dir"])


def test_bob_needs_the_right_key_and_nonce(tiny, photos):
    s = schemes.load("stego-keyed-t", tiny["dir"])
    k = keys.Key.generate()
    xh, xp = photos[:2], photos[1:]
    tx = s.alice(xh, xp, key=k, nonce=10)
    plain = StegoSystem(s.jscc, s.inn, "plain")
    # the container is the unkeyed INN's on the scrambled private latent
    zp_t = scramble(s.encode(xp), *keyed_transforms(k, [10, 11], s.encode(xp)[0].numel()))
    assert torch.allclose(tx, plain.embed(s.encode(xh), zp_t), atol=1e-6)
    right = s.bob(tx, (32, 32), key=k, nonce=10)
    zh, zp = plain.extract(tx)
    want = plain.decode(unscramble(zp, *keyed_transforms(k, [10, 11], zp[0].numel())), (32, 32))
    assert torch.allclose(right["private"], want, atol=1e-6)
    zp_right = s.unscramble_private(zp, k, 10)
    for wrong in (dict(key=keys.Key.generate(), nonce=10), dict(key=k, nonce=12)):
        # (the tiny random decoder flattens images; the latents show it) a wrong key or nonce
        # un-scrambles into an unrelated latent: relative error about sqrt(2)
        zw = s.unscramble_private(zp, wrong["key"], wrong["nonce"])
        assert (zw - zp_right).norm() / zp_right.norm() > 1.2
        assert torch.equal(s.bob(tx, (32, 32), **wrong)["host"], right["host"])  # the host path needs no key
    assert not torch.allclose(s.bob_without_secrets(tx, (32, 32))["private"], want, atol=1e-6)
    with pytest.raises(keys.BadKey, match="is keyed: Alice and Bob need"):
        s.alice(xh, xp)
    with pytest.raises(ValueError, match="needs its nonce"):
        s.bob(tx, (32, 32), key=k)
    with pytest.raises(ValueError, match="2 nonces for a batch of 1"):
        s.alice(xh[:1], xp[:1], key=k, nonce=[1, 2])
    tx2 = s.transmitter(k, nonce=10)
    assert torch.equal(tx2(xh[:1], xp[:1]), tx[:1]) and torch.equal(tx2(xh[1:], xp[1:]), tx[1:])  # 10, then 11


def test_a_shipped_bob_decoder_decodes_the_private_image_only(tmp_path, photos):
    import shutil

    from gr_stegsem.checkpoint import CheckpointError, load_model, save_model
    from gr_stegsem.models.deepjscc import DeepJSCC, DeepJSCCConfig
    from gr_stegsem.schemes.keyed import bob_decoder_path

    m = write_tiny_models(tmp_path, inn_names=("stego-l3_2", "stego-keyed-t"), keyed=("stego-keyed-t",))
    assert bob_decoder_path(tmp_path / "stego-keyed-t") is None
    before = schemes.load("stego-keyed-t", tmp_path)
    jscc = load_model(m["jscc"], "deepjscc")
    with torch.no_grad():
        for p in jscc.decoder.parameters():
            p.mul_(0.5)
    save_model(jscc, tmp_path / "bob-decoder-stego-keyed-t")
    for name in ("stego-keyed-t", "stego-keyed-t.safetensors"):
        assert bob_decoder_path(tmp_path / name) == tmp_path / "bob-decoder-stego-keyed-t.safetensors"
    shutil.copy(tmp_path / "bob-decoder-stego-keyed-t.safetensors", tmp_path / "bob-decoder-stego-l3_2.safetensors")
    assert bob_decoder_path(tmp_path / "stego-l3_2") is None  # only a keyed model takes one
    s = schemes.load("stego-keyed-t", tmp_path)
    assert s.bob_decoder is not None and "bob_decoder" in s.published().models
    k = keys.Key.generate()
    tx = s.alice(photos[:2], photos[1:], key=k, nonce=5)
    got, old = s.bob(tx, (32, 32), key=k, nonce=5), before.bob(tx, (32, 32), key=k, nonce=5)
    assert torch.equal(got["host"], old["host"])  # the host: the public decoder
    zh, zp = s.extract(tx)
    want = jscc.decode(s.unscramble_private(zp, k, 5), (32, 32))
    assert torch.allclose(got["private"], want, atol=1e-6) and not torch.allclose(got["private"], old["private"])
    save_model(DeepJSCC(DeepJSCCConfig(width1=4, width=8)), tmp_path / "bob-decoder-stego-keyed-t")
    with pytest.raises(CheckpointError, match="not the public model's"):
        schemes.load("stego-keyed-t", tmp_path)


def test_bad_bob_decoder_files_and_symbols_fail_clearly(tmp_path, photos):
    from gr_stegsem.checkpoint import CheckpointError, load_model, save_model

    write_tiny_models(tmp_path, inn_names=("stego-keyed-t",), keyed=("stego-keyed-t",))
    (tmp_path / "bob-decoder-stego-keyed-t.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="bob-decoder-stego-keyed-t"):
        schemes.load("stego-keyed-t", tmp_path)
    save_model(load_model(tmp_path / "deepjscc-bcr12", "deepjscc"), tmp_path / "bob-decoder-stego-keyed-t")
    s = schemes.load("stego-keyed-t", tmp_path)
    assert s.bob_decoder is not None
    z = s.encode(photos[:1])
    with pytest.raises(ValueError, match="NaN or Inf"):
        s.decode_private(z.masked_fill(torch.zeros_like(z, dtype=torch.bool).index_fill_(1, torch.tensor([0]), True),
                                       float("nan")))
