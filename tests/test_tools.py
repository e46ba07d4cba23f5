"""The analysis helpers of tools/gap_check.py (equivalent SNR, Gaussian rate ratio)."""
import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("gap_check", Path(__file__).parents[1] / "tools" / "gap_check.py")
gap_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gap_check)

# a DeepJSCC-like curve: PSNR (private, host) per SNR, with a noisy dip at 3 dB
CURVE = {0.0: (20.0, 19.0), 2.0: (24.0, 22.0), 3.0: (23.5, 22.5), 4.0: (26.0, 25.0), 6.0: (28.0, 27.0)}


def test_equivalent_snr_interpolates_the_curve():
    assert gap_check.equivalent_snr(CURVE, 0, 22.0) == pytest.approx(1.0)
    assert gap_check.equivalent_snr(CURVE, 1, 26.0) == pytest.approx(5.0)
    # the dip is flattened: 24 dB is first reached at 2 dB
    assert gap_check.equivalent_snr(CURVE, 0, 24.0) == pytest.approx(2.0)
    assert gap_check.equivalent_snr(CURVE, 0, 19.0) == -math.inf
    assert gap_check.equivalent_snr(CURVE, 0, 29.0) == math.inf


def test_rate_ratio_is_one_when_one_image_takes_the_whole_channel():
    assert gap_check.rate_ratio(10.0, 10.0, -math.inf) == pytest.approx(1.0)
    assert gap_check.rate_ratio(10.0, -math.inf, 10.0) == pytest.approx(1.0)
    # an even split of a 2-bit channel: each image at log2(1 + s) = 1 bit, s = 1 (0 dB)
    assert gap_check.rate_ratio(10 * math.log10(3), 0.0, 0.0) == pytest.approx(1.0)
    assert gap_check.rate_ratio(10.0, 10.0, 10.0) == pytest.approx(2.0)


@pytest.mark.parametrize("args,needle", [
    (["--inn", "/nonexistent/stego", "--data", "/nonexistent", "--hosts", "/nonexistent"], "model file not found"),
    (["--inn", "models/stego-l3_2", "--data", "/nonexistent", "--hosts", "/nonexistent"], "image folder not found"),
])
def test_gap_check_bad_input_is_one_line(args, needle):
    root = Path(__file__).parents[1]
    r = subprocess.run([sys.executable, str(root / "tools" / "gap_check.py"), *args], capture_output=True, text=True,
                       cwd=root)
    assert r.returncode == 1 and r.stderr.startswith("gap_check: error:") and needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
