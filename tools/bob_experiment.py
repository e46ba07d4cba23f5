"""What the experiments on Bob's side (try_bob_decoder.py, try_lost_predictor.py) share: their command line
(models, training and test folders, time budget, device); and the test pairs they and gap_check.py report on."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gr_stegsem.evaluate import EvalSettings, load_pairs  # noqa: E402
from gr_stegsem.system import default_model  # noqa: E402


def parser(doc: str, minutes: float, batch: int, lr: float) -> argparse.ArgumentParser:
    """The common options; each script adds its own and passes its defaults for the budget (minutes), batch, lr."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--jscc", default=str(default_model("deepjscc-bcr12")))
    ap.add_argument("--inn", default=str(default_model("stego-l3_2")))
    ap.add_argument("--private", required=True, help="training private images")
    ap.add_argument("--hosts", required=True, help="training host images")
    ap.add_argument("--test-private", required=True)
    ap.add_argument("--test-hosts", required=True)
    ap.add_argument("--limit", type=int, default=50, help="test pairs")
    ap.add_argument("--minutes", type=float, default=minutes, help="training budget (wall clock)")
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--lr", type=float, default=lr)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return ap


def test_pairs(private, hosts, limit: int, dev: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(private, host) batches on ``dev``: the first ``limit`` images of ``private``, each with a host
    resized to its size (``evaluate.load_pairs``)."""
    pairs = load_pairs(EvalSettings(data=Path(private), hosts=Path(hosts), out=Path("."), limit=limit))
    return torch.stack([p[0] for p in pairs]).to(dev), torch.stack([p[1] for p in pairs]).to(dev)
