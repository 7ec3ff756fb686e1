"""SQLite (WAL) store.  One writer connection, used by one commit at a time (the committer's, on
its thread or the reactor's); one reader connection for the few lookups made on the reactor thread
(WAL lets them run side by side); with ``background_checkpoints``, a third that copies the
write-ahead log into the database when ``checkpoint`` is called, so that no commit pays for it.

``SqliteStore(":memory:")`` is a store in memory that both connections share (SQLite's ``memdb``
file system, as a file on disk would be); it is gone once the store is closed.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from ..billing.ledger import LedgerEntry
from ..model import FINAL_STATES, Held, Message
from ..writes import Write
from .ports import Incident, Optout, Pledge, Recovered, StoredDecision
from .rows import (
    account_from_row,
    decision_from_row,
    delivery_from_row,
    entry_from_row,
    held_from_row,
    incident_from_row,
    message_from_row,
    optout_from_row,
    pledge_from_row,
    receipt_from_row,
    sqlite_runs,
)

# 2: a message's charge and refund entries are columns of its row; 3: so is the decision it was
# accepted with (decision ids given by the store, in the order the decisions are written); 4: and its
# final receipt (owed until its id is in receipts_done; the deliveries table keeps the other
# receipts and MO)
SCHEMA_VERSION = 4
MEMORY = ":memory:"
_memory_names = itertools.count(1)


def _null(value: None) -> None:
    return value


# CPython 3.11's sqlite3 binds int, float, str and bytearray as they are, but asks the adapter
# protocol about bytes and None: a lookup of PrepareProtocol.__adapt__ that misses and formats an
# AttributeError each time (about 0.1 us a value, four values a message).  Identity adapters are
# found in the registry first.  Process-wide, and they change no value that is bound.
sqlite3.register_adapter(bytes, bytes)
sqlite3.register_adapter(type(None), _null)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    system_id TEXT PRIMARY KEY,
    balance INTEGER NOT NULL,
    unit TEXT NOT NULL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger (
    entry_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount INTEGER NOT NULL,
    unit TEXT NOT NULL,
    balance_after INTEGER NOT NULL,
    at REAL NOT NULL,
    message_id TEXT,
    reference TEXT,
    operator TEXT
);
CREATE INDEX IF NOT EXISTS ledger_account ON ledger (account, entry_id);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_topup_reference ON ledger (reference) WHERE kind = 'topup';
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    source_addr TEXT NOT NULL, source_ton INTEGER NOT NULL, source_npi INTEGER NOT NULL,
    destination_addr TEXT NOT NULL, dest_ton INTEGER NOT NULL, dest_npi INTEGER NOT NULL,
    msisdn TEXT NOT NULL,
    carrier TEXT NOT NULL, home_carrier TEXT NOT NULL,
    segments INTEGER NOT NULL, price INTEGER NOT NULL, charge INTEGER NOT NULL,
    data_coding INTEGER NOT NULL, esm_class INTEGER NOT NULL, body BLOB NOT NULL,
    registered_delivery INTEGER NOT NULL,
    submitted_at REAL NOT NULL, validity_until REAL,
    state INTEGER NOT NULL, final_at REAL, err INTEGER NOT NULL, code TEXT NOT NULL,
    refunded INTEGER NOT NULL,
    charge_entry INTEGER, charge_amount INTEGER, charge_unit TEXT, charge_balance INTEGER, charge_at REAL,
    refund_entry INTEGER, refund_amount INTEGER, refund_unit TEXT, refund_balance INTEGER, refund_at REAL,
    refund_reason TEXT,
    decision_id INTEGER, decision_at REAL, decision TEXT, decision_category TEXT, decision_term TEXT,
    decision_detail TEXT,
    receipt_id INTEGER, receipt BLOB
);
CREATE INDEX IF NOT EXISTS messages_open ON messages (state) WHERE final_at IS NULL;
CREATE INDEX IF NOT EXISTS messages_account ON messages (account, seq);
CREATE TABLE IF NOT EXISTS deliveries (
    delivery_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL, kind TEXT NOT NULL, message_id TEXT NOT NULL,
    source_addr TEXT NOT NULL, source_ton INTEGER NOT NULL, source_npi INTEGER NOT NULL,
    destination_addr TEXT NOT NULL, dest_ton INTEGER NOT NULL, dest_npi INTEGER NOT NULL,
    esm_class INTEGER NOT NULL, data_coding INTEGER NOT NULL, body BLOB NOT NULL,
    state INTEGER NOT NULL, err INTEGER NOT NULL, created_at REAL NOT NULL
);
-- The final receipts kept with their messages (messages.receipt_id) that were acknowledged.  Only
-- ever appended: changing the message's row again would cost twice this.
CREATE TABLE IF NOT EXISTS receipts_done (delivery_id INTEGER PRIMARY KEY);
-- Where the receipts of messages sent over the customer HTTP interface go (added later: a database
-- made before it gains the table when opened).
CREATE TABLE IF NOT EXISTS report_routes (
    message_id TEXT PRIMARY KEY, account TEXT NOT NULL, route TEXT NOT NULL
);
-- Compliance: messages held back (review, waiting for the other parts), every decision taken on
-- a message, incidents for the authorities, opt-out lists ('*' = global) and security pledges.
CREATE TABLE IF NOT EXISTS held (
    message_id TEXT PRIMARY KEY, account TEXT NOT NULL, kind TEXT NOT NULL, grp TEXT NOT NULL,
    category TEXT NOT NULL, term TEXT NOT NULL, held_at REAL NOT NULL, deadline REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS decisions (
    decision_id INTEGER PRIMARY KEY, message_id TEXT NOT NULL, account TEXT NOT NULL, at REAL NOT NULL,
    decision TEXT NOT NULL, category TEXT NOT NULL, term TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_message ON decisions (message_id);
CREATE TABLE IF NOT EXISTS incidents (
    incident_id INTEGER PRIMARY KEY, account TEXT NOT NULL, at REAL NOT NULL, message_id TEXT NOT NULL,
    category TEXT NOT NULL, legal_category INTEGER, term TEXT NOT NULL, action TEXT NOT NULL,
    source_ip TEXT NOT NULL, destination TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS optouts (
    account TEXT NOT NULL, msisdn TEXT NOT NULL, source TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (account, msisdn)
);
CREATE TABLE IF NOT EXISTS pledges (
    account TEXT PRIMARY KEY, signed_on TEXT NOT NULL, reference TEXT NOT NULL, operator TEXT NOT NULL,
    recorded_at REAL NOT NULL
);
"""

