import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("STEGSEM_SHARED", ROOT.parent / "shared")) / "data"
MODELS = ROOT / "models"


def need_shared(*parts) -> Path:
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p} (tests that need ../shared/data skip without it)")
    return p


def need_models(*names):
    for n in names:
        if not (MODELS / f"{n}.safetensors").is_file():
            pytest.skip(f"shipped model models/{n}.safetensors not present")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def tiny_images(tmp_path_factory) -> Path:
    """24 real-photo patches of 48x48 px (from scikit-image's bundled samples) in a folder tree."""
    from skimage import data

    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for i, photo in enumerate((data.astronaut(), data.chelsea(), data.coffee())):
        sub = root / f"set{i}"
        sub.mkdir()
        h, w = photo.shape[:2]
        for j in range(8):
            y, x = rng.integers(0, h - 96), rng.integers(0, w - 96)
            patch = Image.fromarray(photo[y:y + 96, x:x + 96]).resize((48, 48), Image.BICUBIC)
            patch.save(sub / f"p{j}.{'png' if j % 2 else 'jpg'}")
    return root


TINY_JSCC = dict(width1=8, width=16)


def write_tiny_models(folder: Path, jscc_name: str = "deepjscc-bcr12", inn_names=("stego-l3_2",),
                      perturb: bool = True, keyed=()) -> dict:
    """Tiny random DeepJSCC + INN model files for fast tests; returns their paths. The INN models
    named in ``keyed`` are marked as trained for a key (``"keyed": true``, the stego-keyed-* schemes).

    With ``perturb`` every INN block is nudged away from its identity initialisation, so that
    embedding really changes the host latent.
    """
    from gr_stegsem.checkpoint import save_model
    from gr_stegsem.models.deepjscc import DeepJSCC, DeepJSCCConfig
    from gr_stegsem.models.inn import INNConfig, StegoINN

    cfg = DeepJSCCConfig(**TINY_JSCC)
    torch.manual_seed(0)
    save_model(DeepJSCC(cfg), folder / jscc_name)
    out = {"dir": folder, "jscc": str(folder / f"{jscc_name}.safetensors")}
    for name in inn_names:
        inn = StegoINN(INNConfig(channels=cfg.latent_channels, hidden=8, blocks=2))
        if perturb:
            with torch.no_grad():
                for p in inn.parameters():
                    p.add_(torch.randn_like(p) * 0.05)
        save_model(inn, folder / name, jscc_config=cfg.to_dict(), **({"keyed": True} if name in keyed else {}))
        out.setdefault("inn", str(folder / f"{name}.safetensors"))
    return out


def write_tiny_eve_models(folder: Path, scheme: str = "stego-l3_2", jscc_config: dict | None = None) -> Path:
    """Tiny random models of every trainable Eve against ``scheme`` (eve-inversion, eve-chosen-<scheme>,
    eve-surrogate, eve-detect-<scheme>), made for the DeepJSCC config ``jscc_config`` (default: the
    tiny one of :func:`write_tiny_models`); returns the folder."""
    from gr_stegsem.checkpoint import save_model
    from gr_stegsem.models.deepjscc import DeepJSCCConfig
    from gr_stegsem.models.eve_nets import Detector, DetectorConfig, Inverter, InverterConfig
    from gr_stegsem.models.inn import INNConfig, StegoINN

    cfg = jscc_config or DeepJSCCConfig(**TINY_JSCC).to_dict()
    c = DeepJSCCConfig(**cfg).latent_channels
    torch.manual_seed(1)
    save_model(Inverter(InverterConfig(channels=c, width=6, blocks=1)), folder / "eve-inversion", jscc_config=cfg)
    save_model(Inverter(InverterConfig(channels=c, width=6, blocks=1)), folder / f"eve-chosen-{scheme}",
               jscc_config=cfg)
    save_model(StegoINN(INNConfig(channels=c, hidden=8, blocks=2)), folder / "eve-surrogate", jscc_config=cfg)
    save_model(Detector(DetectorConfig(channels=c, width=4)), folder / f"eve-detect-{scheme}", jscc_config=cfg)
    return folder


@pytest.fixture(scope="module")
def test_pairs():
    """(hosts, privates): the first 4 test pet photos (resized to 256 px) and test faces from ../shared/data."""
    from gr_stegsem.images import list_images, load_image

    faces, scenes = need_shared("faces", "test"), need_shared("scenes", "test")
    xp = torch.stack([load_image(p) for p in list_images(faces)[:4]])
    xh = torch.stack([load_image(p, size=(256, 256)) for p in list_images(scenes)[:4]])
    return xh, xp


def write_tiny_digital_models(folder: Path, lwe_n: int = 512) -> dict:
    """Tiny random models of issue 13's digital schemes, by their shipped names: deepjscc-bcr12 (the
    public codec, written unless present), lbvq-16 and jscec-n512 (LWE dimension ``lwe_n``); returns
    {"dir": folder}."""
    from gr_stegsem.checkpoint import save_model
    from gr_stegsem.models.deepjscc import DeepJSCC, DeepJSCCConfig
    from gr_stegsem.models.lbvq import LBVQ, LBVQConfig

    cfg = DeepJSCCConfig(**TINY_JSCC)
    torch.manual_seed(2)
    if not (folder / "deepjscc-bcr12.safetensors").is_file():
        save_model(DeepJSCC(cfg), folder / "deepjscc-bcr12")
    save_model(LBVQ(LBVQConfig(**TINY_JSCC)), folder / "lbvq-16")
    save_model(DeepJSCC(cfg), folder / "jscec-n512", lwe={"n": lwe_n, "q": 4093, "p": 16, "sigma": 3.54})
    return {"dir": folder}
