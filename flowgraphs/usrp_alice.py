#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: Alice on a USRP (OFDM PHY)
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: Alice on a USRP: DeepJSCC + INN channel symbols in OFDM bursts (gr_stegsem.phy) to a UHD sink; see flowgraphs/README.md
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




class usrp_alice(gr.top_block):

    def __init__(self, host='', private='', size=256, jscc_model='', torch_threads=1, inn_model='', key='', secure=1, loop=1, interval=2.0, amplitude=0.25, samp_rate=1e6, center_freq=2.45e9, gain=20.0, device_args='', antenna='TX/RX', seg_len=3680, record=''):
        gr.top_block.__init__(self, "gr-stegsem: Alice on a USRP (OFDM PHY)", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.host = host
        self.private = private
        self.size = size
        self.jscc_model = jscc_model
        self.torch_threads = torch_threads
        self.inn_model = inn_model
        self.key = key
        self.secure = secure
        self.loop = loop
        self.interval = interval
        self.amplitude = amplitude
        self.samp_rate = samp_rate
        self.center_freq = center_freq
        self.gain = gain
        self.device_args = device_args
        self.antenna = antenna
        self.seg_len = seg_len
        self.record = record

        ##################################################
        # Variables
        ##################################################
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16

        ##################################################
        # Blocks
        ##################################################

        self.usrp = uhd.usrp_sink(
            ",".join(("", device_args)),
            uhd.stream_args(
                cpu_format="fc32",
                args='',
                channels=list(range(0,1)),
            ),
            'packet_len',
        )
        self.usrp.set_samp_rate(samp_rate)
        # No synchronization enforced.

        self.usrp.set_center_freq(center_freq, 0)
        self.usrp.set_antenna(antenna, 0)
        self.usrp.set_gain(gain, 0)
        self.tx_rec = stegsem_phy.sigmf_sink((record + '') if record else '', samp_rate, center_freq, 'usrp_alice: what Alice sends to the USRP (TX gain %g dB, antenna %s)' % (gain, antenna), seg_len, amplitude)
        self.private_src = stegsem_blocks.image_source(private, loop=loop != 0, size=size, role='private', interval=interval, done=loop == 0, window=0, ack_timeout=30.0)
        self.host_src = stegsem_blocks.image_source(host, loop=loop != 0, size=size, role='host', interval=interval, done=loop == 0, window=0, ack_timeout=30.0)
        self.alice = stegsem_blocks.alice_tx_phy(jscc_model, inn_model, secure=secure != 0, key_file=key, scheme='', seed=0, timeout=5.0, max_pending=64, threads=torch_threads, seg_len=seg_len, amplitude=amplitude, public_key='', device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.host_src, 'out'), (self.alice, 'host'))
        self.msg_connect((self.private_src, 'out'), (self.alice, 'private'))
        self.connect((self.alice, 0), (self.tx_rec, 0))
        self.connect((self.alice, 0), (self.usrp, 0))


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

    def get_size(self):
        return self.size

    def set_size(self, size):
        self.size = size

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

    def get_secure(self):
        return self.secure

    def set_secure(self, secure):
        self.secure = secure

    def get_loop(self):
        return self.loop

    def set_loop(self, loop):
        self.loop = loop

    def get_interval(self):
        return self.interval

    def set_interval(self, interval):
        self.interval = interval

    def get_amplitude(self):
        return self.amplitude

    def set_amplitude(self, amplitude):
        self.amplitude = amplitude

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

    def get_seg_len(self):
        return self.seg_len

    def set_seg_len(self, seg_len):
        self.seg_len = seg_len

    def get_record(self):
        return self.record

    def set_record(self, record):
        self.record = record

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
    description = 'Alice on a USRP: DeepJSCC + INN channel symbols in OFDM bursts (gr_stegsem.phy) to a UHD sink; see flowgraphs/README.md'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--host", dest="host", type=str, default='',
        help="Set host image file ('' = embedded cat photo) [default=%(default)r]")
    parser.add_argument(
        "--private", dest="private", type=str, default='',
        help="Set private image file ('' = embedded astronaut portrait) [default=%(default)r]")
    parser.add_argument(
        "--size", dest="size", type=intx, default=256,
        help="Set image side in px (0 = file size) [default=%(default)r]")
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
        "--secure", dest="secure", type=intx, default=1,
        help="Set 1 = INN steganography, 0 = plain DeepJSCC (no security) [default=%(default)r]")
    parser.add_argument(
        "--loop", dest="loop", type=intx, default=1,
        help="Set 1 = repeat the images every interval, 0 = send once and end [default=%(default)r]")
    parser.add_argument(
        "--interval", dest="interval", type=eng_float, default=eng_notation.num_to_str(float(2.0)),
        help="Set seconds between image pairs [default=%(default)r]")
    parser.add_argument(
        "--amplitude", dest="amplitude", type=eng_float, default=eng_notation.num_to_str(float(0.25)),
        help="Set scale of the unit-power symbols before the DAC [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(1e6)),
        help="Set sample rate (S/s) [default=%(default)r]")
    parser.add_argument(
        "--center-freq", dest="center_freq", type=eng_float, default=eng_notation.num_to_str(float(2.45e9)),
        help="Set centre frequency (Hz) [default=%(default)r]")
    parser.add_argument(
        "--gain", dest="gain", type=eng_float, default=eng_notation.num_to_str(float(20.0)),
        help="Set gain (dB) [default=%(default)r]")
    parser.add_argument(
        "--device-args", dest="device_args", type=str, default='',
        help="Set UHD device arguments (e.g. 'type=b200' or 'addr=192.168.10.2') [default=%(default)r]")
    parser.add_argument(
        "--antenna", dest="antenna", type=str, default='TX/RX',
        help="Set TX/RX [default=%(default)r]")
    parser.add_argument(
        "--seg-len", dest="seg_len", type=intx, default=3680,
        help="Set PHY segment length (JSCC symbols per burst; 40 OFDM symbols) [default=%(default)r]")
    parser.add_argument(
        "--record", dest="record", type=str, default='',
        help="Set SigMF recording of what Alice sends ('' = none) [default=%(default)r]")
    return parser


def main(top_block_cls=usrp_alice, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(host=options.host, private=options.private, size=options.size, jscc_model=options.jscc_model, torch_threads=options.torch_threads, inn_model=options.inn_model, key=options.key, secure=options.secure, loop=options.loop, interval=options.interval, amplitude=options.amplitude, samp_rate=options.samp_rate, center_freq=options.center_freq, gain=options.gain, device_args=options.device_args, antenna=options.antenna, seg_len=options.seg_len, record=options.record)

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
