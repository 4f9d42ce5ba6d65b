"""A sample third-party greenws output, loaded through the ``greenws`` entry point."""

__version__ = "0.1.0"
