#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: Eve on a USRP (OFDM PHY), live in a Qt window
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: usrp_eve in a Qt GUI: Eve's decoded images with PSNR / MS-SSIM, equalised symbols, the spectrum, waterfall and waveform of what the USRP hears; runs until the window is closed
# GNU Radio version: 3.10.5.1

from packaging.version import Version as StrictVersion

if __name__ == '__main__':
    import ctypes
    import sys
    if sys.platform.startswith('linux'):
        try:
            x11 = ctypes.cdll.LoadLibrary('libX11.so')
            x11.XInitThreads()
        except:
            print("Warning: failed to XInitThreads()")

from PyQt5 import Qt
from gnuradio import qtgui
from gnuradio.filter import firdes
import sip
from gnuradio import gr
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



from gnuradio import qtgui

class usrp_eve_gui(gr.top_block, Qt.QWidget):

    def __init__(self, host='', private='', jscc_model='', torch_threads=1, mia_steps=200, attacker='mia', scheme='stego-l3_2', out='out/usrp_eve_gui', amplitude=0.25, seed=0, view_side=256, seg_len=3680, equalizer='ummse', record='', samp_rate=1e6, center_freq=2.45e9, gain=30.0, device_args='', antenna='RX2'):
        gr.top_block.__init__(self, "gr-stegsem: Eve on a USRP (OFDM PHY), live in a Qt window", catch_exceptions=True)
        Qt.QWidget.__init__(self)
        self.setWindowTitle("gr-stegsem: Eve on a USRP (OFDM PHY), live in a Qt window")
        qtgui.util.check_set_qss()
        try:
            self.setWindowIcon(Qt.QIcon.fromTheme('gnuradio-grc'))
        except:
            pass
        self.top_scroll_layout = Qt.QVBoxLayout()
        self.setLayout(self.top_scroll_layout)
        self.top_scroll = Qt.QScrollArea()
        self.top_scroll.setFrameStyle(Qt.QFrame.NoFrame)
        self.top_scroll_layout.addWidget(self.top_scroll)
        self.top_scroll.setWidgetResizable(True)
        self.top_widget = Qt.QWidget()
        self.top_scroll.setWidget(self.top_widget)
        self.top_layout = Qt.QVBoxLayout(self.top_widget)
        self.top_grid_layout = Qt.QGridLayout()
        self.top_layout.addLayout(self.top_grid_layout)

        self.settings = Qt.QSettings("GNU Radio", "usrp_eve_gui")

        try:
            if StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
                self.restoreGeometry(self.settings.value("geometry").toByteArray())
            else:
                self.restoreGeometry(self.settings.value("geometry"))
        except:
            pass

        ##################################################
        # Parameters
        ##################################################
        self.host = host
        self.private = private
        self.jscc_model = jscc_model
        self.torch_threads = torch_threads
        self.mia_steps = mia_steps
        self.attacker = attacker
        self.scheme = scheme
        self.out = out
        self.amplitude = amplitude
        self.seed = seed
        self.view_side = view_side
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
        self.zoo_attack = zoo_attack = stegsem_fg.zoo_attack(attacker)
        self.zoo_prefix = zoo_prefix = 'eve_' + (zoo_attack or 'attack')
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16
        self.eve_scheme = eve_scheme = scheme
        self.eve_models = eve_models = stegsem_fg.models_folder(jscc_model)

        ##################################################
        # Blocks
        ##################################################

        self.view = stegsem_blocks.image_view(('Eve: naive', 'Eve: ' + attacker), side=view_side, columns=2)
        self._view_win = self.view.qwidget()
        self.top_grid_layout.addWidget(self._view_win, 0, 0, 1, 2)
        for r in range(0, 1):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
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
        self.rx_rec = stegsem_phy.sigmf_sink((record + '') if record else '', samp_rate, center_freq, "usrp_eve_gui: what Eve's USRP hears (RX gain %g dB, antenna %s)" % (gain, antenna), seg_len, amplitude)
        self.rx_freq = qtgui.freq_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            center_freq, #fc
            samp_rate, #bw
            'What Eve hears', #name
            1,
            None # parent
        )
        self.rx_freq.set_update_time(0.1)
        self.rx_freq.set_y_axis((-80), 10)
        self.rx_freq.set_y_label('Relative Gain', 'dB')
        self.rx_freq.set_trigger_mode(qtgui.TRIG_MODE_FREE, 0.0, 0, "")
        self.rx_freq.enable_autoscale(False)
        self.rx_freq.enable_grid(False)
        self.rx_freq.set_fft_average(0.2)
        self.rx_freq.enable_axis_labels(True)
        self.rx_freq.enable_control_panel(False)
        self.rx_freq.set_fft_window_normalized(False)



        labels = ['Eve', '', '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["red", "red", "green", "black", "cyan",
            "magenta", "yellow", "dark red", "dark green", "dark blue"]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.rx_freq.set_line_label(i, "Data {0}".format(i))
            else:
                self.rx_freq.set_line_label(i, labels[i])
            self.rx_freq.set_line_width(i, widths[i])
            self.rx_freq.set_line_color(i, colors[i])
            self.rx_freq.set_line_alpha(i, alphas[i])

        self._rx_freq_win = sip.wrapinstance(self.rx_freq.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._rx_freq_win, 1, 1, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.eve_waterfall = qtgui.waterfall_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            center_freq, #fc
            samp_rate, #bw
            'What Eve hears (waterfall)', #name
            1, #number of inputs
            None # parent
        )
        self.eve_waterfall.set_update_time(0.1)
        self.eve_waterfall.enable_grid(False)
        self.eve_waterfall.enable_axis_labels(True)



        labels = ['', '', '', '', '',
                  '', '', '', '', '']
        colors = [0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
                  1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.eve_waterfall.set_line_label(i, "Data {0}".format(i))
            else:
                self.eve_waterfall.set_line_label(i, labels[i])
            self.eve_waterfall.set_color_map(i, colors[i])
            self.eve_waterfall.set_line_alpha(i, alphas[i])

        self.eve_waterfall.set_intensity_range(-80, 10)

        self._eve_waterfall_win = sip.wrapinstance(self.eve_waterfall.qwidget(), Qt.QWidget)

        self.top_grid_layout.addWidget(self._eve_waterfall_win, 2, 1, 1, 1)
        for r in range(2, 3):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.eve_time = qtgui.time_sink_c(
            4096, #size
            samp_rate, #samp_rate
            'What Eve hears (bursts)', #name
            1, #number of inputs
            None # parent
        )
        self.eve_time.set_update_time(0.1)
        self.eve_time.set_y_axis(-2, 2)

        self.eve_time.set_y_label('Amplitude', "")

        self.eve_time.enable_tags(False)
        self.eve_time.set_trigger_mode(qtgui.TRIG_MODE_AUTO, qtgui.TRIG_SLOPE_POS, 0.5 * amplitude, 0, 0, "")
        self.eve_time.enable_autoscale(False)
        self.eve_time.enable_grid(False)
        self.eve_time.enable_axis_labels(True)
        self.eve_time.enable_control_panel(False)
        self.eve_time.enable_stem_plot(False)


        labels = ['Re', 'Im', 'Signal 3', 'Signal 4', 'Signal 5',
            'Signal 6', 'Signal 7', 'Signal 8', 'Signal 9', 'Signal 10']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ['blue', 'red', 'green', 'black', 'cyan',
            'magenta', 'yellow', 'dark red', 'dark green', 'dark blue']
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]
        styles = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        markers = [-1, -1, -1, -1, -1,
            -1, -1, -1, -1, -1]


        for i in range(2):
            if len(labels[i]) == 0:
                if (i % 2 == 0):
                    self.eve_time.set_line_label(i, "Re{{Data {0}}}".format(i/2))
                else:
                    self.eve_time.set_line_label(i, "Im{{Data {0}}}".format(i/2))
            else:
                self.eve_time.set_line_label(i, labels[i])
            self.eve_time.set_line_width(i, widths[i])
            self.eve_time.set_line_color(i, colors[i])
            self.eve_time.set_line_style(i, styles[i])
            self.eve_time.set_line_marker(i, markers[i])
            self.eve_time.set_line_alpha(i, alphas[i])

        self._eve_time_win = sip.wrapinstance(self.eve_time.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._eve_time_win, 2, 0, 1, 1)
        for r in range(2, 3):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.eve_score_sink = stegsem_blocks.score_sink(out, prefix='eve_detect')
        self.eve_naive_sink = stegsem_blocks.image_sink(out, prefix='eve_naive', reference=private_ref, save=True)
        self.eve_naive_host = stegsem_blocks.image_sink(out, prefix='eve_naive_vs_host', reference=host_ref, save=False)
        self.eve_mia_sink = stegsem_blocks.image_sink(out, prefix='eve_mia', reference=private_ref, save=True)
        self.eve_mia_host = stegsem_blocks.image_sink(out, prefix='eve_mia_vs_host', reference=host_ref, save=False)
        self.eve_const = qtgui.const_sink_c(
            1024, #size
            'Eve: equalised symbols of each burst', #name
            0, #number of inputs
            None # parent
        )
        self.eve_const.set_update_time(0.1)
        self.eve_const.set_y_axis((-2), 2)
        self.eve_const.set_x_axis((-2), 2)
        self.eve_const.set_trigger_mode(qtgui.TRIG_MODE_FREE, qtgui.TRIG_SLOPE_POS, 0.0, 0, "")
        self.eve_const.enable_autoscale(False)
        self.eve_const.enable_grid(True)
        self.eve_const.enable_axis_labels(True)

        self.eve_const.disable_legend()

        labels = ['', '', '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["red", "red", "red", "red", "red",
            "red", "red", "red", "red", "red"]
        styles = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        markers = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        alphas = [0.4, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.eve_const.set_line_label(i, "Data {0}".format(i))
            else:
                self.eve_const.set_line_label(i, labels[i])
            self.eve_const.set_line_width(i, widths[i])
            self.eve_const.set_line_color(i, colors[i])
            self.eve_const.set_line_style(i, styles[i])
            self.eve_const.set_line_marker(i, markers[i])
            self.eve_const.set_line_alpha(i, alphas[i])

        self._eve_const_win = sip.wrapinstance(self.eve_const.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._eve_const_win, 1, 0, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.eve_attack_sink = stegsem_blocks.image_sink(out, prefix=zoo_prefix, reference=private_ref, save=True)
        self.eve_attack_host = stegsem_blocks.image_sink(out, prefix=zoo_prefix + '_vs_host', reference=host_ref, save=False)
        self.eve = stegsem_blocks.eve_rx_phy(jscc_model, attacker=attacker, scheme=eve_scheme, models_dir=eve_models, mia_steps=mia_steps, lr=0.05, seed=seed, lost='', threshold=0.5, queue_size=2, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=amplitude, max_pending=2, timeout=1.0, drop=0.0, device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_host, 'in'))
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_sink, 'in'))
        self.msg_connect((self.eve, 'bursts'), (self.eve_const, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_host, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_sink, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_host, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_sink, 'in'))
        self.msg_connect((self.eve, 'score'), (self.eve_score_sink, 'in'))
        self.msg_connect((self.eve, 'bursts'), (self.rx_rec, 'bursts'))
        self.msg_connect((self.eve, 'mia'), (self.view, 'in1'))
        self.msg_connect((self.eve, 'attack'), (self.view, 'in1'))
        self.msg_connect((self.eve, 'naive'), (self.view, 'in0'))
        self.msg_connect((self.eve_attack_sink, 'metrics'), (self.view, 'in1'))
        self.msg_connect((self.eve_mia_sink, 'metrics'), (self.view, 'in1'))
        self.msg_connect((self.eve_naive_sink, 'metrics'), (self.view, 'in0'))
        self.connect((self.usrp, 0), (self.eve, 0))
        self.connect((self.usrp, 0), (self.eve_time, 0))
        self.connect((self.usrp, 0), (self.eve_waterfall, 0))
        self.connect((self.usrp, 0), (self.rx_freq, 0))
        self.connect((self.usrp, 0), (self.rx_rec, 0))


    def closeEvent(self, event):
        self.settings = Qt.QSettings("GNU Radio", "usrp_eve_gui")
        self.settings.setValue("geometry", self.saveGeometry())
        self.stop()
        self.wait()

        event.accept()

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

    def get_amplitude(self):
        return self.amplitude

    def set_amplitude(self, amplitude):
        self.amplitude = amplitude
        self.eve_time.set_trigger_mode(qtgui.TRIG_MODE_AUTO, qtgui.TRIG_SLOPE_POS, 0.5 * self.amplitude, 0, 0, "")

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_view_side(self):
        return self.view_side

    def set_view_side(self, view_side):
        self.view_side = view_side

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
        self.rx_freq.set_frequency_range(self.center_freq, self.samp_rate)
        self.eve_waterfall.set_frequency_range(self.center_freq, self.samp_rate)
        self.eve_time.set_samp_rate(self.samp_rate)

    def get_center_freq(self):
        return self.center_freq

    def set_center_freq(self, center_freq):
        self.center_freq = center_freq
        self.usrp.set_center_freq(self.center_freq, 0)
        self.rx_freq.set_frequency_range(self.center_freq, self.samp_rate)
        self.eve_waterfall.set_frequency_range(self.center_freq, self.samp_rate)

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
    description = "usrp_eve in a Qt GUI: Eve's decoded images with PSNR / MS-SSIM, equalised symbols, the spectrum, waterfall and waveform of what the USRP hears; runs until the window is closed"
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
        "--mia-steps", dest="mia_steps", type=intx, default=200,
        help="Set model inversion steps (0 = off) [default=%(default)r]")
    parser.add_argument(
        "--attacker", dest="attacker", type=str, default='mia',
        help="Set Eve's attacker besides naive decoding (naive|mia|inversion|glassbox|chosen|recover|surrogate|detect) [default=%(default)r]")
    parser.add_argument(
        "--scheme", dest="scheme", type=str, default='stego-l3_2',
        help="Set scheme a trained attacker was made for (its models: jscc_model's folder) [default=%(default)r]")
    parser.add_argument(
        "--out", dest="out", type=str, default='out/usrp_eve_gui',
        help="Set output folder [default=%(default)r]")
    parser.add_argument(
        "--amplitude", dest="amplitude", type=eng_float, default=eng_notation.num_to_str(float(0.25)),
        help="Set Alice's transmit scale (the receiver divides by it) [default=%(default)r]")
    parser.add_argument(
        "--seed", dest="seed", type=intx, default=0,
        help="Set seed [default=%(default)r]")
    parser.add_argument(
        "--view-side", dest="view_side", type=intx, default=256,
        help="Set px per image in the image view (0 = the image's own size) [default=%(default)r]")
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


def main(top_block_cls=usrp_eve_gui, options=None):
    if options is None:
        options = argument_parser().parse_args()

    if StrictVersion("4.5.0") <= StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
        style = gr.prefs().get_string('qtgui', 'style', 'raster')
        Qt.QApplication.setGraphicsSystem(style)
    qapp = Qt.QApplication(sys.argv)

    tb = top_block_cls(host=options.host, private=options.private, jscc_model=options.jscc_model, torch_threads=options.torch_threads, mia_steps=options.mia_steps, attacker=options.attacker, scheme=options.scheme, out=options.out, amplitude=options.amplitude, seed=options.seed, view_side=options.view_side, seg_len=options.seg_len, equalizer=options.equalizer, record=options.record, samp_rate=options.samp_rate, center_freq=options.center_freq, gain=options.gain, device_args=options.device_args, antenna=options.antenna)

    tb.start()

    tb.show()

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()

        Qt.QApplication.quit()

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    timer = Qt.QTimer()
    timer.start(500)
    timer.timeout.connect(lambda: None)

    qapp.exec_()

if __name__ == '__main__':
    main()
