#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: simulated radio link through the OFDM PHY, live in a Qt window
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: sim_radio in a Qt GUI: Bob's and Eve's decoded images with PSNR / MS-SSIM, their equalised symbols, the spectrum, waterfall and waveform of what they hear; runs until the window is closed
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
from gnuradio import channels
from gnuradio import gr
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gr_stegsem import blocks as stegsem_blocks
from gr_stegsem import channel as stegsem_channel
from gr_stegsem import flowgraphs as stegsem_fg
from gr_stegsem.phy import blocks as stegsem_phy
from gr_stegsem.phy import radio as stegsem_phy_radio



from gnuradio import qtgui

class sim_radio_gui(gr.top_block, Qt.QWidget):

    def __init__(self, host='', private='', size=256, snr_bob=10.0, snr_eve=5.0, jscc_model='', torch_threads=1, inn_model='', key='', lost='zeros', secure=1, mia_steps=200, attacker='mia', out='out/sim_radio_gui', seg_len=3680, equalizer='ummse', freq_offset=0.002, sco_ppm=50.0, multipath=1, drop=0.0, record='', seed=0, loop=1, interval=1.0, view_side=256):
        gr.top_block.__init__(self, "gr-stegsem: simulated radio link through the OFDM PHY, live in a Qt window", catch_exceptions=True)
        Qt.QWidget.__init__(self)
        self.setWindowTitle("gr-stegsem: simulated radio link through the OFDM PHY, live in a Qt window")
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

        self.settings = Qt.QSettings("GNU Radio", "sim_radio_gui")

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
        self.seg_len = seg_len
        self.equalizer = equalizer
        self.freq_offset = freq_offset
        self.sco_ppm = sco_ppm
        self.multipath = multipath
        self.drop = drop
        self.record = record
        self.seed = seed
        self.loop = loop
        self.interval = interval
        self.view_side = view_side

        ##################################################
        # Variables
        ##################################################
        self.zoo_attack = zoo_attack = stegsem_fg.zoo_attack(attacker)
        self.zoo_prefix = zoo_prefix = 'eve_' + (zoo_attack or 'attack')
        self.taps = taps = stegsem_phy_radio.multipath_taps(multipath != 0)
        self.samp_rate = samp_rate = 1e6
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.in_flight = in_flight = 4
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16
        self.eve_scheme = eve_scheme = stegsem_fg.eve_scheme(inn_model)
        self.eve_noise = eve_noise = stegsem_phy_radio.noise_voltage(snr_eve)
        self.eve_models = eve_models = stegsem_fg.models_folder(inn_model)
        self.epsilon = epsilon = stegsem_phy_radio.epsilon(sco_ppm)
        self.bob_noise = bob_noise = stegsem_phy_radio.noise_voltage(snr_bob)

        ##################################################
        # Blocks
        ##################################################

        self.view = stegsem_blocks.image_view(('Bob: host', 'Bob: private', 'Eve: naive', 'Eve: ' + attacker), side=view_side, columns=4)
        self._view_win = self.view.qwidget()
        self.top_grid_layout.addWidget(self._view_win, 0, 0, 1, 4)
        for r in range(0, 1):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 4):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.tx_rec = stegsem_phy.sigmf_sink((record + '_tx') if record else '', 1e6, 0, 'sim_radio_gui: what Alice sends (before the channels)', seg_len, 1.0)
        self.rx_freq = qtgui.freq_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            0, #fc
            samp_rate, #bw
            'What Bob and Eve hear', #name
            2,
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



        labels = ['Bob', 'Eve', '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["blue", "red", "green", "black", "cyan",
            "magenta", "yellow", "dark red", "dark green", "dark blue"]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(2):
            if len(labels[i]) == 0:
                self.rx_freq.set_line_label(i, "Data {0}".format(i))
            else:
                self.rx_freq.set_line_label(i, labels[i])
            self.rx_freq.set_line_width(i, widths[i])
            self.rx_freq.set_line_color(i, colors[i])
            self.rx_freq.set_line_alpha(i, alphas[i])

        self._rx_freq_win = sip.wrapinstance(self.rx_freq.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._rx_freq_win, 1, 2, 1, 2)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(2, 4):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.private_src = stegsem_blocks.image_source(private, loop=loop != 0, size=size, role='private', interval=interval, done=loop == 0, window=in_flight, ack_timeout=30.0)
        self.host_src = stegsem_blocks.image_source(host, loop=loop != 0, size=size, role='host', interval=interval, done=loop == 0, window=in_flight, ack_timeout=30.0)
        self.eve_score_sink = stegsem_blocks.score_sink(out, prefix='eve_detect')
        self.eve_rec = stegsem_phy.sigmf_sink((record + '_eve') if record else '', 1e6, 0, 'sim_radio_gui: what Eve hears, through the simulated channel_model (data Es/N0 %g dB, CFO %g cycles/sample, sample-clock offset %g ppm, multipath %s)' % (snr_eve, freq_offset, sco_ppm, 'on' if multipath else 'off'), seg_len, 1.0)
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
        self.top_grid_layout.addWidget(self._eve_const_win, 1, 1, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.eve_channel = channels.channel_model(
            noise_voltage=eve_noise,
            frequency_offset=freq_offset,
            epsilon=epsilon,
            taps=taps,
            noise_seed=(2 * seed + 2),
            block_tags=False)
        self.eve_attack_sink = stegsem_blocks.image_sink(out, prefix=zoo_prefix, reference=private_ref, save=True)
        self.eve_attack_host = stegsem_blocks.image_sink(out, prefix=zoo_prefix + '_vs_host', reference=host_ref, save=False)
        self.eve = stegsem_blocks.eve_rx_phy(jscc_model, attacker=attacker, scheme=eve_scheme, models_dir=eve_models, mia_steps=mia_steps, lr=0.05, seed=seed, lost='', threshold=0.5, queue_size=2, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=1.0, max_pending=2, timeout=1.0, drop=drop, device='cpu')
        self.bob_waterfall = qtgui.waterfall_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            0, #fc
            samp_rate, #bw
            'What Bob hears (waterfall)', #name
            1, #number of inputs
            None # parent
        )
        self.bob_waterfall.set_update_time(0.1)
        self.bob_waterfall.enable_grid(False)
        self.bob_waterfall.enable_axis_labels(True)



        labels = ['', '', '', '', '',
                  '', '', '', '', '']
        colors = [0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
                  1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.bob_waterfall.set_line_label(i, "Data {0}".format(i))
            else:
                self.bob_waterfall.set_line_label(i, labels[i])
            self.bob_waterfall.set_color_map(i, colors[i])
            self.bob_waterfall.set_line_alpha(i, alphas[i])

        self.bob_waterfall.set_intensity_range(-80, 10)

        self._bob_waterfall_win = sip.wrapinstance(self.bob_waterfall.qwidget(), Qt.QWidget)

        self.top_grid_layout.addWidget(self._bob_waterfall_win, 2, 2, 1, 2)
        for r in range(2, 3):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(2, 4):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.bob_time = qtgui.time_sink_c(
            4096, #size
            samp_rate, #samp_rate
            'What Bob hears (bursts)', #name
            1, #number of inputs
            None # parent
        )
        self.bob_time.set_update_time(0.1)
        self.bob_time.set_y_axis(-2, 2)

        self.bob_time.set_y_label('Amplitude', "")

        self.bob_time.enable_tags(False)
        self.bob_time.set_trigger_mode(qtgui.TRIG_MODE_TAG, qtgui.TRIG_SLOPE_POS, 0.0, 0, 0, 'packet_len')
        self.bob_time.enable_autoscale(False)
        self.bob_time.enable_grid(False)
        self.bob_time.enable_axis_labels(True)
        self.bob_time.enable_control_panel(False)
        self.bob_time.enable_stem_plot(False)


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
                    self.bob_time.set_line_label(i, "Re{{Data {0}}}".format(i/2))
                else:
                    self.bob_time.set_line_label(i, "Im{{Data {0}}}".format(i/2))
            else:
                self.bob_time.set_line_label(i, labels[i])
            self.bob_time.set_line_width(i, widths[i])
            self.bob_time.set_line_color(i, colors[i])
            self.bob_time.set_line_style(i, styles[i])
            self.bob_time.set_line_marker(i, markers[i])
            self.bob_time.set_line_alpha(i, alphas[i])

        self._bob_time_win = sip.wrapinstance(self.bob_time.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._bob_time_win, 2, 0, 1, 2)
        for r in range(2, 3):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.bob_rec = stegsem_phy.sigmf_sink((record + '_bob') if record else '', 1e6, 0, 'sim_radio_gui: what Bob hears, through the simulated channel_model (data Es/N0 %g dB, CFO %g cycles/sample, sample-clock offset %g ppm, multipath %s)' % (snr_bob, freq_offset, sco_ppm, 'on' if multipath else 'off'), seg_len, 1.0)
        self.bob_private_sink = stegsem_blocks.image_sink(out, prefix='bob_private', reference=private_ref, save=True)
        self.bob_host_sink = stegsem_blocks.image_sink(out, prefix='bob_host', reference=host_ref, save=True)
        self.bob_const = qtgui.const_sink_c(
            1024, #size
            'Bob: equalised symbols of each burst', #name
            0, #number of inputs
            None # parent
        )
        self.bob_const.set_update_time(0.1)
        self.bob_const.set_y_axis((-2), 2)
        self.bob_const.set_x_axis((-2), 2)
        self.bob_const.set_trigger_mode(qtgui.TRIG_MODE_FREE, qtgui.TRIG_SLOPE_POS, 0.0, 0, "")
        self.bob_const.enable_autoscale(False)
        self.bob_const.enable_grid(True)
        self.bob_const.enable_axis_labels(True)

        self.bob_const.disable_legend()

        labels = ['', '', '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["blue", "red", "red", "red", "red",
            "red", "red", "red", "red", "red"]
        styles = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        markers = [0, 0, 0, 0, 0,
            0, 0, 0, 0, 0]
        alphas = [0.4, 1.0, 1.0, 1.0, 1.0,
            1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.bob_const.set_line_label(i, "Data {0}".format(i))
            else:
                self.bob_const.set_line_label(i, labels[i])
            self.bob_const.set_line_width(i, widths[i])
            self.bob_const.set_line_color(i, colors[i])
            self.bob_const.set_line_style(i, styles[i])
            self.bob_const.set_line_marker(i, markers[i])
            self.bob_const.set_line_alpha(i, alphas[i])

        self._bob_const_win = sip.wrapinstance(self.bob_const.qwidget(), Qt.QWidget)
        self.top_grid_layout.addWidget(self._bob_const_win, 1, 0, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.bob_channel = channels.channel_model(
            noise_voltage=bob_noise,
            frequency_offset=freq_offset,
            epsilon=epsilon,
            taps=taps,
            noise_seed=(2 * seed + 1),
            block_tags=False)
        self.bob = stegsem_blocks.bob_rx_phy(jscc_model, inn_model, lost=lost, seed=seed, secure=secure != 0, key_file=key, scheme='', replay_window=65536, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=1.0, max_pending=2, timeout=1.0, drop=drop, device='cpu')
        self.alice = stegsem_blocks.alice_tx_phy(jscc_model, inn_model, secure=secure != 0, key_file=key, scheme='', seed=0, timeout=5.0, max_pending=64, threads=torch_threads, seg_len=seg_len, amplitude=1.0, public_key='', device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.bob, 'bursts'), (self.bob_const, 'in'))
        self.msg_connect((self.bob, 'host'), (self.bob_host_sink, 'in'))
        self.msg_connect((self.bob, 'private'), (self.bob_private_sink, 'in'))
        self.msg_connect((self.bob, 'bursts'), (self.bob_rec, 'bursts'))
        self.msg_connect((self.bob, 'host'), (self.view, 'in0'))
        self.msg_connect((self.bob, 'private'), (self.view, 'in1'))
        self.msg_connect((self.bob_host_sink, 'metrics'), (self.view, 'in0'))
        self.msg_connect((self.bob_private_sink, 'done'), (self.host_src, 'ack'))
        self.msg_connect((self.bob_private_sink, 'done'), (self.private_src, 'ack'))
        self.msg_connect((self.bob_private_sink, 'metrics'), (self.view, 'in1'))
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_host, 'in'))
        self.msg_connect((self.eve, 'attack'), (self.eve_attack_sink, 'in'))
        self.msg_connect((self.eve, 'bursts'), (self.eve_const, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_host, 'in'))
        self.msg_connect((self.eve, 'mia'), (self.eve_mia_sink, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_host, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.eve_naive_sink, 'in'))
        self.msg_connect((self.eve, 'bursts'), (self.eve_rec, 'bursts'))
        self.msg_connect((self.eve, 'score'), (self.eve_score_sink, 'in'))
        self.msg_connect((self.eve, 'naive'), (self.view, 'in2'))
        self.msg_connect((self.eve, 'attack'), (self.view, 'in3'))
        self.msg_connect((self.eve, 'mia'), (self.view, 'in3'))
        self.msg_connect((self.eve_attack_sink, 'metrics'), (self.view, 'in3'))
        self.msg_connect((self.eve_mia_sink, 'metrics'), (self.view, 'in3'))
        self.msg_connect((self.eve_naive_sink, 'metrics'), (self.view, 'in2'))
        self.msg_connect((self.host_src, 'out'), (self.alice, 'host'))
        self.msg_connect((self.private_src, 'out'), (self.alice, 'private'))
        self.connect((self.alice, 0), (self.bob_channel, 0))
        self.connect((self.alice, 0), (self.eve_channel, 0))
        self.connect((self.alice, 0), (self.tx_rec, 0))
        self.connect((self.bob_channel, 0), (self.bob, 0))
        self.connect((self.bob_channel, 0), (self.bob_rec, 0))
        self.connect((self.bob_channel, 0), (self.bob_time, 0))
        self.connect((self.bob_channel, 0), (self.bob_waterfall, 0))
        self.connect((self.bob_channel, 0), (self.rx_freq, 0))
        self.connect((self.eve_channel, 0), (self.eve, 0))
        self.connect((self.eve_channel, 0), (self.eve_rec, 0))
        self.connect((self.eve_channel, 0), (self.rx_freq, 1))


    def closeEvent(self, event):
        self.settings = Qt.QSettings("GNU Radio", "sim_radio_gui")
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

    def get_size(self):
        return self.size

    def set_size(self, size):
        self.size = size

    def get_snr_bob(self):
        return self.snr_bob

    def set_snr_bob(self, snr_bob):
        self.snr_bob = snr_bob
        self.set_bob_noise(stegsem_phy_radio.noise_voltage(self.snr_bob))

    def get_snr_eve(self):
        return self.snr_eve

    def set_snr_eve(self, snr_eve):
        self.snr_eve = snr_eve
        self.set_eve_noise(stegsem_phy_radio.noise_voltage(self.snr_eve))

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

    def get_drop(self):
        return self.drop

    def set_drop(self, drop):
        self.drop = drop

    def get_record(self):
        return self.record

    def set_record(self, record):
        self.record = record

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_loop(self):
        return self.loop

    def set_loop(self, loop):
        self.loop = loop

    def get_interval(self):
        return self.interval

    def set_interval(self, interval):
        self.interval = interval

    def get_view_side(self):
        return self.view_side

    def set_view_side(self, view_side):
        self.view_side = view_side

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
        self.bob_channel.set_taps(self.taps)
        self.eve_channel.set_taps(self.taps)

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.rx_freq.set_frequency_range(0, self.samp_rate)
        self.bob_waterfall.set_frequency_range(0, self.samp_rate)
        self.bob_time.set_samp_rate(self.samp_rate)

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
        self.bob_channel.set_timing_offset(self.epsilon)
        self.eve_channel.set_timing_offset(self.epsilon)

    def get_bob_noise(self):
        return self.bob_noise

    def set_bob_noise(self, bob_noise):
        self.bob_noise = bob_noise
        self.bob_channel.set_noise_voltage(self.bob_noise)



