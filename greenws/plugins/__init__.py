"""Hook specifications and the plugin manager; built-in outputs are plugins too."""

from greenws.plugins.manager import hookimpl

__all__ = ["hookimpl"]
