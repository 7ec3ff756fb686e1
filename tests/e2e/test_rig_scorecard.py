"""The client scorecard: a badly behaved raw-socket client is named for what it did, a
well-behaved smpplib session scores clean, and the report is readable in the CLI."""

from __future__ import annotations

import gc
import re
import time
import weakref
from pathlib import Path

import pytest
import pytest_twisted
from conftest import DEFAULT_CONFIG, config_text, start_gateway
from smpp_helpers import Raw, client, read_receipts, submit_and_wait
from test_cli_admin import conn, run_cli
from test_rig_scenario import api
from twisted.internet.threads import deferToThread

from smppgw import config as cfg
from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.rig.scorecard import Scorecards


def session_ids(gw) -> set[int]:
    return {s["id"] for s in api(gw, "GET", "/api/sessions")[1]["sessions"]}


def ended_scorecard(gw, session_id: int) -> dict:
    """The scorecard once the gateway has seen the connection close."""
    deadline = time.monotonic() + 5
    while True:
        status, card = api(gw, "GET", f"/api/sessions/{session_id}/scorecard")
        assert status == 200, card
        if not card["open"] or time.monotonic() > deadline:
            return card
        time.sleep(0.05)


def submit(seq: int) -> p.SubmitSm:
    return p.SubmitSm(
        sequence_number=seq,
        source_addr="10690000",
        dest_addr_ton=1,
        destination_addr=f"1380013{seq:04d}",
        short_message=b"hi",
    )


@pytest_twisted.ensureDeferred
async def test_bad_client_is_named_for_its_window_overrun_and_ignored_throttling(gateway):
    def run():
        before = session_ids(gateway)
        raw = Raw(gateway.smpp_port)
        assert raw.bind().command_status == 0
        (session_id,) = session_ids(gateway) - before
        api(gateway, "POST", "/api/accounts/demo/faults", {"throttled_percent": 100})
        raw.send(b"".join(codec.encode(submit(seq)) for seq in range(2, 32)))  # 30 at once, window is 10
        answers = [raw.read() for _ in range(30)]
        raw.send(b"".join(codec.encode(submit(seq)) for seq in range(32, 52)))  # straight back: no back-off
        answers += [raw.read() for _ in range(20)]
        raw.close()  # and no unbind
        return session_id, answers, ended_scorecard(gateway, session_id)

    _, answers, card = await deferToThread(run)
    assert {a.command_status for a in answers} == {0x58}
    assert not card["clean"]
    faults = "\n".join(card["faults"])
    assert "window overrun: 30 requests beyond a window of 10" in faults  # 20 of the 30, 10 of the 20
    assert "ignored throttling: 10 submits" in faults  # the first 10 could have been in flight
    assert "unbind etiquette: closed without unbind" in faults
    assert card["counts"]["throttled"] == 50 and card["account"] == "demo"


@pytest_twisted.ensureDeferred
async def test_well_behaved_smpplib_session_scores_clean(gateway, capsys: pytest.CaptureFixture[str]):
    def run():
        before = session_ids(gateway)
        c = client(gateway.smpp_port)
        (session_id,) = session_ids(gateway) - before
        for n in range(3):
            assert submit_and_wait(c, f"1380013{n}555", registered_delivery=1).status == 0
        receipts = read_receipts(c, 3, timeout=10)
        live = api(gateway, "GET", f"/api/sessions/{session_id}/scorecard")[1]
        c.unbind()
        c.disconnect()
        card = ended_scorecard(gateway, session_id)
        code = run_cli(["session", "scorecard", str(session_id), *conn(gateway)])
        missing = api(gateway, "GET", "/api/sessions/99999/scorecard")
        return receipts, live, card, code, missing

    receipts, live, card, code, missing = await deferToThread(run)
    assert len(receipts) == 3
    assert live["open"] and live["clean"]
    assert card["clean"], card["faults"]
    assert card["ending"] == "unbound by the client"
    assert card["counts"]["submits"] == 3 and card["counts"]["deliver_sent"] == 3
    assert code == 0
    out = capsys.readouterr().out
    assert f"session {card['id']} (demo from 127.0.0.1:" in out and "clean, unbound by the client" in out
    assert missing[0] == 404


