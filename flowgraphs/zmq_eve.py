#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: Eve on a ZeroMQ link
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: Eve: taps Alice's bursts from ZeroMQ (default tcp://127.0.0.1:5555) through her own AWGN channel and attacks them (naive decoding and an attacker of the Eve zoo, default model inversion); publishes her images on tcp://127.0.0.1:5557
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




class zmq_eve(gr.top_block):

    def __init__(self, host='', private='', snr_eve=5.0, jscc_model='', torch_threads=1, mia_steps=200, attacker='mia', scheme='stego-l3_2', out='out/zmq_eve', address='tcp://127.0.0.1:5555', publish='tcp://127.0.0.1:5557', seg_len=3680, equalizer='ummse', freq_offset=0.002, sco_ppm=50.0, multipath=1, record='', seed=0):
        gr.top_block.__init__(self, "gr-stegsem: Eve on a ZeroMQ link", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.host = host
        self.private = private
        self.snr_eve = snr_eve
        self.jscc_model = jscc_model
        self.torch_threads = torch_threads
        self.mia_steps = mia_steps
        self.attacker = attacker
        self.scheme = scheme
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
        self.zoo_attack = zoo_attack = stegsem_fg.zoo_attack(attacker)
        self.zoo_prefix = zoo_prefix = 'eve_' + (zoo_attack or 'attack')
        self.taps = taps = stegsem_phy_radio.multipath_taps(multipath != 0)
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16
        self.eve_scheme = eve_scheme = scheme
        self.eve_noise = eve_noise = stegsem_phy_radio.noise_voltage(snr_eve)
        self.eve_models = eve_models = stegsem_fg.models_folder(jscc_model)
        self.epsilon = epsilon = stegsem_phy_radio.epsilon(sco_ppm)

        ##################################################
        # Blocks
        ##################################################

        self.sub = stegsem_blocks.zmq_iq_source(address=address, timeout=100, hwm=(-1))
        self.sub.set_min_output_buffer(65536)
        self.rx_rec = stegsem_phy.sigmf_sink((record + '') if record else '', 1e6, 0, 'zmq_eve: what Eve hears, through the simulated channel_model (data Es/N0 %g dB, CFO %g cycles/sample, sample-clock offset %g ppm, multipath %s)' % (snr_eve, freq_offset, sco_ppm, 'on' if multipath else 'off'), seg_len, 1.0)
        self.eve_score_sink = stegsem_blocks.score_sink(out, prefix='eve_detect')
        self.eve_pub = zeromq.pub_msg_sink(publish, 100, True)
        self.eve_naive_sink = stegsem_blocks.image_sink(out, prefix='eve_naive', reference=private_ref, save=True)
        self.eve_naive_host = stegsem_blocks.image_sink(out, prefix='eve_naive_vs_host', reference=host_ref, save=False)
        self.eve_mia_sink = stegsem_blocks.image_sink(out, prefix='eve_mia', reference=private_ref, save=True)
        self.eve_mia_host = stegsem_blocks.image_sink(out, prefix='eve_mia_vs_host', reference=host_ref, save=False)
        self.eve_channel = channels.channel_model(
            noise_voltage=eve_noise,
            frequency_offset=freq_offset,
            epsilon=epsilon,
            taps=taps,
            noise_seed=(2 * seed + 2),
            block_tags=False)
        self.eve_attack_sink = stegsem_blocks.image_sink(out, prefix=zoo_prefix, reference=private_ref, save=True)
        self.eve_attack_host = stegsem_blocks.image_sink(out, prefix=zoo_prefix + '_vs_host', reference=host_ref, save=False)
        self.eve = stegsem_blocks.eve_rx_phy(jscc_model, attacker=attacker, scheme=eve_scheme, models_dir=eve_models, mia_steps=mia_steps, lr=0.05, seed=seed, lost='', threshold=0.5, queue_size=2, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=1.0, max_pending=2, timeout=1.0, drop=0.0, device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_host, 'in'))
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_sink, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_host, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_sink, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_host, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_sink, 'in'))
        self.msg_connect((self.eve, 'attack'), (self.eve_pub, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_pub, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_pub, 'in'))
        self.msg_connect((self.eve, 'score'), (self.eve_pub, 'in'))
        self.msg_connect((self.eve, 'score'), (self.eve_score_sink, 'in'))
        self.msg_connect((self.eve, 'bursts'), (self.rx_rec, 'bursts'))
        self.connect((self.eve_channel, 0), (self.eve, 0))
        self.connect((self.eve_channel, 0), (self.rx_rec, 0))
        self.connect((self.sub, 0), (self.eve_channel, 0))


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

    def get_snr_eve(self):
        return self.snr_eve

    def set_snr_eve(self, snr_eve):
        self.snr_eve = snr_eve
        self.set_eve_noise(stegsem_phy_radio.noise_voltage(self.snr_eve))

    def get_jscc_model(self):
        return self.jscc_model

    def set_jscc_model(self, jscc_model):
        self.jscc_model = jscc_model
        self.set_eve_models(stegsem_fg.models_folder(self.jscc_model))

    def get_torch_threads(self):
        return self.torch_threads

    def set_torch_threads(self, torch_threads):
        self.torch_threads = torch_threads

    def get_mia_steps(self):
        return self.mia_steps

    def set_mia_steps(self, mia_steps):
        self.mia_steps = mia_steps

    def get_attacker(self):
        return self.attacker

    def set_attacker(self, attacker):
        self.attacker = attacker
        self.set_zoo_attack(stegsem_fg.zoo_attack(self.attacker))

    def get_scheme(self):
        return self.scheme

    def set_scheme(self, scheme):
        self.scheme = scheme
        self.set_eve_scheme(self.scheme)

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
        self.eve_channel.set_frequency_offset(self.freq_offset)

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

    def get_zoo_attack(self):
        return self.zoo_attack

    def set_zoo_attack(self, zoo_attack):
        self.zoo_attack = zoo_attack
        self.set_zoo_prefix('eve_' + (self.zoo_attack or 'attack'))

    def get_zoo_prefix(self):
        return self.zoo_prefix

    def set_zoo_prefix(self, zoo_prefix):
        self.zoo_prefix = zoo_prefix

    def get_taps(self):
        return self.taps

    def set_taps(self, taps):
        self.taps = taps
        self.eve_channel.set_taps(self.taps)

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

    def get_eve_scheme(self):
        return self.eve_scheme

    def set_eve_scheme(self, eve_scheme):
        self.eve_scheme = eve_scheme

    def get_eve_noise(self):
        return self.eve_noise

    def set_eve_noise(self, eve_noise):
        self.eve_noise = eve_noise
        self.eve_channel.set_noise_voltage(self.eve_noise)

    def get_eve_models(self):
        return self.eve_models

    def set_eve_models(self, eve_models):
        self.eve_models = eve_models

    def get_epsilon(self):
        return self.epsilon

    def set_epsilon(self, epsilon):
        self.epsilon = epsilon
        self.eve_channel.set_timing_offset(self.epsilon)



