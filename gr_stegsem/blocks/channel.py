"""The wireless channel on symbol PDUs (AWGN or Rayleigh block fading, Es/N0 in dB)."""
from __future__ import annotations

import torch

from .. import channel
from ._base import PduBlock
from .pdus import parse_symbol_pdu, symbol_pdu


class symbol_channel(PduBlock):
    """Channel on symbol PDUs: ``in`` -> ``out``, y = z + n (AWGN) or Rayleigh fading with ZF equalisation.

    Noise CN(0, 10^(-snr_db/10)) for unit-power symbols (Es/N0 = ``snr_db`` dB), as
    :func:`gr_stegsem.channel.apply`; meta is carried unchanged, k stays the same.

    Args:
        snr_db: Es/N0 in dB (settable while running).
        kind: 'awgn' or 'rayleigh' (one fade per image).
        seed: seed of the noise generator.
    """

    def __init__(self, snr_db=10.0, kind="awgn", seed=0):
        PduBlock.__init__(self, "stegsem_symbol_channel")
        if kind not in channel.CHANNELS:
            raise ValueError(f"symbol_channel: kind must be one of {', '.join(channel.CHANNELS)}, got {kind!r}")
        self.kind = kind
        self.snr_db = float(snr_db)
        self.generator = torch.Generator().manual_seed(int(seed))
        self._input("in", self._handle)
        self._output("out")

    def set_snr_db(self, snr_db):
        self.snr_db = float(snr_db)

    def _handle(self, msg):
        f = parse_symbol_pdu(msg)
        y = channel.apply(f.symbols, self.snr_db, self.kind, self.generator)
        self._publish("out", symbol_pdu(y, f.frame_id, f.size, f.latent, f.secure, f.role, f.meta))
