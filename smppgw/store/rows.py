"""Records to table rows and back: the one place that knows the columns of each table.

Writes become parameter tuples here (SQLite binds them to ``?``, PostgreSQL to ``%s``); rows read
back become the records a reader sees.  Both stores read rows that can be indexed by column name
(``sqlite3.Row``, psycopg's dict rows); every ``*_from_row`` takes either.  The held table's
columns mean different things for each kind of held message: that encoding lives here and
nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from typing import Any, Protocol, TypeVar

from ..billing.ledger import EntryKind, LedgerEntry
from ..model import (
    HELD_PARTS,
    HELD_REJECT,
    HELD_REVIEW,
    AccountStatus,
    Decision,
    Delivery,
    DeliveryKind,
    GroupKey,
    Held,
    HeldForReview,
    HeldPart,
    HeldReject,
    Message,
    MessageState,
    receipt_of,
)
from ..protocol.constants import ESM_CLASS_RECEIPT
from ..writes import (
    AccountCreated,
    AccountSettingsSet,
    AccountStatusSet,
    DecisionRecorded,
    DeliveryDone,
    DeliveryStored,
    HeldAdded,
    HeldDone,
    IncidentRecorded,
    LedgerAppended,
    MessageAccepted,
    MessageReplaced,
    MessageSettled,
    OptoutAdded,
    OptoutRemoved,
    PledgeRecorded,
    ReportRouteSet,
    Write,
    entry_of,
)
from .ports import Incident, NodeStatus, Optout, Pledge, StoredAccount, StoredDecision

_R = TypeVar("_R", Message, Delivery, LedgerEntry)


def message_row(m: Message) -> tuple[object, ...]:
    return (
        m.seq, m.message_id, m.account, m.source_addr, m.source_ton, m.source_npi, m.destination_addr,
        m.dest_ton, m.dest_npi, m.msisdn, m.carrier, m.home_carrier, m.segments, m.price, m.charge,
        m.data_coding, m.esm_class, m.body, m.registered_delivery, m.submitted_at, m.validity_until,
        int(m.state), m.final_at, m.err, m.code, m.refunded,
    )  # fmt: skip


def delivery_row(d: Delivery) -> tuple[object, ...]:
    return (
        d.delivery_id, d.account, str(d.kind), d.message_id, d.source_addr, d.source_ton, d.source_npi,
        d.destination_addr, d.dest_ton, d.dest_npi, d.esm_class, d.data_coding, d.body, d.state, d.err,
        d.created_at,
    )  # fmt: skip


def ledger_row(e: LedgerEntry) -> tuple[object, ...]:
    return (e.entry_id, e.account, str(e.kind), e.amount, e.unit, e.balance_after, e.at, e.message_id,
            e.reference, e.operator)  # fmt: skip


def decision_row(w: DecisionRecorded) -> tuple[object, ...]:
    return (w.message_id, w.account, w.at, str(w.decision), w.category, w.term, w.detail)


def incident_row(w: IncidentRecorded) -> tuple[object, ...]:
    return (w.incident_id, w.account, w.at, w.message_id, w.category, w.legal_category, w.term, str(w.action),
            w.source_ip, w.destination, w.text)  # fmt: skip


# ---- held messages ----------------------------------------------------------------------------
# Columns (message_id, account, kind, grp, category, term, held_at, deadline), as databases hold them:
#   review: grp = the message id the review is filed under, category/term = the rule that matched
#   parts:  grp = "account|source|destination|reference|total", term = the part number
#   reject: grp = the message id, category = the receipt's code, term = its err, deadline = held_at


def _group_column(key: GroupKey) -> str:
    return f"{key.account}|{key.source_addr}|{key.destination_addr}|{key.reference}|{key.total}"


def _group_from_column(grp: str) -> GroupKey:
    # account and addresses may hold no "|" that matters for the reference and total: split from the right
    head, reference, total = grp.rsplit("|", 2)
    account, source, destination = head.split("|", 2)
    return GroupKey(account, source, destination, int(reference), int(total))


def held_row(h: Held) -> tuple[object, ...]:
    if isinstance(h, HeldForReview):
        return (h.message_id, h.account, HELD_REVIEW, h.group, h.category, h.term, h.held_at, h.deadline)
    if isinstance(h, HeldPart):
        return (h.message_id, h.account, HELD_PARTS, _group_column(h.group), "", str(h.part), h.held_at, h.deadline)
    return (h.message_id, h.account, HELD_REJECT, h.message_id, h.code, str(h.err), h.held_at, h.held_at)


# ---- rows to records -------------------------------------------------------------------------


class Row(Protocol):
    """A database row read by column name."""

    def __getitem__(self, key: str, /) -> Any: ...


def _record(cls: type[_R], row: Row, **converted: Any) -> _R:
    """A record from a row whose columns carry the record's field names; ``converted`` overrides."""
    values: dict[str, Any] = {f.name: row[f.name] for f in fields(cls)}
    values.update(converted)
    record: _R = cls(**values)
    return record


