"""The PostgreSQL store on its own: migrations, the group commit that refuses only what an
account's money no longer covers, and a node's view never older than its own writes."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest_twisted
import smpplib.exceptions
from smpp_helpers import client
from test_e2e_compliance import api
from test_store_contract import message, receipt
from twisted.internet.threads import deferToThread

from smppgw.billing.ledger import LedgerEntry, Refused, Wallets, check_ledger
from smppgw.cli import main as cli_main
from smppgw.model import AccountStatus, Decision, MessageState
from smppgw.store.postgres import COPY_MIN_ROWS, SCHEMA_VERSION, PostgresStore, _runs
from smppgw.writes import (
    AccountCreated,
    DecisionRecorded,
    DeliveryDone,
    DeliveryStored,
    LedgerAppended,
    MessageAccepted,
    MessageSettled,
    OptoutAdded,
    Write,
)


def test_db_upgrade_applies_the_migrations_once(pg_url: str, capsys: Any) -> None:
    assert cli_main(["db", "upgrade", "--url", pg_url]) == 0
    assert f"schema at version {SCHEMA_VERSION}; migrations applied: 1, 2, 3, 4, 5" in capsys.readouterr().out
    assert cli_main(["db", "upgrade", "--url", pg_url]) == 0
    assert "migrations applied: none needed" in capsys.readouterr().out
    assert cli_main(["db", "upgrade", "--url", "postgresql://nobody@127.0.0.1:1/none"]) == 1


def test_a_batch_refuses_only_the_writes_the_money_no_longer_covers(pg_url: str) -> None:
    store = PostgresStore(pg_url, "a")
    try:
        store.load()
        wallets = Wallets()
        wallets.open("demo")
        wallets.open("demo2")
        opening: list[Write] = []
        for account, amount in (("demo", 100), ("demo2", 1000)):
            entry = wallets.topup(account, amount, f"open-{account}", "test", 1.0)
            assert not isinstance(entry, Refused)
            opening += [AccountCreated(account, 0, "li", AccountStatus.ACTIVE, "", 1.0), LedgerAppended(entry)]
        store.apply(opening)
        # This node believes demo has plenty (another node spent it meanwhile, say): 4 charges of 45.
        wallets["demo"].resync(10_000)
        groups: list[list[Write]] = []
        for i in range(4):
            for account in ("demo", "demo2"):
                charge = wallets.charge(account, f"{account}-{i}", 1, 45, 2.0)
                assert not isinstance(charge, Refused)
                groups.append([LedgerAppended(charge)])
        result = store.apply_groups(groups)
        # demo's third and fourth charges would overdraw it: refused; demo2's all go through.
        assert result.refused == {4: "insufficient_funds", 6: "insufficient_funds"}
        assert store.balances() == {"demo": 10, "demo2": 1000 - 4 * 45}
        assert result.balances == store.balances()
        assert check_ledger(store.ledger(), store.balances()) == []
        # A top-up reference another node credited first is refused, the rest of the batch commits.
        other_node = Wallets()
        other_node.open("demo")
        again = other_node.topup("demo", 500, "open-demo2", "test", 3.0)
        fresh = wallets.topup("demo", 500, "BANK-1", "test", 3.0)
        assert not isinstance(again, Refused) and not isinstance(fresh, Refused)
        result = store.apply_groups([[LedgerAppended(again)], [LedgerAppended(fresh)]])
        assert result.refused == {0: "duplicate_reference"}
        assert store.balances()["demo"] == 510
    finally:
        store.close()


def test_a_batch_redone_for_an_overdrawn_account_still_applies_its_writes_in_order(pg_url: str) -> None:
    store = PostgresStore(pg_url, "a")
    try:
        store.load()
        wallets = Wallets()
        wallets.open("acme")
        opening = wallets.topup("acme", 100, "open-acme", "test", 1.0)
        assert not isinstance(opening, Refused)
        store.apply([AccountCreated("acme", 0, "li", AccountStatus.ACTIVE, "", 1.0), LedgerAppended(opening)])
        wallets["acme"].resync(10_000)  # this node believes acme can pay for both messages
        first, second, third = message(1), message(2), message(3)
        store.apply([MessageAccepted(first)])

        def submit(m: Any) -> list[Write]:
            charge = wallets.charge("acme", m.message_id, 2, 45, 2.0)
            assert not isinstance(charge, Refused)
            return [LedgerAppended(charge), MessageAccepted(m)]

        def settle(m: Any) -> list[Write]:
            return [MessageSettled(m.message_id, MessageState.DELIVERED, 3.0, 0, "DELIVRD", 0, "cmcc")]

        result = store.apply_groups(
            [settle(first), submit(second), submit(third), settle(second), [DeliveryStored(receipt(5, second))],
             [DeliveryDone(5)]]
        )  # fmt: skip
        # The third message's charge would overdraw acme: refused; the rest commits, in order.
        assert result.refused == {2: "insufficient_funds"}
        assert store.balances() == {"acme": 10}
        assert store.get_message(third.message_id) is None
        for m in (first, second):
            found = store.get_message(m.message_id)
            assert found is not None and found.state is MessageState.DELIVERED
        assert store.claim(["acme"], 30.0) == []
    finally:
        store.close()


def test_a_batch_of_many_callers_still_takes_one_statement_per_kind() -> None:
    """The per-message cost of a group commit stays that of a few array statements: callers whose
    writes interleave (one's settlement before another's submit) add no statement per message."""
    batch: list[Write] = []
    for i in range(1, 101):
        m = message(i)
        batch += [
            MessageAccepted(m),
            DecisionRecorded(m.message_id, "acme", 1.0, Decision.ALLOWED, "", "", ""),
            DeliveryStored(receipt(1000 + i, m)),
        ]
        if i > 1:
            earlier = message(i - 1)
            batch += [
                MessageSettled(earlier.message_id, MessageState.DELIVERED, 2.0, 0, "DELIVRD", 0, "cmcc"),
                DeliveryDone(1000 + i - 1),
            ]
    runs = _runs(batch)
    assert [kind for kind, _ in runs] == ["message", "decision", "delivery", "message_state", "delivery_done"]
    assert [len(run) for _, run in runs] == [100, 100, 100, 99, 99]


@pytest_twisted.ensureDeferred
async def test_suspend_then_reinstate_at_once_leaves_the_account_active(any_store_gateway_factory: Any) -> None:
    """A node's heartbeat read from before its own write never undoes that write."""
    gw = await any_store_gateway_factory()
    for _ in range(15):
        assert (await api(gw, "POST", "/api/accounts/demo/suspend", {"reason": "test"}))[0] == 200
        assert (await api(gw, "POST", "/api/accounts/demo/reinstate"))[0] == 200

        def bind() -> int:
            try:
                c = client(gw.smpp_port)
            except smpplib.exceptions.PDUError as err:
                return int(err.args[1])
            c.unbind()
            c.disconnect()
            return 0

        assert await deferToThread(bind) == 0


