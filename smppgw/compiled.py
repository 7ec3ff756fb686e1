"""The modules the build compiles with mypyc when it can, and which of them this installation runs
compiled.  setup.py reads HOT_MODULES from this file without importing the package, so it imports
nothing at module level but the standard library."""

from __future__ import annotations

import importlib
import importlib.machinery
from typing import Final

# Relative to the smppgw package.  Pure modules only (no Twisted, no I/O), all mypy --strict.
# Not protocol.events: it holds only dataclasses, whose generated methods mypyc leaves interpreted.
HOT_MODULES: Final[tuple[str, ...]] = (
    "protocol.codec",
    "protocol.framing",
    "protocol.pdu",
    "protocol.session",
    "pipeline.gateway",
    "pipeline.compliance",
    "pipeline.accounts",
    "carriers.model",
)


def compiled_modules() -> list[str]:
    """The hot modules that were loaded from an extension module (``.so``/``.pyd``), not from source."""
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    found = []
    for name in HOT_MODULES:
        module = importlib.import_module(f"smppgw.{name}")
        if (getattr(module, "__file__", None) or "").endswith(suffixes):
            found.append(name)
    return found


def build_description() -> str:
    """What ``smppgw --version`` says after the version: the compiled modules, or pure Python."""
    found = compiled_modules()
    return f"compiled: {', '.join(found)}" if found else "pure Python"