_MESSAGE_COLUMNS = (
    "seq, message_id, account, source_addr, source_ton, source_npi, destination_addr, dest_ton, dest_npi, "
    "msisdn, carrier, home_carrier, segments, price, charge, data_coding, esm_class, body, registered_delivery, "
    "submitted_at, validity_until, state, final_at, err, code, refunded, "
    "charge_entry, charge_amount, charge_unit, charge_balance, charge_at, "
    "decision_id, decision_at, decision, decision_category, decision_term, decision_detail"
)
# Added by schemas 2 to 4; an older database gains them when opened (its entries stay ledger rows,
# its decisions rows of the decisions table).
_ADDED_COLUMNS = (
    ("charge_entry", "INTEGER"), ("charge_amount", "INTEGER"), ("charge_unit", "TEXT"), ("charge_balance", "INTEGER"),
    ("charge_at", "REAL"), ("refund_entry", "INTEGER"), ("refund_amount", "INTEGER"), ("refund_unit", "TEXT"),
    ("refund_balance", "INTEGER"), ("refund_at", "REAL"), ("refund_reason", "TEXT"),
    ("decision_id", "INTEGER"), ("decision_at", "REAL"), ("decision", "TEXT"), ("decision_category", "TEXT"),
    ("decision_term", "TEXT"), ("decision_detail", "TEXT"), ("receipt_id", "INTEGER"), ("receipt", "BLOB"),
)  # fmt: skip
_LEDGER_COLUMNS = "entry_id, account, kind, amount, unit, balance_after, at, message_id, reference, operator"
# Every ledger entry: the ledger's rows and the charges and refunds kept with their messages.
# ?1 is an account, or NULL for all of them.
_ENTRIES = (
    f"SELECT {_LEDGER_COLUMNS} FROM ledger WHERE ?1 IS NULL OR account = ?1 "  # noqa: S608
    "UNION ALL SELECT charge_entry, account, 'charge', charge_amount, charge_unit, charge_balance, charge_at, "
    "message_id, NULL, NULL FROM messages WHERE charge_entry IS NOT NULL AND (?1 IS NULL OR account = ?1) "
    "UNION ALL SELECT refund_entry, account, 'refund', refund_amount, refund_unit, refund_balance, refund_at, "
    "message_id, refund_reason, NULL FROM messages WHERE refund_entry IS NOT NULL AND (?1 IS NULL OR account = ?1) "
    "ORDER BY entry_id"
)
_DECISION_COLUMNS = "decision_id, message_id, account, at, decision, category, term, detail"
# Every decision: the decisions table's rows and those kept with the messages they accepted.
# ?1 is a message id.
_DECISIONS_ON = (
    f"SELECT {_DECISION_COLUMNS} FROM decisions WHERE message_id = ?1 "  # noqa: S608
    "UNION ALL SELECT decision_id, message_id, account, decision_at, decision, decision_category, decision_term, "
    "decision_detail FROM messages WHERE message_id = ?1 AND decision_id IS NOT NULL ORDER BY decision_id"
)
# The newest ?3 of them, of account ?1 (NULL: any) taken at ?2 or later (NULL: any time).  Messages
# take their decision ids in the order of their seq (both in the order accepted), so the newest
# messages by seq hold the newest of their decisions.
_NEWEST_DECISIONS = (
    f"SELECT * FROM (SELECT {_DECISION_COLUMNS} FROM decisions "  # noqa: S608
    "WHERE (?1 IS NULL OR account = ?1) AND (?2 IS NULL OR at >= ?2) ORDER BY decision_id DESC LIMIT ?3) "
    "UNION ALL SELECT * FROM (SELECT decision_id, message_id, account, decision_at, decision, decision_category, "
    "decision_term, decision_detail FROM messages WHERE decision_id IS NOT NULL AND (?1 IS NULL OR account = ?1) "
    "AND (?2 IS NULL OR decision_at >= ?2) ORDER BY seq DESC LIMIT ?3) ORDER BY decision_id DESC LIMIT ?3"
)
_LAST_DECISION_ID = (
    "SELECT MAX(d) FROM (SELECT MAX(decision_id) AS d FROM decisions UNION ALL SELECT MAX(decision_id) FROM messages)"
)
_DELIVERY_COLUMNS = (
    "delivery_id, account, kind, message_id, source_addr, source_ton, source_npi, destination_addr, dest_ton, "
    "dest_npi, esm_class, data_coding, body, state, err, created_at"
)

