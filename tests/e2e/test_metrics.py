"""GET /metrics on the admin port, scraped while a real smpplib client submits."""

from __future__ import annotations

import threading
import urllib.request

import pytest_twisted
from conftest import RunningGateway
from polling import wait_until
from prometheus_client.parser import text_string_to_metric_families
from smpp_helpers import client, submit_and_wait
from twisted.internet.threads import deferToThread


def scrape(gw: RunningGateway) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(gw.admin_url + "/metrics", timeout=5) as response:
        assert response.headers["content-type"].startswith("text/plain")
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest_twisted.ensureDeferred
async def test_metrics_move_while_a_client_submits(gateway: RunningGateway) -> None:
    before = await deferToThread(scrape, gateway)
    assert value(before, "smppgw_pdus_received_total", command="submit_sm", status="ESME_ROK") == 0
    assert value(before, "smppgw_account_balance", account="demo", unit="li") == 1_000_000

    bound = threading.Event()
    release = threading.Event()

    def load() -> None:
        c = client(gateway.smpp_port)
        try:
            for i in range(20):
                assert submit_and_wait(c, f"138001{i:04d}9").status == 0
            bound.set()
            release.wait(10)
        finally:
            c.unbind()
            c.disconnect()

    worker = deferToThread(load)
    await deferToThread(bound.wait, 10)
    during = await deferToThread(scrape, gateway)
    release.set()
    await worker

    assert value(during, "smppgw_pdus_received_total", command="submit_sm", status="ESME_ROK") == 20
    assert value(during, "smppgw_pdus_sent_total", command="submit_sm_resp", status="ESME_ROK") == 20
    assert value(during, "smppgw_pdus_sent_total", command="bind_transceiver_resp", status="ESME_ROK") == 1
    assert value(during, "smppgw_bound_sessions", account="demo", bind_type="transceiver") == 1
    assert value(during, "smppgw_bound_sessions", account="demo2", bind_type="transceiver") == 0
    assert value(during, "smppgw_submit_response_seconds_count") == 20
    assert value(during, "smppgw_submit_response_seconds_bucket", le="+Inf") == 20
    assert value(during, "smppgw_submit_response_seconds_sum") > 0
    assert value(during, "smppgw_submits_total", result="accepted") == 20
    # 20 messages to China Mobile at 45 厘 each
    assert value(during, "smppgw_account_balance", account="demo", unit="li") == 1_000_000 - 20 * 45
    assert value(during, "smppgw_carrier_up", carrier="CMCC") == 1
    assert value(during, "smppgw_carrier_dispatched_total", carrier="CMCC") == 20

    after = await deferToThread(scrape, gateway)
    assert value(after, "smppgw_bound_sessions", account="demo", bind_type="transceiver") == 0


@pytest_twisted.ensureDeferred
async def test_metrics_show_a_carrier_down_and_receipts_by_state(gateway: RunningGateway) -> None:
    gateway.service.carriers["CUCC"].set_down(True)

    def submit() -> None:
        c = client(gateway.smpp_port)
        try:
            assert submit_and_wait(c, "13800000000", registered_delivery=1).status == 0  # ends 0000: UNDELIV
        finally:
            c.unbind()
            c.disconnect()

    await deferToThread(submit)

    def scrape_until_reported() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        def reported() -> dict[tuple[str, tuple[tuple[str, str], ...]], float] | None:
            samples = scrape(gateway)
            return samples if value(samples, "smppgw_receipts_total", state="UNDELIV") else None

        return wait_until(reported, 10, what="an UNDELIV receipt counted", interval=0.1)

    samples = await deferToThread(scrape_until_reported)
    assert value(samples, "smppgw_receipts_total", state="UNDELIV") == 1
    assert value(samples, "smppgw_carrier_outcomes_total", carrier="CMCC", state="UNDELIV") == 1
    assert value(samples, "smppgw_carrier_up", carrier="CUCC") == 0


@pytest_twisted.ensureDeferred
async def test_review_queue_and_incidents(gateway: RunningGateway) -> None:
    before = await deferToThread(scrape, gateway)
    assert value(before, "smppgw_review_queue_length") == 0
    assert value(before, "smppgw_accounts_suspended") == 0

    def submit(text: str) -> str:
        c = client(gateway.smpp_port)
        try:
            resp = submit_and_wait(c, "13900008888", text=text.encode("utf-16-be"), data_coding=8)
            return str(resp.message_id.decode())
        finally:
            c.disconnect()

    held = [await deferToThread(submit, t) for t in ("博彩优惠", "赌场开业")]
    await deferToThread(submit, "号召颠覆国家政权")
    after = await deferToThread(scrape, gateway)
    assert value(after, "smppgw_review_queue_length") == 2
    assert value(after, "smppgw_incidents_total", action="suspended", category="art15_national_security") == 1
    assert value(after, "smppgw_accounts_suspended") == 1

    gateway.service.gateway.decide(held[0], True, "test")
    assert value(await deferToThread(scrape, gateway), "smppgw_review_queue_length") == 1
