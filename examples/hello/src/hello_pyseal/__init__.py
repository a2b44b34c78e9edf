"""A tiny app that shows where it runs from."""

__version__ = "0.1.0"