_RECEIPT_DONE = "INSERT OR IGNORE INTO receipts_done (delivery_id) VALUES (?)"
# The final receipts still owed: kept with their messages and not acknowledged.
_OWED_RECEIPT = "receipt_id NOT NULL AND receipt_id NOT IN (SELECT delivery_id FROM receipts_done)"

# The report routes still needed: of messages still owed a receipt (open ones, and those with
# receipts undelivered), and of those accepted over HTTP but not submitted yet (a batch fed at its
# pace; ?1 matches their routes).
_OWED_ROUTES = (
    "SELECT message_id, route FROM report_routes WHERE message_id IN "  # noqa: S608 (constants)
    "(SELECT message_id FROM deliveries UNION SELECT message_id FROM messages "
    f"WHERE final_at IS NULL OR ({_OWED_RECEIPT})) OR route LIKE ?1"
)

_SQL: dict[str, str] = {
    # Column lists are constants of this module, never input.
    "message": f"INSERT INTO messages ({_MESSAGE_COLUMNS}) VALUES ({', '.join('?' * 37)})",  # noqa: S608
    "message_state": "UPDATE messages SET state = ?, final_at = ?, err = ?, code = ?, refunded = ?, carrier = ?, "
    "receipt_id = ?, receipt = ? WHERE message_id = ?",
    # a settlement that refunds: the same change, with the refund's entry (a narrower one is cheaper)
    "message_refund": "UPDATE messages SET state = ?, final_at = ?, err = ?, code = ?, refunded = ?, carrier = ?, "
    "refund_entry = ?, refund_amount = ?, refund_unit = ?, refund_balance = ?, refund_at = ?, refund_reason = ?, "
    "receipt_id = ?, receipt = ? WHERE message_id = ?",
    "message_body": "UPDATE messages SET body = ?, data_coding = ?, registered_delivery = ?, validity_until = ? "
    "WHERE message_id = ?",
    "ledger": "INSERT INTO ledger (entry_id, account, kind, amount, unit, balance_after, at, message_id, reference, "
    "operator) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "balance": "UPDATE accounts SET balance = ? WHERE system_id = ?",
    "account": "INSERT INTO accounts (system_id, balance, unit, status, settings, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?)",
    "account_status": "UPDATE accounts SET status = ? WHERE system_id = ?",
    "account_settings": "UPDATE accounts SET settings = ? WHERE system_id = ?",
    "delivery": f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}) VALUES ({', '.join('?' * 16)})",  # noqa: S608
    # a delivery of the deliveries table (a final receipt kept with its message: _RECEIPT_DONE)
    "delivery_done": "DELETE FROM deliveries WHERE delivery_id = ?",
    "report_route": "INSERT OR REPLACE INTO report_routes (message_id, account, route) VALUES (?, ?, ?)",
    "held": "INSERT OR REPLACE INTO held (message_id, account, kind, grp, category, term, held_at, deadline) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "held_done": "DELETE FROM held WHERE message_id = ?",
    "decision": f"INSERT INTO decisions ({_DECISION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
    "incident": "INSERT INTO incidents (incident_id, account, at, message_id, category, legal_category, term, "
    "action, source_ip, destination, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "optout": "INSERT OR IGNORE INTO optouts (account, msisdn, source, at) VALUES (?, ?, ?, ?)",
    "optout_remove": "DELETE FROM optouts WHERE account = ? AND msisdn = ?",
    "pledge": "INSERT OR REPLACE INTO pledges (account, signed_on, reference, operator, recorded_at) "
    "VALUES (?, ?, ?, ?, ?)",
}


