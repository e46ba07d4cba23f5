"""Copy the training subset that travels to a GPU server with a small upload limit.

    .venv/bin/python tools/make_train_subset.py OUT [--data ../shared/data]

OUT/faces: 5,000 of faces/train (every 5th file in sorted order, then every 5th from offset 2,
up to 5,000); OUT/scenes: 2,400 of scenes/train (every 3rd, then every 3rd from offset 1);
OUT/ftest, OUT/stest: the first 50 test faces and scenes (for tools/gap_check.py there). This is
the data of the GPU fine-tuning of the shipped steganography models (models/README.md), about 41 MB.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path


def pick(files: list[Path], step: int, first: int, offset: int, total: int) -> list[Path]:
    chosen = files[::step][:first]
    names = {f.name for f in chosen}
    chosen += [f for f in files[offset::step] if f.name not in names][: total - len(chosen)]
    return chosen


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    a = ap.parse_args(argv)
    listing = lambda d: sorted(p for p in (a.data / d).iterdir() if p.is_file())  # noqa: E731
    sets = {"faces": pick(listing("faces/train"), 5, 3800, 2, 5000),
            "scenes": pick(listing("scenes/train"), 3, 2000, 1, 2400),
            "ftest": listing("faces/test")[:50], "stest": listing("scenes/test")[:50]}
    for name, files in sets.items():
        (a.out / name).mkdir(parents=True, exist_ok=True)
        for f in files:
            shutil.copy(f, a.out / name / f.name)
        print(f"{a.out / name}: {len(files)} images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
