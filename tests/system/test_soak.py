"""The short variant of the soak test (benchmarks/soak.py): a real gateway process under a few
seconds of mixed load with outages; it fails on a lost or crossed receipt, a bad ledger, or memory
and descriptors that keep growing.  The hour-long run is documented in docs/reliability.md."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_soak_loses_nothing_and_stays_bounded() -> None:
    options = ["--duration", "5", "--interval", "0.25", "--outage-every", "1.5"]
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "soak.py"), *options],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0, figures["problems"]
    assert figures["acknowledged"] > 100 and figures["outages"] >= 1 and figures["mo"] >= 1
    assert figures["missing_receipts"] == 0 and figures["crossed_receipts"] == 0
    assert figures["pending_receipts_after_drain"] == 0
