import os
import pickle

import numpy as np
import pytest
import torch
from PIL import Image

from gr_stegsem.checkpoint import CheckpointError, load_model, load_state, save_model, save_state
from gr_stegsem.images import list_images, load_image
from gr_stegsem.models.deepjscc import DeepJSCC, DeepJSCCConfig
from gr_stegsem.models.inn import INNConfig, StegoINN
from gr_stegsem.system import StegoSystem


def test_round_trip(tmp_path):
    m = DeepJSCC(DeepJSCCConfig(width1=8, width=16))
    save_model(m, tmp_path / "m", steps=3)
    back = load_model(tmp_path / "m.safetensors", "deepjscc")
    assert back.config == m.config
    for a, b in zip(m.state_dict().values(), back.state_dict().values()):
        torch.testing.assert_close(a, b)
    inn = StegoINN(INNConfig(hidden=8, blocks=2))
    save_model(inn, tmp_path / "i")
    assert load_model(tmp_path / "i").config == inn.config


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_state_that_would_execute_code_is_refused(tmp_path):
    marker = tmp_path / "executed"
    evil = tmp_path / "evil.state.pt"
    with open(evil, "wb") as f:
        pickle.dump({"model": _Payload(marker)}, f)
    with pytest.raises(CheckpointError, match="refused"):
        load_state(evil)
    assert not marker.exists()
    # the same file offered as a model: only safetensors are accepted
    with pytest.raises(CheckpointError, match="only .safetensors"):
        load_model(evil)
    assert not marker.exists()


def test_state_round_trip(tmp_path):
    st = {"model": DeepJSCC().state_dict(), "step": 5}
    save_state(st, tmp_path / "s.pt")
    assert load_state(tmp_path / "s.pt")["step"] == 5


def test_wrong_kind_missing_and_corrupt(tmp_path):
    save_model(DeepJSCC(), tmp_path / "j")
    with pytest.raises(CheckpointError, match="not a stego-inn"):
        load_model(tmp_path / "j", "stego-inn")
    with pytest.raises(CheckpointError, match="not found"):
        load_model(tmp_path / "nothing")
    (tmp_path / "j.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot load"):
        load_model(tmp_path / "j")


def test_wrong_checkpoint_for_the_ratio(tmp_path):
    save_model(DeepJSCC(DeepJSCCConfig(bcr="1/6")), tmp_path / "j6")
    save_model(StegoINN(INNConfig(channels=8)), tmp_path / "inn8")
    with pytest.raises(CheckpointError, match="8-channel latents"):
        StegoSystem.load(tmp_path / "j6", tmp_path / "inn8")


def test_non_image_grayscale_and_empty_folder(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(ValueError, match="not a readable image"):
        load_image(tmp_path / "notes.png")
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "gray.png")
    with pytest.raises(ValueError, match="expected an RGB image"):
        load_image(tmp_path / "gray.png")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no JPEG/PNG"):
        list_images(empty)
    with pytest.raises(FileNotFoundError, match="not found"):
        list_images(tmp_path / "missing")