def test_a_node_loads_the_generations_of_what_it_loads_so_a_change_while_it_starts_is_seen(pg_url: str) -> None:
    """A node that starts reads opt-outs and pledges after its store's load: the generations that
    load returns are the ones it compares its first heartbeat with, so an opt-out another node adds
    in between counts as moved (and is loaded), not as what the node already had."""
    other = PostgresStore(pg_url, "a")
    starting = PostgresStore(pg_url, "b")
    try:
        other.load()
        loaded = starting.load().generations
        assert loaded["optouts"] == other.heartbeat(3.0, 1.0).generations["optouts"]
        other.apply([OptoutAdded("*", "13900128888", "test", 2.0)])
        assert starting.heartbeat(3.0, 2.0).generations["optouts"] == loaded["optouts"] + 1
        assert [o.msisdn for o in starting.optouts()] == ["13900128888"]
    finally:
        other.close()
        starting.close()


def test_other_nodes_are_woken_for_a_top_up_not_for_a_refund(pg_url: str) -> None:
    """A credit reaches every node's wallets at once (NOTIFY smppgw_accounts); refunds, in most
    commits under load, wait for each node's next commit or heartbeat."""
    store = PostgresStore(pg_url, "a")
    listener = psycopg.connect(pg_url, autocommit=True)
    try:
        store.load()
        listener.execute("LISTEN smppgw_accounts")
        wallets = Wallets()
        wallets.open("acme")
        opening = wallets.topup("acme", 1000, "open-acme", "test", 1.0)
        charge = wallets.charge("acme", "m-1", 1, 45, 2.0)
        assert not isinstance(opening, Refused) and not isinstance(charge, Refused)
        store.apply([AccountCreated("acme", 0, "li", AccountStatus.ACTIVE, "", 1.0), LedgerAppended(opening)])
        assert [n.channel for n in listener.notifies(timeout=0.5, stop_after=1)] == ["smppgw_accounts"]
        store.apply([LedgerAppended(charge)])
        refund = wallets.refund("acme", "m-1", 45, 3.0, reason="UNDELIV")
        assert not isinstance(refund, Refused)
        store.apply([LedgerAppended(refund)])
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        assert store.balances() == {"acme": 1000}
        top_up = wallets.topup("acme", 500, "BANK-2", "test", 4.0)
        assert not isinstance(top_up, Refused)
        store.apply([LedgerAppended(top_up)])
        assert [n.channel for n in listener.notifies(timeout=0.5, stop_after=1)] == ["smppgw_accounts"]
        # The same for batches big enough to go by COPY: refunds wake nobody, a credit does.
        first = [wallets.charge("acme", f"m-{i}", 1, 45, 5.0) for i in range(2, 12)]
        refunds = [wallets.refund("acme", f"m-{i}", 45, 6.0, reason="UNDELIV") for i in range(2, 12)]
        then = [wallets.charge("acme", f"m-{i}", 1, 45, 7.0) for i in range(12, 22)]
        credit = wallets.adjust("acme", 100, "goodwill", "ops", 7.0)
        assert all(isinstance(e, LedgerEntry) for e in [*first, *refunds, *then, credit])
        assert len(first) >= COPY_MIN_ROWS
        store.apply_groups([[LedgerAppended(e)] for e in first])
        store.apply_groups([[LedgerAppended(e)] for e in refunds])
        assert list(listener.notifies(timeout=0.5, stop_after=1)) == []
        store.apply_groups([[LedgerAppended(e)] for e in [*then, credit]])
        assert [n.channel for n in listener.notifies(timeout=0.5, stop_after=1)] == ["smppgw_accounts"]
        assert store.balances() == {"acme": 1500 - 450 + 100}
        assert check_ledger(store.ledger(), store.balances()) == []
    finally:
        listener.close()
        store.close()