def argument_parser():
    description = "sim_radio in a Qt GUI: Bob's and Eve's decoded images with PSNR / MS-SSIM, their equalised symbols, the spectrum, waterfall and waveform of what they hear; runs until the window is closed"
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
        help="Set Bob's data Es/N0 (dB) [default=%(default)r]")
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
        "--out", dest="out", type=str, default='out/sim_radio_gui',
        help="Set output folder [default=%(default)r]")
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
        "--drop", dest="drop", type=eng_float, default=eng_notation.num_to_str(float(0.0)),
        help="Set fraction of received segments dropped (graceful-degradation test) [default=%(default)r]")
    parser.add_argument(
        "--record", dest="record", type=str, default='',
        help="Set SigMF recording prefix ('' = no recording) [default=%(default)r]")
    parser.add_argument(
        "--seed", dest="seed", type=intx, default=0,
        help="Set seed (noise: Bob 2*seed+1, Eve 2*seed+2; MIA; segment drops) [default=%(default)r]")
    parser.add_argument(
        "--loop", dest="loop", type=intx, default=1,
        help="Set 1 = repeat the images every interval (a live view), 0 = send them once [default=%(default)r]")
    parser.add_argument(
        "--interval", dest="interval", type=eng_float, default=eng_notation.num_to_str(float(1.0)),
        help="Set seconds between image pairs when looping [default=%(default)r]")
    parser.add_argument(
        "--view-side", dest="view_side", type=intx, default=256,
        help="Set px per image in the image view (0 = the image's own size) [default=%(default)r]")
    return parser


def main(top_block_cls=sim_radio_gui, options=None):
    if options is None:
        options = argument_parser().parse_args()

    if StrictVersion("4.5.0") <= StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
        style = gr.prefs().get_string('qtgui', 'style', 'raster')
        Qt.QApplication.setGraphicsSystem(style)
    qapp = Qt.QApplication(sys.argv)

    tb = top_block_cls(host=options.host, private=options.private, size=options.size, snr_bob=options.snr_bob, snr_eve=options.snr_eve, jscc_model=options.jscc_model, torch_threads=options.torch_threads, inn_model=options.inn_model, key=options.key, lost=options.lost, secure=options.secure, mia_steps=options.mia_steps, attacker=options.attacker, out=options.out, seg_len=options.seg_len, equalizer=options.equalizer, freq_offset=options.freq_offset, sco_ppm=options.sco_ppm, multipath=options.multipath, drop=options.drop, record=options.record, seed=options.seed, loop=options.loop, interval=options.interval, view_side=options.view_side)

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
