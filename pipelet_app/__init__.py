"""Pipelet: EV charging where solar and money meet."""

__version__ = "0.1.0"
