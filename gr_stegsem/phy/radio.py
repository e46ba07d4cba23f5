"""Channel settings for simulating the PHY over ``channels.channel_model`` (no GNU Radio import).

SNR: the PHY's figure of merit is the data symbols' Es/N0 on their carriers (dB), the SNR the
ideal symbol channel (:mod:`gr_stegsem.channel`) uses; :func:`noise_voltage` converts it to
channel_model's noise voltage (total complex noise power v^2 on unit-power samples, GNU Radio 3.10.5).
"""
from __future__ import annotations

import numpy as np

from .. import channel as _channel
from .ofdm import OfdmParams

# 3-tap multipath: powers 0, -10.5, -20 dB at delays 0, 1, 2 samples
MULTIPATH = (1.0, 0.3j, 0.1)


def multipath_taps(enabled: bool = True, params: OfdmParams | None = None) -> list:
    """channel_model taps: the 3-tap profile, or a single unit tap.

    Scaled so that the mean power gain |H(f)|^2 over the PHY's used carriers is 1: the channel
    neither adds nor removes power in the band the PHY occupies, so the received data Es/N0 equals
    the nominal SNR (unit tap energy would leave it 0.17 dB lower for this profile, whose nulls
    sit near the band edges).
    """
    t = np.asarray(MULTIPATH if enabled else (1.0,), complex)
    p = params or OfdmParams()
    gain = np.mean(np.abs(np.fft.fft(t, p.fft_len)[p.used % p.fft_len]) ** 2)
    return [complex(v) for v in t / np.sqrt(gain)]


def noise_voltage(data_snr_db: float, params: OfdmParams | None = None) -> float:
    """channel_model noise voltage for a data Es/N0 of ``data_snr_db`` dB through the PHY."""
    return _channel.noise_voltage((params or OfdmParams()).sample_snr_db(float(data_snr_db)))


def epsilon(ppm: float) -> float:
    """channel_model's timing ratio for a sample-clock offset in ppm."""
    return 1.0 + float(ppm) * 1e-6
