"""``smppgw bench --protocol http`` as a user runs it (the real command in a subprocess) against the
gateway's customer HTTP listener: batches of the v1 API, every message answered, every receipt
back as a webhook to the bench's own receiver and matched to its message id."""

from __future__ import annotations

import os

import pytest_twisted
from http_clients import http_port
from test_bench import bench, fast_carriers
from twisted.internet.threads import deferToThread


@pytest_twisted.ensureDeferred
async def test_bench_over_http_reports_every_message_and_receipt(gateway_factory):
    gw = await gateway_factory(fast_carriers)
    code, report, stderr = await deferToThread(
        bench,
        await http_port(gw),
        *("--protocol", "http", "-n", "300", "-c", "3", "--batch", "40", "--mix", "gsm7=70,ucs2=20,long=10"),
        *("--server-pid", str(os.getpid())),
    )
    assert code == 0, (report, stderr)
    assert report["ok"] is True and report["protocol"] == "http" and report["batch"] == 40
    assert (report["submitted"], report["answered"], report["missing_answers"]) == (300, 300, 0)
    assert report["status"] == {"accepted": 300}
    assert report["receipts_matched"] == report["receipts_expected"] == 300
    assert "DELIVRD" in report["receipt_states"]
    assert report["server_cpu_ms_per_message"] > 0 and report["client_cpu_ms_per_message"] > 0
    assert gw.service.gateway.submitted == 300


@pytest_twisted.ensureDeferred
async def test_bench_over_http_with_a_wrong_secret_exits_2(gateway_factory):
    gw = await gateway_factory(fast_carriers)
    code, report, _ = await deferToThread(
        bench, await http_port(gw), "--protocol", "http", "-n", "5", "--account", "demo:wrong:10690000"
    )
    assert code == 2 and report["ok"] is False
    assert "refused: HTTP 401" in report["errors"][0]
