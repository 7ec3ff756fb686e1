"""The per-message records write their __init__ out (``init=False``: compiled, it costs a tenth of
the generated one).  Each must take what the generated one would: every field by name and (unless
keyword-only) in order, with the declared defaults, each given value landing in its own field.
The checks go through construction only, so they hold in both builds (a compiled __init__ has no
signature to inspect)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from smppgw.billing.ledger import EntryKind, LedgerEntry
from smppgw.carriers.model import CarrierJob, CarrierPlan, Outcome, Script
from smppgw.handset.inbox import Arrival
from smppgw.model import Decision, Delivery, DeliveryKind, GroupKey, Message, MessageState
from smppgw.pipeline.compliance import Precheck
from smppgw.pipeline.outcomes import Accepted, Settlement
from smppgw.protocol import pdu as p
from smppgw.protocol.session import _Outstanding
from smppgw.routing.router import RouteDecision
from smppgw.writes import DecisionRecorded, DeliveryDone, DeliveryStored, MessageAccepted, MessageSettled


def _message(n: int) -> Message:
    return Message(f"id-{n}", "demo", "10690000", 5, 0, "13800138000", 1, 1, "8613800138000", "CMCC", "CUCC", 2,
                   45, 90, 8, 64, b"body", 1, 100.5, 145.5, MessageState.DELIVERED, 101.5, 7, "MK:1", 3, n)  # fmt: skip


def _delivery(n: int) -> Delivery:
    return Delivery(n, "demo", DeliveryKind.RECEIPT, "id-1", "13800138000", 1, 1, "10690000", 5, 0, 4, 0,
                    b"id:1 stat:DELIVRD", 2, 0, 102.5)  # fmt: skip


def _entry(n: int) -> LedgerEntry:
    return LedgerEntry(n, "demo", EntryKind.CHARGE, -90, "li", 1000, 100.5, "id-1", None, None)


def _settled(n: int) -> MessageSettled:
    return MessageSettled(f"id-{n}", MessageState.UNDELIVERABLE, 9.5, 1, "MK:2", 45, "CTCC")


# For each record: a value per field, each different from the field's default and from the others.
SAMPLES: dict[type, dict[str, Any]] = {
    p.Tlv: {"tag": 0x1E, "value": b"v"},
    p.SubmitSm: {
        "sequence_number": 7, "command_status": 8, "tlvs": (p.Tlv(1, b"x"),), "service_type": "CMT",
        "source_addr_ton": 5, "source_addr_npi": 9, "source_addr": "10690000", "dest_addr_ton": 1,
        "dest_addr_npi": 2, "destination_addr": "13800138000", "esm_class": 64, "protocol_id": 3,
        "priority_flag": 4, "schedule_delivery_time": "261204000000000+", "validity_period": "000001000000000R",
        "registered_delivery": 17, "replace_if_present_flag": 6, "data_coding": 8, "sm_default_msg_id": 10,
        "short_message": b"hi",
    },
    p.SubmitSmResp: {"sequence_number": 7, "command_status": 8, "tlvs": (p.Tlv(2, b"y"),), "message_id": "abc"},
    p.DeliverSmResp: {"sequence_number": 9, "command_status": 3, "tlvs": (p.Tlv(3, b"z"),), "message_id": "def"},
    Message: {f.name: getattr(_message(1), f.name) for f in dataclasses.fields(Message)},
    Delivery: {f.name: getattr(_delivery(1), f.name) for f in dataclasses.fields(Delivery)},
    MessageAccepted: {
        "message": _message(2), "charge": _entry(2),
        "decision": DecisionRecorded("id-2", "demo", 100.5, Decision.FLAGGED, "finance", "loan", ""),
    },
    MessageSettled: {
        "message_id": "id-3", "state": MessageState.REJECTED, "at": 3.5, "err": 4, "code": "MK:3",
        "refunded": 45, "carrier": "CBN", "refund": _entry(3), "receipt": _delivery(5),
    },
    DeliveryStored: {"delivery": _delivery(6)},
    DeliveryDone: {"delivery_id": 66},
    Accepted: {"message": _message(4), "writes": [_settled(4)]},
    Settlement: {"message": _message(5), "writes": [_settled(5)], "delivery": _delivery(7)},
    CarrierJob: {"message_id": "id-6", "msisdn": "8613800138000", "submitted_at": 6.5, "validity_until": 66.5,
                 "script": Script(state=MessageState.UNDELIVERABLE, code="MK:9", delay=2.0)},
    Precheck: {"judgement": None, "group": GroupKey("demo", "1069", "1380", 7, 3), "defer_until": 8.5, "text": "t",
               "part": 2},
    RouteDecision: {"msisdn": "8613800138000", "carrier": "CUCC", "home_carrier": "CMCC", "ported": True,
                    "failover_from": "CMCC", "kind": "MVNO", "all_down": True},
    _Outstanding: {"request": p.SubmitSmResp(sequence_number=3), "deadline": 9.5},
    DecisionRecorded: {"message_id": "id-8", "account": "demo", "at": 8.5, "decision": Decision.HELD,
                       "category": "gambling", "term": "bet", "detail": "held for review"},
    CarrierPlan: {"accept_at": 9.5, "report_at": 19.5, "outcome": Outcome(MessageState.REJECTED, 11, "MK:11"),
                  "lost": True},
    Arrival: {"message": _message(9), "tlvs": (p.Tlv(4, b"w"),), "at": 10.5},
    LedgerEntry: {"entry_id": 11, "account": "demo", "kind": EntryKind.REFUND, "amount": 45, "unit": "msg",
                  "balance_after": 1045, "at": 11.5, "message_id": "id-11", "reference": "UNDELIV", "operator": "ops"},
}  # fmt: skip
SAMPLES[p.DeliverSm] = SAMPLES[p.SubmitSm]


def _fields(cls: type) -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(cls))


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_the_sample_names_every_field_and_differs_from_each_default(cls: type) -> None:
    given = SAMPLES[cls]
    assert list(given) == [f.name for f in _fields(cls)]
    for f in _fields(cls):
        if f.default is not dataclasses.MISSING:
            assert given[f.name] != f.default, f.name


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_each_value_given_by_name_lands_in_its_field(cls: type) -> None:
    given = SAMPLES[cls]
    record = cls(**given)
    assert {name: getattr(record, name) for name in given} == given


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_the_fields_left_out_take_their_declared_defaults(cls: type) -> None:
    required = {f.name: SAMPLES[cls][f.name] for f in _fields(cls) if f.default is dataclasses.MISSING}
    record = cls(**required)
    for f in _fields(cls):
        expected = required[f.name] if f.default is dataclasses.MISSING else f.default
        assert getattr(record, f.name) == expected, f.name


@pytest.mark.parametrize(
    "cls", [c for c in SAMPLES if not any(f.kw_only for f in _fields(c))], ids=lambda c: c.__name__
)
def test_values_given_in_field_order_make_the_same_record(cls: type) -> None:
    given = SAMPLES[cls]
    assert cls(*given.values()) == cls(**given)


@pytest.mark.parametrize("cls", [p.SubmitSm, p.SubmitSmResp], ids=lambda c: c.__name__)
def test_a_pdu_takes_its_fields_by_name_only(cls: type) -> None:
    with pytest.raises(TypeError):
        cls(*SAMPLES[cls].values())


def test_replace_and_equality_still_work_on_a_written_out_record() -> None:
    message = _message(1)
    assert dataclasses.replace(message, err=9) == _message(1).settled(message.state, 101.5, 9, "MK:1", 3)
    assert dataclasses.replace(message, err=9) != message


def test_every_record_that_writes_its_init_out_is_checked_here() -> None:
    from smppgw import model, writes  # noqa: PLC0415
    from smppgw.billing import ledger  # noqa: PLC0415
    from smppgw.carriers import model as carriers  # noqa: PLC0415
    from smppgw.handset import inbox  # noqa: PLC0415
    from smppgw.pipeline import compliance, outcomes  # noqa: PLC0415
    from smppgw.protocol import session  # noqa: PLC0415
    from smppgw.routing import router  # noqa: PLC0415

    written_out = {
        obj
        for module in (model, writes, ledger, carriers, inbox, compliance, outcomes, p, session, router)
        for obj in vars(module).values()
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and not obj.__dataclass_params__.init  # type: ignore[attr-defined]
    }
    assert written_out - {p._ShortMessage, p._MessageIdResp} == set(SAMPLES)
