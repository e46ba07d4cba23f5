#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: one-USRP loopback (OFDM PHY)
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: One USRP transmits Alice's OFDM bursts on its TX port and receives them on its RX port (an attenuated cable or two antennas); Bob and Eve decode what it hears; see flowgraphs/README.md
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




class usrp_loopback(gr.top_block):

    def __init__(self, host='', private='', size=256, jscc_model='', torch_threads=1, inn_model='', key='', secure=1, lost='zeros', mia_steps=200, attacker='mia', loop=1, interval=2.0, amplitude=0.25, out='out/usrp_loopback', seed=0, samp_rate=1e6, center_freq=2.45e9, tx_gain=40.0, rx_gain=30.0, device_args='', tx_antenna='TX/RX', rx_antenna='RX2', seg_len=3680, equalizer='ummse', record=''):
        gr.top_block.__init__(self, "gr-stegsem: one-USRP loopback (OFDM PHY)", catch_exceptions=True)

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
        self.lost = lost
        self.mia_steps = mia_steps
        self.attacker = attacker
        self.loop = loop
        self.interval = interval
        self.amplitude = amplitude
        self.out = out
        self.seed = seed
        self.samp_rate = samp_rate
        self.center_freq = center_freq
        self.tx_gain = tx_gain
        self.rx_gain = rx_gain
        self.device_args = device_args
        self.tx_antenna = tx_antenna
        self.rx_antenna = rx_antenna
        self.seg_len = seg_len
        self.equalizer = equalizer
        self.record = record

        ##################################################
        # Variables
        ##################################################
        self.zoo_attack = zoo_attack = stegsem_fg.zoo_attack(attacker)
        self.zoo_prefix = zoo_prefix = 'eve_' + (zoo_attack or 'attack')
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16
        self.eve_scheme = eve_scheme = stegsem_fg.eve_scheme(inn_model)
        self.eve_models = eve_models = stegsem_fg.models_folder(inn_model)

        ##################################################
        # Blocks
        ##################################################

        self.usrp_tx = uhd.usrp_sink(
            ",".join(("", device_args)),
            uhd.stream_args(
                cpu_format="fc32",
                args='',
                channels=list(range(0,1)),
            ),
            'packet_len',
        )
        self.usrp_tx.set_samp_rate(samp_rate)
        # No synchronization enforced.

        self.usrp_tx.set_center_freq(center_freq, 0)
        self.usrp_tx.set_antenna(tx_antenna, 0)
        self.usrp_tx.set_gain(tx_gain, 0)
        self.usrp_rx = uhd.usrp_source(
            ",".join(("", device_args)),
            uhd.stream_args(
                cpu_format="fc32",
                args='',
                channels=list(range(0,1)),
            ),
        )
        self.usrp_rx.set_samp_rate(samp_rate)
        # No synchronization enforced.

        self.usrp_rx.set_center_freq(center_freq, 0)
        self.usrp_rx.set_antenna(rx_antenna, 0)
        self.usrp_rx.set_gain(rx_gain, 0)
        self.usrp_rx.set_min_output_buffer(65536)
        self.tx_rec = stegsem_phy.sigmf_sink((record + '_tx') if record else '', samp_rate, center_freq, 'usrp_loopback: what Alice sends (TX gain %g dB, antenna %s)' % (tx_gain, tx_antenna), seg_len, amplitude)
        self.rx_rec = stegsem_phy.sigmf_sink((record + '_rx') if record else '', samp_rate, center_freq, "usrp_loopback: what the USRP hears (RX gain %g dB, antenna %s); bursts annotated by Bob's receiver" % (rx_gain, rx_antenna), seg_len, amplitude)
        self.private_src = stegsem_blocks.image_source(private, loop=loop != 0, size=size, role='private', interval=interval, done=loop == 0, window=0, ack_timeout=30.0)
        self.host_src = stegsem_blocks.image_source(host, loop=loop != 0, size=size, role='host', interval=interval, done=loop == 0, window=0, ack_timeout=30.0)
        self.eve_score_sink = stegsem_blocks.score_sink(out, prefix='eve_detect')
        self.eve_naive_sink = stegsem_blocks.image_sink(out, prefix='eve_naive', reference=private_ref, save=True)
        self.eve_naive_host = stegsem_blocks.image_sink(out, prefix='eve_naive_vs_host', reference=host_ref, save=False)
        self.eve_mia_sink = stegsem_blocks.image_sink(out, prefix='eve_mia', reference=private_ref, save=True)
        self.eve_mia_host = stegsem_blocks.image_sink(out, prefix='eve_mia_vs_host', reference=host_ref, save=False)
        self.eve_attack_sink = stegsem_blocks.image_sink(out, prefix=zoo_prefix, reference=private_ref, save=True)
        self.eve_attack_host = stegsem_blocks.image_sink(out, prefix=zoo_prefix + '_vs_host', reference=host_ref, save=False)
        self.eve = stegsem_blocks.eve_rx_phy(jscc_model, attacker=attacker, scheme=eve_scheme, models_dir=eve_models, mia_steps=mia_steps, lr=0.05, seed=seed, lost='', threshold=0.5, queue_size=2, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=amplitude, max_pending=2, timeout=1.0, drop=0.0, device='cpu')
        self.bob_private_sink = stegsem_blocks.image_sink(out, prefix='bob_private', reference=private_ref, save=True)
        self.bob_host_sink = stegsem_blocks.image_sink(out, prefix='bob_host', reference=host_ref, save=True)
        self.bob = stegsem_blocks.bob_rx_phy(jscc_model, inn_model, lost=lost, seed=seed, secure=secure != 0, key_file=key, scheme='', replay_window=65536, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=amplitude, max_pending=2, timeout=1.0, drop=0.0, device='cpu')
        self.alice = stegsem_blocks.alice_tx_phy(jscc_model, inn_model, secure=secure != 0, key_file=key, scheme='', seed=0, timeout=5.0, max_pending=64, threads=torch_threads, seg_len=seg_len, amplitude=amplitude, public_key='', device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.bob, 'host'), (self.bob_host_sink, 'in'))
        self.msg_connect((self.bob, 'private'), (self.bob_private_sink, 'in'))
        self.msg_connect((self.bob, 'bursts'), (self.rx_rec, 'bursts'))
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_host, 'in'))
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_sink, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_host, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_sink, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_host, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_sink, 'in'))
        self.msg_connect((self.eve, 'score'), (self.eve_score_sink, 'in'))
        self.msg_connect((self.host_src, 'out'), (self.alice, 'host'))
        self.msg_connect((self.private_src, 'out'), (self.alice, 'private'))
        self.connect((self.alice, 0), (self.tx_rec, 0))
        self.connect((self.alice, 0), (self.usrp_tx, 0))
        self.connect((self.usrp_rx, 0), (self.bob, 0))
        self.connect((self.usrp_rx, 0), (self.eve, 0))
        self.connect((self.usrp_rx, 0), (self.rx_rec, 0))


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
        self.set_eve_scheme(stegsem_fg.eve_scheme(self.inn_model))
        self.set_eve_models(stegsem_fg.models_folder(self.inn_model))

    def get_key(self):
        return self.key

    def set_key(self, key):
        self.key = key

    def get_secure(self):
        return self.secure

    def set_secure(self, secure):
        self.secure = secure

    def get_lost(self):
        return self.lost

    def set_lost(self, lost):
        self.lost = lost

    def get_mia_steps(self):
        return self.mia_steps

    def set_mia_steps(self, mia_steps):
        self.mia_steps = mia_steps

    def get_attacker(self):
        return self.attacker

    def set_attacker(self, attacker):
        self.attacker = attacker
        self.set_zoo_attack(stegsem_fg.zoo_attack(self.attacker))

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

    def get_out(self):
        return self.out

    def set_out(self, out):
        self.out = out

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.usrp_tx.set_samp_rate(self.samp_rate)
        self.usrp_rx.set_samp_rate(self.samp_rate)

    def get_center_freq(self):
        return self.center_freq

    def set_center_freq(self, center_freq):
        self.center_freq = center_freq
        self.usrp_tx.set_center_freq(self.center_freq, 0)
        self.usrp_rx.set_center_freq(self.center_freq, 0)

    def get_tx_gain(self):
        return self.tx_gain

    def set_tx_gain(self, tx_gain):
        self.tx_gain = tx_gain
        self.usrp_tx.set_gain(self.tx_gain, 0)

    def get_rx_gain(self):
        return self.rx_gain

    def set_rx_gain(self, rx_gain):
        self.rx_gain = rx_gain
        self.usrp_rx.set_gain(self.rx_gain, 0)

    def get_device_args(self):
        return self.device_args

    def set_device_args(self, device_args):
        self.device_args = device_args

    def get_tx_antenna(self):
        return self.tx_antenna

    def set_tx_antenna(self, tx_antenna):
        self.tx_antenna = tx_antenna
        self.usrp_tx.set_antenna(self.tx_antenna, 0)

    def get_rx_antenna(self):
        return self.rx_antenna

    def set_rx_antenna(self, rx_antenna):
        self.rx_antenna = rx_antenna
        self.usrp_rx.set_antenna(self.rx_antenna, 0)

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

    def get_zoo_attack(self):
        return self.zoo_attack

    def set_zoo_attack(self, zoo_attack):
        self.zoo_attack = zoo_attack
        self.set_zoo_prefix('eve_' + (self.zoo_attack or 'attack'))

    def get_zoo_prefix(self):
        return self.zoo_prefix

    def set_zoo_prefix(self, zoo_prefix):
        self.zoo_prefix = zoo_prefix

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

    def get_eve_models(self):
        return self.eve_models

    def set_eve_models(self, eve_models):
        self.eve_models = eve_models



