"""Records to table rows and back: the one place that knows the column order of each table.

Both stores use these tuples (SQLite with ``?``, PostgreSQL with ``%s`` placeholders); the
held-table encoding of the three kinds of held message lives here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..billing.ledger import LedgerEntry
from ..model import Delivery, GroupKey, Held, HeldForReview, HeldPart, HeldReject, Message
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
    Write,
)

HELD_COLUMNS = ("message_id", "account", "kind", "grp", "category", "term", "held_at", "deadline")
INCIDENT_COLUMNS = (
    "incident_id", "account", "at", "message_id", "category", "legal_category", "term", "action", "source_ip",
    "destination", "text",
)  # fmt: skip


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
        return (h.message_id, h.account, HeldForReview.kind, h.group, h.category, h.term, h.held_at, h.deadline)
    if isinstance(h, HeldPart):
        return (h.message_id, h.account, HeldPart.kind, _group_column(h.group), "", str(h.part), h.held_at, h.deadline)
    return (h.message_id, h.account, HeldReject.kind, h.message_id, h.code, str(h.err), h.held_at, h.held_at)


def held_from_row(row: Mapping[str, object]) -> Held:
    """A held message from its row (columns named as HELD_COLUMNS)."""
    message_id, account = str(row["message_id"]), str(row["account"])
    kind, grp, term = str(row["kind"]), str(row["grp"]), str(row["term"])
    held_at, deadline = float(row["held_at"]), float(row["deadline"])  # type: ignore[arg-type]
    if kind == HeldReject.kind:
        return HeldReject(message_id, account, str(row["category"]), int(term or 0), held_at)
    if kind == HeldPart.kind:
        return HeldPart(message_id, account, _group_from_column(grp), int(term) if term.isdigit() else 0, held_at,
                        deadline)  # fmt: skip
    return HeldForReview(message_id, account, grp, str(row["category"]), term, held_at, deadline)


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
    HeldAdded: ("held", lambda w: held_row(w.held)),
    HeldDone: ("held_done", lambda w: (w.message_id,)),
    DecisionRecorded: ("decision", decision_row),
    IncidentRecorded: ("incident", incident_row),
    OptoutAdded: ("optout", _optout_row),
    OptoutRemoved: ("optout_remove", lambda w: (w.account, w.msisdn)),
    PledgeRecorded: ("pledge", _pledge_row),
}
