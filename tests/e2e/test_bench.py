"""``smppgw bench`` as a user runs it: the real command in a subprocess against a gateway
running in this process, its JSON report and its exit status."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet.threads import deferToThread

ROOT = Path(__file__).resolve().parents[2]


def fast_carriers(text: str) -> str:
    """Carriers that answer at once and lose nothing, as in fixtures/bench.toml."""
    text = re.sub(r"submit_latency_ms = \d+", "submit_latency_ms = 0", text)
    text = re.sub(r"receipt_median_ms = \d+", "receipt_median_ms = 1", text)
    text = re.sub(r"receipt_p99_ms = \d+", "receipt_p99_ms = 2", text)
    text = re.sub(r"loss_percent = [\d.]+", "loss_percent = 0", text)
    return text.replace(", EXPIRED = 0.5 }", " }")


def bench(port: int, *args: str) -> tuple[int, dict[str, Any], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-m", "smppgw", "bench", "--port", str(port), "--json", "--progress", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    return proc.returncode, json.loads(proc.stdout), proc.stderr


@pytest_twisted.ensureDeferred
async def test_bench_reports_every_submit_and_receipt_over_several_accounts_and_a_mix(gateway_factory):
    gw = await gateway_factory(fast_carriers)
    code, report, _ = await deferToThread(
        bench,
        gw.smpp_port,
        *("-n", "300", "-c", "3", "-w", "20", "--mix", "gsm7=70,ucs2=20,long=10"),
        *("--account", "demo:demo1234:10690000", "--account", "demo2:demo5678:10690001"),
    )
    assert code == 0, report
    assert report["ok"] is True
    assert report["accounts"] == ["demo", "demo2"]
    assert (report["submitted"], report["answered"], report["missing_answers"]) == (300, 300, 0)
    assert report["status"] == {"ESME_ROK": 300}
    assert report["receipts_matched"] == report["receipts_expected"] == 300
    assert report["receipts_missing"] == 0
    assert sum(report["receipt_states"].values()) == 300
    assert set(report["receipt_states"]) <= {"DELIVRD", "UNDELIV", "REJECTD"}
    for key in ("submit_latency_ms", "receipt_latency_ms"):
        lat = report[key]
        assert 0 < lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]
    assert gw.service.gateway.submitted == 300


@pytest_twisted.ensureDeferred
async def test_copies_of_a_long_message_sent_at_once_by_several_connections_are_each_reassembled(gateway_factory):
    # Ten destinations, all long: the four connections cycle through the same thirty parts nearly
    # in step.  Each copy must carry a reference of its own, or the gateway joins parts of two
    # copies and holds the rest until concat_timeout_s (60 s) ends: receipts missing.  (A 100,000
    # message run with 2 % long messages lost 5 receipts so.)
    gw = await gateway_factory(fast_carriers)
    code, report, _ = await deferToThread(
        bench,
        gw.smpp_port,
        *("-n", "600", "-c", "4", "-w", "30", "--mix", "long=100", "--dst-count", "10", "--receipt-timeout", "5"),
    )
    assert code == 0, report["errors"]
    # Every connection starts at a message's first part: no part is sent without the rest.
    assert (report["submitted"], report["answered"]) == (600, 600)
    assert report["receipts_matched"] == report["receipts_expected"] == 600
    assert report["receipts_missing"] == 0
    assert not gw.service.compliance.held  # no part left waiting for the rest


@pytest_twisted.ensureDeferred
async def test_bench_exits_non_zero_when_receipts_go_missing(gateway_factory):
    gw = await gateway_factory(fast_carriers)
    # The demo scenario gives a destination ending in 0002 no receipt until its validity ends.
    code, report, _ = await deferToThread(
        bench, gw.smpp_port, "-n", "5", "--dst", "13800130002", "--dst-count", "1", "--receipt-timeout", "0.5"
    )
    assert code == 1
    assert report["ok"] is False
    assert report["status"] == {"ESME_ROK": 5}
    assert report["receipts_missing"] == 5
    assert any("receipts missing" in e for e in report["errors"])


@pytest_twisted.ensureDeferred
async def test_bench_exits_2_when_the_bind_is_refused(gateway_factory):
    gw = await gateway_factory(fast_carriers)
    code, report, _ = await deferToThread(bench, gw.smpp_port, "-n", "5", "--account", "demo:wrong:10690000")
    assert code == 2
    assert report["submitted"] == 0
    assert any("ESME_RINVPASWD" in e for e in report["errors"])
