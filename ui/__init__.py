"""User interfaces: the ``docqa`` command line (the web UI comes later)."""

from .cli import main, render

__all__ = ["main", "render"]
