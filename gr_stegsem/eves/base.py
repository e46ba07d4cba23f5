"""The interface of every eavesdropper (one module per attack, like the scheme zoo).

An Eve is built against one scheme (:class:`~gr_stegsem.schemes.base.Scheme`) and uses only what
her threat model grants (``knows``). She maps received latents (B, C, h, w) — the container or
plain symbols after her own channel at her SNR (Es/N0, dB) — either to images (``output`` =
'image': :meth:`reconstruct`) or to detection scores in [0, 1], the probability that something
is hidden (``output`` = 'score': :meth:`score`).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoint import CheckpointError, load_model, read_info
from ..models.deepjscc import all_finite


class Eve:
    name = "eve"  # the attack's name; evaluation records call it receiver 'eve-<name>'
    title = "eavesdropper"  # display name
    knows = ""  # her threat model, in one sentence
    output = "image"  # 'image' or 'score'
    trainable = False  # has a model of her own, made by 'stegsem train eve <name>'
    kind: str | None = None  # checkpoint kind of that model, loaded into ``self.net`` at construction

    def __init__(self, scheme, models_dir: Path | None = None, **options):
        self.scheme = scheme
        self.models_dir = Path(models_dir) if models_dir else None
        self.options = options
        self.net = self.load_own_model(self.kind) if self.trainable else None

    @classmethod
    def applies(cls, scheme) -> bool:
        """Whether this attack means anything against ``scheme`` (e.g. steganalysis needs a host)."""
        return True

    @classmethod
    def model_name(cls, scheme_name: str) -> str | None:
        """The model file (in the models folder, no suffix) a trainable Eve uses against a scheme."""
        return None

    def reconstruct(self, y: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """Received latents -> Eve's images (B, 3, H, W) in [0, 1]."""
        raise NotImplementedError

    def score(self, y: torch.Tensor) -> torch.Tensor:
        """Received latents -> (B,) probability that a container (hidden image) is present."""
        raise NotImplementedError

    # --- helpers ------------------------------------------------------------------------------
    @staticmethod
    def check(y: torch.Tensor) -> None:
        if not all_finite(y):
            raise ValueError("received symbols contain NaN or Inf values")

    def model_path(self) -> Path:
        return (self.models_dir or _default_dir()) / self.model_name(self.scheme.name)

    def load_own_model(self, kind: str) -> torch.nn.Module:
        """This Eve's trained model against ``self.scheme``: the file's kind and the DeepJSCC (bandwidth
        ratio) it was trained for are checked before use; a missing file names the command that makes it."""
        path = self.model_path()
        if not path.parent.joinpath(f"{path.name}.safetensors").is_file():
            raise CheckpointError(f"no {self.title} model {path}.safetensors: train it with "
                                  f"'stegsem train eve {self.name} --scheme {self.scheme.name} --out {path}'")
        model = load_model(path, kind)
        want = read_info(path).get("jscc_config")
        have = self.scheme.jscc.config.to_dict()
        if want != have:
            raise CheckpointError(f"{path}.safetensors was trained against DeepJSCC {want}, but scheme "
                                  f"{self.scheme.name} uses {have} (another bandwidth ratio or codec)")
        return model.eval().requires_grad_(False).to(getattr(self.scheme, "device", "cpu"))  # the scheme's device


def _default_dir() -> Path:
    from ..system import MODELS_DIR

    return MODELS_DIR
