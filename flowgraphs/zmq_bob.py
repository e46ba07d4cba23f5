#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: Bob on a ZeroMQ link
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: Bob: receives Alice's bursts from ZeroMQ (default tcp://127.0.0.1:5555) through his own AWGN channel, extracts and decodes host and private images; publishes them on tcp://127.0.0.1:5556
# GNU Radio version: 3.10.5.1

from gnuradio import channels
from gnuradio.filter import firdes
from gnuradio import gr
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
from gr_stegsem.phy import blocks as stegsem_phy
from gr_stegsem.phy import radio as stegsem_phy_radio




class zmq_bob(gr.top_block):

    def __init__(self, host='', private='', snr_bob=10.0, jscc_model='', torch_threads=1, inn_model='', key='', lost='zeros', secure=1, out='out/zmq_bob', address='tcp://127.0.0.1:5555', publish='tcp://127.0.0.1:5556', seg_len=3680, equalizer='ummse', freq_offset=0.002, sco_ppm=50.0, multipath=1, record='', seed=0):
        gr.top_block.__init__(self, "gr-stegsem: Bob on a ZeroMQ link", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.host = host
        self.private = private
        self.snr_bob = snr_bob
        self.jscc_model = jscc_model
        self.torch_threads = torch_threads
        self.inn_model = inn_model
        self.key = key
        self.lost = lost
        self.secure = secure
        self.out = out
        self.address = address
        self.publish = publish
        self.seg_len = seg_len
        self.equalizer = equalizer
        self.freq_offset = freq_offset
        self.sco_ppm = sco_ppm
        self.multipath = multipath
        self.record = record
        self.seed = seed

        ##################################################
        # Variables
        ##################################################
        self.taps = taps = stegsem_phy_radio.multipath_taps(multipath != 0)
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16
        self.epsilon = epsilon = stegsem_phy_radio.epsilon(sco_ppm)
        self.bob_noise = bob_noise = stegsem_phy_radio.noise_voltage(snr_bob)

        ##################################################
        # Blocks
        ##################################################

        self.sub = stegsem_blocks.zmq_iq_source(address=address, timeout=100, hwm=(-1))
        self.sub.set_min_output_buffer(65536)
        self.rx_rec = stegsem_phy.sigmf_sink((record + '') if record else '', 1e6, 0, 'zmq_bob: what Bob hears, through the simulated channel_model (data Es/N0 %g dB, CFO %g cycles/sample, sample-clock offset %g ppm, multipath %s)' % (snr_bob, freq_offset, sco_ppm, 'on' if multipath else 'off'), seg_len, 1.0)
        self.bob_pub = zeromq.pub_msg_sink(publish, 100, True)
        self.bob_private_sink = stegsem_blocks.image_sink(out, prefix='bob_private', reference=private_ref, save=True)
        self.bob_host_sink = stegsem_blocks.image_sink(out, prefix='bob_host', reference=host_ref, save=True)
        self.bob_channel = channels.channel_model(
            noise_voltage=bob_noise,
            frequency_offset=freq_offset,
            epsilon=epsilon,
            taps=taps,
            noise_seed=(2 * seed + 1),
            block_tags=False)
        self.bob = stegsem_blocks.bob_rx_phy(jscc_model, inn_model, lost=lost, seed=seed, secure=secure != 0, key_file=key, scheme='', replay_window=65536, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=1.0, max_pending=2, timeout=1.0, drop=0.0, device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.bob, 'host'), (self.bob_host_sink, 'in'))
        self.msg_connect((self.bob, 'private'), (self.bob_private_sink, 'in'))
        self.msg_connect((self.bob, 'private'), (self.bob_pub, 'in'))
        self.msg_connect((self.bob, 'host'), (self.bob_pub, 'in'))
        self.msg_connect((self.bob, 'bursts'), (self.rx_rec, 'bursts'))
        self.connect((self.bob_channel, 0), (self.bob, 0))
        self.connect((self.bob_channel, 0), (self.rx_rec, 0))
        self.connect((self.sub, 0), (self.bob_channel, 0))


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

    def get_snr_bob(self):
        return self.snr_bob

    def set_snr_bob(self, snr_bob):
        self.snr_bob = snr_bob
        self.set_bob_noise(stegsem_phy_radio.noise_voltage(self.snr_bob))

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

    def get_address(self):
        return self.address

    def set_address(self, address):
        self.address = address

    def get_publish(self):
        return self.publish

    def set_publish(self, publish):
        self.publish = publish

    def get_seg_len(self):
        return self.seg_len

    def set_seg_len(self, seg_len):
        self.seg_len = seg_len

    def get_equalizer(self):
        return self.equalizer

    def set_equalizer(self, equalizer):
        self.equalizer = equalizer

    def get_freq_offset(self):
        return self.freq_offset

    def set_freq_offset(self, freq_offset):
        self.freq_offset = freq_offset
        self.bob_channel.set_frequency_offset(self.freq_offset)

    def get_sco_ppm(self):
        return self.sco_ppm

    def set_sco_ppm(self, sco_ppm):
        self.sco_ppm = sco_ppm
        self.set_epsilon(stegsem_phy_radio.epsilon(self.sco_ppm))

    def get_multipath(self):
        return self.multipath

    def set_multipath(self, multipath):
        self.multipath = multipath
        self.set_taps(stegsem_phy_radio.multipath_taps(self.multipath != 0))

    def get_record(self):
        return self.record

    def set_record(self, record):
        self.record = record

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_taps(self):
        return self.taps

    def set_taps(self, taps):
        self.taps = taps
        self.bob_channel.set_taps(self.taps)

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

    def get_epsilon(self):
        return self.epsilon

    def set_epsilon(self, epsilon):
        self.epsilon = epsilon
        self.bob_channel.set_timing_offset(self.epsilon)

    def get_bob_noise(self):
        return self.bob_noise

    def set_bob_noise(self, bob_noise):
        self.bob_noise = bob_noise
        self.bob_channel.set_noise_voltage(self.bob_noise)



