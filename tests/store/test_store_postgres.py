"""The PostgreSQL store on its own: migrations, the group commit that refuses only what an
account's money no longer covers, and a node's view never older than its own writes."""

from __future__ import annotations

from typing import Any

import pytest_twisted
import smpplib.exceptions
from smpp_helpers import client
from test_e2e_compliance import api
from twisted.internet.threads import deferToThread

from smppgw.billing.ledger import Refused, Wallets, check_ledger
from smppgw.cli import main as cli_main
from smppgw.model import AccountStatus
from smppgw.store.postgres import SCHEMA_VERSION, PostgresStore
from smppgw.writes import AccountCreated, LedgerAppended, Write


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
