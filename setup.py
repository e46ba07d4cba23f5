"""Build hook: a wheel (``pip install .``) carries the shipped models, flowgraphs and GRC block YAML
as package data, ``gr_stegsem/_data/{models,flowgraphs,grc}/``.

The checkout keeps them at the repository root, where the editable install and the tests use them;
:mod:`gr_stegsem.resources` finds whichever copy belongs to the running gr_stegsem. The project's
metadata is in pyproject.toml.
"""
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
DATA = {  # repository folder: the files of it that ship (training checkpoints *.state.pt do not)
    "models": ("*.safetensors", "*.json", "*.csv", "README.md"),
    "flowgraphs": ("*.py", "*.grc", "README.md"),
    "grc": ("*.yml",),
}


class build_py_with_data(build_py):
    """build_py, then a fresh copy of :data:`DATA` into the build's gr_stegsem/_data/ (not for an
    editable install, which reads the checkout's folders)."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        dest = Path(self.build_lib) / "gr_stegsem" / "_data"
        shutil.rmtree(dest, ignore_errors=True)  # no stale files from an earlier build
        for folder, patterns in DATA.items():
            files = sorted({f for pattern in patterns for f in (HERE / folder).glob(pattern) if f.is_file()})
            if not files:
                raise SystemExit(f"setup.py: no {'/'.join(patterns)} files in {HERE / folder}")
            (dest / folder).mkdir(parents=True)
            for f in files:
                shutil.copy2(f, dest / folder / f.name)


setup(cmdclass={"build_py": build_py_with_data})
