"""A real package: the wheel carries models, flowgraphs and GRC YAML, and runs outside the checkout;
GRC finds the blocks through the registration in GNU Radio's per-user preferences."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from gr_stegsem import resources
from tests.conftest import ROOT

SYSTEM_PYTHON = Path("/usr/bin/python3")
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "gr_stegsem", "models", "flowgraphs", "grc")


def _env(**extra) -> dict:
    drop = ("PYTHONPATH", "GR_PREFS_PATH", "GRC_BLOCKS_PATH", "VIRTUAL_ENV")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    return dict(env, OMP_NUM_THREADS="1", **extra)


def _run(cmd, cwd, env=None, timeout=300) -> str:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or _env(), capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} -> {r.returncode}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_checkout_resources_are_the_repository_folders():
    assert resources.CHECKOUT == ROOT
    assert (resources.models_dir(), resources.flowgraphs_dir(), resources.grc_dir()) == (
        ROOT / "models", ROOT / "flowgraphs", ROOT / "grc")
    from gr_stegsem import flowgraphs, system

    assert system.MODELS_DIR == ROOT / "models" and flowgraphs.FLOWGRAPHS_DIR == ROOT / "flowgraphs"


@pytest.mark.slow
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    """pip wheel -> a fresh venv (GNU Radio from the system, torch & co. from this venv, gr_stegsem only
    from the wheel) -> its resources, GRC registration, stegsem demo and grc --print, outside the checkout."""
    if not SYSTEM_PYTHON.is_file():
        pytest.skip(f"{SYSTEM_PYTHON} absent: the scratch venv needs the system Python that has GNU Radio")
    if subprocess.run([SYSTEM_PYTHON, "-c", "import gnuradio.gr"], capture_output=True).returncode:
        pytest.skip(f"GNU Radio is not importable from {SYSTEM_PYTHON}")
    src = tmp_path / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    src.mkdir()
    for name in BUILD_INPUTS:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.state.pt"))
        else:
            shutil.copy2(p, src / name)
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index", ".",
          "-w", tmp_path / "dist"], cwd=src)
    (wheel,) = (tmp_path / "dist").glob("gr_stegsem-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, patterns in (("models", ("*.safetensors", "*.json", "*.csv", "README.md")),
                             ("flowgraphs", ("*.py", "*.grc")), ("grc", ("*.block.yml",))):
        shipped = {f"gr_stegsem/_data/{folder}/{p.name}" for pat in patterns for p in (ROOT / folder).glob(pat)}
        assert shipped and shipped <= names, sorted(shipped - names)[:5]
    assert not any(n.endswith(".state.pt") for n in names)

    venv = tmp_path / "venv"
    _run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", venv], cwd=tmp_path)
    py = venv / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], cwd=tmp_path)
    # the dependencies (torch, lpips, ...) from this venv, after the installed gr_stegsem; a .pth line
    # only adds the folder to sys.path, so the editable install's own .pth hook does not run
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path).strip())
    (site / "zz-stegsem-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    work, home = tmp_path / "elsewhere", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    data = site / "gr_stegsem" / "_data"
    where = _run([py, "-c", "import gr_stegsem, gr_stegsem.resources as r; r.register_grc(); "
                  "print(gr_stegsem.__file__, r.models_dir(), r.flowgraphs_dir(), r.grc_dir(), sep='\\n')"],
                 cwd=work, env=_env(HOME=str(home))).split()
    assert where == [str(p) for p in (site / "gr_stegsem" / "__init__.py", data / "models", data / "flowgraphs",
                                      data / "grc")]
    assert f"local_blocks_path = {data / 'grc'}" in (home / ".gnuradio" / "config.conf").read_text()

    stegsem = venv / "bin" / "stegsem"
    out = _run([stegsem, "--threads", "1", "demo", "--size", "64", "--mia-steps", "0", "--attacker", "naive",
                "--out", "demo"], cwd=work)
    assert "| bob/private |" in out and (work / "demo" / "grid.png").is_file()
    printed = _run([stegsem, "grc", "--print", "sim_awgn"], cwd=work)
    assert f"GRC_BLOCKS_PATH={data / 'grc'}" in printed and "PYTHONPATH" not in printed
    assert printed.strip().endswith(str(data / "flowgraphs" / "sim_awgn.grc"))


def _grc_block_paths(home: Path) -> list[str]:
    """The folders GNU Radio Companion searches for block YAML, as GNU Radio itself reads them under HOME."""
    pytest.importorskip("gnuradio.gr")
    code = ("from gnuradio import gr; from gnuradio.grc.core.Config import Config; "
            "print('\\n'.join(Config(gr.version(), prefs=gr.prefs()).block_paths))")
    return _run([sys.executable, "-c", code], cwd=home, env=_env(HOME=str(home))).split()


def test_grc_registration_in_a_fresh_home(tmp_path, monkeypatch, capsys):
    from gr_stegsem.cli import main

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("GR_PREFS_PATH", raising=False)
    assert str(resources.grc_dir()) not in _grc_block_paths(tmp_path)
    assert main(["grc", "--register"]) == 0 and "added" in capsys.readouterr().out
    paths = _grc_block_paths(tmp_path)
    assert str(resources.grc_dir()) in paths
    registered = Path(next(p for p in paths if p == str(resources.grc_dir())))
    yml = sorted(p.name for p in (ROOT / "grc").glob("*.block.yml"))
    assert yml and sorted(p.name for p in registered.glob("*.block.yml")) == yml
    assert "stegsem grc --register" in (ROOT / "tools" / "setup.sh").read_text()  # the set-up registers it


def test_grc_registration_keeps_the_users_lines(tmp_path, monkeypatch, capsys):
    from gr_stegsem.cli import main

    mine, old_copy = tmp_path / "my_blocks", tmp_path / "old_checkout" / "grc"
    mine.mkdir()
    old_copy.mkdir(parents=True)
    (old_copy / resources.BLOCK_MARKER).write_text("id: gr_stegsem_image_source\n")
    conf = tmp_path / "prefs" / "config.conf"
    conf.parent.mkdir()
    before = f"# mine\n[grc]\nxterm_executable = xterm\nlocal_blocks_path = {mine}:{old_copy}\n\n[other]\na = 1\n"
    conf.write_text(before)
    monkeypatch.setenv("GR_PREFS_PATH", str(conf.parent))
    assert main(["grc", "--register"]) == 0
    text = conf.read_text()
    assert f"local_blocks_path = {mine}:{resources.grc_dir()}\n" in text  # the other gr-stegsem copy is replaced
    assert text.startswith("# mine\n[grc]\nxterm_executable = xterm\n") and text.endswith("[other]\na = 1\n")
    capsys.readouterr()
    assert main(["grc", "--register"]) == 0 and conf.read_text() == text  # idempotent
    assert "nothing to change" in capsys.readouterr().out
    assert main(["grc", "--unregister"]) == 0
    assert f"local_blocks_path = {mine}\n" in conf.read_text()
    assert main(["grc", "--register"]) == 0 and main(["grc", "--unregister"]) == 0
    assert f"local_blocks_path = {mine}\n" in conf.read_text() and str(resources.grc_dir()) not in conf.read_text()
