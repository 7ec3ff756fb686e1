"""Why is my client slow: real smpplib clients over loopback, each slow in its own way, and the
scorecard (API, CLI, console sessions) naming what bounds each one's throughput."""

from __future__ import annotations

import re
import time

import pytest_twisted
from smpp_helpers import client, read_receipts, submit_and_wait
from test_cli_admin import conn, run_cli
from test_rig_scenario import api
from test_rig_scorecard import ended_scorecard, session_ids
from twisted.internet.threads import deferToThread


def live_scorecard(gw, session_id: int) -> dict:
    status, card = api(gw, "GET", f"/api/sessions/{session_id}/scorecard")
    assert status == 200, card
    return card


def bound_client(gw, mode: str = "trx"):
    before = session_ids(gw)
    c = client(gw.smpp_port, mode=mode)
    (session_id,) = session_ids(gw) - before
    return c, session_id


def send(c, n: int):
    return c.send_message(
        source_addr="10690000", dest_addr_ton=1, destination_addr=f"1380013{n:04d}", short_message=b"hi"
    )


def windowed_session(gw, window: int, count: int) -> dict:
    """``count`` submits, ``window`` at a time: send them all, then read their answers."""
    c, session_id = bound_client(gw)
    for start in range(0, count, window):
        sent = [send(c, n).sequence for n in range(start, start + window)]
        answers = [c.read_pdu() for _ in sent]
        assert sorted(a.sequence for a in answers) == sorted(sent) and {a.status for a in answers} == {0}
    card = live_scorecard(gw, session_id)
    c.unbind()
    c.disconnect()
    return card


@pytest_twisted.ensureDeferred
async def test_a_window_of_one_and_of_ten_are_both_bound_by_the_window_and_ten_goes_faster(gateway, capsys):
    def run():
        # A gateway that takes 20 ms to answer: far more than the client takes to send its next.
        assert api(gateway, "POST", "/api/accounts/demo/faults", {"resp_delay_s": 0.02})[0] == 200
        one = windowed_session(gateway, 1, 15)
        ten = windowed_session(gateway, 10, 30)
        code = run_cli(["session", "scorecard", str(one["id"]), *conn(gateway)])
        return one, ten, code

    one, ten, code = await deferToThread(run)
    # The gateway may answer the first of ten before it reads the tenth.
    assert one["counts"]["peak_window"] == 1 and ten["counts"]["peak_window"] >= 8
    slow, fast = one["throughput"], ten["throughput"]
    assert slow["bound"] == "window", slow
    assert fast["bound"] == "window", fast
    assert slow["evidence"][0].startswith("peak 1 submits outstanding x ")
    assert re.match(r"peak (8|9|10) submits outstanding x ", fast["evidence"][0])
    assert slow["rate_per_s"] < 50  # at most 1 / 20 ms
    assert fast["rate_per_s"] > 4 * slow["rate_per_s"]
    assert slow["lifted_rate_per_s"] > 2 * slow["rate_per_s"]  # the gateway allows a window of 10
    assert code == 0
    out = capsys.readouterr().out
    assert re.search(r"throughput [\d.]+/s, bound by window \(without it ~[\d.]+/s\)", out)
    assert "    peak 1 submits outstanding x " in out


def throttled(text: str) -> str:
    return re.sub(r"(?m)^throughput = 0( +# messages/s)", r"throughput = 20\1", text, count=1)


@pytest_twisted.ensureDeferred
async def test_a_client_on_a_throttled_account_is_bound_by_the_throttle(gateway_factory):
    gw = await gateway_factory(throttled)

    def run():
        c, session_id = bound_client(gw)
        statuses = [submit_and_wait(c, f"1380013{n:04d}").status for n in range(120)]
        card = live_scorecard(gw, session_id)
        c.unbind()
        c.disconnect()
        return statuses, card

    statuses, card = await deferToThread(run)
    assert 0x58 in statuses and 0 in statuses
    bound = card["throughput"]
    assert bound["bound"] == "throttle", bound
    assert "the account's rate is 20/s" in bound["evidence"]
    assert bound["lifted_rate_per_s"] > bound["rate_per_s"]


@pytest_twisted.ensureDeferred
async def test_a_client_that_sleeps_between_sends_is_bound_by_its_own_pauses(gateway):
    def run():
        c, session_id = bound_client(gateway)
        for n in range(12):
            assert submit_and_wait(c, f"1380013{n:04d}").status == 0
            time.sleep(0.03)
        c.unbind()
        c.disconnect()
        return ended_scorecard(gateway, session_id)

    card = await deferToThread(run)
    bound = card["throughput"]
    assert not card["open"] and bound["bound"] == "pauses", bound
    # 12 submits span 11 pauses of 30 ms (from the first submit to the last answer): at most 12 / 0.33 s.
    assert bound["rate_per_s"] <= 12 / (11 * 0.03)
    assert bound["lifted_rate_per_s"] > 2 * bound["rate_per_s"]
    assert "TCP round trip" in bound["evidence"][0]  # Linux: the kernel's round trip (TCP_INFO)


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


@pytest_twisted.ensureDeferred
async def test_a_receiver_that_does_not_read_its_socket_is_bound_by_its_reading(gateway):
    def run():
        rx, session_id = bound_client(gateway, "rx")
        tx = client(gateway.smpp_port, mode="tx")
        for n in range(5):  # each with an immediate receipt (the demo account's scripted outcomes)
            text = b"#smppgw:receipt=DELIVRD,delay=0 hi"
            assert submit_and_wait(tx, f"1380013{n:04d}", text, registered_delivery=1).status == 0
        # The receiver reads nothing: its receipts go out and stay unanswered.
        assert wait_for(lambda: live_scorecard(gateway, session_id)["counts"]["deliver_sent"] >= 5)
        time.sleep(0.2)
        live = live_scorecard(gateway, session_id)
        sessions = api(gateway, "GET", "/api/sessions")[1]["sessions"]
        receipts = read_receipts(rx, 5, timeout=10)
        after = live_scorecard(gateway, session_id)
        for c in (rx, tx):
            c.unbind()
            c.disconnect()
        return live, sessions, receipts, after

    live, sessions, receipts, after = await deferToThread(run)
    assert len(receipts) == 5
    bound = live["throughput"]
    assert bound["bound"] == "unread", bound
    assert any(re.fullmatch(r"[1-5] deliver_sm still unanswered", line) for line in bound["evidence"]), bound
    assert "bound by unread" in live["text"]
    row = next(s for s in sessions if s["id"] == live["id"])
    assert row["throughput"]["bound"] == "unread"  # the console's sessions view
    assert after["throughput"]["bound"] == "unread"  # the answers came, late
    assert after["counts"]["deliver_errors"] == 0


@pytest_twisted.ensureDeferred
async def test_a_session_that_sent_nothing_names_no_bound(gateway):
    def run():
        c, session_id = bound_client(gateway, "tx")
        card = live_scorecard(gateway, session_id)
        c.unbind()
        c.disconnect()
        return card

    card = await deferToThread(run)
    assert card["throughput"]["bound"] is None
    assert card["clean"]
