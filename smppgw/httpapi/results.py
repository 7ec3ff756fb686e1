"""What the gateway answered, as values the fronts render (and callbacks are built from)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import ApiError
from .requests import Refusal


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's money, in its billing unit.

    `balance` and `topped_up` are 厘 when `billing_unit` is "li", message counts when "msg".
    `base_price_li` is the account's base CMCC segment price, for `points_mode` "segments".
    """

    billing_unit: str  # "li" or "msg"
    balance: int
    topped_up: int = 0
    base_price_li: int = 0
    points_mode: str = "segments"  # legacy remainpoint for "li" accounts: segments | li | yuan
    prepaid: bool = True


@dataclass(frozen=True, slots=True)
class Accepted:
    """A recipient the gateway took: its message id, parts and price (厘, or messages)."""

    to: str
    message_id: str
    segments: int = 1
    price: int = 0
    client_ref: str = ""


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """A send the gateway accepted (at least one recipient).

    `refused` holds recipients refused at parse or compliance time; they also appear as failed
    reports.  A send with none accepted is an `ApiError` instead (the first refusal's reason).
    """

    task_id: int
    accepted: tuple[Accepted, ...]
    balance: Balance
    refused: tuple[Refusal, ...] = ()
    scheduled_in_s: int | None = None


@dataclass(frozen=True, slots=True)
class RateQuote:
    to: str
    segments: int
    unit_price: int  # 厘 per segment, or 1 for message-count accounts
    carrier: str = ""
    billing_unit: str = "li"


@dataclass(frozen=True, slots=True)
class ContentVerdict:
    """The account's content rules applied without charging (checkkeyword, content-check)."""

    allowed: bool
    category: str = ""
    matches: tuple[str, ...] = ()
    show_terms: bool = True  # False: the operator hides which terms matched


class ReportKind(Enum):
    """Which moment of a message a report is about (Jasmin levels and Kannel bits follow it)."""

    SUBMIT_ACK = "submit_ack"  # the carrier accepted the submit (Jasmin level 1, Kannel 8)
    REJECTED = "rejected"  # the carrier or the gateway refused it (Jasmin level 1, Kannel 16)
    RECEIPT = "receipt"  # a delivery receipt (Jasmin level 2, Kannel 1/2/4)


@dataclass(frozen=True, slots=True)
class ReportEvent:
    """One report of one message, as every channel renders it."""

    event_id: str
    message_id: str
    to: str  # the handset
    kind: ReportKind = ReportKind.RECEIPT
    stat: str = "DELIVRD"  # receipt stat word; REJECTD for refusals, ACCEPTD for a submit ack
    final: bool = True
    task_id: int = 0
    source: str = ""  # the service number it went from, extension included
    extno: str = ""
    err: str = "000"
    carrier: str = ""
    carrier_code: str = ""  # carrier-native code (MK:0001, DB:0101), "" if none
    status: int | None = None  # the SMPP command_status of a refusal (0x405 ...)
    segments: int = 1
    submitted_at: float = 0.0
    done_at: float = 0.0
    client_ref: str = ""
    text: str = ""  # the original text (Jasmin level 2 carries its start)
    smsc_id: str = ""  # the carrier's id for the message


@dataclass(frozen=True, slots=True)
class InboundEvent:
    """One MO (parts already joined)."""

    event_id: str
    message_id: str
    msisdn: str  # who sent it
    to: str  # the full destination: service number plus extension
    text: str
    received_at: float
    extno: str = ""
    task_id: int = 0  # the latest task that sent to this msisdn from this number, else 0
    opt_out: bool = False
    data_coding: int = 8
    octets: bytes = b""
    carrier: str = ""
    client_ref: str = ""


@dataclass(frozen=True, slots=True)
class EventPage:
    """A pull's answer: the events, and (v1) the cursor that acknowledges them."""

    reports: tuple[ReportEvent, ...] = ()
    inbound: tuple[InboundEvent, ...] = ()
    cursor: str = ""


@dataclass(frozen=True, slots=True)
class MessageStatus:
    """v1 `GET /v1/messages/{id}`."""

    message_id: str
    to: str
    state: str  # the message state word (ENROUTE, DELIVRD, ...)
    final: bool
    segments: int = 1
    price: int = 0
    carrier: str = ""
    task_id: int = 0
    client_ref: str = ""
    submitted_at: float = 0.0
    done_at: float | None = None
    err: str = ""
    carrier_code: str = ""
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Acked:
    count: int


@dataclass(frozen=True, slots=True)
class Pong:
    pass


Outcome = SendOutcome | Balance | RateQuote | ContentVerdict | EventPage | MessageStatus | Acked | Pong | ApiError