def argument_parser():
    description = "One USRP transmits Alice's OFDM bursts on its TX port and receives them on its RX port (an attenuated cable or two antennas); Bob and Eve decode what it hears; see flowgraphs/README.md"
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
        "--lost", dest="lost", type=str, default='zeros',
        help="Set Bob's estimate of the lost information (zeros|gaussian) [default=%(default)r]")
    parser.add_argument(
        "--mia-steps", dest="mia_steps", type=intx, default=200,
        help="Set Eve's model inversion steps (0 = off) [default=%(default)r]")
    parser.add_argument(
        "--attacker", dest="attacker", type=str, default='mia',
        help="Set Eve's attacker besides naive decoding (naive|mia|inversion|glassbox|chosen|recover|surrogate|detect) [default=%(default)r]")
    parser.add_argument(
        "--loop", dest="loop", type=intx, default=1,
        help="Set 1 = repeat the images every interval, 0 = send once [default=%(default)r]")
    parser.add_argument(
        "--interval", dest="interval", type=eng_float, default=eng_notation.num_to_str(float(2.0)),
        help="Set seconds between image pairs [default=%(default)r]")
    parser.add_argument(
        "--amplitude", dest="amplitude", type=eng_float, default=eng_notation.num_to_str(float(0.25)),
        help="Set scale of the unit-power symbols before the DAC [default=%(default)r]")
    parser.add_argument(
        "--out", dest="out", type=str, default='out/usrp_loopback',
        help="Set output folder [default=%(default)r]")
    parser.add_argument(
        "--seed", dest="seed", type=intx, default=0,
        help="Set seed [default=%(default)r]")
    parser.add_argument(
        "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(1e6)),
        help="Set sample rate (S/s) [default=%(default)r]")
    parser.add_argument(
        "--center-freq", dest="center_freq", type=eng_float, default=eng_notation.num_to_str(float(2.45e9)),
        help="Set centre frequency (Hz) [default=%(default)r]")
    parser.add_argument(
        "--tx-gain", dest="tx_gain", type=eng_float, default=eng_notation.num_to_str(float(40.0)),
        help="Set TX gain (dB) [default=%(default)r]")
    parser.add_argument(
        "--rx-gain", dest="rx_gain", type=eng_float, default=eng_notation.num_to_str(float(30.0)),
        help="Set RX gain (dB) [default=%(default)r]")
    parser.add_argument(
        "--device-args", dest="device_args", type=str, default='',
        help="Set UHD device arguments (e.g. 'type=b200' or 'addr=192.168.10.2') [default=%(default)r]")
    parser.add_argument(
        "--tx-antenna", dest="tx_antenna", type=str, default='TX/RX',
        help="Set TX antenna port [default=%(default)r]")
    parser.add_argument(
        "--rx-antenna", dest="rx_antenna", type=str, default='RX2',
        help="Set RX antenna port [default=%(default)r]")
    parser.add_argument(
        "--seg-len", dest="seg_len", type=intx, default=3680,
        help="Set PHY segment length (JSCC symbols per burst; 40 OFDM symbols) [default=%(default)r]")
    parser.add_argument(
        "--equalizer", dest="equalizer", type=str, default='ummse',
        help="Set PHY equaliser (ummse|mmse|zf) [default=%(default)r]")
    parser.add_argument(
        "--record", dest="record", type=str, default='',
        help="Set SigMF recording prefix: PREFIX_tx (sent) and PREFIX_rx (heard); '' = none [default=%(default)r]")
    return parser


def main(top_block_cls=usrp_loopback, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(host=options.host, private=options.private, size=options.size, jscc_model=options.jscc_model, torch_threads=options.torch_threads, inn_model=options.inn_model, key=options.key, secure=options.secure, lost=options.lost, mia_steps=options.mia_steps, attacker=options.attacker, loop=options.loop, interval=options.interval, amplitude=options.amplitude, out=options.out, seed=options.seed, samp_rate=options.samp_rate, center_freq=options.center_freq, tx_gain=options.tx_gain, rx_gain=options.rx_gain, device_args=options.device_args, tx_antenna=options.tx_antenna, rx_antenna=options.rx_antenna, seg_len=options.seg_len, equalizer=options.equalizer, record=options.record)

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
