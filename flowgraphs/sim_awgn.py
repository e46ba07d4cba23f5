#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: simulated AWGN link (Alice, Bob, Eve)
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: Secure semantic image transmission over simulated AWGN channels: Alice (DeepJSCC + INN steganography) to Bob and to the eavesdropper Eve (naive decoding and an attacker, default model inversion); ends when the images are done
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
from gnuradio import gr, pdu
from gr_stegsem import blocks as stegsem_blocks
from gr_stegsem import channel as stegsem_channel
from gr_stegsem import flowgraphs as stegsem_fg


def snipfcn_report_losses(self):
    stegsem_fg.exit_on_loss(self)


def snippets_main_after_stop(tb):
    snipfcn_report_losses(tb)


class sim_awgn(gr.top_block):

    def __init__(self, host='', private='', size=256, snr_bob=10.0, snr_eve=5.0, jscc_model='', torch_threads=1, inn_model='', key='', lost='zeros', secure=1, mia_steps=200, attacker='mia', out='out/sim_awgn', freq_offset=0.0, epsilon=1.0, seed=0, scheme='', public_key=''):
        gr.top_block.__init__(self, "gr-stegsem: simulated AWGN link (Alice, Bob, Eve)", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.host = host
        self.private = private
        self.size = size
        self.snr_bob = snr_bob
        self.snr_eve = snr_eve
        self.jscc_model = jscc_model
        self.torch_threads = torch_threads
        self.inn_model = inn_model
        self.key = key
        self.lost = lost
        self.secure = secure
        self.mia_steps = mia_steps
        self.attacker = attacker
        self.out = out
        self.freq_offset = freq_offset
        self.epsilon = epsilon
        self.seed = seed
        self.scheme = scheme
        self.public_key = public_key

        ##################################################
        # Variables
        ##################################################
        self.zoo_attack = zoo_attack = stegsem_fg.zoo_attack(attacker)
        self.guard = guard = 16
        self.zoo_prefix = zoo_prefix = 'eve_' + (zoo_attack or 'attack')
        self.taps = taps = [1.0 + 0.0j]
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.in_flight = in_flight = 4
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.eve_scheme = eve_scheme = scheme or stegsem_fg.eve_scheme(inn_model)
        self.eve_noise = eve_noise = stegsem_channel.noise_voltage(snr_eve)
        self.eve_models = eve_models = stegsem_fg.models_folder(inn_model)
        self.burst_len = burst_len = stegsem_fg.burst_samples(jscc_model, size, guard, host, private)
        self.bob_noise = bob_noise = stegsem_channel.noise_voltage(snr_bob)

        ##################################################
        # Blocks
        ##################################################

        self.to_stream = pdu.pdu_to_tagged_stream(gr.types.complex_t, 'packet_len')
        self.to_stream.set_min_output_buffer((2 * burst_len))
        self.private_src = stegsem_blocks.image_source(private, loop=False, size=size, role='private', interval=0.0, done=True, window=in_flight, ack_timeout=30.0)
        self.host_src = stegsem_blocks.image_source(host, loop=False, size=size, role='host', interval=0.0, done=True, window=in_flight, ack_timeout=30.0)
        self.framer = stegsem_blocks.burst_framer(guard, max_len=burst_len)
        self.eve_score_sink = stegsem_blocks.score_sink(out, prefix='eve_detect')
        self.eve_rx = stegsem_blocks.burst_to_pdu((-3), max_len=16777216)
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
        self.eve = stegsem_blocks.eve_rx(jscc_model, attacker=attacker, scheme=eve_scheme, models_dir=eve_models, mia_steps=mia_steps, lr=0.05, seed=seed, lost='', threshold=0.5, queue_size=64, threads=torch_threads, device='cpu')
        self.bob_rx = stegsem_blocks.burst_to_pdu((-3), max_len=16777216)
        self.bob_private_sink = stegsem_blocks.image_sink(out, prefix='bob_private', reference=private_ref, save=True)
        self.bob_host_sink = stegsem_blocks.image_sink(out, prefix='bob_host', reference=host_ref, save=True)
        self.bob_channel = channels.channel_model(
            noise_voltage=bob_noise,
            frequency_offset=freq_offset,
            epsilon=epsilon,
            taps=taps,
            noise_seed=(2 * seed + 1),
            block_tags=False)
        self.bob = stegsem_blocks.bob_rx(jscc_model, inn_model, lost=lost, seed=seed, secure=secure != 0, key_file=key, scheme=scheme, replay_window=65536, threads=torch_threads, device='cpu')
        self.alice = stegsem_blocks.alice_tx(jscc_model, inn_model, secure=secure != 0, key_file=key, scheme=scheme, seed=seed, timeout=5.0, max_pending=64, threads=torch_threads, public_key=public_key, device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.alice, 'out'), (self.framer, 'in'))
        self.msg_connect((self.bob, 'host'), (self.bob_host_sink, 'in'))
        self.msg_connect((self.bob, 'private'), (self.bob_private_sink, 'in'))
        self.msg_connect((self.bob_private_sink, 'done'), (self.host_src, 'ack'))
        self.msg_connect((self.bob_private_sink, 'done'), (self.private_src, 'ack'))
        self.msg_connect((self.bob_rx, 'pdus'), (self.bob, 'in'))
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_host, 'in'))
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_sink, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_host, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_sink, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_host, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_sink, 'in'))
        self.msg_connect((self.eve, 'score'), (self.eve_score_sink, 'in'))
        self.msg_connect((self.eve_rx, 'pdus'), (self.eve, 'in'))
        self.msg_connect((self.framer, 'out'), (self.to_stream, 'pdus'))
        self.msg_connect((self.host_src, 'out'), (self.alice, 'host'))
        self.msg_connect((self.private_src, 'out'), (self.alice, 'private'))
        self.connect((self.bob_channel, 0), (self.bob_rx, 0))
        self.connect((self.eve_channel, 0), (self.eve_rx, 0))
        self.connect((self.to_stream, 0), (self.bob_channel, 0))
        self.connect((self.to_stream, 0), (self.eve_channel, 0))


    def get_host(self):
        return self.host

    def set_host(self, host):
        self.host = host
        self.set_host_ref(stegsem_fg.reference(self.host, 'host'))
        self.set_burst_len(stegsem_fg.burst_samples(self.jscc_model, self.size, self.guard, self.host, self.private))

    def get_private(self):
        return self.private

    def set_private(self, private):
        self.private = private
        self.set_private_ref(stegsem_fg.reference(self.private, 'private'))
        self.set_burst_len(stegsem_fg.burst_samples(self.jscc_model, self.size, self.guard, self.host, self.private))

    def get_size(self):
        return self.size

    def set_size(self, size):
        self.size = size
        self.set_burst_len(stegsem_fg.burst_samples(self.jscc_model, self.size, self.guard, self.host, self.private))

    def get_snr_bob(self):
        return self.snr_bob

    def set_snr_bob(self, snr_bob):
        self.snr_bob = snr_bob
        self.set_bob_noise(stegsem_channel.noise_voltage(self.snr_bob))

    def get_snr_eve(self):
        return self.snr_eve

    def set_snr_eve(self, snr_eve):
        self.snr_eve = snr_eve
        self.set_eve_noise(stegsem_channel.noise_voltage(self.snr_eve))

    def get_jscc_model(self):
        return self.jscc_model

    def set_jscc_model(self, jscc_model):
        self.jscc_model = jscc_model
        self.set_burst_len(stegsem_fg.burst_samples(self.jscc_model, self.size, self.guard, self.host, self.private))

    def get_torch_threads(self):
        return self.torch_threads

    def set_torch_threads(self, torch_threads):
        self.torch_threads = torch_threads

    def get_inn_model(self):
        return self.inn_model

    def set_inn_model(self, inn_model):
        self.inn_model = inn_model
        self.set_eve_scheme(self.scheme or stegsem_fg.eve_scheme(self.inn_model))
        self.set_eve_models(stegsem_fg.models_folder(self.inn_model))

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

    def get_mia_steps(self):
        return self.mia_steps

    def set_mia_steps(self, mia_steps):
        self.mia_steps = mia_steps

    def get_attacker(self):
        return self.attacker

    def set_attacker(self, attacker):
        self.attacker = attacker
        self.set_zoo_attack(stegsem_fg.zoo_attack(self.attacker))

    def get_out(self):
        return self.out

    def set_out(self, out):
        self.out = out

    def get_freq_offset(self):
        return self.freq_offset

    def set_freq_offset(self, freq_offset):
        self.freq_offset = freq_offset
        self.bob_channel.set_frequency_offset(self.freq_offset)
        self.eve_channel.set_frequency_offset(self.freq_offset)

    def get_epsilon(self):
        return self.epsilon

    def set_epsilon(self, epsilon):
        self.epsilon = epsilon
        self.bob_channel.set_timing_offset(self.epsilon)
        self.eve_channel.set_timing_offset(self.epsilon)

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_scheme(self):
        return self.scheme

    def set_scheme(self, scheme):
        self.scheme = scheme
        self.set_eve_scheme(self.scheme or stegsem_fg.eve_scheme(self.inn_model))

    def get_public_key(self):
        return self.public_key

    def set_public_key(self, public_key):
        self.public_key = public_key

    def get_zoo_attack(self):
        return self.zoo_attack

    def set_zoo_attack(self, zoo_attack):
        self.zoo_attack = zoo_attack
        self.set_zoo_prefix('eve_' + (self.zoo_attack or 'attack'))

    def get_guard(self):
        return self.guard

    def set_guard(self, guard):
        self.guard = guard
        self.set_burst_len(stegsem_fg.burst_samples(self.jscc_model, self.size, self.guard, self.host, self.private))

    def get_zoo_prefix(self):
        return self.zoo_prefix

    def set_zoo_prefix(self, zoo_prefix):
        self.zoo_prefix = zoo_prefix

    def get_taps(self):
        return self.taps

    def set_taps(self, taps):
        self.taps = taps
        self.bob_channel.set_taps(self.taps)
        self.eve_channel.set_taps(self.taps)

    def get_private_ref(self):
        return self.private_ref

    def set_private_ref(self, private_ref):
        self.private_ref = private_ref

    def get_in_flight(self):
        return self.in_flight

    def set_in_flight(self, in_flight):
        self.in_flight = in_flight

    def get_host_ref(self):
        return self.host_ref

    def set_host_ref(self, host_ref):
        self.host_ref = host_ref

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

    def get_burst_len(self):
        return self.burst_len

    def set_burst_len(self, burst_len):
        self.burst_len = burst_len

    def get_bob_noise(self):
        return self.bob_noise

    def set_bob_noise(self, bob_noise):
        self.bob_noise = bob_noise
        self.bob_channel.set_noise_voltage(self.bob_noise)



