"""The environment of a `python -m smppgw` subprocess started by a test: this checkout's code first
on its path, or, under SMPPGW_TEST_INSTALLED=1, the installed package the tests themselves import."""

from __future__ import annotations

import os
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent


def gateway_env() -> dict[str, str]:
    if os.environ.get("SMPPGW_TEST_INSTALLED") == "1":
        return dict(os.environ)
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")]))}
