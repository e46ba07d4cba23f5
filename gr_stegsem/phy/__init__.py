"""The over-the-air PHY: burst OFDM that carries analog JSCC symbols as soft values.

Pure numpy (usable without GNU Radio, e.g. to replay a SigMF recording offline):
:mod:`.ofdm` (modulator, streaming receiver), :mod:`.header` (segment header), :mod:`.fec` (CRC-16,
convolutional code, Viterbi), :mod:`.segments` (segmentation, reassembly), :mod:`.sigmf_io`
(recordings). GNU Radio blocks: :mod:`.blocks` (imported on demand: ``from gr_stegsem.phy import blocks``).
"""
from .header import SegmentHeader, segment_plan
from .ofdm import OfdmParams, OfdmReceiver, RxSegment, modulate
from .segments import Frame, FrameInfo, Reassembler, split

__all__ = ["OfdmParams", "OfdmReceiver", "RxSegment", "modulate", "SegmentHeader", "segment_plan", "Frame",
           "FrameInfo", "Reassembler", "split"]
