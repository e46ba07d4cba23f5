#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: Bob on a USRP (OFDM PHY)
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: Bob on a USRP: UHD source -> OFDM PHY receiver -> INN extraction and decoders (see flowgraphs/README.md)
# GNU Radio version: 3.10.5.1

from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import uhd
import time
from gr_stegsem import blocks as stegsem_blocks
from gr_stegsem import channel as stegsem_channel
from gr_stegsem import flowgraphs as stegsem_fg
from gr_stegsem.phy import blocks as stegsem_phy




class usrp_bob(gr.top_block):

    def __init__(self, host='', private='', jscc_model='', torch_threads=1, inn_model='', key='', lost='zeros', secure=1, out='out/usrp_bob', amplitude=0.25, seed=0, seg_len=3680, equalizer='ummse', record='', samp_rate=1e6, center_freq=2.45e9, gain=30.0, device_args='', antenna='RX2'):
        gr.top_block.__init__(self, "gr-stegsem: Bob on a USRP (OFDM PHY)", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.host = host
        self.private = private
        self.jscc_model = jscc_model
        self.torch_threads = torch_threads
        self.inn_model = inn_model
        self.key = key
        self.lost = lost
        self.secure = secure
        self.out = out
        self.amplitude = amplitude
        self.seed = seed
        self.seg_len = seg_len
        self.equalizer = equalizer
        self.record = record
        self.samp_rate = samp_rate
        self.center_freq = center_freq
        self.gain = gain
        self.device_args = device_args
        self.antenna = antenna

        ##################################################
        # Variables
        ##################################################
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16

        ##################################################
        # Blocks
        ##################################################

        self.usrp = uhd.usrp_source(
            ",".join(("", device_args)),
            uhd.stream_args(
                cpu_format="fc32",
                args='',
                channels=list(range(0,1)),
            ),
        )
        self.usrp.set_samp_rate(samp_rate)
        # No synchronization enforced.

        self.usrp.set_center_freq(center_freq, 0)
        self.usrp.set_antenna(antenna, 0)
        self.usrp.set_gain(gain, 0)
        self.usrp.set_min_output_buffer(65536)
        self.rx_rec = stegsem_phy.sigmf_sink((record + '') if record else '', samp_rate, center_freq, "usrp_bob: what Bob's USRP hears (RX gain %g dB, antenna %s)" % (gain, antenna), seg_len, amplitude)
        self.bob_private_sink = stegsem_blocks.image_sink(out, prefix='bob_private', reference=private_ref, save=True)
        self.bob_host_sink = stegsem_blocks.image_sink(out, prefix='bob_host', reference=host_ref, save=True)
        self.bob = stegsem_blocks.bob_rx_phy(jscc_model, inn_model, lost=lost, seed=seed, secure=secure != 0, key_file=key, scheme='', replay_window=65536, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=amplitude, max_pending=2, timeout=1.0, drop=0.0, device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.bob, 'host'), (self.bob_host_sink, 'in'))
        self.msg_connect((self.bob, 'private'), (self.bob_private_sink, 'in'))
        self.msg_connect((self.bob, 'bursts'), (self.rx_rec, 'bursts'))
        self.connect((self.usrp, 0), (self.bob, 0))
        self.connect((self.usrp, 0), (self.rx_rec, 0))


    def get_host(self):
        return self.host

    def set_host(self, host):
        self.host = host
        self.set_host_ref(stegsem_fg.reference(self.host, 'host'))

    def get_private(self):
        return self.private

    def set_private(self, private):
        self.private = private
        self.set_private_ref(stegsem_fg.reference(self.private, 'private'))

    def get_jscc_model(self):
        return self.jscc_model

    def set_jscc_model(self, jscc_model):
        self.jscc_model = jscc_model

    def get_torch_threads(self):
        return self.torch_threads

    def set_torch_threads(self, torch_threads):
        self.torch_threads = torch_threads

    def get_inn_model(self):
        return self.inn_model

    def set_inn_model(self, inn_model):
        self.inn_model = inn_model

    def get_key(self):
        return self.key

    def set_key(self, key):
        self.key = key

    def get_lost(self):
        return self.lost

    def set_lost(self, lost):
        self.lost = lost

    def get_secure(self):
        return self.secure

    def set_secure(self, secure):
        self.secure = secure

    def get_out(self):
        return self.out

    def set_out(self, out):
        self.out = out

    def get_amplitude(self):
        return self.amplitude

    def set_amplitude(self, amplitude):
        self.amplitude = amplitude

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_seg_len(self):
        return self.seg_len

    def set_seg_len(self, seg_len):
        self.seg_len = seg_len

    def get_equalizer(self):
        return self.equalizer

    def set_equalizer(self, equalizer):
        self.equalizer = equalizer

    def get_record(self):
        return self.record

    def set_record(self, record):
        self.record = record

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.usrp.set_samp_rate(self.samp_rate)

    def get_center_freq(self):
        return self.center_freq

    def set_center_freq(self, center_freq):
        self.center_freq = center_freq
        self.usrp.set_center_freq(self.center_freq, 0)

    def get_gain(self):
        return self.gain

    def set_gain(self, gain):
        self.gain = gain
        self.usrp.set_gain(self.gain, 0)

    def get_device_args(self):
        return self.device_args

    def set_device_args(self, device_args):
        self.device_args = device_args

    def get_antenna(self):
        return self.antenna

    def set_antenna(self, antenna):
        self.antenna = antenna
        self.usrp.set_antenna(self.antenna, 0)

    def get_private_ref(self):
        return self.private_ref

    def set_private_ref(self, private_ref):
        self.private_ref = private_ref

    def get_host_ref(self):
        return self.host_ref

    def set_host_ref(self, host_ref):
        self.host_ref = host_ref

    def get_guard(self):
        return self.guard

    def set_guard(self, guard):
        self.guard = guard



