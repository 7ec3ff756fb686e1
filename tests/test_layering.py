"""The pure layers import only the stdlib (and each other), never Twisted.

Each module is imported in a fresh interpreter, so one that pulls Twisted in is caught even
when another test already imported Twisted into this process.  Modules are discovered with
pkgutil, so new ones are covered without touching this file.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import subprocess
import sys

import pytest

PURE_PACKAGES = ("smppgw.protocol", "smppgw.routing", "smppgw.billing", "smppgw.content")

PROBE = """
import importlib, sys
importlib.import_module(sys.argv[1])
leaked = sorted(m for m in sys.modules if m == "twisted" or m.startswith("twisted."))
print(" ".join(leaked[:5]))
"""


def pure_modules() -> list[str]:
    found: list[str] = []
    for package in PURE_PACKAGES:
        spec = importlib.util.find_spec(package)
        if spec is None or spec.submodule_search_locations is None:
            continue  # that layer does not exist yet
        found.append(package)
        locations = list(spec.submodule_search_locations)
        found.extend(info.name for info in pkgutil.walk_packages(locations, prefix=f"{package}."))
    return found


MODULES = pure_modules()


def test_discovery_finds_the_codec() -> None:
    assert {"smppgw.protocol.codec", "smppgw.protocol.pdu", "smppgw.protocol.framing"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_pure_module_does_not_import_twisted(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, module], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"
