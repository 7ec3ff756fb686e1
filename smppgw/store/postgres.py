"""PostgreSQL store: what several gateway nodes share (``[store] url = "postgresql://..."``).

The same ``Store`` interface as the SQLite store, with one difference that makes money exact
across nodes: the database, not a node's memory, holds the authoritative balance.  A group commit
debits each account once by the batch's sum (``balance + delta`` under a ``balance >= 0`` check,
rows locked in system_id order so two nodes never deadlock) and writes the batch's rows in the
order given (a few array statements, see ``_runs``), all in one pipelined round trip.  When that
would overdraw an account the batch is redone in two round trips, taking each account's writes in
order while its money lasts: only the writes that would overdraw are refused
(``GroupResult.refused``), the rest commit.  Ledger entry ids come from a sequence drawn under the
account's row lock, so each account's entries chain in commit order and ``balance_after`` is the
stored balance, whatever node wrote them.

Message, delivery, decision and incident numbers are drawn by each node from blocks it reserves
at start (``load``), so nodes never pick the same id without asking the database per message.

Connections: the writer belongs to the committer's database thread; the reader serves the few
lookups made on the reactor thread (admin API, binds).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ..billing.ledger import EntryKind, LedgerEntry
from ..model import FINAL_STATES, Delivery, Held, Message
from ..writes import (
    AccountCreated,
    DecisionRecorded,
    DeliveryDone,
    DeliveryStored,
    HeldAdded,
    HeldDone,
    LedgerAppended,
    MessageAccepted,
    MessageReplaced,
    MessageSettled,
    OptoutAdded,
    OptoutRemoved,
    Write,
    with_records_apart,
)
from .ports import (
    ClusterView,
    GroupResult,
    Incident,
    NodeStatus,
    Optout,
    Pledge,
    Recovered,
    SharedConfig,
    StoredDecision,
)
from .rows import (
    WRITE_ROWS,
    account_from_row,
    decision_from_row,
    delivery_from_row,
    delivery_row,
    entry_from_row,
    held_from_row,
    incident_from_row,
    message_from_row,
    message_row,
    node_from_row,
    optout_from_row,
    pledge_from_row,
)

__all__ = ["ClusterView", "PostgresStore", "SharedConfig", "connect", "upgrade"]  # the views live in .ports

# Each node reserves this many numbers of each kind at start: enough for any run, and hex message
# ids (15 digits) still hold a billion restarts.
ID_BLOCK = 1_000_000_000

# Versioned migrations, applied in order on start and by `smppgw db upgrade`; never edit one that
# shipped, add the next.
MIGRATIONS: tuple[tuple[int, str], ...] = (
    (
        1,
        """
