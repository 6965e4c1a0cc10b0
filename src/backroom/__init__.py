"""backroom: a headless commerce backend."""

__version__ = "0.1.0"