def message_from_row(row: Row) -> Message:
    return _record(Message, row, body=bytes(row["body"]), state=MessageState(row["state"]))


def delivery_from_row(row: Row) -> Delivery:
    return _record(Delivery, row, body=bytes(row["body"]), kind=DeliveryKind(row["kind"]))


def entry_from_row(row: Row) -> LedgerEntry:
    return _record(LedgerEntry, row, kind=EntryKind(row["kind"]))


def account_from_row(row: Row) -> StoredAccount:
    return StoredAccount(
        system_id=str(row["system_id"]),
        balance=int(row["balance"]),
        unit=str(row["unit"]),
        status=AccountStatus(row["status"]),
        settings=str(row["settings"]),
        created_at=float(row["created_at"]),
    )


def held_from_row(row: Row) -> Held:
    """``grp``, ``category`` and ``term`` mean different things for each kind of held message:
    review: the review group (the first part's message id), the rule's category and term;
    parts: the long message's key, nothing, the part number;
    reject: the message id, the receipt's code, the receipt's err (deadline = held_at)."""
    kind = row["kind"]
    message_id, account, held_at = str(row["message_id"]), str(row["account"]), float(row["held_at"])
    if kind == HELD_REVIEW:
        return HeldForReview(
            message_id=message_id,
            account=account,
            group=str(row["grp"]),
            category=str(row["category"]),
            term=str(row["term"]),
            held_at=held_at,
            deadline=float(row["deadline"]),
        )
    if kind == HELD_PARTS:
        return HeldPart(
            message_id=message_id,
            account=account,
            group=_group_from_column(str(row["grp"])),
            part=int(row["term"]),
            held_at=held_at,
            deadline=float(row["deadline"]),
        )
    if kind == HELD_REJECT:
        return HeldReject(
            message_id=message_id,
            account=account,
            code=str(row["category"]),
            err=int(row["term"] or 0),
            held_at=held_at,
        )
    raise ValueError(f"held message {message_id}: unknown kind {kind!r}")


def decision_from_row(row: Row) -> StoredDecision:
    return StoredDecision(
        decision_id=int(row["decision_id"]),
        message_id=str(row["message_id"]),
        account=str(row["account"]),
        at=float(row["at"]),
        decision=Decision(row["decision"]),
        category=str(row["category"]),
        term=str(row["term"]),
        detail=str(row["detail"]),
    )


def incident_from_row(row: Row) -> Incident:
    legal = row["legal_category"]
    return Incident(
        incident_id=int(row["incident_id"]),
        account=str(row["account"]),
        at=float(row["at"]),
        message_id=str(row["message_id"]),
        category=str(row["category"]),
        legal_category=None if legal is None else int(legal),
        term=str(row["term"]),
        action=Decision(row["action"]),
        source_ip=str(row["source_ip"]),
        destination=str(row["destination"]),
        text=str(row["text"]),
    )


def optout_from_row(row: Row) -> Optout:
    return Optout(
        account=str(row["account"]), msisdn=str(row["msisdn"]), source=str(row["source"]), at=float(row["at"])
    )


def pledge_from_row(row: Row) -> Pledge:
    return Pledge(
        account=str(row["account"]),
        signed_on=str(row["signed_on"]),
        reference=str(row["reference"]),
        operator=str(row["operator"]),
        recorded_at=float(row["recorded_at"]),
    )


def node_from_row(row: Row) -> NodeStatus:
    return NodeStatus(
        node_id=str(row["node_id"]), heartbeat_age_s=float(row["heartbeat_age_s"]), alive=bool(row["alive"])
    )


# ---- writes -----------------------------------------------------------------------------------
# Each kind of write: the name of its statement in a store's SQL table, and its parameters.


def _settled_row(w: MessageSettled) -> tuple[object, ...]:
    return (int(w.state), w.at, w.err, w.code, w.refunded, w.carrier, w.message_id)


def _replaced_row(w: MessageReplaced) -> tuple[object, ...]:
    return (w.body, w.data_coding, w.registered_delivery, w.validity_until, w.message_id)


def _account_row(w: AccountCreated) -> tuple[object, ...]:
    return (w.system_id, w.balance, w.unit, str(w.status), w.settings, w.created_at)


def _optout_row(w: OptoutAdded) -> tuple[object, ...]:
    return (w.account, w.msisdn, w.source, w.at)


def _pledge_row(w: PledgeRecorded) -> tuple[object, ...]:
    return (w.account, w.signed_on, w.reference, w.operator, w.recorded_at)


# SQLite keeps a message's charge and refund entries as columns of its row (one row written at
# submit, one change at the final state); ``ledger`` rebuilds them as the entries they are.
_NO_ENTRY: tuple[object, ...] = (None, None, None, None, None)