CREATE TABLE accounts (
    system_id TEXT PRIMARY KEY,
    balance BIGINT NOT NULL CONSTRAINT balance_not_negative CHECK (balance >= 0),
    unit TEXT NOT NULL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '',
    created_at DOUBLE PRECISION NOT NULL
);
CREATE TABLE ledger (
    entry_id BIGSERIAL PRIMARY KEY,
    account TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount BIGINT NOT NULL,
    unit TEXT NOT NULL,
    balance_after BIGINT NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    message_id TEXT,
    reference TEXT,
    operator TEXT,
    node TEXT NOT NULL DEFAULT ''
);
CREATE INDEX ledger_account ON ledger (account, entry_id);
CREATE TABLE credited_references (reference TEXT PRIMARY KEY);
CREATE TABLE messages (
    seq BIGINT PRIMARY KEY,
    message_id TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL,
    source_addr TEXT NOT NULL, source_ton INTEGER NOT NULL, source_npi INTEGER NOT NULL,
    destination_addr TEXT NOT NULL, dest_ton INTEGER NOT NULL, dest_npi INTEGER NOT NULL,
    msisdn TEXT NOT NULL,
    carrier TEXT NOT NULL, home_carrier TEXT NOT NULL,
    segments INTEGER NOT NULL, price BIGINT NOT NULL, charge BIGINT NOT NULL,
    data_coding INTEGER NOT NULL, esm_class INTEGER NOT NULL, body BYTEA NOT NULL,
    registered_delivery INTEGER NOT NULL,
    submitted_at DOUBLE PRECISION NOT NULL, validity_until DOUBLE PRECISION,
    state INTEGER NOT NULL, final_at DOUBLE PRECISION, err INTEGER NOT NULL, code TEXT NOT NULL,
    refunded BIGINT NOT NULL,
    node TEXT NOT NULL DEFAULT ''
);
CREATE INDEX messages_open ON messages (node) WHERE final_at IS NULL;
CREATE INDEX messages_account ON messages (account, seq);
-- The receipt and MO outbox: node is who claimed a row to deliver it ('' = nobody yet).
CREATE TABLE deliveries (
    delivery_id BIGINT PRIMARY KEY,
    account TEXT NOT NULL, kind TEXT NOT NULL, message_id TEXT NOT NULL,
    source_addr TEXT NOT NULL, source_ton INTEGER NOT NULL, source_npi INTEGER NOT NULL,
    destination_addr TEXT NOT NULL, dest_ton INTEGER NOT NULL, dest_npi INTEGER NOT NULL,
    esm_class INTEGER NOT NULL, data_coding INTEGER NOT NULL, body BYTEA NOT NULL,
    state INTEGER NOT NULL, err INTEGER NOT NULL, created_at DOUBLE PRECISION NOT NULL,
    node TEXT NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_account ON deliveries (account, delivery_id);
CREATE TABLE held (
    message_id TEXT PRIMARY KEY, account TEXT NOT NULL, kind TEXT NOT NULL, grp TEXT NOT NULL,
    category TEXT NOT NULL, term TEXT NOT NULL, held_at DOUBLE PRECISION NOT NULL,
    deadline DOUBLE PRECISION NOT NULL
);
CREATE TABLE decisions (
    decision_id BIGSERIAL PRIMARY KEY, message_id TEXT NOT NULL, account TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL, decision TEXT NOT NULL, category TEXT NOT NULL, term TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX decisions_message ON decisions (message_id);
CREATE TABLE incidents (
    incident_id BIGINT PRIMARY KEY, account TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    message_id TEXT NOT NULL, category TEXT NOT NULL, legal_category INTEGER, term TEXT NOT NULL,
    action TEXT NOT NULL, source_ip TEXT NOT NULL, destination TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE optouts (
    account TEXT NOT NULL, msisdn TEXT NOT NULL, source TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account, msisdn)
);
CREATE TABLE pledges (
    account TEXT PRIMARY KEY, signed_on TEXT NOT NULL, reference TEXT NOT NULL, operator TEXT NOT NULL,
    recorded_at DOUBLE PRECISION NOT NULL
);
-- Id blocks: each node takes one block of each kind per start.
CREATE SEQUENCE message_seq_blocks;
CREATE SEQUENCE delivery_id_blocks;
CREATE SEQUENCE decision_id_blocks;
CREATE SEQUENCE incident_id_blocks;
-- The cluster: live nodes (heartbeat by the database's clock) and the binds each holds.
CREATE TABLE nodes (
    node_id TEXT PRIMARY KEY,
    heartbeat TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE binds (
    bind_id BIGSERIAL PRIMARY KEY,
    node_id TEXT NOT NULL,
    account TEXT NOT NULL,
    bind_type TEXT NOT NULL,
    since TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX binds_account ON binds (account);
""",
    ),
)

MIGRATIONS += (
    (
        2,
        """
-- Failed-bind lockouts in force on every node (until: Unix time).
CREATE TABLE lockouts (
    account TEXT NOT NULL, address TEXT NOT NULL, until DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (account, address)
);
""",
    ),
)

MIGRATIONS += (
    (
        3,
        """
-- Generation numbers of what every node keeps in memory: a node that sees one move reloads it.
-- The 'config' row carries the configuration text the last reload applied (shared by every node).
CREATE TABLE generations (name TEXT PRIMARY KEY, value BIGINT NOT NULL DEFAULT 0, text TEXT NOT NULL DEFAULT '');
INSERT INTO generations (name) VALUES ('optouts'), ('pledges'), ('config');
""",
    ),
)

MIGRATIONS += (
    (
        4,
        """
-- The data files (route tables, keyword list) the shared configuration text names, by the path as
-- written in it; only the rows of the current 'config' generation are kept.
CREATE TABLE config_files (
    generation BIGINT NOT NULL, name TEXT NOT NULL, content BYTEA NOT NULL,
    PRIMARY KEY (generation, name)
);
""",
    ),
)

MIGRATIONS += (
    (
        5,
        """
-- Carrier outages switched on or off through any node's admin API: every node applies the last
-- switch of each carrier (generation: the 'carriers' generation that switch moved it to).
CREATE TABLE carrier_outages (
    carrier TEXT PRIMARY KEY, down BOOLEAN NOT NULL, generation BIGINT NOT NULL,
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now(), node TEXT NOT NULL
);
INSERT INTO generations (name) VALUES ('carriers');
""",
    ),
)

MIGRATIONS += (
    (
        6,
        """
-- Where the receipts of messages sent over the customer HTTP interface go (message id -> route).
CREATE TABLE report_routes (message_id TEXT PRIMARY KEY, account TEXT NOT NULL, route TEXT NOT NULL);
""",
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1][0]
_MIGRATION_LOCK = 7_266_915_001  # pg_advisory_xact_lock key: one node migrates at a time

_MESSAGE_COLUMNS = (
    "seq, message_id, account, source_addr, source_ton, source_npi, destination_addr, dest_ton, dest_npi, "
    "msisdn, carrier, home_carrier, segments, price, charge, data_coding, esm_class, body, registered_delivery, "
    "submitted_at, validity_until, state, final_at, err, code, refunded"
)
_DELIVERY_COLUMNS = (
    "delivery_id, account, kind, message_id, source_addr, source_ton, source_npi, destination_addr, dest_ton, "
    "dest_npi, esm_class, data_coding, body, state, err, created_at"
)


def _placeholders(n: int) -> str:
    return ", ".join(["%s"] * n)


# Statements by kind of write (rows.WRITE_ROWS names them); ledger entries and accounts are handled
# apart (the balance lives here).
_SQL: dict[str, str] = {
    # Column lists are constants of this module, never input.
    "message": f"INSERT INTO messages ({_MESSAGE_COLUMNS}, node) VALUES ({_placeholders(27)})",  # noqa: S608
    "message_state": "UPDATE messages SET state = %s, final_at = %s, err = %s, code = %s, refunded = %s, "
    "carrier = %s WHERE message_id = %s",
    "message_body": "UPDATE messages SET body = %s, data_coding = %s, registered_delivery = %s, "
    "validity_until = %s WHERE message_id = %s",
    "account": "INSERT INTO accounts (system_id, balance, unit, status, settings, created_at) "
    "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (system_id) DO NOTHING",
    "account_status": "UPDATE accounts SET status = %s WHERE system_id = %s",
    "account_settings": "UPDATE accounts SET settings = %s WHERE system_id = %s",
    "delivery": f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}, node) VALUES ({_placeholders(17)})",  # noqa: S608
    "delivery_done": "DELETE FROM deliveries WHERE delivery_id = %s",
    "report_route": "INSERT INTO report_routes (message_id, account, route) VALUES (%s, %s, %s) "
    "ON CONFLICT (message_id) DO UPDATE SET route = EXCLUDED.route",
    "held": "INSERT INTO held (message_id, account, kind, grp, category, term, held_at, deadline) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (message_id) DO UPDATE SET account = EXCLUDED.account, "
    "kind = EXCLUDED.kind, grp = EXCLUDED.grp, category = EXCLUDED.category, term = EXCLUDED.term, "
    "held_at = EXCLUDED.held_at, deadline = EXCLUDED.deadline",
    "held_done": "DELETE FROM held WHERE message_id = %s",
    "decision": "INSERT INTO decisions (message_id, account, at, decision, category, term, detail) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s)",
    "incident": "INSERT INTO incidents (incident_id, account, at, message_id, category, legal_category, term, "
    "action, source_ip, destination, text) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
    "optout": "INSERT INTO optouts (account, msisdn, source, at) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
    "optout_remove": "DELETE FROM optouts WHERE account = %s AND msisdn = %s",
    "pledge": "INSERT INTO pledges (account, signed_on, reference, operator, recorded_at) "
    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (account) DO UPDATE SET signed_on = EXCLUDED.signed_on, "
    "reference = EXCLUDED.reference, operator = EXCLUDED.operator, recorded_at = EXCLUDED.recorded_at",
}

_MESSAGE_TYPES = [
    "bigint",
    "text",
    "text",
    "text",
    "int",
    "int",
    "text",
    "int",
    "int",
    "text",
    "text",
    "text",
    "int",
    "bigint",
    "bigint",
    "int",
    "int",
    "bytea",
    "int",
    "float8",
    "float8",
    "int",
    "float8",
    "int",
    "text",
    "bigint",
    "text",
]
_DELIVERY_TYPES = [
    "bigint",
    "text",
    "text",
    "text",
    "text",
    "int",
    "int",
    "text",
    "int",
    "int",
    "int",
    "int",
    "bytea",
    "int",
    "int",
    "float8",
    "text",  # node
]
_STATE_TYPES = ["int", "float8", "int", "text", "bigint", "text", "text"]


def _unnest(types: Sequence[str]) -> str:
    return ", ".join(f"%s::{t}[]" for t in types)


# Writes of many rows as one statement over arrays (the column lists are this module's constants).
_BULK: dict[str, str] = {
    "message": f"INSERT INTO messages ({_MESSAGE_COLUMNS}, node) SELECT * FROM unnest({_unnest(_MESSAGE_TYPES)})",  # noqa: S608
    "delivery": f"INSERT INTO deliveries ({_DELIVERY_COLUMNS}, node) SELECT * FROM unnest({_unnest(_DELIVERY_TYPES)})",  # noqa: S608
    "message_state": (
        "UPDATE messages m SET state = d.state, final_at = d.final_at, err = d.err, code = d.code, "  # noqa: S608
        f"refunded = d.refunded, carrier = d.carrier FROM unnest({_unnest(_STATE_TYPES)}) "
        "AS d(state, final_at, err, code, refunded, carrier, message_id) WHERE m.message_id = d.message_id"
    ),
    "delivery_done": "DELETE FROM deliveries WHERE delivery_id = ANY(%s::bigint[])",
}


# Inserts of many rows by binary COPY: psycopg turns each value into COPY's binary form in C, where
# the arrays above are built element by element in Python (about 1 µs per row against 17 for a
# message).  COPY cannot join a pipeline, so each costs one more round trip: below this many rows
# the arrays are cheaper.
COPY_MIN_ROWS = 8
_COPY_TYPE_NAMES = {"int": "int4", "bigint": "int8"}
_COPY: dict[str, tuple[str, list[str]]] = {
    "message": (
        f"COPY messages ({_MESSAGE_COLUMNS}, node) FROM STDIN (FORMAT BINARY)",
        [_COPY_TYPE_NAMES.get(t, t) for t in _MESSAGE_TYPES],
    ),
    "delivery": (
        f"COPY deliveries ({_DELIVERY_COLUMNS}, node) FROM STDIN (FORMAT BINARY)",
        [_COPY_TYPE_NAMES.get(t, t) for t in _DELIVERY_TYPES],
    ),
    "ledger": (
        "COPY ledger_batch (account, kind, amount, unit, tail, at, message_id, reference, operator) "
        "FROM STDIN (FORMAT BINARY)",
        ["text", "text", "int8", "text", "int8", "float8", "text", "text", "text"],
    ),
    "decision": (
        "COPY decisions (message_id, account, at, decision, category, term, detail) FROM STDIN (FORMAT BINARY)",
        ["text", "text", "float8", "text", "text", "text", "text"],
    ),
    "message_state": (
        "COPY settled_batch (state, final_at, err, code, refunded, carrier, message_id) FROM STDIN (FORMAT BINARY)",
        [_COPY_TYPE_NAMES.get(t, t) for t in _STATE_TYPES],
    ),
}
# This session's staging tables (emptied at each commit), created with the writer connection.
_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS ledger_batch (ord BIGSERIAL, account TEXT, kind TEXT, amount BIGINT, "
    "unit TEXT, tail BIGINT, at DOUBLE PRECISION, message_id TEXT, reference TEXT, operator TEXT) "
    "ON COMMIT DELETE ROWS",
    "CREATE TEMP TABLE IF NOT EXISTS settled_batch (state INTEGER, final_at DOUBLE PRECISION, err INTEGER, "
    "code TEXT, refunded BIGINT, carrier TEXT, message_id TEXT) ON COMMIT DELETE ROWS",
)
_FROM_STAGING: dict[str, str] = {
    "ledger": (
        "INSERT INTO ledger (account, kind, amount, unit, balance_after, at, message_id, reference, operator, node) "
        "SELECT d.account, d.kind, d.amount, d.unit, a.balance - d.tail, d.at, d.message_id, d.reference, "
        "d.operator, %s FROM ledger_batch d JOIN accounts a ON a.system_id = d.account ORDER BY d.ord"
    ),
    "message_state": (
        "UPDATE messages m SET state = d.state, final_at = d.final_at, err = d.err, code = d.code, "
        "refunded = d.refunded, carrier = d.carrier FROM settled_batch d WHERE m.message_id = d.message_id"
    ),
}


def _unique_last(rows: Sequence[tuple[object, ...]]) -> bool:
    """No message named twice (an UPDATE ... FROM would apply only one of the two)."""
    return len({row[-1] for row in rows}) == len(rows)


_LOCK_ACCOUNTS = "SELECT system_id, balance FROM accounts WHERE system_id = ANY(%s) ORDER BY system_id FOR UPDATE"
_ADD_TO_BALANCES = (
    "UPDATE accounts a SET balance = a.balance + d.delta FROM unnest(%s::text[], %s::bigint[]) AS d(id, delta) "
    "WHERE a.system_id = d.id RETURNING a.system_id, a.balance"
)
# balance_after = the account's balance after this batch minus what the batch's later entries added.
_INSERT_LEDGER = (
    "INSERT INTO ledger (account, kind, amount, unit, balance_after, at, message_id, reference, operator, node) "
    "SELECT d.account, d.kind, d.amount, d.unit, a.balance - d.tail, d.at, d.message_id, d.reference, d.operator, %s "
    "FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], %s::bigint[], %s::float8[], %s::text[], "
    "%s::text[], %s::text[]) WITH ORDINALITY AS d(account, kind, amount, unit, tail, at, message_id, reference, "
    "operator, ord) JOIN accounts a ON a.system_id = d.account ORDER BY d.ord"
)
_CREDIT_REFERENCES = (
    "INSERT INTO credited_references (reference) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING RETURNING reference"
)
_CREDIT_KINDS = (str(EntryKind.TOPUP), str(EntryKind.PACKAGE))
# Writes that move a generation: the other nodes reload that part (opt-out lists, pledges).
_GENERATIONS = {"optouts": ("optout", "optout_remove"), "pledges": ("pledge",)}


class _OverdrawnError(Exception):
    """The one-round-trip commit would overdraw an account (or credit a reference twice): redo it."""


def _ledger_args(entry: LedgerEntry) -> tuple[Any, ...]:
    """(account, kind, amount, unit, at, message_id, reference, operator) of a ledger entry (its
    entry id and balance_after are the database's to give)."""
    return (entry.account, str(entry.kind), entry.amount, entry.unit, entry.at, entry.message_id, entry.reference,
            entry.operator)  # fmt: skip


def _tails(rows: Sequence[tuple[Any, ...]]) -> list[int]:
    """For each ledger row (account, kind, amount, ...): what the batch's later entries of its
    account add (its balance_after is the account's balance after the batch minus that)."""
    tails: list[int] = []
    later: dict[str, int] = {}
    for account, _, amount, *_rest in reversed(rows):
        tails.append(later.get(account, 0))
        later[account] = later.get(account, 0) + amount
    tails.reverse()
    return tails


def _ledger_rows(entries: Sequence[LedgerEntry]) -> list[tuple[Any, ...]]:
    """The ledger_batch rows of the entries, in order: (account, kind, amount, unit, tail, at,
    message_id, reference, operator)."""
    args = [_ledger_args(e) for e in entries]
    return [(a[0], a[1], a[2], a[3], tail, *a[4:]) for a, tail in zip(args, _tails(args), strict=True)]


# The row a write changes where a write of another kind may change the same row (an insert and the
# update or delete of what it inserted); writes of the other kinds touch no row another kind touches.
_ROW_KEYS: dict[type[Write], Callable[[Any], Hashable]] = {
    MessageAccepted: lambda w: ("message", w.message.message_id),
    MessageSettled: lambda w: ("message", w.message_id),
    MessageReplaced: lambda w: ("message", w.message_id),
    DeliveryStored: lambda w: ("delivery", w.delivery.delivery_id),
    DeliveryDone: lambda w: ("delivery", w.delivery_id),
    HeldAdded: lambda w: ("held", w.held.message_id),
    HeldDone: lambda w: ("held", w.message_id),
    OptoutAdded: lambda w: ("optout", w.account, w.msisdn),
    OptoutRemoved: lambda w: ("optout", w.account, w.msisdn),
}


def _runs(writes: Iterable[Write]) -> list[tuple[str, list[Write]]]:
    """The writes (but ledger entries and new accounts, done apart) as runs of one kind each, to be
    executed in order.  A write joins the latest run of its kind unless a later run of another kind
    already changed its row; then it starts a new run.  So each row sees its writes in the order
    given (a settlement after its message's insert, a release after its hold) while a batch of many
    callers' writes still takes one statement per kind, or a few."""
    runs: list[tuple[str, list[Write]]] = []
    latest: dict[str, int] = {}  # kind -> its latest run
    touched: dict[Hashable, int] = {}  # row -> the latest run that changed it
    for w in writes:
        kind = WRITE_ROWS[type(w)][0]
        if kind in ("ledger", "account"):
            continue
        key_of = _ROW_KEYS.get(type(w))
        key = key_of(w) if key_of is not None else None
        at = latest.get(kind)
        if at is None or (key is not None and touched.get(key, -1) > at):
            at = latest[kind] = len(runs)
            runs.append((kind, []))
        runs[at][1].append(w)
        if key is not None:
            touched[key] = at
    return runs


def _copy_plan(writes: Sequence[Write], runs: Sequence[tuple[str, list[Write]]]) -> dict[str, list[Write]]:
    """What of a batch to send by COPY ahead of its pipeline, by kind, where a kind has enough rows:
    new messages, deliveries and decisions straight into their tables (safe ahead of the rest: no
    write of a batch touches a message or a delivery before the write that inserts it, and decisions
    are only ever inserted, numbered in the order of the batch), ledger entries and
    settlements into this session's staging tables, applied from there at their place in the batch
    (settlements only when one run of them names each message once).  Acknowledged deliveries stay
    an array of ids: staging them costs more than it saves."""
    plan: dict[str, list[Write]] = {}
    messages: list[Write] = []
    deliveries: list[Write] = []
    ledger: list[Write] = []
    decisions: list[Write] = []
    bucket = {MessageAccepted: messages, DeliveryStored: deliveries, LedgerAppended: ledger,
              DecisionRecorded: decisions}  # fmt: skip
    for w in writes:  # one pass, not one per kind
        into = bucket.get(type(w))
        if into is not None:
            into.append(w)
    if len(decisions) >= COPY_MIN_ROWS:
        plan["decision"] = decisions
    if len(messages) >= COPY_MIN_ROWS:
        plan["message"] = messages
    if len(deliveries) >= COPY_MIN_ROWS:
        plan["delivery"] = deliveries
    if len(ledger) >= COPY_MIN_ROWS:
        plan["ledger"] = ledger
    settled = [run for kind, run in runs if kind == "message_state"]
    if len(settled) == 1 and len(settled[0]) >= COPY_MIN_ROWS:
        ids = {w.message_id for w in settled[0] if isinstance(w, MessageSettled)}
        if len(ids) == len(settled[0]):
            plan["message_state"] = settled[0]
    return plan


def _deltas(groups: Iterable[Sequence[Write]]) -> dict[str, int]:
    deltas: dict[str, int] = {}
    for writes in groups:
        for w in writes:
            if isinstance(w, LedgerAppended):
                deltas[w.entry.account] = deltas.get(w.entry.account, 0) + w.entry.amount
    return deltas


def _references(writes: Sequence[Write]) -> list[str]:
    return [
        w.entry.reference
        for w in writes
        if isinstance(w, LedgerAppended) and w.entry.kind in _CREDIT_KINDS and w.entry.reference
    ]


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url, autocommit=True)


def upgrade(conn: psycopg.Connection[Any]) -> list[int]:
    """Apply the migrations this database lacks, one node at a time; returns the versions applied."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        newer = max(done, default=0)
        if newer > SCHEMA_VERSION:
            raise RuntimeError(f"the database is at schema version {newer}, newer than this smppgw ({SCHEMA_VERSION})")
        for version, sql in MIGRATIONS:
            if version not in done:
                conn.execute(sql.encode())  # several statements: sent as one simple query
                conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied.append(version)
    return applied


class PostgresStore:
    def __init__(self, url: str, node_id: str = "") -> None:
        self.url = url
        self.node_id = node_id
        self._writer = connect(url)
        upgrade(self._writer)
        for statement in _STAGING:
            self._writer.execute(statement)
        self._reader = connect(url)
        self._reader.row_factory = dict_row
        self._reader_lock = threading.Lock()  # the reader serves the reactor and the CLI alike
        # Set by the reactor (replaced whole, read by the writer thread): accounts bound to receive here.
        self.receiving: frozenset[str] = frozenset()
        self.claimed: set[int] = set()  # deliveries this node stored already claimed (see _insert)

    # ---- writes (writer thread) ---------------------------------------------------------

    def apply(self, writes: Sequence[Write]) -> None:
        """One group (start-up and reload writes); a refused credit (reference already credited
        by another node starting at the same time) is simply not written again."""
        self.apply_groups([writes])

    def apply_groups(self, groups: Sequence[Sequence[Write]]) -> GroupResult:
        # Charges and refunds stay ledger rows here, decisions and receipts rows of their own (the
        # COPY plan batches them as such).
        groups = [with_records_apart(ops) for ops in groups]
        writes = [w for ops in groups for w in ops]
        # One pass for what the fast path needs: each account's change, and whether a top-up
        # reference must be checked first (then the checked path).
        deltas: dict[str, int] = {}
        referenced = False
        for w in writes:
            if type(w) is LedgerAppended:
                entry = w.entry
                deltas[entry.account] = deltas.get(entry.account, 0) + entry.amount
                if entry.reference and entry.kind in _CREDIT_KINDS:
                    referenced = True
        if not referenced:
            try:
                return self._commit(writes, deltas)
            except _OverdrawnError:
                pass
        return self._commit_checked(groups)

    def _commit(self, writes: list[Write], deltas: dict[str, int]) -> GroupResult:
        """One round trip: lock, debit, insert sent together with a single Sync (psycopg's
        transaction() would sync at BEGIN and COMMIT too); a CHECK violation means a retry."""
        conn = self._writer
        result = GroupResult()
        accounts = sorted(a for a, d in deltas.items() if d)
        update = None
        runs = _runs(writes)
        copied = _copy_plan(writes, runs)
        unclaimed: set[str] = set()
        try:
            if copied:
                # A big batch: BEGIN and the COPYs first, then the rest in one pipeline.
                conn.execute("BEGIN")
                self._copy(copied, unclaimed)
            with conn.pipeline():
                # Without COPYs, no BEGIN and COMMIT: what a pipeline sends up to its one Sync (at
                # its end; no result is read inside) is one transaction, committed at the Sync or
                # rolled back whole when a statement fails.  Two statements fewer, a third of a
                # small commit's CPU here.
                self._insert_accounts(writes)
                if accounts:
                    conn.execute(_LOCK_ACCOUNTS, (accounts,))
                    update = conn.execute(_ADD_TO_BALANCES, (accounts, [deltas[a] for a in accounts]))
                self._insert(writes, runs=runs, copied=frozenset(copied), unclaimed=unclaimed)
                if copied:
                    conn.execute("COMMIT")
        except psycopg.errors.CheckViolation:
            self._rollback()
            raise _OverdrawnError() from None
        except BaseException:
            self._rollback()
            raise
        if update is not None:
            result.balances = {str(a): int(b) for a, b in update.fetchall()}
        return result

    def _rollback(self) -> None:
        """After a failed pipeline the server waits in an aborted transaction: end it."""
        if self._writer.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self._writer.execute("ROLLBACK")

    def _commit_checked(self, groups: Sequence[Sequence[Write]]) -> GroupResult:
        """Lock the accounts, take each write in order while its account's money lasts (and its
        top-up reference is new), then commit those.  Two round trips."""
        conn = self._writer
        result = GroupResult()
        try:
            with conn.pipeline():
                conn.execute("BEGIN")
                self._insert_accounts([w for ws in groups for w in ws])
                references = [ref for ops in groups for ref in _references(ops)]
                credited = conn.execute(_CREDIT_REFERENCES, (references,)) if references else None
                accounts = sorted(_deltas(groups))
                locked = conn.execute(_LOCK_ACCOUNTS, (accounts,)) if accounts else None
                fresh = {row[0] for row in credited} if credited is not None else set()
                balances = {str(a): int(b) for a, b in locked} if locked is not None else {}
                kept: list[Sequence[Write]] = []
                for index, ops in enumerate(groups):
                    refs = _references(ops)
                    if any(ref not in fresh for ref in refs):
                        result.refused[index] = "duplicate_reference"
                        continue
                    fresh.difference_update(refs)  # a reference twice in one batch: the first wins
                    after = dict(balances)
                    for account, delta in _deltas([ops]).items():
                        after[account] = after.get(account, 0) + delta
                    if any(after.get(a, 0) < 0 for a in _deltas([ops])):
                        result.refused[index] = "insufficient_funds"
                        continue
                    balances = after
                    kept.append(ops)
                deltas = _deltas(kept)
                changed = sorted(a for a, d in deltas.items() if d)
                if changed:
                    conn.execute(_ADD_TO_BALANCES, (changed, [deltas[a] for a in changed]))
                self._insert([w for ws in kept for w in ws])
                conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        result.balances = balances
        return result

    def _insert_accounts(self, writes: Sequence[Write]) -> None:
        """New accounts, before their balances are locked (another node may open them too)."""
        rows = [WRITE_ROWS[AccountCreated][1](w) for w in writes if type(w) is AccountCreated]
        if rows:
            self._writer.cursor().executemany(_SQL["account"], rows)

    def _copy(self, plan: Mapping[str, list[Write]], unclaimed: set[str]) -> None:
        """What ``_copy_plan`` chose, by binary COPY, inside the open transaction."""
        cur = self._writer.cursor()
        for kind, run in plan.items():
            statement, types = _COPY[kind]
            if kind == "ledger":
                rows = _ledger_rows([w.entry for w in run if isinstance(w, LedgerAppended)])
            else:
                rows = self._rows_of(run, unclaimed)
            with cur.copy(statement) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)

    def _insert(
        self,
        writes: Sequence[Write],
        *,
        runs: Sequence[tuple[str, list[Write]]] | None = None,
        copied: frozenset[str] = frozenset(),
        unclaimed: set[str] | None = None,
    ) -> None:
        """Every write (of a batch, in order) but accounts and balances (done first) and the kinds
        already ``copied``, in order (see _runs)."""
        cur = self._writer.cursor()
        kinds: set[str] = set(copied)
        if unclaimed is None:
            unclaimed = set()  # accounts with deliveries stored for any node to claim
        for kind, run in _runs(writes) if runs is None else runs:
            kinds.add(kind)
            if kind in copied:
                staged = _FROM_STAGING.get(kind)
                if staged is not None:  # settlements: applied here, in the batch's order
                    cur.execute(staged)
                continue
            rows = self._rows_of(run, unclaimed)
            bulk = _BULK.get(kind)
            if bulk is not None and len(rows) > 1 and (kind != "message_state" or _unique_last(rows)):
                # One statement over arrays, not one per row: psycopg's per-row work is the cost here.
                cur.execute(bulk, [list(column) for column in zip(*rows, strict=True)])
            else:
                cur.executemany(_SQL[kind], rows)
        entries = [w.entry for w in writes if type(w) is LedgerAppended]
        if "ledger" in copied:
            cur.execute(_FROM_STAGING["ledger"], (self.node_id,))
        elif entries:
            self._insert_ledger(cur, [_ledger_args(e) for e in entries])
        # Wake the nodes holding receiving binds of the accounts whose rows nobody claimed (sent at commit).
        if unclaimed:
            cur.execute("SELECT pg_notify('smppgw_outbox', a) FROM unnest(%s::text[]) AS a", (sorted(unclaimed),))
        # Wake every node for an operator's credit (a top-up waits for no heartbeat), not for a
        # refund: each node's wallets take the stored balance at its own next commit anyway, and a
        # refund in most commits would have every node re-read all accounts at every commit.
        if "account_status" in kinds or any(e.amount > 0 and e.kind != EntryKind.REFUND for e in entries):
            cur.execute("SELECT pg_notify('smppgw_accounts', '')")
        moved = [name for name, names in _GENERATIONS.items() if kinds.intersection(names)]
        if moved:
            cur.execute("UPDATE generations SET value = value + 1 WHERE name = ANY(%s)", (moved,))
            cur.execute("SELECT pg_notify('smppgw_accounts', '')")

    def _rows_of(self, run: list[Write], unclaimed: set[str]) -> list[tuple[object, ...]]:
        """The statement parameters of a run's writes."""
        rows: list[tuple[object, ...]] = []
        for w in run:
            if isinstance(w, MessageAccepted):
                rows.append((*message_row(w.message), self.node_id))
            elif isinstance(w, DeliveryStored):
                # Claimed at once when this node holds a receiving bind of the account: no wake-up,
                # no claim query; the reactor finds its id in `claimed` and queues it here.
                delivery = w.delivery
                if delivery.account in self.receiving:
                    self.claimed.add(delivery.delivery_id)
                    rows.append((*delivery_row(delivery), self.node_id))
                else:
                    unclaimed.add(delivery.account)
                    rows.append((*delivery_row(delivery), ""))
            else:
                rows.append(WRITE_ROWS[type(w)][1](w))
        return rows

    def _insert_ledger(self, cur: psycopg.Cursor[Any], rows: list[tuple[Any, ...]]) -> None:
        tails = _tails(rows)
        columns = list(zip(*rows, strict=True))
        cur.execute(
            _INSERT_LEDGER,
            (self.node_id, list(columns[0]), list(columns[1]), list(columns[2]), list(columns[3]), tails,
             list(columns[4]), list(columns[5]), list(columns[6]), list(columns[7])),
        )  # fmt: skip

    # ---- the cluster (writer thread) ------------------------------------------------------

    def _live(self) -> str:
        return "SELECT node_id FROM nodes WHERE heartbeat > now() - make_interval(secs => %s)"

    def register_node(self) -> None:
        """This node is alive (waiting, if another node is adopting its messages, until that is done);
        binds it held before a restart are gone."""
        conn = self._writer
        with conn.transaction():
            conn.execute(
                "INSERT INTO nodes (node_id, heartbeat, started_at) VALUES (%s, now(), now()) "
                "ON CONFLICT (node_id) DO UPDATE SET heartbeat = now(), started_at = now()",
                (self.node_id,),
            )
            conn.execute("DELETE FROM binds WHERE node_id = %s", (self.node_id,))
            # A restarted node's queue is empty: what it had claimed goes back to the outbox.
            conn.execute("UPDATE deliveries SET node = '' WHERE node = %s", (self.node_id,))

    def heartbeat(self, node_timeout: float, now: float) -> ClusterView:
        """Beat; read what every node shares (accounts, binds, lockouts); adopt the open messages of dead
        nodes (not those held for review or their other parts: the reviewers' queue is their node's)."""
        conn = self._writer
        conn.execute("UPDATE nodes SET heartbeat = now() WHERE node_id = %s", (self.node_id,))
        cur = conn.cursor(row_factory=dict_row)
        view = ClusterView()
        for row in cur.execute("SELECT * FROM accounts"):
            account = account_from_row(row)
            view.accounts[account.system_id] = account
        for row in cur.execute(
            f"SELECT account, node_id = %s AS here, count(*) AS n FROM binds WHERE node_id IN ({self._live()}) "  # noqa: S608
            "GROUP BY 1, 2",
            (self.node_id, node_timeout),
        ):
            here, total = view.binds.get(row["account"], (0, 0))
            view.binds[row["account"]] = (here + (int(row["n"]) if row["here"] else 0), total + int(row["n"]))
        view.lockouts = {
            (row["account"], row["address"]): float(row["until"])
            for row in cur.execute("SELECT * FROM lockouts WHERE until > %s", (now,))
        }
        view.generations = {
            row["name"]: int(row["value"]) for row in cur.execute("SELECT name, value FROM generations")
        }
        # Read after the generations: at least as new as the 'carriers' generation read.
        view.outages = {
            row["carrier"]: (bool(row["down"]), int(row["generation"]))
            for row in cur.execute("SELECT carrier, down, generation FROM carrier_outages")
        }
        final = ",".join(str(int(s)) for s in FINAL_STATES)
        with conn.transaction():
            # Dead nodes' rows locked first: a node restarting under its id registers (load) only once
            # we are done, or we see its fresh heartbeat and leave its messages to it.
            dead = [
                row["node_id"]
                for row in cur.execute(
                    "SELECT node_id FROM nodes WHERE node_id <> %s AND heartbeat <= now() - make_interval(secs => %s) "
                    "FOR UPDATE SKIP LOCKED",
                    (self.node_id, node_timeout),
                )
            ]
            adopted = (
                cur.execute(
                    f"UPDATE messages SET node = %s WHERE node = ANY(%s) AND final_at IS NULL "  # noqa: S608
                    f"AND state NOT IN ({final}) AND message_id NOT IN (SELECT message_id FROM held) RETURNING *",
                    (self.node_id, dead),
                ).fetchall()
                if dead
                else []
            )
        view.adopted = [message_from_row(row) for row in adopted]
        return view

    def claim(self, accounts: Sequence[str], node_timeout: float, limit: int = 1000) -> list[Delivery]:
        """Take up to ``limit`` receipts and MO of ``accounts`` that nobody (alive) is delivering."""
        if not accounts:
            return []
        cur = self._writer.cursor(row_factory=dict_row)
        rows = cur.execute(
            "UPDATE deliveries SET node = %s WHERE delivery_id IN (SELECT delivery_id FROM deliveries "  # noqa: S608
            f"WHERE account = ANY(%s) AND (node = '' OR node NOT IN ({self._live()})) "
            "ORDER BY delivery_id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *",
            (self.node_id, list(accounts), node_timeout, limit),
        ).fetchall()
        return sorted((delivery_from_row(row) for row in rows), key=lambda d: d.delivery_id)

    def unclaim(self, account: str) -> None:
        """Hand this node's undelivered rows of ``account`` back to the outbox (its receivers left)."""
        with self._writer.transaction():
            self._writer.execute(
                "UPDATE deliveries SET node = '' WHERE node = %s AND account = %s", (self.node_id, account)
            )
            self._writer.execute("SELECT pg_notify('smppgw_outbox', %s)", (account,))

    def leave(self) -> None:
        """A clean stop: binds gone, undelivered rows back to the outbox, open messages stay ours."""
        with self._writer.transaction():
            self._writer.execute("DELETE FROM binds WHERE node_id = %s", (self.node_id,))
            accounts = self._writer.execute(
                "UPDATE deliveries SET node = '' WHERE node = %s RETURNING account", (self.node_id,)
            ).fetchall()
            for account in sorted({row[0] for row in accounts}):
                self._writer.execute("SELECT pg_notify('smppgw_outbox', %s)", (account,))

    # ---- binds (reactor thread, through the reader) ------------------------------------------

    def reserve_bind(self, account: str, bind_type: str, limit: int, node_timeout: float) -> bool:
        """Count a bind of ``account`` on this node unless its live binds on all nodes reach ``limit``.
        The account's row lock makes two nodes binding at once take turns."""
        with self._reader_lock, self._reader.transaction():
            self._reader.execute("SELECT 1 FROM accounts WHERE system_id = %s FOR UPDATE", (account,))
            row = self._reader.execute(
                f"SELECT count(*) AS n FROM binds WHERE account = %s AND node_id IN ({self._live()})",  # noqa: S608
                (account, node_timeout),
            ).fetchone()
            if row is not None and int(row["n"]) >= limit:
                return False
            self._reader.execute(
                "INSERT INTO binds (node_id, account, bind_type) VALUES (%s, %s, %s)",
                (self.node_id, account, bind_type),
            )
            return True

    def share_config(self, text: str, files: Mapping[str, bytes]) -> int:
        """This node reloaded its configuration: store the text and its files and move the
        generation, in one transaction; the others follow."""
        with self._reader_lock, self._reader.transaction():
            row = self._reader.execute(
                "UPDATE generations SET value = value + 1, text = %s WHERE name = 'config' RETURNING value", (text,)
            ).fetchone()
            value = int(row["value"]) if row is not None else 0
            self._reader.execute("DELETE FROM config_files WHERE generation <> %s", (value,))
            with self._reader.cursor() as cur:
                cur.executemany(
                    "INSERT INTO config_files (generation, name, content) VALUES (%s, %s, %s)",
                    [(value, name, content) for name, content in files.items()],
                )
            self._reader.execute("SELECT pg_notify('smppgw_accounts', '')")
        return value

    def shared_config(self) -> SharedConfig | None:
        """The configuration of the last reload on any node (None before the first), read in one statement."""
        rows = self._rows(
            "SELECT g.value, g.text, f.name, f.content FROM generations g "
            "LEFT JOIN config_files f ON f.generation = g.value WHERE g.name = 'config'"
        )
        if not rows or not rows[0]["text"]:
            return None
        files = {str(r["name"]): bytes(r["content"]) for r in rows if r["name"] is not None}
        return SharedConfig(int(rows[0]["value"]), str(rows[0]["text"]), files)

    def set_outage(self, carrier: str, down: bool) -> int:
        """An outage switched on or off through this node's API: store it for every node and move the
        'carriers' generation; returns the generation."""
        with self._reader_lock, self._reader.transaction():
            row = self._reader.execute(
                "UPDATE generations SET value = value + 1 WHERE name = 'carriers' RETURNING value"
            ).fetchone()
            generation = int(row["value"]) if row is not None else 0
            self._reader.execute(
                "INSERT INTO carrier_outages (carrier, down, generation, node) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (carrier) DO UPDATE SET down = EXCLUDED.down, generation = EXCLUDED.generation, "
                "changed_at = now(), node = EXCLUDED.node",
                (carrier, down, generation, self.node_id),
            )
            self._reader.execute("SELECT pg_notify('smppgw_accounts', '')")
        return generation

    def outages(self) -> tuple[int, dict[str, tuple[bool, int]]]:
        """The 'carriers' generation and the outages stored with it (carrier -> (down, generation of
        its last switch)), in one statement."""
        rows = self._rows(
            "SELECT g.value, o.carrier, o.down, o.generation FROM generations g LEFT JOIN carrier_outages o "
            "ON true WHERE g.name = 'carriers'"
        )
        generation = int(rows[0]["value"]) if rows else 0
        return generation, {
            str(r["carrier"]): (bool(r["down"]), int(r["generation"])) for r in rows if r["carrier"] is not None
        }

    def lock_out(self, account: str, address: str, until: float) -> None:
        with self._reader_lock:
            self._reader.execute(
                "INSERT INTO lockouts (account, address, until) VALUES (%s, %s, %s) "
                "ON CONFLICT (account, address) DO UPDATE SET until = EXCLUDED.until",
                (account, address, until),
            )
            self._reader.execute("SELECT pg_notify('smppgw_accounts', '')")

    def lift_lockouts(self, account: str, address: str | None) -> None:
        with self._reader_lock:
            self._reader.execute(
                "DELETE FROM lockouts WHERE account = %s AND (%s::text IS NULL OR address = %s)",
                (account, address, address),
            )
            self._reader.execute("SELECT pg_notify('smppgw_accounts', '')")

    def release_bind(self, account: str) -> None:
        with self._reader_lock:
            self._reader.execute(
                "DELETE FROM binds WHERE bind_id = (SELECT bind_id FROM binds WHERE node_id = %s AND account = %s "
                "LIMIT 1)",
                (self.node_id, account),
            )

    def receipt_queued(self, message_id: str) -> bool:
        """A final receipt of this message waits in the outbox (stored, not acknowledged yet)."""
        rows = self._rows(
            "SELECT 1 FROM deliveries WHERE message_id = %s AND kind = 'receipt' AND esm_class & 4 <> 0 LIMIT 1",
            (message_id,),
        )
        return bool(rows)

    def nodes(self, node_timeout: float) -> list[NodeStatus]:
        """Every node that ever registered: its heartbeat's age in seconds and whether it is alive."""
        rows = self._rows(
            "SELECT node_id, round(extract(epoch FROM now() - heartbeat)::numeric, 3)::float8 AS heartbeat_age_s, "
            "heartbeat > now() - make_interval(secs => %s) AS alive FROM nodes ORDER BY node_id",
            (node_timeout,),
        )
        return [node_from_row(row) for row in rows]

    def cluster_binds(self, node_timeout: float) -> dict[str, int]:
        """Live binds per account, all nodes together."""
        rows = self._rows(
            f"SELECT account, count(*) AS n FROM binds WHERE node_id IN ({self._live()}) GROUP BY account",  # noqa: S608
            (node_timeout,),
        )
        return {row["account"]: int(row["n"]) for row in rows}

    # ---- reads ----------------------------------------------------------------------------

    def _rows(self, sql: str, args: Sequence[object] = ()) -> list[dict[str, Any]]:
        with self._reader_lock:
            return self._fetch(sql, args)

    def _fetch(self, sql: str, args: Sequence[object] = ()) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self._reader.execute(sql.encode(), args).fetchall()
        return rows

    def _next_block(self, sequence: str) -> int:
        (row,) = self._fetch(f"SELECT nextval('{sequence}') AS block")
        return int(row["block"]) * ID_BLOCK

    def load(self) -> Recovered:
        if self.node_id:
            self.register_node()  # first: from now on no other node adopts this node's open messages
        with self._reader_lock, self._reader.transaction():
            # One snapshot: an account another node opens meanwhile is seen whole or not at all.
            self._reader.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return self._load()

    def _load(self) -> Recovered:
        out = Recovered()
        out.generations = {row["name"]: int(row["value"]) for row in self._fetch("SELECT name, value FROM generations")}
        for row in self._fetch("SELECT * FROM accounts"):
            account = account_from_row(row)
            out.accounts[account.system_id] = account
        final = ",".join(str(int(s)) for s in FINAL_STATES)
        out.open_messages = [
            message_from_row(row)
            for row in self._fetch(
                f"SELECT * FROM messages WHERE state NOT IN ({final}) AND node = %s ORDER BY seq",  # noqa: S608
                (self.node_id,),
            )
        ]
        # Deliveries are claimed from the outbox by the nodes holding a receiving bind.
        out.topup_references = {row["reference"] for row in self._fetch("SELECT reference FROM credited_references")}
        out.next_entry_id = 1  # entry ids are drawn by the database
        out.next_message_seq = self._next_block("message_seq_blocks")
        out.next_delivery_id = self._next_block("delivery_id_blocks")
        out.report_routes = {
            row["message_id"]: row["route"]
            for row in self._fetch(
                # Of messages still owed a receipt: open ones, and those with receipts undelivered.
                "SELECT message_id, route FROM report_routes WHERE message_id IN "
                "(SELECT message_id FROM deliveries UNION SELECT message_id FROM messages WHERE final_at IS NULL)"
                # and those accepted over HTTP but not submitted yet (a batch fed at its pace).
                " OR route LIKE %s",
                ('{"q":%',),
            )
        }
        return out

    def get_message(self, message_id: str) -> Message | None:
        rows = self._rows("SELECT * FROM messages WHERE message_id = %s", (message_id,))
        return message_from_row(rows[0]) if rows else None

    def messages(self, *, account: str | None = None, limit: int = 100) -> list[Message]:
        rows = self._rows(
            "SELECT * FROM messages WHERE (%s::text IS NULL OR account = %s) ORDER BY seq DESC LIMIT %s",
            (account, account, limit),
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
        rows = self._rows(
            "SELECT * FROM messages WHERE (%s::text IS NULL OR account = %s) "
            "AND (%s::text IS NULL OR destination_addr LIKE %s) "
            "AND (%s::float8 IS NULL OR submitted_at >= %s) AND (%s::float8 IS NULL OR submitted_at < %s) "
            "ORDER BY submitted_at DESC, seq DESC LIMIT %s",
            (account, account, destination, f"%{destination}", since, since, until, until, limit),
        )
        return [message_from_row(row) for row in rows]

    def ledger(self, account: str | None = None) -> list[LedgerEntry]:
        rows = self._rows(
            "SELECT * FROM ledger WHERE (%s::text IS NULL OR account = %s) ORDER BY entry_id", (account, account)
        )
        return [entry_from_row(row) for row in rows]

    def balances(self) -> dict[str, int]:
        return {row["system_id"]: int(row["balance"]) for row in self._rows("SELECT system_id, balance FROM accounts")}

    # ---- compliance (reads off the hot path) ------------------------------------------------

    def held(self) -> list[Held]:
        return [held_from_row(row) for row in self._rows("SELECT * FROM held ORDER BY held_at, message_id")]

    def decisions(self, message_id: str) -> list[StoredDecision]:
        rows = self._rows("SELECT * FROM decisions WHERE message_id = %s ORDER BY decision_id", (message_id,))
        return [decision_from_row(row) for row in rows]

    def decision_list(self, account: str | None, since: float | None, limit: int) -> list[StoredDecision]:
        """The newest decisions first, refused submits included (ids starting "refused-")."""
        rows = self._rows(
            "SELECT * FROM decisions WHERE (%s::text IS NULL OR account = %s) AND (%s::float8 IS NULL OR at >= %s) "
            "ORDER BY decision_id DESC LIMIT %s",
            (account, account, since, since, limit),
        )
        return [decision_from_row(row) for row in rows]

    def next_decision_id(self) -> int:
        with self._reader_lock:
            return self._next_block("decision_id_blocks")

    def incidents(self, account: str | None = None) -> list[Incident]:
        rows = self._rows(
            "SELECT * FROM incidents WHERE (%s::text IS NULL OR account = %s) ORDER BY incident_id", (account, account)
        )
        return [incident_from_row(row) for row in rows]

    def next_incident_id(self) -> int:
        with self._reader_lock:
            return self._next_block("incident_id_blocks")

    def optouts(self) -> list[Optout]:
        return [optout_from_row(row) for row in self._rows("SELECT * FROM optouts ORDER BY account, at, msisdn")]

    def pledges(self) -> dict[str, Pledge]:
        return {str(row["account"]): pledge_from_row(row) for row in self._rows("SELECT * FROM pledges")}

    def close(self) -> None:
        self._writer.close()
        self._reader.close()
