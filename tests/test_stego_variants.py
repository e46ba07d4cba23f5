"""The keyed, covert and CNN variants of the steganography trainer, their scheme modules and blocks
(tiny models and images)."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from gr_stegsem import schemes
from gr_stegsem.checkpoint import CheckpointError, load_model, read_info, save_model
from gr_stegsem.models.cnn_stego import CNNStego, CNNStegoConfig
from gr_stegsem.models.deepjscc import DeepJSCC, DeepJSCCConfig
from gr_stegsem.schemes.cnn_stego import CNNStegoScheme
from gr_stegsem.schemes.keyed import KeyedStego
from gr_stegsem.system import StegoSystem
from gr_stegsem.train.inn import StegoLink, train_inn
from tests.test_training import SMALL, fixed_batch


@pytest.fixture(scope="module")
def jscc_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("variants")
    torch.manual_seed(0)
    save_model(DeepJSCC(DeepJSCCConfig(**SMALL)), d / "deepjscc-bcr12")
    return d


def _train(jscc_dir, images, name, **kw):
    return train_inn(jscc_dir / "deepjscc-bcr12", [str(images)], [str(images)], jscc_dir / name, blocks=2, hidden=8,
                     crop=32, batch=4, lr=3e-3, workers=0, save_every=2, **kw)


def test_cnn_interface_and_identity_start():
    net = CNNStego(CNNStegoConfig(channels=8, width=8, layers=1))
    zh, zp = torch.randn(2, 8, 4, 4), torch.randn(2, 8, 4, 4)
    zc, lost = net.embed(zh, zp)
    assert torch.equal(zc, zh) and lost.shape == (2, 0, 4, 4)  # zero-initialised output layers
    h, p = net.extract(zc, net.lost_estimate(zc))
    assert torch.equal(h, zc) and torch.equal(p, torch.zeros_like(zp))
    with pytest.raises(ValueError, match="expected latents"):
        net.embed(zh[:, :4], zp)


def test_cnn_training_learns_and_is_a_scheme(jscc_dir, tiny_images):
    jscc = load_model(jscc_dir / "deepjscc-bcr12")
    xh, xp = fixed_batch(tiny_images / "set1"), fixed_batch(tiny_images / "set0")

    def private_sym(net):
        torch.manual_seed(5)
        with torch.no_grad():
            return StegoLink(net, jscc)(xh, xp, 10.0)["private_sym"]

    torch.manual_seed(0)
    before = private_sym(CNNStego(CNNStegoConfig(channels=jscc.config.latent_channels, width=8, layers=1)))
    _train(jscc_dir, tiny_images, "stego-cnn-t", arch="cnn", width=8, layers=1, steps=40)
    assert read_info(jscc_dir / "stego-cnn-t")["kind"] == "stego-cnn"
    assert read_info(jscc_dir / "stego-cnn-t")["arch"] == "cnn"
    assert private_sym(load_model(jscc_dir / "stego-cnn-t")) < 0.8 * before
    s = schemes.load("stego-cnn-t", jscc_dir)
    assert isinstance(s, CNNStegoScheme) and s.carries_host and s.published().secrets == ()
    assert schemes.available(jscc_dir).count("stego-cnn-t") == 1
    x = torch.rand(2, 3, 32, 32)
    out = s.bob(s.alice(x, x.flip(0)), (32, 32))
    assert out["private"].shape == out["host"].shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match="arch must be"):
        _train(jscc_dir, tiny_images, "x", arch="gan", steps=1)
    with pytest.raises(CheckpointError):  # a CNN model is not an INN
        load_model(jscc_dir / "stego-cnn-t", "stego-inn")


def test_covert_training_checkpoints_its_discriminator_and_exports_the_inn(jscc_dir, tiny_images):
    last = _train(jscc_dir, tiny_images, "stego-covert-t", lambdas=(1, 2, 2, 1, 1), covert=0.1, steps=4)
    assert {"adv", "disc", "disc_acc"} <= set(last)
    state = torch.load(jscc_dir / "stego-covert-t.state.pt", weights_only=True)
    assert any(k.startswith("disc.") for k in state["model"]) and any(k.startswith("inn.") for k in state["model"])
    info = read_info(jscc_dir / "stego-covert-t")
    assert info["kind"] == "stego-inn" and info["covert"] == 0.1
    resumed = _train(jscc_dir, tiny_images, "stego-covert-t", lambdas=(1, 2, 2, 1, 1), covert=0.1, steps=6)
    assert resumed["step"] == 6
    s = schemes.load("stego-covert-t", jscc_dir)
    assert type(s) is StegoSystem and not s.keyed
    with pytest.raises(ValueError, match="covert"):
        _train(jscc_dir, tiny_images, "y", covert=-1.0, steps=1)


def test_keyed_training_marks_the_model(jscc_dir, tiny_images):
    _train(jscc_dir, tiny_images, "stego-keyed-t", keyed=True, steps=3)
    assert read_info(jscc_dir / "stego-keyed-t")["keyed"] is True
    assert isinstance(schemes.load("stego-keyed-t", jscc_dir), KeyedStego)


def test_blocks_run_a_cnn_model(jscc_dir, tiny_images):
    pytest.importorskip("gnuradio.gr")
    import pmt

    from gr_stegsem import blocks as sb
    from gr_stegsem.blocks import pdus
    from gr_stegsem.models.deepjscc import to_complex
    from tests.test_blocks import run_block

    if not (jscc_dir / "stego-cnn-t.safetensors").is_file():
        _train(jscc_dir, tiny_images, "stego-cnn-t", arch="cnn", width=8, layers=1, steps=2)
    s = schemes.load("stego-cnn-t", jscc_dir)
    jp, mp = str(jscc_dir / "deepjscc-bcr12.safetensors"), str(jscc_dir / "stego-cnn-t.safetensors")
    x = torch.rand(2, 3, 32, 32)
    zc = s.alice(x[:1], x[1:])
    pdu = pdus.symbol_pdu(to_complex(zc), 3, (32, 32), tuple(zc.shape[1:]), secure=True)
    got = run_block(sb.inn_extract(jp, mp), [("in", pdu)], outs=("host", "private"), expect=2)
    zh, zp = s.extract(zc)
    assert np.allclose(np.asarray(pmt.c32vector_elements(pmt.cdr(got["private"][0]))), to_complex(zp)[0].numpy(),
                       atol=1e-6)


# --- seed 004's analog defences -----------------------------------------------------------------
def test_dp_mechanism_and_bad_budgets(jscc_dir):
    from gr_stegsem.schemes.dp import DPScheme

    s = schemes.load("dp-0.9", jscc_dir)
    assert isinstance(s, DPScheme) and s.epsilon == 0.9 and s.scale == pytest.approx(3 / 0.9)
    assert set(schemes.available(jscc_dir)) >= {"dp-0.05", "dp-0.1", "dp-0.9"}
    z = torch.randn(64, 8, 8, 8) * 0.7
    out = s.privatize(z, torch.Generator().manual_seed(1))
    assert out.pow(2).mean().item() == pytest.approx(0.5, rel=1e-4)  # mean |z|^2 = 1 per complex symbol
    # before renormalisation the noise is Laplace(0, b): variance 2 b^2 per real value
    u = torch.rand(z.shape, generator=torch.Generator().manual_seed(1)).clamp(1e-7, 1 - 1e-7) - 0.5
    noise = -s.scale * torch.sign(u) * torch.log1p(-2 * u.abs())
    assert noise.var().item() == pytest.approx(2 * s.scale ** 2, rel=0.05)
    want = z.clamp(-1.5, 1.5) + noise
    assert torch.allclose(out, want / want.pow(2).mean((1, 2, 3), keepdim=True).mul(2).sqrt(), atol=1e-5)  # per frame
    for bad in ("dp-0", "dp-x", "dp--1", "dp-"):
        with pytest.raises(ValueError, match="ε|dp-<ε>"):
            schemes.load(bad, jscc_dir)
    with pytest.raises(ValueError, match="must be > 0"):
        DPScheme(s.jscc, -0.1)


def test_shuffle_static_and_per_frame(jscc_dir):
    from gr_stegsem import keys

    k = keys.Key.generate()
    x = torch.rand(3, 3, 32, 32)
    per, static = schemes.load("shuffle", jscc_dir), schemes.load("shuffle-static", jscc_dir)
    z = per.encode(x)
    for s in (per, static):
        t = s.alice(None, x, key=k, nonce=5)
        assert not torch.equal(t, z) and torch.allclose(t.pow(2).sum(), z.pow(2).sum())
        assert torch.allclose(s.unshuffle(t, k, 5), z)  # Bob un-shuffles exactly
        assert torch.allclose(s.bob(t, (32, 32), key=k, nonce=5)["private"], s.decode(z, (32, 32)))
        wrong = s.unshuffle(t, keys.Key.generate(), 5)
        assert (wrong - z).norm() / z.norm() > 1.0
        with pytest.raises(keys.BadKey, match="shuffles with a key"):
            s.alice(None, x)
    # static: every frame the same order; per frame: a new one per nonce
    a, b = static.shuffle(z[:1], k, 1), static.shuffle(z[:1], k, 2)
    assert torch.equal(a, b)
    assert not torch.equal(per.shuffle(z[:1], k, 1), per.shuffle(z[:1], k, 2))
    with pytest.raises(ValueError, match="needs its nonce"):
        per.alice(None, x, key=k)


def test_detection_applies_to_every_scheme_but_plain_deepjscc(jscc_dir):
    from gr_stegsem import eves

    det = eves.get("detect")
    x = torch.rand(2, 3, 32, 32)
    assert not det.applies(schemes.load("deepjscc", jscc_dir))
    for name in ("dp-0.9", "shuffle-static"):
        s = schemes.load(name, jscc_dir)
        assert det.applies(s)
        z, labels = det.pairs(s, x.flip(0), x, s.transmitter("ab" * 32))
        assert torch.equal(z[2:], s.encode(x)) and labels.tolist() == [1, 1, 0, 0]  # plain DeepJSCC of the same images


def test_eval_runs_keyed_and_seed004_schemes_with_a_key(jscc_dir, tiny_images, tmp_path):
    from gr_stegsem import keys
    from gr_stegsem.evaluate import EvalSettings, evaluate

    if not (jscc_dir / "stego-keyed-t.safetensors").is_file():
        _train(jscc_dir, tiny_images, "stego-keyed-t", keyed=True, steps=3)
    kf = tmp_path / "k.key"
    keys.write_key(kf)
    s = EvalSettings(data=tiny_images / "set0", hosts=tiny_images / "set1", out=tmp_path / "ev", snrs=(10.0,),
                     eve_snr=10.0, eve_snrs=(), limit=4, mia_steps=0, systems=("stego-keyed-t", "shuffle", "dp-0.9"),
                     models_dir=jscc_dir, attacks=("naive", "glassbox", "chosen"), key=kf, skip_missing=True,
                     batch=2)
    recs = evaluate(s, progress=False)
    got = {(r["system"], r["receiver"], r["target"]) for r in recs}
    assert ("stego-keyed-t", "bob", "private") in got and ("stego-keyed-t", "eve-glassbox", "private") in got
    assert ("shuffle", "eve-glassbox", "private") in got and ("dp-0.9", "eve-naive", "private") in got
    assert not any(r[1] == "eve-chosen" for r in got)  # no chosen-plaintext models here: skipped, not an error
    assert all(r["n_images"] == 4 for r in recs if r["receiver"] in ("bob", "eve-glassbox"))
    assert "Which Eve each scheme survives" in (tmp_path / "ev" / "security.md").read_text()
    from gr_stegsem.report import privacy_utility

    pts = privacy_utility(recs, bob_snr=10.0, eve_snr=10.0)
    assert {p["system"] for p in pts} == {"stego-keyed-t", "shuffle", "dp-0.9"}
    assert all(p["eve"] in ("naive", "glassbox") for p in pts)
    assert (tmp_path / "ev" / "fig_privacy_utility.png").stat().st_size > 0


def test_ibal_training_and_scheme(jscc_dir, tiny_images):
    from gr_stegsem.schemes.ibal import IBALScheme
    from gr_stegsem.train.ibal import train_ibal

    last = train_ibal(jscc_dir / "deepjscc-bcr12", [str(tiny_images)], jscc_dir / "ibal-t", crop=32, batch=4, steps=4,
                      workers=0, save_every=2)
    assert {"bob_psnr", "eve_psnr", "adv_mse"} <= set(last)
    state = torch.load(jscc_dir / "ibal-t.state.pt", weights_only=True)
    assert any(k.startswith("adversary.") for k in state["model"])
    s = schemes.load("ibal-t", jscc_dir)
    assert isinstance(s, IBALScheme) and not s.is_plain and read_info(jscc_dir / "ibal-t")["kind"] == "deepjscc"
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(s.plain_equivalent(None, x), schemes.load("deepjscc", jscc_dir).encode(x))
    assert s.bob(s.alice(None, x), (32, 32))["private"].shape == x.shape
    with pytest.raises(ValueError, match="beta > 0"):
        train_ibal(jscc_dir / "deepjscc-bcr12", [str(tiny_images)], jscc_dir / "ibal-x", beta=0, steps=1)


def test_ibal_adversary_must_be_an_inverter(jscc_dir, tiny_images):
    """--adversary-init with a model of another kind (here the DeepJSCC codec itself) fails before
    training, naming what the file is."""
    from gr_stegsem.checkpoint import CheckpointError
    from gr_stegsem.train.ibal import train_ibal

    with pytest.raises(CheckpointError, match="eve-inverter"):
        train_ibal(jscc_dir / "deepjscc-bcr12", [str(tiny_images)], jscc_dir / "ibal-y", steps=1,
                   adversary_init=jscc_dir / "deepjscc-bcr12")
    assert not (jscc_dir / "ibal-y.safetensors").exists()


def test_ibal_codec_for_another_bandwidth_ratio_is_refused(jscc_dir, tmp_path):
    """An ibal-* codec must have the public DeepJSCC's config (bandwidth ratio, widths): it is sent
    where plain DeepJSCC symbols would be and compared with them."""
    import shutil

    from gr_stegsem.checkpoint import save_model
    from gr_stegsem.models.deepjscc import DeepJSCC, DeepJSCCConfig

    for f in jscc_dir.glob("deepjscc-bcr12.*"):
        shutil.copy(f, tmp_path / f.name)
    pub = read_info(tmp_path / "deepjscc-bcr12")["config"]
    save_model(DeepJSCC(DeepJSCCConfig(**{**pub, "bcr": "1/6"})), tmp_path / "ibal-wide")
    with pytest.raises(ValueError, match="ibal-wide.*not the public DeepJSCC"):
        schemes.load("ibal-wide", tmp_path)


def test_order_recovery_breaks_a_static_shuffle_not_a_per_frame_one(jscc_dir):
    """One noise-free chosen probe gives Eve a static order exactly; a per-frame order it does not."""
    from gr_stegsem import eves, keys

    k = keys.Key.generate()
    x = torch.rand(2, 3, 32, 32)
    rec = eves.get("recover")
    assert rec.applies(schemes.load("shuffle", jscc_dir)) and not rec.applies(schemes.load("deepjscc", jscc_dir))
    for name, broken in (("shuffle-static", True), ("shuffle", False)):
        s = schemes.load(name, jscc_dir)
        y = s.alice(None, x, key=k, nonce=7)  # noise-free: the order is all there is
        got = rec(s, device_key=k).reconstruct(y, (32, 32))
        bob = s.bob(y, (32, 32), key=k, nonce=7)["private"]
        assert torch.allclose(got, bob, atol=1e-5) == broken


def test_model_names_may_hold_a_dot(tmp_path):
    """eve-chosen-dp-0.9: saved, found and loaded under its full name (with_suffix would cut '.9')."""
    from gr_stegsem.models.eve_nets import Detector, DetectorConfig

    save_model(Detector(DetectorConfig(width=2)), tmp_path / "eve-detect-dp-0.9")
    assert (tmp_path / "eve-detect-dp-0.9.safetensors").is_file() and (tmp_path / "eve-detect-dp-0.9.json").is_file()
    assert load_model(tmp_path / "eve-detect-dp-0.9").config.width == 2
    (tmp_path / "x.9").write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="only .safetensors"):
        load_model(tmp_path / "x.9")


def test_keyed_training_with_bob_decoder_writes_its_companion(jscc_dir, tiny_images):
    _train(jscc_dir, tiny_images, "stego-keyed-dec", keyed=True, steps=3, bob_decoder=jscc_dir / "deepjscc-bcr12")
    companion = jscc_dir / "bob-decoder-stego-keyed-dec.safetensors"
    assert companion.is_file() and read_info(jscc_dir / "stego-keyed-dec")["bob_decoder"] == companion.stem
    s = schemes.load("stego-keyed-dec", jscc_dir)
    public = load_model(jscc_dir / "deepjscc-bcr12", "deepjscc")
    assert s.bob_decoder is not None  # trained: no longer the public decoder
    assert any(not torch.equal(a, b) for a, b in zip(s.bob_decoder.decoder.parameters(), public.decoder.parameters()))
    assert all(torch.equal(a, b) for a, b in zip(s.bob_decoder.encoder.parameters(), public.encoder.parameters()))
    with pytest.raises(ValueError, match="for the keyed INN"):
        _train(jscc_dir, tiny_images, "stego-dec", steps=1, bob_decoder=jscc_dir / "deepjscc-bcr12")


def test_bob_decoder_of_another_codec_is_refused(jscc_dir, tiny_images, tmp_path):
    save_model(DeepJSCC(DeepJSCCConfig(width1=4, width=8)), tmp_path / "other")
    with pytest.raises(ValueError, match="--bob-decoder .* has DeepJSCC"):
        _train(jscc_dir, tiny_images, "stego-keyed-x", keyed=True, steps=1, bob_decoder=tmp_path / "other")
