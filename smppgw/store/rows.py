"""Rows to records: the one place each table's columns become the record a reader sees.

Both stores read rows that can be indexed by column name (``sqlite3.Row``, psycopg's dict rows);
every function here takes either.  A column whose meaning depends on the row's kind (``held``)
is decoded here and nowhere else.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any, Protocol, TypeVar

from ..billing.ledger import EntryKind, LedgerEntry
from ..model import (
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
)
from .ports import Incident, NodeStatus, Optout, Pledge, StoredAccount, StoredDecision

_R = TypeVar("_R", Message, Delivery, LedgerEntry)

# The ``held.kind`` column.
HELD_REVIEW = "review"
HELD_PARTS = "parts"
HELD_REJECT = "reject"


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


def group_key_text(group: GroupKey) -> str:
    """The ``held.grp`` column of a part of a long message: ``account|source|destination|ref|total``."""
    return f"{group.account}|{group.source_addr}|{group.destination_addr}|{group.reference}|{group.total}"


def group_key_from_text(text: str) -> GroupKey:
    """The inverse of ``group_key_text``.  A system id holds no ``|``, so the account is what comes
    before the first; the reference and total are the last two; a ``|`` within the two addresses
    is taken to belong to the destination."""
    account, rest = text.split("|", 1)
    addresses, reference, total = rest.rsplit("|", 2)
    source, destination = addresses.split("|", 1)
    return GroupKey(account, source, destination, int(reference), int(total))


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
            group=group_key_from_text(str(row["grp"])),
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