def argument_parser():
    description = 'Secure semantic image transmission over simulated AWGN channels: Alice (DeepJSCC + INN steganography) to Bob and to the eavesdropper Eve (naive decoding and an attacker, default model inversion); ends when the images are done'
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
        "--snr-bob", dest="snr_bob", type=eng_float, default=eng_notation.num_to_str(float(10.0)),
        help="Set Bob's Es/N0 (dB) [default=%(default)r]")
    parser.add_argument(
        "--snr-eve", dest="snr_eve", type=eng_float, default=eng_notation.num_to_str(float(5.0)),
        help="Set Eve's Es/N0 (dB) [default=%(default)r]")
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
        help="Set 1 = INN steganography, 0 = plain DeepJSCC (no security) [default=%(default)r]")
    parser.add_argument(
        "--mia-steps", dest="mia_steps", type=intx, default=200,
        help="Set Eve's model inversion steps (0 = off) [default=%(default)r]")
    parser.add_argument(
        "--attacker", dest="attacker", type=str, default='mia',
        help="Set Eve's attacker besides naive decoding (naive|mia|inversion|glassbox|chosen|recover|surrogate|detect) [default=%(default)r]")
    parser.add_argument(
        "--out", dest="out", type=str, default='out/sim_awgn',
        help="Set output folder [default=%(default)r]")
    parser.add_argument(
        "--freq-offset", dest="freq_offset", type=eng_float, default=eng_notation.num_to_str(float(0.0)),
        help="Set channel frequency offset (cycles/sample; no PHY corrects it) [default=%(default)r]")
    parser.add_argument(
        "--epsilon", dest="epsilon", type=eng_float, default=eng_notation.num_to_str(float(1.0)),
        help="Set channel timing (resampling) ratio; 1.0 = aligned bursts [default=%(default)r]")
    parser.add_argument(
        "--seed", dest="seed", type=intx, default=0,
        help="Set seed (noise: Bob 2*seed+1, Eve 2*seed+2; MIA start; Bob's gaussian estimate) [default=%(default)r]")
    parser.add_argument(
        "--scheme", dest="scheme", type=str, default='',
        help="Set '' = the INN model (secure 1) or plain DeepJSCC (secure 0); dp-<ε>, shuffle, shuffle-static = seed 004's defences on plain DeepJSCC (shuffles use 'key'); lbvq-16, lbvq-16-hard, jscec-n512 = issue 13's digital schemes (the private image only; jscec: 'key' is Bob's key); Eve's trained attacker attacks it [default=%(default)r]")
    parser.add_argument(
        "--public-key", dest="public_key", type=str, default='',
        help="Set Bob's LWE public key file (scheme jscec-*: Alice encrypts to it; 'stegsem keygen KEY --lwe-public FILE') [default=%(default)r]")
    return parser


def main(top_block_cls=sim_awgn, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(host=options.host, private=options.private, size=options.size, snr_bob=options.snr_bob, snr_eve=options.snr_eve, jscc_model=options.jscc_model, torch_threads=options.torch_threads, inn_model=options.inn_model, key=options.key, lost=options.lost, secure=options.secure, mia_steps=options.mia_steps, attacker=options.attacker, out=options.out, freq_offset=options.freq_offset, epsilon=options.epsilon, seed=options.seed, scheme=options.scheme, public_key=options.public_key)

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()
        snippets_main_after_stop(tb)
        sys.exit(0)

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    tb.start()

    tb.wait()
    snippets_main_after_stop(tb)

if __name__ == '__main__':
    main()
