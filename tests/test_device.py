"""The inference device (gr_stegsem.device): names, the CPU path unchanged bit for bit, clear errors
without a GPU, and (skipped unless CUDA is available) CUDA against the CPU within the bf16 bounds."""
from __future__ import annotations

import time

import pytest
import torch

from gr_stegsem import channel as _channel
from gr_stegsem.device import CPU, on_model_device, resolve_device, to_device
from gr_stegsem.models.deepjscc import from_complex, to_complex
from gr_stegsem.system import StegoSystem
from tests.conftest import write_tiny_eve_models, write_tiny_models

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA device here (the GPU checks run on a machine with one)")
no_cuda = pytest.mark.skipif(CUDA, reason="a CUDA device is present: the no-GPU error cannot be seen")

# CUDA (fp32, cuDNN) against the CPU: the bounds bf16 is held to against fp32 (tests/test_precision.py, README)
PSNR_DB = 0.05
CONTAINER_REL = 1e-2
SIZE = 32


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    out = write_tiny_models(d, inn_names=("stego-l3_2",))
    write_tiny_eve_models(d)
    return out


def _images(n: int, size: int = SIZE, seed: int = 3) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# --- names --------------------------------------------------------------------------------------
def test_resolve_cpu_names():
    for name in ("cpu", " CPU ", "", None, torch.device("cpu")):
        assert resolve_device(name) == CPU


def test_resolve_malformed_names():
    for name in ("gpu", "cuda:", "cuda:x", "cuda:-1", "cpu:0", "cuda0", "mps"):
        with pytest.raises(ValueError, match=r"device must be one of cpu, cuda, cuda:N, auto, got") as e:
            resolve_device(name)
        assert "\n" not in str(e.value)


def test_auto_is_cuda_where_available_else_cpu():
    dev = resolve_device("auto")
    assert dev == (torch.device("cuda", torch.cuda.current_device()) if CUDA else CPU)


@no_cuda
def test_cuda_without_a_gpu_is_one_clear_line():
    for name in ("cuda", "cuda:0", "CUDA:1"):
        with pytest.raises(ValueError) as e:
            resolve_device(name)
        msg = str(e.value)
        assert f"device {name.lower()!r} requested but torch.cuda.is_available() is False" in msg
        assert torch.__version__ in msg and "\n" not in msg


@needs_cuda
def test_cuda_names_with_a_gpu():
    assert resolve_device("cuda") == torch.device("cuda", torch.cuda.current_device())
    assert resolve_device("cuda:0") == torch.device("cuda", 0)
    n = torch.cuda.device_count()
    with pytest.raises(ValueError, match=f"has {n} CUDA device"):
        resolve_device(f"cuda:{n}")


# --- the boundary: on the CPU nothing moves --------------------------------------------------------
class _Toy:
    device = CPU

    @on_model_device
    def twice(self, x, pair=None):
        return {"x": 2 * x, "pair": (x, pair)}


def test_on_model_device_passes_cpu_tensors_through():
    x, p = torch.ones(3), torch.zeros(2)
    out = _Toy().twice(x, pair=p)
    assert torch.equal(out["x"], 2 * x) and out["pair"][0] is x and out["pair"][1] is p
    assert to_device((x, [p], {"k": x}, "s"), CPU)[0] is x


# --- the CPU path is the code before: same numbers ---------------------------------------------------
def test_channel_noise_is_the_cpu_generators(models):
    s = StegoSystem.load(models["jscc"])
    z = s.encode(_images(2))
    for kind in ("awgn", "rayleigh"):
        ref = from_complex(_channel.apply(to_complex(z), 5.0, kind, torch.Generator().manual_seed(7)),
                           tuple(z.shape[1:]))
        assert torch.equal(s.channel(z, 5.0, kind, torch.Generator().manual_seed(7)), ref)


def test_gaussian_lost_estimate_is_the_cpu_draw(models):
    s = StegoSystem.load(models["jscc"], models["inn"])
    like = torch.zeros(2, 8, 8, 8)
    got = s.inn.lost_estimate(like, "gaussian", torch.Generator().manual_seed(4))
    assert torch.equal(got, torch.randn(like.shape, generator=torch.Generator().manual_seed(4)) * 0.5 ** 0.5)


