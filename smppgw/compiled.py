"""The modules the build compiles with mypyc when it can, and which of them this installation runs
compiled.  setup.py reads HOT_MODULES from this file without importing the package, so it imports
nothing at module level but the standard library."""

from __future__ import annotations

import importlib
import importlib.machinery
from typing import Final

# Relative to the smppgw package.  Pure modules only, all mypy --strict: no I/O, and nothing they
# import (ours included) reaches beyond the standard library, since `pip install` builds them where
# only mypy is installed (tests/unit/test_hot_modules_imports.py).  A class that an interpreted
# module subclasses cannot be compiled.
# The methods ``dataclasses`` generates stay interpreted under mypyc, and a generated __init__
# called from compiled code costs more than in plain Python (0.6 against 0.4 us for 8 fields); so
# each record built per message declares ``init=False`` and writes its __init__ out, which compiled
# costs 0.04 us (the generated __eq__ and __repr__ stay).  The modules that define those records or
# build them per message are compiled with the rest.
HOT_MODULES: Final[tuple[str, ...]] = (
    "protocol.codec",
    "protocol.framing",
    "protocol.pdu",
    "protocol.session",
    "protocol.receipt",
    "protocol.coding",
    "protocol.smpptime",
    "protocol.traffic",
    "pipeline.gateway",
    "pipeline.compliance",
    "pipeline.accounts",
    "pipeline.outcomes",
    "carriers.model",
    "model",
    "writes",
    "routing.router",
    "routing.numbers",
    "routing.table",
    "pipeline.ids",
    "rig.throughput",
    "rig.scorecard",
    "rig.cmpp_scorecard",
    "carriers.link",
    "runtime.deliveries",
    "handset.inbox",
    "billing.ledger",
    "store.rows",
    "rig.draws",
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