def _entry_columns(e: LedgerEntry | None) -> tuple[object, ...]:
    return _NO_ENTRY if e is None else (e.entry_id, e.amount, e.unit, e.balance_after, e.at)


def message_charged_row(w: MessageAccepted) -> tuple[object, ...]:
    return (*message_row(w.message), *_entry_columns(w.charge))


# ... and the decision a message was accepted with as columns of its row too, under the id the
# store gives it (``decision_id`` first, then at, decision, category, term, detail).
NO_DECISION: tuple[object, ...] = (None, None, None, None, None, None)


def decision_columns(d: DecisionRecorded, decision_id: int) -> tuple[object, ...]:
    return (decision_id, d.at, str(d.decision), d.category, d.term, d.detail)


# ... and its final receipt as two columns of its row: its delivery id and its text (the rest is
# the settled message's, as ``receipt_of`` makes it); owed until its DeliveryDone notes the id done.
def _receipt_columns(d: Delivery | None) -> tuple[object, object]:
    return (None, None) if d is None else (d.delivery_id, d.body)


def settled_receipt_row(w: MessageSettled) -> tuple[object, ...]:
    return (int(w.state), w.at, w.err, w.code, w.refunded, w.carrier, *_receipt_columns(w.receipt), w.message_id)


def settled_refund_row(w: MessageSettled) -> tuple[object, ...]:
    r = w.refund
    return (int(w.state), w.at, w.err, w.code, w.refunded, w.carrier, *_entry_columns(r),
            None if r is None else r.reference, *_receipt_columns(w.receipt), w.message_id)  # fmt: skip


def receipt_from_row(row: Row) -> Delivery:
    """The final receipt kept in a settled message's row (``receipt_id`` not NULL)."""
    message = message_from_row(row)
    return receipt_of(message, int(row["receipt_id"]), bytes(row["receipt"]), state=int(message.state),
                      at=float(row["final_at"]), esm_class=ESM_CLASS_RECEIPT)  # fmt: skip


WRITE_ROWS: dict[type[Write], tuple[str, Callable[[Any], tuple[object, ...]]]] = {
    MessageAccepted: ("message", lambda w: message_row(w.message)),
    MessageSettled: ("message_state", _settled_row),
    MessageReplaced: ("message_body", _replaced_row),
    LedgerAppended: ("ledger", lambda w: ledger_row(w.entry)),
    AccountCreated: ("account", _account_row),
    AccountStatusSet: ("account_status", lambda w: (str(w.status), w.system_id)),
    AccountSettingsSet: ("account_settings", lambda w: (w.settings, w.system_id)),
    DeliveryStored: ("delivery", lambda w: delivery_row(w.delivery)),
    DeliveryDone: ("delivery_done", lambda w: (w.delivery_id,)),
    ReportRouteSet: ("report_route", lambda w: (w.message_id, w.account, w.route)),
    HeldAdded: ("held", lambda w: held_row(w.held)),
    HeldDone: ("held_done", lambda w: (w.message_id,)),
    DecisionRecorded: ("decision", decision_row),
    IncidentRecorded: ("incident", incident_row),
    OptoutAdded: ("optout", _optout_row),
    OptoutRemoved: ("optout_remove", lambda w: (w.account, w.msisdn)),
    PledgeRecorded: ("pledge", _pledge_row),
}


SQLITE_WRITE_ROWS: dict[type[Write], tuple[str, Callable[[Any], tuple[object, ...]]]] = {
    **WRITE_ROWS,
    MessageAccepted: ("message", message_charged_row),
    MessageSettled: ("message_state", settled_receipt_row),
}  # a settlement with a refund: settled_refund_row, for the store's "message_refund"


SqliteRun = tuple[str, list[tuple[object, ...]]]


def sqlite_runs(writes: Sequence[Write], next_decision: int) -> tuple[list[SqliteRun], dict[str, int], int]:
    """A commit's writes for SQLite: runs of one statement kind each, in the writes' order (one
    ``executemany`` a run), the last balance of each account they change (only that one needs
    writing), and the next decision id (decisions take theirs in the order written)."""
    runs: list[SqliteRun] = []
    run_kind = ""
    run: list[tuple[object, ...]] = []
    balances: dict[str, int] = {}
    for w in writes:
        kind, row = SQLITE_WRITE_ROWS[type(w)]
        entry = entry_of(w)
        if kind == "message_state" and entry is not None:
            kind, row = "message_refund", settled_refund_row
        if kind != run_kind:
            run = []
            runs.append((kind, run))
            run_kind = kind
        if type(w) is MessageAccepted:
            decision = w.decision
            if decision is None:
                run.append((*row(w), *NO_DECISION))
            else:
                run.append((*row(w), *decision_columns(decision, next_decision)))
                next_decision += 1
        elif type(w) is DecisionRecorded:
            run.append((next_decision, *row(w)))
            next_decision += 1
        else:
            run.append(row(w))
        if entry is not None:
            balances[entry.account] = entry.balance_after
    return runs, balances, next_decision