def test_stego_system_on_cpu_equals_the_default_bit_for_bit(models):
    default = StegoSystem.load(models["jscc"], models["inn"])
    on_cpu = StegoSystem.load(models["jscc"], models["inn"])
    assert on_cpu.set_device("cpu") == CPU and on_cpu.device == CPU and default.device == CPU
    assert all(p.device == CPU for p in on_cpu.jscc.parameters())
    xh, xp = _images(2, seed=1), _images(2, seed=2)
    outs = []
    for s in (default, on_cpu):
        tx = s.alice(xh, xp)
        y = s.channel(tx, 5.0, "awgn", torch.Generator().manual_seed(9))
        outs.append((tx, s.bob(y, (SIZE, SIZE), "gaussian", torch.Generator().manual_seed(5))))
    assert torch.equal(outs[0][0], outs[1][0])
    for k in ("host", "private"):
        assert torch.equal(outs[0][1][k], outs[1][1][k])


def _settings(models, out, **kw):
    from gr_stegsem.evaluate import EvalSettings

    return EvalSettings(data=out.parent / "priv", hosts=out.parent / "host", out=out, snrs=(5.0, 15.0), eve_snr=5.0,
                        mia_steps=3, mia_limit=2, systems=("deepjscc", "stego-l3_2"), models_dir=models["dir"],
                        attacks=("naive", "mia", "glassbox", "inversion", "surrogate", "detect"), lost="gaussian",
                        batch=2, **kw)


@pytest.fixture
def folders(tmp_path):
    from PIL import Image

    for sub, seed in (("priv", 1), ("host", 2)):
        (tmp_path / sub).mkdir()
        for i, x in enumerate(_images(3, seed=seed)):
            Image.fromarray((x.permute(1, 2, 0) * 255).round().byte().numpy()).save(tmp_path / sub / f"{i}.png")
    return tmp_path


def test_eval_on_cpu_equals_the_default_bit_for_bit(models, folders, monkeypatch):
    from gr_stegsem import evaluate as ev

    monkeypatch.setattr(ev, "write_outputs", lambda *a, **k: None)  # the numbers, not the figures
    a = ev.evaluate(_settings(models, folders / "a"), progress=False)
    b = ev.evaluate(_settings(models, folders / "b", device="cpu"), progress=False)
    assert a == b and {r["receiver"] for r in a} >= {"bob", "eve-naive", "eve-mia", "eve-glassbox", "eve-detect"}


STAND_IN = torch.device("cpu", 0)  # not equal to the tensors' device (cpu), yet every move to it is a no-op


def _stand_in(monkeypatch):
    """'cuda' resolves to STAND_IN: the schemes' and the blocks' device differs from their inputs', so every
    move of the device path runs (on the CPU, without a GPU)."""
    import gr_stegsem.evaluate as ev
    import gr_stegsem.schemes.base as base

    def fake(name="cpu"):
        return STAND_IN if name == STAND_IN or str(name).startswith("cuda") else resolve_device(name)

    monkeypatch.setattr(ev, "resolve_device", fake)
    monkeypatch.setattr(base, "resolve_device", fake)


def test_the_device_path_gives_the_cpu_numbers(models, folders, monkeypatch):
    """With the models' device unequal to the inputs' (the stand-in), the inputs move on entry and the results
    come back: the same numbers as the CPU path, in eval and in StegoSystem, results on the caller's device."""
    from gr_stegsem import evaluate as ev

    monkeypatch.setattr(ev, "write_outputs", lambda *a, **k: None)
    ref = ev.evaluate(_settings(models, folders / "a"), progress=False)
    s = StegoSystem.load(models["jscc"], models["inn"])
    xh, xp = _images(2, seed=1), _images(2, seed=2)
    tx = s.alice(xh, xp)
    _stand_in(monkeypatch)
    assert ev.evaluate(_settings(models, folders / "b", device="cuda"), progress=False) == ref
    s.set_device("cuda")
    assert s.device == STAND_IN and s.precision.used == "fp32"
    got = s.alice(xh, xp)
    assert torch.equal(got, tx) and got.device == CPU
    zh, zp = s.extract(tx, "gaussian", torch.Generator().manual_seed(1))
    assert zh.device == CPU and zp.device == CPU


