#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: Alice on a ZeroMQ link
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: Alice: DeepJSCC + INN steganography of a host/private image pair, OFDM bursts published as raw complex samples on a ZeroMQ PUB socket (default tcp://127.0.0.1:5555); loops with an interval
# GNU Radio version: 3.10.5.1

from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import zeromq
from gr_stegsem import blocks as stegsem_blocks
from gr_stegsem import channel as stegsem_channel
from gr_stegsem import flowgraphs as stegsem_fg




class zmq_alice(gr.top_block):

    def __init__(self, host='', private='', size=256, jscc_model='', torch_threads=1, inn_model='', key='', secure=1, address='tcp://127.0.0.1:5555', loop=1, interval=2.0, hwm=(-1), seg_len=3680):
        gr.top_block.__init__(self, "gr-stegsem: Alice on a ZeroMQ link", catch_exceptions=True)

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
        self.address = address
        self.loop = loop
        self.interval = interval
        self.hwm = hwm
        self.seg_len = seg_len

        ##################################################
        # Variables
        ##################################################
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16

        ##################################################
        # Blocks
        ##################################################

        self.pub = zeromq.pub_sink(gr.sizeof_gr_complex, 1, address, 100, False, hwm, '', True)
        self.private_src = stegsem_blocks.image_source(private, loop=loop != 0, size=size, role='private', interval=interval, done=loop == 0, window=0, ack_timeout=30.0)
        self.host_src = stegsem_blocks.image_source(host, loop=loop != 0, size=size, role='host', interval=interval, done=loop == 0, window=0, ack_timeout=30.0)
        self.alice = stegsem_blocks.alice_tx_phy(jscc_model, inn_model, secure=secure != 0, key_file=key, scheme='', seed=0, timeout=5.0, max_pending=64, threads=torch_threads, seg_len=seg_len, amplitude=1.0, public_key='', device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.host_src, 'out'), (self.alice, 'host'))
        self.msg_connect((self.private_src, 'out'), (self.alice, 'private'))
        self.connect((self.alice, 0), (self.pub, 0))


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

    def get_address(self):
        return self.address

    def set_address(self, address):
        self.address = address

    def get_loop(self):
        return self.loop

    def set_loop(self, loop):
        self.loop = loop

    def get_interval(self):
        return self.interval

    def set_interval(self, interval):
        self.interval = interval

    def get_hwm(self):
        return self.hwm

    def set_hwm(self, hwm):
        self.hwm = hwm

    def get_seg_len(self):
        return self.seg_len

    def set_seg_len(self, seg_len):
        self.seg_len = seg_len

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
    description = 'Alice: DeepJSCC + INN steganography of a host/private image pair, OFDM bursts published as raw complex samples on a ZeroMQ PUB socket (default tcp://127.0.0.1:5555); loops with an interval'
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
        "--address", dest="address", type=str, default='tcp://127.0.0.1:5555',
        help="Set ZeroMQ PUB address Alice binds (samples) [default=%(default)r]")
    parser.add_argument(
        "--loop", dest="loop", type=intx, default=1,
        help="Set 1 = repeat the images every interval, 0 = send once and end [default=%(default)r]")
    parser.add_argument(
        "--interval", dest="interval", type=eng_float, default=eng_notation.num_to_str(float(2.0)),
        help="Set seconds between image pairs [default=%(default)r]")
    parser.add_argument(
        "--hwm", dest="hwm", type=intx, default=(-1),
        help="Set PUB high-water mark in messages (-1 = ZeroMQ default, 1000) [default=%(default)r]")
    parser.add_argument(
        "--seg-len", dest="seg_len", type=intx, default=3680,
        help="Set PHY segment length (JSCC symbols per burst; 40 OFDM symbols) [default=%(default)r]")
    return parser


def main(top_block_cls=zmq_alice, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(host=options.host, private=options.private, size=options.size, jscc_model=options.jscc_model, torch_threads=options.torch_threads, inn_model=options.inn_model, key=options.key, secure=options.secure, address=options.address, loop=options.loop, interval=options.interval, hwm=options.hwm, seg_len=options.seg_len)

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
