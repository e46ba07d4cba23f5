"""Channel settings for simulating the PHY over ``channels.channel_model`` (no GNU Radio import).

SNR: the PHY's figure of merit is the data symbols' Es/N0 on their carriers (dB), the SNR the
ideal symbol channel (:mod:`gr_stegsem.channel`) uses; :func:`noise_voltage` converts it to
channel_model's noise voltage (total complex noise power v^2 on unit-power samples, GNU Radio 3.10.5).
"""
from __future__ import annotations

import numpy as np

from .. import channel as _channel
from .ofdm import OfdmParams

# 3-tap multipath: powers 0, -10.5, -20 dB at delays 0, 1, 2 samples (unit energy)
MULTIPATH = (1.0, 0.3j, 0.1)


def multipath_taps(enabled: bool = True) -> list:
    """channel_model taps: the 3-tap profile normalised to unit energy, or a single unit tap."""
    t = np.asarray(MULTIPATH if enabled else (1.0,), complex)
    return [complex(v) for v in t / np.linalg.norm(t)]


def noise_voltage(data_snr_db: float, params: OfdmParams | None = None) -> float:
    """channel_model noise voltage for a data Es/N0 of ``data_snr_db`` dB through the PHY."""
    return _channel.noise_voltage((params or OfdmParams()).sample_snr_db(float(data_snr_db)))


def epsilon(ppm: float) -> float:
    """channel_model's timing ratio for a sample-clock offset in ppm."""
    return 1.0 + float(ppm) * 1e-6
