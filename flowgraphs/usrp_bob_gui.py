#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-stegsem: Bob on a USRP (OFDM PHY), live in a Qt window
# Author: gr-stegsem
# Copyright: GPL-3.0-or-later
# Description: usrp_bob in a Qt GUI: Bob's decoded images with PSNR / MS-SSIM, equalised symbols, the spectrum, waterfall and waveform of what the USRP hears; runs until the window is closed
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

class usrp_bob_gui(gr.top_block, Qt.QWidget):

    def __init__(self, host='', private='', jscc_model='', torch_threads=1, inn_model='', key='', lost='zeros', secure=1, out='out/usrp_bob_gui', amplitude=0.25, seed=0, view_side=256, seg_len=3680, equalizer='ummse', record='', samp_rate=1e6, center_freq=2.45e9, gain=30.0, device_args='', antenna='RX2'):
        gr.top_block.__init__(self, "gr-stegsem: Bob on a USRP (OFDM PHY), live in a Qt window", catch_exceptions=True)
        Qt.QWidget.__init__(self)
        self.setWindowTitle("gr-stegsem: Bob on a USRP (OFDM PHY), live in a Qt window")
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

        self.settings = Qt.QSettings("GNU Radio", "usrp_bob_gui")

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
        self.inn_model = inn_model
        self.key = key
        self.lost = lost
        self.secure = secure
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
        self.private_ref = private_ref = stegsem_fg.reference(private, 'private')
        self.host_ref = host_ref = stegsem_fg.reference(host, 'host')
        self.guard = guard = 16

        ##################################################
        # Blocks
        ##################################################

        self.view = stegsem_blocks.image_view(('Bob: host', 'Bob: private'), side=view_side, columns=2)
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
        self.rx_rec = stegsem_phy.sigmf_sink((record + '') if record else '', samp_rate, center_freq, "usrp_bob_gui: what Bob's USRP hears (RX gain %g dB, antenna %s)" % (gain, antenna), seg_len, amplitude)
        self.rx_freq = qtgui.freq_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            center_freq, #fc
            samp_rate, #bw
            'What Bob hears', #name
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



        labels = ['Bob', '', '', '', '',
            '', '', '', '', '']
        widths = [1, 1, 1, 1, 1,
            1, 1, 1, 1, 1]
        colors = ["blue", "red", "green", "black", "cyan",
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
        self.bob_waterfall = qtgui.waterfall_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            center_freq, #fc
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

        self.top_grid_layout.addWidget(self._bob_waterfall_win, 2, 1, 1, 1)
        for r in range(2, 3):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
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
        self.bob_time.set_trigger_mode(qtgui.TRIG_MODE_AUTO, qtgui.TRIG_SLOPE_POS, 0.5 * amplitude, 0, 0, "")
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
        self.top_grid_layout.addWidget(self._bob_time_win, 2, 0, 1, 1)
        for r in range(2, 3):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)
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
        self.bob = stegsem_blocks.bob_rx_phy(jscc_model, inn_model, lost=lost, seed=seed, secure=secure != 0, key_file=key, scheme='', replay_window=65536, threads=torch_threads, seg_len=seg_len, phy_threshold=0.15, equalizer=equalizer, amplitude=amplitude, max_pending=2, timeout=1.0, drop=0.0, device='cpu')


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.bob, 'bursts'), (self.bob_const, 'in'))
        self.msg_connect((self.bob, 'host'), (self.bob_host_sink, 'in'))
        self.msg_connect((self.bob, 'private'), (self.bob_private_sink, 'in'))
        self.msg_connect((self.bob, 'bursts'), (self.rx_rec, 'bursts'))
        self.msg_connect((self.bob, 'host'), (self.view, 'in0'))
        self.msg_connect((self.bob, 'private'), (self.view, 'in1'))
        self.msg_connect((self.bob_host_sink, 'metrics'), (self.view, 'in0'))
        self.msg_connect((self.bob_private_sink, 'metrics'), (self.view, 'in1'))
        self.connect((self.usrp, 0), (self.bob, 0))
        self.connect((self.usrp, 0), (self.bob_time, 0))
        self.connect((self.usrp, 0), (self.bob_waterfall, 0))
        self.connect((self.usrp, 0), (self.rx_freq, 0))
        self.connect((self.usrp, 0), (self.rx_rec, 0))


    def closeEvent(self, event):
        self.settings = Qt.QSettings("GNU Radio", "usrp_bob_gui")
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
        self.bob_time.set_trigger_mode(qtgui.TRIG_MODE_AUTO, qtgui.TRIG_SLOPE_POS, 0.5 * self.amplitude, 0, 0, "")

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
        self.bob_waterfall.set_frequency_range(self.center_freq, self.samp_rate)
        self.bob_time.set_samp_rate(self.samp_rate)

    def get_center_freq(self):
        return self.center_freq

    def set_center_freq(self, center_freq):
        self.center_freq = center_freq
        self.usrp.set_center_freq(self.center_freq, 0)
        self.rx_freq.set_frequency_range(self.center_freq, self.samp_rate)
        self.bob_waterfall.set_frequency_range(self.center_freq, self.samp_rate)

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
    description = "usrp_bob in a Qt GUI: Bob's decoded images with PSNR / MS-SSIM, equalised symbols, the spectrum, waterfall and waveform of what the USRP hears; runs until the window is closed"
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
        "--out", dest="out", type=str, default='out/usrp_bob_gui',
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


def main(top_block_cls=usrp_bob_gui, options=None):
    if options is None:
        options = argument_parser().parse_args()

    if StrictVersion("4.5.0") <= StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
        style = gr.prefs().get_string('qtgui', 'style', 'raster')
        Qt.QApplication.setGraphicsSystem(style)
    qapp = Qt.QApplication(sys.argv)

    tb = top_block_cls(host=options.host, private=options.private, jscc_model=options.jscc_model, torch_threads=options.torch_threads, inn_model=options.inn_model, key=options.key, lost=options.lost, secure=options.secure, out=options.out, amplitude=options.amplitude, seed=options.seed, view_side=options.view_side, seg_len=options.seg_len, equalizer=options.equalizer, record=options.record, samp_rate=options.samp_rate, center_freq=options.center_freq, gain=options.gain, device_args=options.device_args, antenna=options.antenna)

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