@pytest_twisted.ensureDeferred
async def test_a_message_sent_again_after_a_reconnect_is_named_as_a_resubmit(gateway):
    def session(account: str, password: str, source: str, numbers: list[str]) -> dict:
        before = session_ids(gateway)
        c = client(gateway.smpp_port, system_id=account, password=password)
        (session_id,) = session_ids(gateway) - before
        for number in numbers:
            assert submit_and_wait(c, number, source_addr=source).status == 0
        c.unbind()
        c.disconnect()
        return ended_scorecard(gateway, session_id)

    def run() -> tuple[dict, dict]:
        first = session("demo", "demo1234", "10690000", ["13800138001", "13800138002"])
        again = session("demo", "demo1234", "10690000", ["13800138002", "13800138003"])  # one sent before
        return first, again

    first, again = await deferToThread(run)
    assert first["counts"]["resubmits"] == 0 and first["clean"]
    assert again["counts"]["resubmits"] == 1
    assert "resubmitted after reconnecting: 1 messages sent on an earlier session" in again["faults"]


def test_ended_scorecards_do_not_keep_their_sessions_alive():
    """The last 1,000 ended cards stay readable, but not the connections they graded (memory stays
    bounded on a gateway whose clients reconnect all day)."""

    class Connection:
        def account(self) -> str | None:
            return "demo"

    cards = Scorecards()
    connection = Connection()
    card = cards.open("127.0.0.1:5000", "127.0.0.1", 0.0, connection.account)
    alive = weakref.ref(connection)
    cards.ended(card, 1.0)
    del connection
    gc.collect()
    assert alive() is None
    assert cards.get(card.session_id) is card and card.to_json()["account"] == "demo"


def strict(text: str) -> str:
    return re.sub(r"(?m)^late_s = 5\b", "late_s = 0.5", re.sub(r"(?m)^window = 10\b", "window = 3", text))


def five_at_once(gw) -> dict:
    """A smpplib session with five submits outstanding at once (their answers are held back)."""
    before = session_ids(gw)
    c = client(gw.smpp_port)
    (session_id,) = session_ids(gw) - before
    api(gw, "POST", "/api/accounts/demo/faults", {"resp_delay_s": 0.3})
    sent = [
        c.send_message(source_addr="10690000", dest_addr_ton=1, destination_addr="13800135555", short_message=b"x")
        for _ in range(5)
    ]
    answers = [c.read_pdu() for _ in sent]
    assert {a.status for a in answers} == {0}
    c.unbind()
    c.disconnect()
    return ended_scorecard(gw, session_id)


@pytest_twisted.ensureDeferred
async def test_scorecard_thresholds_come_from_the_configuration(tmp_path: Path):
    cards = []
    for name, edit in (("default", None), ("strict", strict)):
        gw = await start_gateway(tmp_path / name, edit)
        try:
            cards.append(await deferToThread(five_at_once, gw))
        finally:
            await gw.service.stopService()
    usual, tight = cards
    assert usual["clean"], usual["faults"]
    assert usual["rules"]["window"] == 10 and usual["counts"]["peak_window"] == 5
    assert tight["faults"] == ["window overrun: 2 requests beyond a window of 3"]
    assert tight["rules"]["window"] == 3 and tight["rules"]["late_s"] == 0.5


def test_scorecard_section_errors_name_line_and_key(tmp_path: Path):
    store = tmp_path / "state" / "smppgw.db"
    text = config_text(store, overrides=lambda t: re.sub(r"(?m)^window = 10\b", "window = 0", t))
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("window = 0"))
    with pytest.raises(cfg.ConfigError, match=rf"gateway\.toml:{line}: scorecard\.window: must be >= 1, got 0"):
        cfg.parse(text, DEFAULT_CONFIG)
    text = config_text(store, overrides=lambda t: t.replace("[scorecard]", "[scorecard]\ngrace_s = 2", 1))
    with pytest.raises(cfg.ConfigError, match=r"scorecard\.grace_s: unknown key"):
        cfg.parse(text, DEFAULT_CONFIG)