def argument_parser():
    description = "Eve: taps Alice's bursts from ZeroMQ (default tcp://127.0.0.1:5555) through her own AWGN channel and attacks them (naive decoding and an attacker of the Eve zoo, default model inversion); publishes her images on tcp://127.0.0.1:5557"
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "--host", dest="host", type=str, default='',
        help="Set host image the metrics compare with ('' = embedded cat photo) [default=%(default)r]")
    parser.add_argument(
        "--private", dest="private", type=str, default='',
        help="Set private image the metrics compare with ('' = embedded astronaut) [default=%(default)r]")
    parser.add_argument(
        "--snr-eve", dest="snr_eve", type=eng_float, default=eng_notation.num_to_str(float(5.0)),
        help="Set Eve's data Es/N0 (dB) [default=%(default)r]")
    parser.add_argument(
        "--jscc-model", dest="jscc_model", type=str, default='',
        help="Set DeepJSCC model ('' = models/deepjscc-bcr12) [default=%(default)r]")
    parser.add_argument(
        "--torch-threads", dest="torch_threads", type=intx, default=1,
        help="Set torch CPU threads for the process (0 = torch's default) [default=%(default)r]")
    parser.add_argument(
        "--mia-steps", dest="mia_steps", type=intx, default=200,
        help="Set model inversion steps (0 = off) [default=%(default)r]")
    parser.add_argument(
        "--attacker", dest="attacker", type=str, default='mia',
        help="Set Eve's attacker besides naive decoding (naive|mia|inversion|glassbox|chosen|recover|surrogate|detect) [default=%(default)r]")
    parser.add_argument(
        "--scheme", dest="scheme", type=str, default='stego-l3_2',
        help="Set scheme a trained attacker was made for (its models: jscc_model's folder) [default=%(default)r]")
    parser.add_argument(
        "--out", dest="out", type=str, default='out/zmq_eve',
        help="Set output folder [default=%(default)r]")
    parser.add_argument(
        "--address", dest="address", type=str, default='tcp://127.0.0.1:5555',
        help="Set ZeroMQ address of Alice's PUB (samples) [default=%(default)r]")
    parser.add_argument(
        "--publish", dest="publish", type=str, default='tcp://127.0.0.1:5557',
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
        help="Set seed (channel noise 2*seed+2) [default=%(default)r]")
    return parser


def main(top_block_cls=zmq_eve, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(host=options.host, private=options.private, snr_eve=options.snr_eve, jscc_model=options.jscc_model, torch_threads=options.torch_threads, mia_steps=options.mia_steps, attacker=options.attacker, scheme=options.scheme, out=options.out, address=options.address, publish=options.publish, seg_len=options.seg_len, equalizer=options.equalizer, freq_offset=options.freq_offset, sco_ppm=options.sco_ppm, multipath=options.multipath, record=options.record, seed=options.seed)

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