def argument_parser():
    description = 'Bob on a USRP: UHD source -> OFDM PHY receiver -> INN extraction and decoders (see flowgraphs/README.md)'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--host", dest="host", type=str, default='',
        help="Set host image the metrics compare with ('' = embedded cat photo) [default=%(default)r]")
    parser.add_argument(
        "--private", dest="private", type=str, default='',
        help="Set private image the metrics compare with ('' = embedded astronaut) [default=%(default)r]")
    parser.add_argument(
        "--jscc-model", dest="jscc_model", type=str, default='',
        help="Set DeepJSCC model ('' = models/deepjscc-bcr12) [default=%(default)r]")
    parser.add_argument(
        "--torch-threads", dest="torch_threads", type=intx, default=1,
        help="Set torch CPU threads for the process (0 = torch's default) [default=%(default)r]")
    parser.add_argument(
        "--inn-model", dest="inn_model", type=str, default='',
        help="Set steganography INN model ('' = models/stego-l3_2) [default=%(default)r]")
    parser.add_argument(
        "--key", dest="key", type=str, default='',
        help="Set key file of a keyed INN model (stego-keyed-*; '' for the others) [default=%(default)r]")
    parser.add_argument(
        "--lost", dest="lost", type=str, default='zeros',
        help="Set Bob's estimate of the lost information (zeros|gaussian) [default=%(default)r]")
    parser.add_argument(
        "--secure", dest="secure", type=intx, default=1,
        help="Set 1 = INN steganography, 0 = plain DeepJSCC (must match Alice) [default=%(default)r]")
    parser.add_argument(
        "--out", dest="out", type=str, default='out/usrp_bob',
        help="Set output folder [default=%(default)r]")
    parser.add_argument(
        "--amplitude", dest="amplitude", type=eng_float, default=eng_notation.num_to_str(float(0.25)),
        help="Set Alice's transmit scale (the receiver divides by it) [default=%(default)r]")
    parser.add_argument(
        "--seed", dest="seed", type=intx, default=0,
        help="Set seed [default=%(default)r]")
    parser.add_argument(
        "--seg-len", dest="seg_len", type=intx, default=3680,
        help="Set PHY segment length (JSCC symbols per burst; 40 OFDM symbols) [default=%(default)r]")
    parser.add_argument(
        "--equalizer", dest="equalizer", type=str, default='ummse',
        help="Set PHY equaliser (ummse|mmse|zf) [default=%(default)r]")
    parser.add_argument(
        "--record", dest="record", type=str, default='',
        help="Set SigMF recording of what this receiver hears ('' = none) [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(1e6)),
        help="Set sample rate (S/s) [default=%(default)r]")
    parser.add_argument(
        "--center-freq", dest="center_freq", type=eng_float, default=eng_notation.num_to_str(float(2.45e9)),
        help="Set centre frequency (Hz) [default=%(default)r]")
    parser.add_argument(
        "--gain", dest="gain", type=eng_float, default=eng_notation.num_to_str(float(30.0)),
        help="Set gain (dB) [default=%(default)r]")
    parser.add_argument(
        "--device-args", dest="device_args", type=str, default='',
        help="Set UHD device arguments (e.g. 'type=b200' or 'addr=192.168.10.2') [default=%(default)r]")
    parser.add_argument(
        "--antenna", dest="antenna", type=str, default='RX2',
        help="Set RX2 [default=%(default)r]")
    return parser


def main(top_block_cls=usrp_bob, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(host=options.host, private=options.private, jscc_model=options.jscc_model, torch_threads=options.torch_threads, inn_model=options.inn_model, key=options.key, lost=options.lost, secure=options.secure, out=options.out, amplitude=options.amplitude, seed=options.seed, seg_len=options.seg_len, equalizer=options.equalizer, record=options.record, samp_rate=options.samp_rate, center_freq=options.center_freq, gain=options.gain, device_args=options.device_args, antenna=options.antenna)

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()

        sys.exit(0)

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    tb.start()

    tb.wait()


if __name__ == '__main__':
    main()
