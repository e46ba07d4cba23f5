"""Offline training (no GNU Radio): ``stegsem train jscc`` and ``stegsem train inn``."""
