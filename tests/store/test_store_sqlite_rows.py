"""SQLite keeps a message's charge, refund, accepting decision and final receipt with its row: one
row written at submit, one change at its final state, and the ledger, the decision lists and the
receipts owed still read every one (and databases of schemas 1 to 3 keep working)."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

from test_store_contract import T0, account, delivered, final_receipt, message, receipt, settlement

from smppgw.billing.ledger import EntryKind, LedgerEntry, check_ledger
from smppgw.model import Decision, DeliveryKind, MessageState
from smppgw.store.sqlite import SCHEMA_VERSION, SqliteStore
from smppgw.writes import (
    DecisionRecorded,
    DeliveryDone,
    DeliveryStored,
    LedgerAppended,
    MessageAccepted,
    MessageSettled,
)


def _rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        count: int = db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    return count


def _counts(path: Path) -> tuple[int, int]:
    return _rows(path, "messages"), _rows(path, "ledger")


def _schema_version(path: Path) -> str:
    with sqlite3.connect(path) as db:
        version: str = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    return version


def _entry(entry_id: int, kind: EntryKind, amount: int, after: int, message_id: str | None, at: float) -> LedgerEntry:
    reference = "BANK-1" if kind is EntryKind.TOPUP else ("UNDELIV" if kind is EntryKind.REFUND else None)
    return LedgerEntry(entry_id, "acme", kind, amount, "li", after, at, message_id, reference, None)


def test_a_charged_message_is_one_row_and_its_refund_one_change_and_the_ledger_reads_both(tmp_path: Path) -> None:
    path = tmp_path / "gw.db"
    store = SqliteStore(path)
    topup = _entry(1, EntryKind.TOPUP, 1000, 1000, None, T0)
    store.apply([account(), LedgerAppended(topup)])
    assert _counts(path) == (0, 1)
    m = message(1)
    charge = _entry(2, EntryKind.CHARGE, -90, 910, m.message_id, T0)
    store.apply([MessageAccepted(m, charge)])
    assert _counts(path) == (1, 1)  # the message and its charge: one row
    refund = _entry(3, EntryKind.REFUND, 90, 1000, m.message_id, T0 + 3)
    store.apply([MessageSettled(m.message_id, MessageState.UNDELIVERABLE, T0 + 3, 1, "", 90, "cmcc", refund)])
    assert _counts(path) == (1, 1)
    store.close()
    again = SqliteStore(path)
    try:
        assert again.ledger() == [topup, charge, refund]
        assert again.ledger("other") == []
        assert again.balances() == {"acme": 1000}
        assert again.load().next_entry_id == 4
        assert check_ledger(again.ledger(), again.balances()) == []
    finally:
        again.close()


_SCHEMA_1_MESSAGES = """CREATE TABLE messages (
    seq INTEGER PRIMARY KEY, message_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL,
    source_addr TEXT NOT NULL, source_ton INTEGER NOT NULL, source_npi INTEGER NOT NULL,
    destination_addr TEXT NOT NULL, dest_ton INTEGER NOT NULL, dest_npi INTEGER NOT NULL,
    msisdn TEXT NOT NULL, carrier TEXT NOT NULL, home_carrier TEXT NOT NULL,
    segments INTEGER NOT NULL, price INTEGER NOT NULL, charge INTEGER NOT NULL,
    data_coding INTEGER NOT NULL, esm_class INTEGER NOT NULL, body BLOB NOT NULL,
    registered_delivery INTEGER NOT NULL, submitted_at REAL NOT NULL, validity_until REAL,
    state INTEGER NOT NULL, final_at REAL, err INTEGER NOT NULL, code TEXT NOT NULL, refunded INTEGER NOT NULL
)"""


def test_a_schema_1_database_with_charges_as_ledger_rows_opens_upgraded_and_checks(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    m = message(1)
    old = [_entry(1, EntryKind.TOPUP, 1000, 1000, None, T0), _entry(2, EntryKind.CHARGE, -90, 910, m.message_id, T0)]
    with sqlite3.connect(path) as db:  # the tables as schema 1 made them, with a charge as a ledger row
        db.execute(_SCHEMA_1_MESSAGES)
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        db.execute(
            "CREATE TABLE ledger (entry_id INTEGER PRIMARY KEY, account TEXT NOT NULL, kind TEXT NOT NULL, "
            "amount INTEGER NOT NULL, unit TEXT NOT NULL, balance_after INTEGER NOT NULL, at REAL NOT NULL, "
            "message_id TEXT, reference TEXT, operator TEXT)"
        )
        db.executemany("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [(e.entry_id, e.account, str(e.kind), e.amount, e.unit, e.balance_after, e.at, e.message_id,
                         e.reference, e.operator) for e in old])  # fmt: skip
        db.execute(
            "CREATE TABLE accounts (system_id TEXT PRIMARY KEY, balance INTEGER NOT NULL, unit TEXT NOT NULL, "
            "status TEXT NOT NULL, settings TEXT NOT NULL DEFAULT '', created_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO accounts VALUES ('acme', 910, 'li', 'active', '', ?)", (T0,))
        db.execute(
            "INSERT INTO messages VALUES (1, ?, 'acme', '1069', 0, 1, '139', 1, 1, '86139', 'cmcc', 'cmcc', 2, 45, "
            "90, 8, 64, x'00', 1, ?, NULL, 1, NULL, 0, '', 0)",
            (m.message_id, T0),
        )
    store = SqliteStore(path)
    try:
        assert _schema_version(path) == str(SCHEMA_VERSION)
        refund = _entry(3, EntryKind.REFUND, 90, 1000, m.message_id, T0 + 3)
        store.apply([MessageSettled(m.message_id, MessageState.UNDELIVERABLE, T0 + 3, 1, "", 90, "cmcc", refund)])
        recovered = store.load()
        assert recovered.next_entry_id == 4 and recovered.accounts["acme"].balance == 1000
        assert store.ledger() == [*old, refund]
        assert check_ledger(store.ledger(), store.balances()) == []
    finally:
        store.close()


def test_a_message_accepted_with_its_decision_is_one_row(tmp_path: Path) -> None:
    path = tmp_path / "gw.db"
    store = SqliteStore(path)
    store.apply([account(), LedgerAppended(_entry(1, EntryKind.TOPUP, 1000, 1000, None, T0))])
    m = message(1)
    allowed = DecisionRecorded(m.message_id, "acme", T0, Decision.ALLOWED, "", "", "")
    store.apply([MessageAccepted(m, _entry(2, EntryKind.CHARGE, -90, 910, m.message_id, T0), allowed)])
    assert (_rows(path, "messages"), _rows(path, "ledger"), _rows(path, "decisions")) == (1, 1, 0)
    decided = store.decisions(m.message_id)
    assert [(d.decision, d.at, d.account) for d in decided] == [(Decision.ALLOWED, T0, "acme")]
    store.close()


def test_a_schema_2_database_keeps_its_decision_rows_and_numbers_new_ones_above_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    m1, m2 = message(1), message(2)
    SqliteStore(path).close()
    with sqlite3.connect(path) as db:  # as schema 2 left it: every decision a row of its own
        for column in ("decision_id", "decision_at", "decision", "decision_category", "decision_term",
                       "decision_detail"):  # fmt: skip
            db.execute(f"ALTER TABLE messages DROP COLUMN {column}")
        db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
        db.execute(
            "INSERT INTO decisions VALUES (7, ?, 'acme', ?, 'held', 'ads', '促销', 'held for review')",
            (m1.message_id, T0),
        )
    store = SqliteStore(path)
    try:
        assert _schema_version(path) == str(SCHEMA_VERSION)
        assert store.next_decision_id() == 8
        allowed = DecisionRecorded(m2.message_id, "acme", T0 + 1, Decision.ALLOWED, "", "", "")
        store.apply([account(), MessageAccepted(m1), MessageAccepted(m2, None, allowed)])
        newest = store.decision_list(None, None, 10)
        assert [(d.decision_id, d.message_id, d.decision) for d in newest] == [
            (8, m2.message_id, Decision.ALLOWED),
            (7, m1.message_id, Decision.HELD),
        ]
    finally:
        store.close()


def test_a_settlement_s_receipt_is_kept_in_its_message_s_row_and_its_acknowledgement_is_one_id(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gw.db"
    store = SqliteStore(path)
    m = message(1)
    store.apply([account(), MessageAccepted(m)])
    settled = delivered(m)
    owed = final_receipt(5, settled)
    store.apply([settlement(settled, owed)])
    assert (_rows(path, "messages"), _rows(path, "deliveries"), _rows(path, "receipts_done")) == (1, 0, 0)
    assert store.load().deliveries == [owed]
    store.apply([DeliveryDone(5)])
    assert (_rows(path, "messages"), _rows(path, "deliveries"), _rows(path, "receipts_done")) == (1, 0, 1)
    store.close()
    again = SqliteStore(path)
    try:
        assert again.load().deliveries == []
        assert again.get_message(m.message_id) == settled
    finally:
        again.close()


def test_an_id_acknowledged_with_a_receipt_is_never_given_to_a_new_receipt(tmp_path: Path) -> None:
    """An MO acknowledged together with a final receipt is noted done too (harmless: no message holds
    its id); the ids given after a restart start above it, so no new receipt is taken for done."""
    path = tmp_path / "gw.db"
    store = SqliteStore(path)
    m = message(1)
    mo = replace(receipt(6, m), kind=DeliveryKind.MO, message_id="mo-1", esm_class=0)
    store.apply([account(), MessageAccepted(m), settlement(delivered(m), final_receipt(5, delivered(m))),
                 DeliveryStored(mo)])  # fmt: skip
    store.apply([DeliveryDone(5), DeliveryDone(6)])
    store.close()
    store = SqliteStore(path)
    try:
        recovered = store.load()
        assert recovered.deliveries == [] and recovered.next_delivery_id == 7
        later = message(2)
        owed = final_receipt(recovered.next_delivery_id, delivered(later))
        store.apply([MessageAccepted(later), settlement(delivered(later), owed)])
        assert store.load().deliveries == [owed]
    finally:
        store.close()


def test_a_schema_3_database_s_waiting_receipt_row_is_handed_back_and_deleted_when_acknowledged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    m = message(1)
    settled = delivered(m)
    waiting = final_receipt(5, settled)
    store = SqliteStore(path)
    store.apply([account(), MessageAccepted(m), settlement(settled), DeliveryStored(waiting)])  # as schema 3 wrote it
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE receipts_done")
        for column in ("receipt_id", "receipt"):
            db.execute(f"ALTER TABLE messages DROP COLUMN {column}")
        db.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    store = SqliteStore(path)
    try:
        assert _schema_version(path) == str(SCHEMA_VERSION)
        assert store.load().deliveries == [waiting]
        store.apply([DeliveryDone(5)])
        assert store.load().deliveries == []
        assert (_rows(path, "deliveries"), _rows(path, "receipts_done")) == (0, 0)
    finally:
        store.close()
