"""gr-stegsem: secure semantic image transmission with INN signal steganography.

The neural system (models, channel, attacks, metrics, training, evaluation) lives here and never
imports GNU Radio; the GNU Radio blocks and flowgraph code import it.
"""
__version__ = "0.1.0"
