"""The ``smppgw`` command line (``smppgw.cli:main``, also ``python -m smppgw``)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