def _execute(cur: sqlite3.Cursor, kind: str, rows: list[tuple[object, ...]]) -> None:
    cur.executemany(_SQL[kind], rows)
    if kind == "delivery_done" and cur.rowcount < len(rows):
        # Not all of them were rows of the deliveries table: the rest are final receipts kept with
        # their messages (an id of a row deleted above, noted here too, matches no message).
        cur.executemany(_RECEIPT_DONE, rows)


def _database(path: str | Path) -> tuple[str, bool]:
    """What both connections open, and whether it is a URI: ``:memory:`` alone would give each
    connection a database of its own, so it becomes one named in-memory database they share."""
    if str(path) != MEMORY:
        return str(path), False
    return f"file:/smppgw-{os.getpid()}-{next(_memory_names)}?vfs=memdb", True


class SqliteStore:
    def __init__(self, path: str | Path, *, background_checkpoints: bool = False) -> None:
        """``background_checkpoints``: a connection of its own copies the write-ahead log into the
        database when ``checkpoint`` is called (from a thread of its own, every ten commits), so
        that the commit which passes SQLite's 1,000 pages finds little left to copy: on its own it
        copies them all, 4-5 ms once every ~50 small commits, on the committing thread."""
        self.path = Path(path)
        if str(path) != MEMORY:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        database, uri = _database(path)
        # The writer is opened here and then used by one commit at a time (the committer's).
        self._writer = sqlite3.connect(database, check_same_thread=False, isolation_level=None, uri=uri)
        self._writer.execute("PRAGMA journal_mode=WAL")  # in memory: stays "memory" (readers wait for commits)
        self._writer.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives a process kill
        # The writer's own checkpoints stay on: only one made between two commits lets the log start
        # over from its beginning (one beside them never catches up with a busy writer).
        self._checkpointer: sqlite3.Connection | None = None
        if background_checkpoints and not uri:
            self._checkpointer = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        self._writer.executescript(_SCHEMA)
        self._upgrade()
        self._reader = sqlite3.connect(database, check_same_thread=False, uri=uri)
        self._reader.row_factory = sqlite3.Row
        # Given by apply (the writer's thread) to each decision, in the order written.
        self._next_decision = (self._writer.execute(_LAST_DECISION_ID).fetchone()[0] or 0) + 1

    def _upgrade(self) -> None:
        """Bring a database made by an older version to this schema (adding columns only: its rows
        keep their meaning, and ``ledger`` reads its old charge and refund rows as before)."""
        w = self._writer
        have = {row[1] for row in w.execute("PRAGMA table_info(messages)")}
        w.execute("BEGIN IMMEDIATE")
        for name, kind in _ADDED_COLUMNS:
            if name not in have:
                w.execute(f"ALTER TABLE messages ADD COLUMN {name} {kind}")  # constants of this module
        w.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        w.execute("COMMIT")

    # ---- writes (writer thread) ---------------------------------------------------------

    def apply(self, writes: Sequence[Write]) -> None:
        runs, balances, next_decision = sqlite_runs(writes, self._next_decision)
        self._next_decision = next_decision  # ids taken even if the commit fails: gaps, never reuse
        cur = self._writer.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for kind, rows in runs:
                _execute(cur, kind, rows)
            if balances:
                cur.executemany(_SQL["balance"], [(b, a) for a, b in balances.items()])
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    # ---- reads ----------------------------------------------------------------------------

    def load(self) -> Recovered:
        r = self._reader
        out = Recovered()
        for row in r.execute("SELECT * FROM accounts"):
            account = account_from_row(row)
            out.accounts[account.system_id] = account
        final = ",".join(str(int(s)) for s in FINAL_STATES)
        out.open_messages = [
            message_from_row(row)
            for row in r.execute(f"SELECT * FROM messages WHERE state NOT IN ({final}) ORDER BY seq")  # noqa: S608
        ]
        out.deliveries = [delivery_from_row(row) for row in r.execute("SELECT * FROM deliveries")]
        kept = r.execute(f"SELECT * FROM messages WHERE {_OWED_RECEIPT}")  # noqa: S608 (constants)
        out.deliveries += [receipt_from_row(row) for row in kept]
        out.deliveries.sort(key=lambda d: d.delivery_id)
        # Payments and message packages alike: a reference is credited once, whatever the wallet.
        credits = "SELECT reference FROM ledger WHERE kind IN ('topup', 'package') AND reference IS NOT NULL"
        out.topup_references = {row[0] for row in r.execute(credits)}
        last = r.execute(
            "SELECT MAX(e) FROM (SELECT MAX(entry_id) AS e FROM ledger UNION ALL "
            "SELECT MAX(charge_entry) FROM messages UNION ALL SELECT MAX(refund_entry) FROM messages)"
        ).fetchone()[0]
        out.next_entry_id = (last or 0) + 1
        out.next_message_seq = (r.execute("SELECT MAX(seq) FROM messages").fetchone()[0] or 0) + 1
        last = r.execute(
            # above every id noted done too, so that no new receipt takes an id acknowledged before
            "SELECT MAX(d) FROM (SELECT MAX(delivery_id) AS d FROM deliveries "
            "UNION ALL SELECT MAX(receipt_id) FROM messages UNION ALL SELECT MAX(delivery_id) FROM receipts_done)"
        ).fetchone()[0]
        out.next_delivery_id = (last or 0) + 1
        out.report_routes = {row[0]: row[1] for row in r.execute(_OWED_ROUTES, ('{"q":%',))}
        return out

    def get_message(self, message_id: str) -> Message | None:
        row = self._reader.execute("SELECT * FROM messages WHERE message_id = ?", (message_id,)).fetchone()
        return None if row is None else message_from_row(row)

    def messages(self, *, account: str | None = None, limit: int = 100) -> list[Message]:
        if account is None:
            rows = self._reader.execute("SELECT * FROM messages ORDER BY seq DESC LIMIT ?", (limit,))
        else:
            rows = self._reader.execute(
                "SELECT * FROM messages WHERE account = ? ORDER BY seq DESC LIMIT ?", (account, limit)
            )
        return [message_from_row(row) for row in rows]

    def search_messages(
        self,
        *,
        account: str | None = None,
        destination: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Message]:
        """Newest first; ``destination`` matches the end of the number (as operators type it)."""
        # Only fixed clauses are joined; every value is a bound parameter.
        where: list[str] = []
        args: list[object] = []
        for clause, value in (
            ("account = ?", account),
            ("destination_addr LIKE ?", None if destination is None else f"%{destination}"),
            ("submitted_at >= ?", since),
            ("submitted_at < ?", until),
        ):
            if value is not None:
                where.append(clause)
                args.append(value)
        # Only the fixed clauses above are joined in; every value is a bound parameter.
        condition = " WHERE " + " AND ".join(where) if where else ""
        sql = f"SELECT * FROM messages{condition} ORDER BY seq DESC LIMIT ?"  # noqa: S608
        return [message_from_row(row) for row in self._reader.execute(sql, (*args, limit))]

    def ledger(self, account: str | None = None) -> list[LedgerEntry]:
        return [entry_from_row(row) for row in self._reader.execute(_ENTRIES, (account,))]

    def balances(self) -> dict[str, int]:
        return {row[0]: row[1] for row in self._reader.execute("SELECT system_id, balance FROM accounts")}

    # ---- compliance (reads off the hot path) ------------------------------------------------

    def held(self) -> list[Held]:
        return [held_from_row(row) for row in self._reader.execute("SELECT * FROM held ORDER BY held_at, message_id")]

    def decisions(self, message_id: str) -> list[StoredDecision]:
        return [decision_from_row(row) for row in self._reader.execute(_DECISIONS_ON, (message_id,))]

    def decision_list(self, account: str | None, since: float | None, limit: int) -> list[StoredDecision]:
        """The newest decisions first, refused submits included (ids starting "refused-")."""
        rows = self._reader.execute(_NEWEST_DECISIONS, (account, since, limit))
        return [decision_from_row(row) for row in rows]

    def next_decision_id(self) -> int:
        return (self._reader.execute(_LAST_DECISION_ID).fetchone()[0] or 0) + 1

    def incidents(self, account: str | None = None) -> list[Incident]:
        rows = self._reader.execute(
            "SELECT * FROM incidents WHERE (?1 IS NULL OR account = ?1) ORDER BY incident_id", (account,)
        )
        return [incident_from_row(row) for row in rows]

    def next_incident_id(self) -> int:
        return (self._reader.execute("SELECT MAX(incident_id) FROM incidents").fetchone()[0] or 0) + 1

    def optouts(self) -> list[Optout]:
        rows = self._reader.execute("SELECT * FROM optouts ORDER BY account, at, msisdn")
        return [optout_from_row(row) for row in rows]

    def pledges(self) -> dict[str, Pledge]:
        return {row["account"]: pledge_from_row(row) for row in self._reader.execute("SELECT * FROM pledges")}

    @property
    def checkpoints_in_background(self) -> bool:
        return self._checkpointer is not None

    def checkpoint(self) -> int:
        """Copy what the write-ahead log holds into the database, beside the commits (PASSIVE: it
        waits for no writer or reader); the frames the log held.  Its own connection: call it from
        one thread at a time."""
        if self._checkpointer is None:
            return 0
        _, log_pages, _ = self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(log_pages)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._writer.close()
        self._reader.close()
