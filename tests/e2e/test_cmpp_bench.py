"""``smppgw bench --protocol cmpp`` as a user runs it (the real command in a subprocess) against the
gateway's CMPP listener: every SUBMIT answered, every status report matched to its Msg_Id."""

from __future__ import annotations

import pytest_twisted
from test_bench import bench, fast_carriers
from twisted.internet.threads import deferToThread


@pytest_twisted.ensureDeferred
async def test_bench_over_cmpp_reports_every_submit_and_report(gateway_factory):
    gw = await gateway_factory(fast_carriers)
    code, report, stderr = await deferToThread(
        bench,
        gw.cmpp_port,
        *("--protocol", "cmpp", "-n", "300", "-c", "3", "-w", "16", "--mix", "gsm7=70,ucs2=20,long=10"),
        *("--account", "900001:demo1234:10690000", "--account", "900002:demo5678:10690001"),
    )
    assert code == 0, (report, stderr)
    assert report["ok"] is True and report["accounts"] == ["900001", "900002"]
    assert (report["submitted"], report["answered"], report["missing_answers"]) == (300, 300, 0)
    assert report["status"] == {"CMPP_OK": 300}
    assert report["receipts_matched"] == report["receipts_expected"] == 300
    assert "DELIVRD" in report["receipt_states"]
    assert all(len(stat) == 7 for stat in report["receipt_states"])  # the reports' Stat words
    assert gw.service.gateway.submitted == 300


@pytest_twisted.ensureDeferred
async def test_copies_of_a_long_message_sent_at_once_over_cmpp_are_each_reassembled(gateway_factory):
    # As over SMPP (test_bench): four connections in step over ten long messages, each copy with a
    # UDH reference of its own, so no part waits for concat_timeout_s.
    gw = await gateway_factory(fast_carriers)
    code, report, stderr = await deferToThread(
        bench,
        gw.cmpp_port,
        *("--protocol", "cmpp", "-n", "600", "-c", "4", "-w", "16", "--mix", "long=100", "--dst-count", "10"),
        *("--account", "900001:demo1234:10690000", "--receipt-timeout", "5"),
    )
    assert code == 0, (report["errors"], stderr)
    assert (report["submitted"], report["answered"]) == (600, 600)
    assert report["status"] == {"CMPP_OK": 600}
    assert report["receipts_missing"] == 0
    assert not gw.service.compliance.held


@pytest_twisted.ensureDeferred
async def test_bench_over_cmpp_with_a_wrong_secret_exits_2(gateway_factory):
    gw = await gateway_factory(fast_carriers)
    code, report, _ = await deferToThread(
        bench, gw.cmpp_port, "--protocol", "cmpp", "-n", "5", "--account", "900001:wrong:10690000"
    )
    assert code == 2 and report["ok"] is False
    assert "refused" in report["errors"][0]
