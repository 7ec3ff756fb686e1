"""The JSON shapes of the admin API's answers: ledger entries, messages, carriers, bind types."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Protocol

from ..billing.ledger import LedgerEntry
from ..carriers.link import CarrierLink
from ..model import STAT_WORDS, Message, MessageState
from ..store.ports import StoredDecision
from .http import iso_time

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    class StoredRow(DataclassInstance, Protocol):
        """A stored record with the time it happened."""

        @property
        def at(self) -> float: ...


def entry_json(entry: LedgerEntry, utc_offset_minutes: int) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "account": entry.account,
        "kind": str(entry.kind),
        "amount": entry.amount,
        "unit": entry.unit,
        "balance_after": entry.balance_after,
        "at": iso_time(entry.at, utc_offset_minutes),
        "message_id": entry.message_id,
        "reference": entry.reference,
        "operator": entry.operator,
    }


def receipt_status(message: Message, receipt_queued: bool) -> str:
    """none: no receipt was asked for (or none is owed); pending: not final yet; queued: waiting
    for the client to take it; delivered: the client acknowledged it."""
    if message.registered_delivery & 0x03 == 0:
        return "none"
    if not message.is_final:
        return "pending"
    if not message.wants_receipt or message.state is MessageState.DELETED:
        return "none"  # failure-only receipts of delivered messages, cancelled messages
    return "queued" if receipt_queued else "delivered"


def message_json(message: Message, receipt: str, utc_offset_minutes: int) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "account": message.account,
        "source_addr": message.source_addr,
        "destination_addr": message.destination_addr,
        "msisdn": message.msisdn,
        "state": STAT_WORDS.get(message.state, "UNKNOWN"),
        "carrier": message.carrier,
        "home_carrier": message.home_carrier,
        "segments": message.segments,
        "price": message.price,
        "charge": message.charge,
        "refunded": message.refunded,
        "submitted_at": iso_time(message.submitted_at, utc_offset_minutes),
        "final_at": iso_time(message.final_at, utc_offset_minutes),
        "err": message.err,
        "code": message.code,
        "receipt": receipt,
    }


def carrier_json(code: str, link: CarrierLink) -> dict[str, Any]:
    return {
        "code": code,
        "name": link.profile.name,
        "up": link.is_up,
        "queue_depth": link.queue_depth,
        "in_flight": link.in_flight,
        "stats": dataclasses.asdict(link.stats()),
    }


def bind_type(session_state: str) -> str:
    """bound_tx/bound_rx/bound_trx -> transmitter/receiver/transceiver."""
    return {"bound_tx": "transmitter", "bound_rx": "receiver", "bound_trx": "transceiver"}.get(
        session_state, session_state
    )


def row_json(row: StoredRow, utc_offset_minutes: int) -> dict[str, Any]:
    """A stored record (decision, incident, opt-out) with every field, its ``at`` as an ISO date-time."""
    return {**dataclasses.asdict(row), "at": iso_time(row.at, utc_offset_minutes)}


def decision_json(d: StoredDecision, utc_offset_minutes: int) -> dict[str, Any]:
    """A decision as a message's detail lists it (the message is known)."""
    return {"at": iso_time(d.at, utc_offset_minutes), "decision": d.decision, "category": d.category,
            "term": d.term, "detail": d.detail}  # fmt: skip


__all__ = ["bind_type", "carrier_json", "decision_json", "entry_json", "message_json", "receipt_status", "row_json"]