@no_cuda
def test_eval_and_cli_refuse_cuda_without_a_gpu(models, folders, capsys):
    from gr_stegsem.cli import main
    from gr_stegsem.evaluate import evaluate

    with pytest.raises(ValueError, match="device 'cuda' requested but torch.cuda.is_available"):
        evaluate(_settings(models, folders / "a", device="cuda"), progress=False)
    code = main(["eval", "--data", str(folders / "priv"), "--out", str(folders / "c"), "--device", "cuda"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "torch.cuda.is_available() is False" in err
    assert main(["eval", "--data", str(folders / "priv"), "--out", str(folders / "c"), "--device", "tpu"]) == 2
    assert "device must be one of" in capsys.readouterr().err


@needs_cuda
def test_eval_on_cuda_matches_cpu(models, folders):
    from gr_stegsem.evaluate import evaluate

    cpu = evaluate(_settings(models, folders / "cpu"), progress=False)
    gpu = evaluate(_settings(models, folders / "gpu", device="cuda"), progress=False)  # figures too
    assert [[r[k] for k in ("system", "receiver", "target", "snr_db", "n_images")] for r in gpu] == \
        [[r[k] for k in ("system", "receiver", "target", "snr_db", "n_images")] for r in cpu]
    for a, b in zip(cpu, gpu):
        if a["psnr"] is not None:
            assert abs(a["psnr"] - b["psnr"]) < PSNR_DB, (a, b)
            assert abs(a["lpips"] - b["lpips"]) < 1e-3, (a, b)
        if a.get("auc") is not None:
            assert abs(a["auc"] - b["auc"]) < 1e-2, (a, b)
    assert (folders / "gpu" / "fig5_grid.png").is_file()


@needs_cuda
def test_stego_system_on_cuda_matches_cpu_and_returns_cpu_tensors(models):
    cpu = StegoSystem.load(models["jscc"], models["inn"])
    gpu = StegoSystem.load(models["jscc"], models["inn"])
    gpu.set_device("cuda")
    assert gpu.precision.used == "fp32" and next(gpu.inn.parameters()).is_cuda
    xh, xp = _images(2, seed=1), _images(2, seed=2)
    a, b = cpu.alice(xh, xp), gpu.alice(xh, xp)
    assert b.device == CPU and ((a - b).norm() / a.norm()).item() < CONTAINER_REL
    y = cpu.channel(a, 15.0, "awgn", torch.Generator().manual_seed(9))
    ra = cpu.bob(y, (SIZE, SIZE), "gaussian", torch.Generator().manual_seed(5))
    rb = gpu.bob(y.cuda(), (SIZE, SIZE), "gaussian", torch.Generator().manual_seed(5))
    from gr_stegsem.metrics import psnr

    for k in ("host", "private"):
        assert rb[k].is_cuda  # device in, device out
        assert (psnr(ra[k], xh if k == "host" else xp) - psnr(rb[k].cpu(), xh if k == "host" else xp)).abs().max() \
            < PSNR_DB


# --- blocks ---------------------------------------------------------------------------------------
@no_cuda
def test_blocks_with_cuda_fail_at_construction_without_a_gpu(models):
    pytest.importorskip("gnuradio.gr")
    from gr_stegsem import blocks as sb

    want = "device 'cuda' requested but torch.cuda.is_available() is False"
    for make, name in ((lambda: sb.jscc_encoder(models["jscc"], device="cuda"), "jscc_encoder"),
                       (lambda: sb.jscc_decoder(models["jscc"], device="cuda"), "jscc_decoder"),
                       (lambda: sb.inn_embed(models["jscc"], models["inn"], device="cuda"), "inn_embed"),
                       (lambda: sb.inn_extract(models["jscc"], models["inn"], device="cuda"), "inn_extract"),
                       (lambda: sb.eve_naive(models["jscc"], device="cuda"), "eve_naive"),
                       (lambda: sb.eve_attack("inversion", models_dir=models["dir"], device="cuda"), "eve_attack"),
                       (lambda: sb.bob_rx(models["jscc"], models["inn"], device="cuda"), "inn_extract")):
        with pytest.raises(ValueError) as e:
            make()
        assert str(e.value).startswith(f"{name}: ") and want in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ValueError, match="jscc_decoder: device must be one of"):
        sb.jscc_decoder(models["jscc"], device="gpu")


def _run(blk, posts, outs, expect, timeout=20.0):
    """Post every PDU to ``blk``, run until ``expect`` PDUs came out; {port: [pdu, ...]}."""
    from tests.test_precision import run_queued

    return run_queued(blk, posts, outs, expect, timeout)[0]


def test_blocks_on_cpu_and_through_the_device_path_give_the_default_frames(models, monkeypatch):
    """device 'cpu', and 'cuda' resolved to the stand-in (every move of the blocks' device path runs): the
    frames of the default blocks, bit for bit."""
    pytest.importorskip("gnuradio.gr")
    from gr_stegsem import blocks as sb
    from gr_stegsem.blocks import pdus

    def chain(**dev):
        enc = sb.jscc_encoder(models["jscc"], batch=2, **dev)
        z = _run(enc, [("in", pdus.image_pdu(x, i, "private")) for i, x in enumerate(_images(3))], ("out",), 3)["out"]
        emb = sb.inn_embed(models["jscc"], models["inn"], **dev)
        posts = [(port, pdus.symbol_pdu(pdus.parse_symbol_pdu(p).symbols, i, (SIZE, SIZE),
                                        pdus.parse_symbol_pdu(p).latent, False, port))
                 for port, zs in (("host", z), ("private", z[::-1])) for i, p in enumerate(zs)]
        cont = _run(emb, posts, ("out",), 3)["out"]
        ex = _run(sb.inn_extract(models["jscc"], models["inn"], lost="gaussian", seed=5, batch=2, **dev),
                  [("in", c) for c in cont], ("host", "private"), 6)
        img = _run(sb.jscc_decoder(models["jscc"], **dev), [("in", p) for p in ex["private"]], ("out",), 3)["out"]
        eve = _run(sb.eve_attack("inversion", models_dir=models["dir"], queue_size=4, **dev), [("in", c) for c in cont],
                   ("out",), 3)["out"]
        naive = _run(sb.eve_naive(models["jscc"], **dev), [("in", c) for c in cont], ("out",), 3)["out"]
        return ([pdus.parse_symbol_pdu(p).symbols for p in z + cont + ex["host"] + ex["private"]],
                [pdus.parse_image_pdu(p).image for p in img + eve + naive])

    ref = chain()
    _stand_in(monkeypatch)
    for dev in ("cpu", "cuda"):
        got = chain(device=dev)
        assert len(got[0]) == len(ref[0]) == 12 and len(got[1]) == len(ref[1]) == 9
        assert all(torch.equal(a, b) for a, b in zip(ref[0] + ref[1], got[0] + got[1]))


@needs_cuda
def test_blocks_on_cuda_match_cpu(models):
    pytest.importorskip("gnuradio.gr")
    from gr_stegsem import blocks as sb
    from gr_stegsem.blocks import pdus

    xs = _images(3)
    posts = [("in", pdus.image_pdu(x, i, "private")) for i, x in enumerate(xs)]
    sym = {}
    for dev in ("cpu", "cuda"):
        enc = sb.jscc_encoder(models["jscc"], device=dev, batch=2)
        got = _run(enc, posts, ("out",), 3)["out"]
        assert len(got) == 3 and enc.system.device.type == dev
        sym[dev] = got
        dec = sb.jscc_decoder(models["jscc"], device=dev)
        imgs = _run(dec, [("in", p) for p in got], ("out",), 3)["out"]
        sym[dev + "/img"] = [pdus.parse_image_pdu(p).image for p in imgs]
        ex = sb.inn_extract(models["jscc"], models["inn"], lost="gaussian", seed=5, device=dev)
        emb = sb.inn_embed(models["jscc"], models["inn"], device=dev)
        host = [(("host" if i < 3 else "private"), pdus.symbol_pdu(pdus.parse_symbol_pdu(p).symbols, i % 3,
                (SIZE, SIZE), pdus.parse_symbol_pdu(p).latent, False, "host" if i < 3 else "private"))
                for i, p in enumerate(got + got[::-1])]
        cont = _run(emb, host, ("out",), 3)["out"]
        sym[dev + "/extract"] = _run(ex, [("in", c) for c in cont], ("host", "private"), 6)
        eve = sb.eve_attack("inversion", models_dir=models["dir"], queue_size=4, device=dev)
        sym[dev + "/eve"] = _run(eve, [("in", c) for c in cont], ("out",), 3)["out"]
    for a, b in zip(sym["cpu"], sym["cuda"]):
        sa, sb_ = pdus.parse_symbol_pdu(a).symbols, pdus.parse_symbol_pdu(b).symbols
        assert ((sa - sb_).abs().norm() / sa.abs().norm()).item() < CONTAINER_REL
    for a, b in zip(sym["cpu/img"], sym["cuda/img"]):
        assert (a.float() - b.float()).abs().max().item() <= 2 / 255 + 1e-6
    for port in ("host", "private"):
        for a, b in zip(sym["cpu/extract"][port], sym["cuda/extract"][port]):
            sa, sb_ = pdus.parse_symbol_pdu(a).symbols, pdus.parse_symbol_pdu(b).symbols
            assert ((sa - sb_).abs().norm() / sa.abs().norm()).item() < CONTAINER_REL
    assert len(sym["cuda/eve"]) == 3
