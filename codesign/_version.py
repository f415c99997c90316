"""The version of codesign, in a module of its own so that every layer can name it without
importing the package root (whose lazy namespace reaches every stage)."""

__version__ = "0.3.0"
