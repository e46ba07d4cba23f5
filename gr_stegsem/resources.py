"""Where gr-stegsem's shipped files are: the models, the flowgraphs and the GRC block YAML.

Run from a checkout (the editable install, the tests) they are ``models/``, ``flowgraphs/`` and
``grc/`` at the repository root; from an installed wheel they are its package data
``gr_stegsem/_data/<name>/`` (copied there by ``setup.py`` at build time). Each function answers for
the copy of gr_stegsem that is running. :func:`register_grc` writes the GRC folder into GNU Radio's
per-user preferences, where GNU Radio Companion finds it without environment variables.

No GNU Radio import here (the neural code uses :func:`models_dir`).
"""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# the repository root when this gr_stegsem is a checkout's (pyproject.toml beside it); None when installed
CHECKOUT = PACKAGE.parent if (PACKAGE.parent / "pyproject.toml").is_file() else None
DATA = PACKAGE / "_data"  # a wheel's package data
BLOCK_MARKER = "gr_stegsem_image_source.block.yml"  # a folder holding this holds gr-stegsem's GRC blocks


def _folder(name: str) -> Path:
    return CHECKOUT / name if CHECKOUT is not None else DATA / name


def models_dir() -> Path:
    """The shipped models (``*.safetensors`` + ``*.json`` + ``*.csv``, ``README.md``)."""
    return _folder("models")


def flowgraphs_dir() -> Path:
    """The generated flowgraphs (``<name>.grc`` and the ``<name>.py`` that grcc makes of it)."""
    return _folder("flowgraphs")


def grc_dir() -> Path:
    """The GRC block definitions (``gr_stegsem_*.block.yml``)."""
    return _folder("grc")


def python_path() -> Path | None:
    """The folder to put on PYTHONPATH so that another process imports this gr_stegsem: the checkout
    (None when installed: the installing Python finds it by itself)."""
    return CHECKOUT


# --- GNU Radio Companion's block path ----------------------------------------------------------
def grc_prefs_file() -> Path:
    """GNU Radio's per-user preferences: ``$GR_PREFS_PATH/config.conf``, else ``~/.gnuradio/config.conf``
    (as gnuradio.gr.userconf_path())."""
    base = os.environ.get("GR_PREFS_PATH") or str(Path.home() / ".gnuradio")
    return Path(base).expanduser() / "config.conf"


def _ours(entry: str) -> bool:
    """An entry of local_blocks_path that holds some copy of gr-stegsem's blocks."""
    return (Path(os.path.expandvars(entry)).expanduser() / BLOCK_MARKER).is_file()


def register_grc(remove: bool = False, folder: Path | None = None) -> tuple[Path, bool]:
    """Add ``folder`` (default :func:`grc_dir`) to ``local_blocks_path`` in the ``[grc]`` section of
    :func:`grc_prefs_file` (GRC searches it as well as GRC_BLOCKS_PATH and the system folders), or with
    ``remove`` take it out. Idempotent; the file's other lines and the user's other entries are kept,
    and registering drops the entries of other gr-stegsem copies (GRC would load the blocks twice).
    Returns (the preferences file, whether it changed)."""
    folder = str(Path(folder or grc_dir()).resolve())
    if not remove and not (Path(folder) / BLOCK_MARKER).is_file():
        raise FileNotFoundError(f"{folder} holds no gr-stegsem block YAML ({BLOCK_MARKER}); nothing registered")
    conf = grc_prefs_file()
    lines = conf.read_text().splitlines() if conf.is_file() else []
    start = next((i for i, line in enumerate(lines) if line.strip().lower() == "[grc]"), None)
    if start is None:
        if remove:
            return conf, False
        lines += ([""] if lines and lines[-1].strip() else []) + ["[grc]", f"local_blocks_path = {folder}"]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("[")), len(lines))
        key = next((i for i in range(start + 1, end)
                    if lines[i].split("=", 1)[0].strip().lower() == "local_blocks_path" and "=" in lines[i]), None)
        entries = [e.strip() for e in lines[key].split("=", 1)[1].split(os.pathsep)] if key is not None else []
        entries = [e for e in entries if e]
        if remove:
            kept = [e for e in entries if e != folder]
        else:
            kept = [e for e in entries if e == folder or not _ours(e)]
            kept += [] if folder in kept else [folder]
        if kept == entries:
            return conf, False
        line = f"local_blocks_path = {os.pathsep.join(kept)}"
        if key is None:
            lines.insert(start + 1, line)
        else:
            lines[key] = line
    conf.parent.mkdir(parents=True, exist_ok=True)
    tmp = conf.with_name(conf.name + ".stegsem-tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, conf)
    return conf, True