def argument_parser():
    description = "Bob: receives Alice's bursts from ZeroMQ (default tcp://127.0.0.1:5555) through his own AWGN channel, extracts and decodes host and private images; publishes them on tcp://127.0.0.1:5556"
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--host", dest="host", type=str, default='',
        help="Set host image the metrics compare with ('' = embedded cat photo) [default=%(default)r]")
    parser.add_argument(
        "--private", dest="private", type=str, default='',
        help="Set private image the metrics compare with ('' = embedded astronaut) [default=%(default)r]")
    parser.add_argument(
        "--snr-bob", dest="snr_bob", type=eng_float, default=eng_notation.num_to_str(float(10.0)),
        help="Set Bob's data Es/N0 (dB) [default=%(default)r]")
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
        "--out", dest="out", type=str, default='out/zmq_bob',
        help="Set output folder [default=%(default)r]")
    parser.add_argument(
        "--address", dest="address", type=str, default='tcp://127.0.0.1:5555',
        help="Set ZeroMQ address of Alice's PUB (samples) [default=%(default)r]")
    parser.add_argument(
        "--publish", dest="publish", type=str, default='tcp://127.0.0.1:5556',
        help="Set ZeroMQ PUB address for the decoded images (bind) [default=%(default)r]")
    parser.add_argument(
        "--seg-len", dest="seg_len", type=intx, default=3680,
        help="Set PHY segment length (JSCC symbols per burst; 40 OFDM symbols) [default=%(default)r]")
    parser.add_argument(
        "--equalizer", dest="equalizer", type=str, default='ummse',
        help="Set PHY equaliser (ummse|mmse|zf) [default=%(default)r]")
    parser.add_argument(
        "--freq-offset", dest="freq_offset", type=eng_float, default=eng_notation.num_to_str(float(0.002)),
        help="Set carrier frequency offset (cycles/sample) [default=%(default)r]")
    parser.add_argument(
        "--sco-ppm", dest="sco_ppm", type=eng_float, default=eng_notation.num_to_str(float(50.0)),
        help="Set sample-clock offset (ppm) [default=%(default)r]")
    parser.add_argument(
        "--multipath", dest="multipath", type=intx, default=1,
        help="Set 1 = 3-tap multipath (0, -10.5, -20 dB), 0 = flat [default=%(default)r]")
    parser.add_argument(
        "--record", dest="record", type=str, default='',
        help="Set SigMF recording of what this receiver hears ('' = none) [default=%(default)r]")
    parser.add_argument(
        "--seed", dest="seed", type=intx, default=0,
        help="Set seed (channel noise 2*seed+1) [default=%(default)r]")
    return parser


def main(top_block_cls=zmq_bob, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(host=options.host, private=options.private, snr_bob=options.snr_bob, jscc_model=options.jscc_model, torch_threads=options.torch_threads, inn_model=options.inn_model, key=options.key, lost=options.lost, secure=options.secure, out=options.out, address=options.address, publish=options.publish, seg_len=options.seg_len, equalizer=options.equalizer, freq_offset=options.freq_offset, sco_ppm=options.sco_ppm, multipath=options.multipath, record=options.record, seed=options.seed)

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
