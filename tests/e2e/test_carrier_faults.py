"""Carrier faults under load, as partners see them: an outage mid-load (failover, or a bounded
queue that answers ESME_RMSGQFUL when full), a carrier that slows down, one that drops messages.
Every acknowledged message gets a receipt consistent with what happened; nothing is lost."""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

import pytest_twisted
from polling import until
from smpp_helpers import client, read_receipts, receipt_fields
from test_admin_api import call
from test_e2e_pipeline import with_fast_rule
from test_security import edits, setting
from twisted.internet.threads import deferToThread

from smppgw.model import STAT_WORDS
from smppgw.protocol.constants import CommandStatus as S

CMCC_FAST = "1380000{:04d}"  # China Mobile numbers; ...8888 gets the fast DELIVRD rule


class Pause:
    """The load stops halfway until the test has changed something."""

    def __init__(self) -> None:
        self.reached, self.go = threading.Event(), threading.Event()


def submit_many(port: int, numbers: list[str], pause: Pause | None = None) -> list[tuple[int, str]]:
    """Pipelined submits (window 10) with receipts; (status, message_id) in order of the numbers."""
    c = client(port, mode="tx")
    results: dict[int, tuple[int, str]] = {}
    seq_of: dict[int, int] = {}
    sent = 0
    while len(results) < len(numbers):
        while sent < len(numbers) and sent - len(results) < 10:
            pdu = c.send_message(
                source_addr="10690000", destination_addr=numbers[sent], short_message=b"x", registered_delivery=1
            )
            seq_of[pdu.sequence] = sent
            sent += 1
        resp = c.read_pdu()
        if resp.command == "submit_sm_resp":
            results[seq_of[resp.sequence]] = (resp.status, resp.message_id.decode() if resp.status == 0 else "")
            if pause is not None and len(results) == len(numbers) // 2:
                pause.reached.set()
                assert pause.go.wait(10)
    c.unbind()
    return [results[i] for i in range(len(numbers))]


@pytest_twisted.ensureDeferred
async def test_outage_mid_load_fails_over_and_every_message_is_delivered(gateway_factory: Any) -> None:
    gw = await gateway_factory(with_fast_rule)
    numbers = [CMCC_FAST.format(8888) for _ in range(200)]
    pause = Pause()
    load = deferToThread(submit_many, gw.smpp_port, numbers, pause)
    await until(pause.reached.is_set)
    assert (await call(gw, "POST", "/api/carriers/CMCC/outage", {"down": True}))[0] == 200
    pause.go.set()  # the load goes on with CMCC down
    results = await load
    assert [status for status, _ in results] == [S.ESME_ROK] * len(numbers)
    ids = [mid for _, mid in results]
    carriers = [gw.service.gateway.find(mid).carrier for mid in ids]
    assert carriers[0] == "CMCC" and carriers[-1] == "CUCC"  # failover to the first one that is up
    # Receipts of what CMCC took before its outage come once it is back.
    await call(gw, "POST", "/api/carriers/CMCC/outage", {"down": False})

    receipts = await deferToThread(lambda: read_receipts(client(gw.smpp_port, mode="rx"), len(ids), timeout=20))
    got = {receipt_fields(r)["id"]: receipt_fields(r)["stat"] for r in receipts}
    assert set(got) == set(ids) and set(got.values()) == {"DELIVRD"}
    assert gw.service.statistics()["active_messages"] == 0


@pytest_twisted.ensureDeferred
async def test_all_carriers_down_queue_is_bounded_and_answers_msgqful_then_drains(gateway_factory: Any) -> None:
    gw = await gateway_factory(
        edits(
            with_fast_rule,
            setting("carriers.CMCC", "queue_limit", "30"),
            setting("routing", "when_all_down", '"queue"'),
        )
    )
    for code in ("CMCC", "CUCC", "CTCC"):
        await call(gw, "POST", f"/api/carriers/{code}/outage", {"down": True})
    numbers = [CMCC_FAST.format(8888) for _ in range(100)]
    results = await deferToThread(submit_many, gw.smpp_port, numbers)
    statuses = [status for status, _ in results]
    assert statuses == [S.ESME_ROK] * 30 + [S.ESME_RMSGQFUL] * 70
    # Memory stays bounded: only the queued messages are held.
    assert gw.service.statistics()["active_messages"] == 30
    assert gw.service.carriers["CMCC"].queue_depth == 30
    balance = gw.service.wallets["demo"].balance
    assert balance == 1_000_000 - 30 * 45  # refused submits are not charged

    await call(gw, "POST", "/api/carriers/CMCC/outage", {"down": False})
    ids = [mid for status, mid in results if status == S.ESME_ROK]
    receipts = await deferToThread(lambda: read_receipts(client(gw.smpp_port, mode="rx"), len(ids), timeout=20))
    assert sorted(receipt_fields(r)["id"] for r in receipts) == sorted(ids)
    assert {receipt_fields(r)["stat"] for r in receipts} == {"DELIVRD"}


@pytest_twisted.ensureDeferred
async def test_a_carrier_that_drops_a_share_gets_expired_receipts_for_those(gateway_factory: Any) -> None:
    gw = await gateway_factory(
        edits(
            setting("carriers.CMCC", "loss_percent", "40"),
            setting("carriers.CMCC", "default_validity_s", "1"),
            setting("carriers.CMCC", "receipt_median_ms", "50"),
            setting("carriers.CMCC", "receipt_p99_ms", "100"),
            setting("carriers.CMCC", "outcomes", "{ DELIVRD = 100 }"),
        )
    )
    numbers = [CMCC_FAST.format(i) for i in range(1100, 1200)]  # no scenario rule matches these
    results = await deferToThread(submit_many, gw.smpp_port, numbers)
    ids = [mid for _, mid in results]
    assert all(status == S.ESME_ROK for status, _ in results)
    receipts = await deferToThread(lambda: read_receipts(client(gw.smpp_port, mode="rx"), len(ids), timeout=20))
    got = {receipt_fields(r)["id"]: receipt_fields(r)["stat"] for r in receipts}
    assert set(got) == set(ids)
    expired = [mid for mid, stat in got.items() if stat == "EXPIRED"]
    assert 20 <= len(expired) <= 60 and set(got.values()) == {"DELIVRD", "EXPIRED"}
    for mid, stat in got.items():  # what the client was told is what the gateway recorded
        assert STAT_WORDS[gw.service.store.get_message(mid).state] == stat


@pytest_twisted.ensureDeferred
async def test_a_carrier_that_slows_down_mid_load_still_delivers_everything(gateway_factory: Any) -> None:
    gw = await gateway_factory(with_fast_rule)
    link = gw.service.carriers["CMCC"]
    numbers = [CMCC_FAST.format(8888) for _ in range(100)]
    pause = Pause()
    load = deferToThread(submit_many, gw.smpp_port, numbers, pause)
    await until(pause.reached.is_set)
    link.set_profile(dataclasses.replace(link.profile, submit_latency=0.5))  # latency raised mid-load
    pause.go.set()
    results = await load
    ids = [mid for status, mid in results if status == S.ESME_ROK]
    assert len(ids) == len(numbers)
    receipts = await deferToThread(lambda: read_receipts(client(gw.smpp_port, mode="rx"), len(ids), timeout=20))
    assert sorted(receipt_fields(r)["id"] for r in receipts) == sorted(ids)
