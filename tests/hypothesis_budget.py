"""How many examples a property test tries.

The whole suite (CI, ``pytest``, ``pytest -m "not slow"``) tries the number each test is written
for.  ``pytest tests/unit`` alone is the inner loop of a change and must take seconds: it tries a
tenth of them (tests/conftest.py chooses, and says so in pytest's header).  ``SMPPGW_EXAMPLES=full``
or ``quick`` chooses explicitly."""

from __future__ import annotations

import os

QUICK_SHARE = 10  # the quick run tries 1/QUICK_SHARE of the examples
QUICK_DEFAULT = 10  # examples of a test that names no number (Hypothesis's own default: 100)


def quick() -> bool:
    return os.environ.get("SMPPGW_EXAMPLES", "full") == "quick"


def examples(full: int) -> int:
    """``full`` examples, or a tenth of them (at least 10) in the quick run."""
    return max(10, full // QUICK_SHARE) if quick() else full
