"""The evaluation's confidence intervals: Student's t quantile without scipy, against scipy.stats."""
import math

import pytest

from gr_stegsem.evaluate import ci95, t_quantile


@pytest.mark.parametrize("df", [1, 2, 3, 5, 7, 15, 49, 99, 100, 499, 1000, 5000])
def test_t_quantile_matches_scipy(df):
    from scipy.stats import t

    for p in (0.975, 0.9, 0.995):
        assert t_quantile(p, df) == pytest.approx(float(t.ppf(p, df)), rel=1e-10, abs=0)


def test_ci95_and_bad_arguments():
    from scipy.stats import t

    assert ci95(2.0, 1) is None and ci95(float("nan"), 10) is None
    assert ci95(2.0, 100) == pytest.approx(float(t.ppf(0.975, 99)) * 2.0 / math.sqrt(100), rel=1e-12)
    for p, df in ((0.5, 3), (1.0, 3), (0.975, 0)):
        with pytest.raises(ValueError, match="t quantile needs"):
            t_quantile(p, df)
