"""Seed 003/004's digital defences offline: the LWE cipher, the QAM helpers, the LBVQ and DeepJSCEC schemes."""
import math

import numpy as np
import pytest
import torch

from gr_stegsem import channel, lwe, schemes
from gr_stegsem.keys import BadKey, Key
from gr_stegsem.metrics import psnr
from gr_stegsem.models.deepjscc import to_complex
from gr_stegsem.models.lbvq import estimate_n0, hard_indices, qam_points
from tests.conftest import MODELS, need_models, need_shared

SMALL = lwe.LWEParams(n=64)


# --- the cipher -----------------------------------------------------------------------------------
def test_lwe_round_trip_and_noise_std():
    sk = lwe.SecretKey(Key(bytes(range(32))), SMALL)
    pk = sk.public(4096)
    m = np.random.default_rng(0).integers(0, SMALL.p, (3, 4096))
    c1, c2 = lwe.encrypt(pk, m, seed=bytes(32))
    err = ((c2 - lwe.unmask(sk, c1, 4096) - SMALL.delta * m + SMALL.q // 2) % SMALL.q) - SMALL.q // 2
    assert abs(err.std() / lwe.decryption_noise_std(SMALL) - 1) < 0.05
    assert abs(err.mean()) < 2
    # n = 64: noise std 26 << Δ/2 = 127, so exact decryption almost everywhere
    assert (lwe.decrypt(sk, c1, c2) == m).mean() > 0.99


def test_lwe_fresh_randomness_and_uniform_payload():
    sk = lwe.SecretKey(Key.generate(), SMALL)
    pk = sk.public(2048)
    m = np.zeros((2, 2048), dtype=np.int64)  # the same plaintext twice
    c1, c2 = lwe.encrypt(pk, m)
    assert (c2[0] != c2[1]).mean() > 0.99 and (c1[0] != c1[1]).any()
    hist = np.bincount(c2.ravel() * 16 // SMALL.q, minlength=16)  # 16 bins of Z_q
    expected = c2.size / 16
    chi2 = ((hist - expected) ** 2 / expected).sum()
    assert chi2 < 45  # 15 degrees of freedom: p < 1e-4 beyond this


def test_public_key_prefix_and_wrong_key():
    sk = lwe.SecretKey(Key(bytes(32)), SMALL)
    assert np.array_equal(sk.public(300).b, sk.public(1000).b[:, :300])  # any frame size, one key
    other = lwe.SecretKey(Key(bytes([1] * 32)), SMALL)
    m = np.random.default_rng(1).integers(0, SMALL.p, (1, 1000))
    c1, c2 = lwe.encrypt(sk.public(1000), m)
    assert (lwe.decrypt(other, c1, c2) == m).mean() < 0.15  # a wrong key: chance is 1/16


def test_public_key_file_round_trip_and_bad_files(tmp_path):
    sk = lwe.SecretKey(Key.generate(), SMALL)
    pk = sk.public(256)
    lwe.write_public(tmp_path / "pub", pk)
    back = lwe.read_public(tmp_path / "pub")
    assert back.params == SMALL and back.seed == pk.seed and np.array_equal(back.b, pk.b)
    with pytest.raises(ValueError, match="not found"):
        lwe.read_public(tmp_path / "missing")
    (tmp_path / "junk").write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="cannot read"):
        lwe.read_public(tmp_path / "junk")
    from safetensors.numpy import save_file

    save_file({"b": np.zeros((64, 8), np.int16)}, str(tmp_path / "other"), metadata={"kind": "something"})
    with pytest.raises(ValueError, match="not an LWE public key"):
        lwe.read_public(tmp_path / "other")


def test_headers_pack_and_refuse_bad_lengths():
    c1 = np.arange(SMALL.n) * 7 % SMALL.q
    assert np.array_equal(lwe.unpack_c1(lwe.pack_c1(c1, SMALL), SMALL), c1)
    with pytest.raises(ValueError, match="holds 128 bytes"):
        lwe.unpack_c1(b"\x00" * 10, SMALL)
    with pytest.raises(ValueError, match="not below q"):
        lwe.unpack_c1(b"\xff" * 128, SMALL)
    sk = lwe.SecretKey(Key(bytes(32)), SMALL)
    with pytest.raises(ValueError, match="64 elements per frame"):
        lwe.unmask(sk, np.zeros((1, 10), np.int64), 100)
    with pytest.raises(ValueError, match="plaintext symbols must be in"):
        lwe.encrypt(sk.public(10), np.full((1, 10), 16))


def test_security_estimate_justifies_the_parameters():
    # the authors' n = 192 is a toy; n = 512 clears 120 bits (classical core-SVP, primal uSVP)
    assert lwe.core_svp(lwe.LWEParams(n=192))["classical_bits"] < 40
    assert lwe.core_svp(lwe.DEFAULT)["classical_bits"] > 120
    # and decrypts: the noise is well inside a plaintext step
    assert lwe.decryption_noise_std() < lwe.DEFAULT.delta / 2


# --- QAM ------------------------------------------------------------------------------------------
def test_qam_is_gray_and_unit_power():
    pts = qam_points(16)
    assert abs(pts.abs().pow(2).mean().item() - 1) < 1e-6
    d = (pts[:, None] - pts[None]).abs()
    nearest = d + torch.eye(16) * 9 <= d[d > 0].min() + 1e-6
    for i, j in nearest.nonzero().tolist():
        assert bin(i ^ j).count("1") == 1  # neighbours differ in one bit
    with pytest.raises(ValueError, match="square QAM"):
        qam_points(8)


@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_blind_noise_estimate(snr):
    pts = qam_points(16)
    g = torch.Generator().manual_seed(0)
    s = pts[torch.randint(0, 16, (2, 8192), generator=g)]
    y = channel.awgn(s, snr, g)
    n0 = estimate_n0(y, pts)
    assert torch.allclose(n0, torch.tensor(10 ** (-snr / 10)).expand(2), rtol=0.1)
    assert (hard_indices(s, pts) == (s.unsqueeze(-1) - pts).abs().argmin(-1)).all()


# --- the shipped schemes --------------------------------------------------------------------------
def _faces(n=4):
    from gr_stegsem.images import list_images, load_image

    return torch.stack([load_image(p) for p in list_images(need_shared("faces", "test"))[:n]])


def test_lbvq_sends_qam_and_bob_decodes():
    need_models("lbvq-16", "deepjscc-bcr12")
    s = schemes.load("lbvq-16")
    assert "lbvq-16-hard" in schemes.available() and not s.published().secrets
    x = _faces()
    z = s.alice(None, x)
    pts = s.model.points
    sym = to_complex(z)
    assert (sym.unsqueeze(-1) - pts).abs().min(-1).values.max() < 1e-6  # every symbol a QAM point
    g = torch.Generator().manual_seed(0)
    hi = psnr(s.bob(s.channel(z, 20, generator=g), tuple(x.shape[-2:]))["private"], x).mean()
    lo = psnr(s.bob(s.channel(z, 0, generator=g), tuple(x.shape[-2:]))["private"], x).mean()
    plain = schemes.load("deepjscc")
    ref = psnr(plain.bob(plain.channel(plain.alice(None, x), 20, generator=g), tuple(x.shape[-2:]))["private"], x).mean()
    assert 25 < hi <= ref + 0.5 and lo < hi  # digital: no better than analog DeepJSCC, and it falls with SNR


def test_jscec_bob_with_key_and_eve_without():
    need_models("jscec-n512", "deepjscc-bcr12")
    s = schemes.load("jscec-n512")
    assert s.keyed and s.published().secrets == ("key",)
    x = _faces(2)
    size = tuple(x.shape[-2:])
    key = Key.generate()
    z = s.alice(None, x, key=key, nonce=10)
    assert torch.allclose(to_complex(z).abs(), torch.ones(1), atol=1e-5)  # constant envelope
    y = s.channel(z, 20, generator=torch.Generator().manual_seed(0))
    bob = psnr(s.bob(y, size, key=key, nonce=10)["private"], x).mean()
    wrong = psnr(s.bob(y, size, key=Key.generate(), nonce=10)["private"], x).mean()  # Bob with a wrong key
    eve = psnr(s.bob_without_secrets(y, size, generator=torch.Generator().manual_seed(3))["private"], x).mean()
    assert bob > 24 and wrong < bob - 8 and eve < bob - 8
    with pytest.raises(ValueError, match="no LWE header"):
        s.bob(y, size, key=key, nonce=999)
    with pytest.raises(BadKey):
        s.alice(None, x, nonce=1)
    with pytest.raises(BadKey):
        s.bob(y, size, nonce=10)


def test_jscec_bandwidth_counts_the_header():
    need_models("jscec-n512", "deepjscc-bcr12")
    bw = schemes.load("jscec-n512").bandwidth(256, 256)
    assert bw["payload"] == 256 * 256 // 4 and bw["header"] == 512 * 12
    assert math.isclose(bw["ratio"], (16384 + 6144) / (3 * 256 * 256))
