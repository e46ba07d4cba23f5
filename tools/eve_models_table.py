#!/usr/bin/env python3
"""The model card's table of the shipped eavesdroppers' models, read from their JSON and weights:
kind, parameters, the scheme each was trained against, steps, wall time and recipe.

    .venv/bin/python tools/eve_models_table.py [MODELS_DIR]
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gr_stegsem.checkpoint import load_model  # noqa: E402


def main(argv: list[str]) -> int:
    d = Path(argv[0]) if argv else ROOT / "models"
    print("| file | kind | parameters | against | steps | wall time | crop / batch / lr | init |")
    print("|---|---|---|---|---|---|---|---|")
    for meta in sorted(d.glob("eve-*.json")):
        info = json.loads(meta.read_text())
        n = sum(p.numel() for p in load_model(meta.with_suffix("")).parameters())
        against = {"inversion": "any (public encoder only)", None: "any stego-* (her own INN)"}.get(
            info.get("eve"), info.get("scheme", "–"))
        init = Path(info["init"]).name if info.get("init") else "–"
        print(f"| `{meta.stem}` | {info['kind']} | {n:,} | {against} | {info.get('steps', 0):,} | "
              f"{info.get('wall_time_s', 0) / 60:.1f} min | {info['crop']} / {info['batch']} / {info['lr']:g} | {init} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
