"""What a front's parse hands on: typed requests, each carrying how its reply must look.

A later adapter maps a `SendRequest` onto the gateway's one submit function: every
`OutboundMessage` is one recipient, so one `SubmitSm`.  Nothing here knows SMPP or the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .accounts import ApiAccount, Front
from .errors import ApiError


class Dialect(Enum):
    """Whose bytes the reply must reproduce."""

    LEGACY = "legacy"  # the sms.aspx family
    JASMIN = "jasmin"  # Jasmin's HTTP API (/send, /balance, /rate, /ping)
    JASMIN_REST = "jasmin-rest"  # Jasmin's REST API (/secure/...)
    KANNEL = "kannel"  # Kannel's /cgi-bin/sendsms
    V1 = "v1"


class Op(Enum):
    SEND = "send"
    BATCH = "batch"  # Jasmin sendbatch, v1 /v1/messages/batch
    BALANCE = "balance"
    RATE = "rate"
    PING = "ping"
    CHECK = "check"  # checkkeyword / content-check
    REPORTS = "reports"  # pull delivery reports
    INBOUND = "inbound"  # pull MO
    ACK = "ack"  # v1: acknowledge a pulled page
    STATUS = "status"  # v1: one message's state


class LegacyForm(Enum):
    """The legacy family's reply encodings."""

    XML = "xml"  # sms.aspx, statusApi.aspx, callApi.aspx, v2*.aspx: UTF-8 XML
    XML_GBK = "xml-gbk"  # smsGBK.aspx: GBK bytes declared gb2312
    JSON = "json"  # smsJson.aspx: lower-case keys, string values
    JSON_V2 = "json-v2"  # v2 with rt=json: PascalCase keys, numbers


@dataclass(frozen=True, slots=True)
class Reply:
    """How to render the answer to a request (and any refusal of it)."""

    dialect: Dialect
    op: Op
    form: LegacyForm = LegacyForm.XML


@dataclass(frozen=True, slots=True)
class Text:
    """Text the gateway encodes itself; `data_coding` only when the client insisted on one."""

    text: str
    data_coding: int | None = None


@dataclass(frozen=True, slots=True)
class Octets:
    """Bytes sent as they are with the client's data_coding (Jasmin's raw content, hex-content)."""

    octets: bytes
    data_coding: int


Content = Text | Octets


class ReportFormat(Enum):
    """The shape a pushed receipt or MO takes."""

    LEGACY = "legacy"
    JASMIN = "jasmin"
    KANNEL = "kannel"
    V1 = "v1"


@dataclass(frozen=True, slots=True)
class NoReport:
    """The client asked for no receipt."""


@dataclass(frozen=True, slots=True)
class AccountChannel:
    """The account's configured channel for this front: its `report_url`, else the pull mailbox."""

    front: Front


@dataclass(frozen=True, slots=True)
class PushChannel:
    """A per-request callback URL (Jasmin `dlr-url`, Kannel `dlr-url`, v1 `callback_url`)."""

    url: str
    format: ReportFormat
    method: str = "POST"
    level: int = 1  # Jasmin dlr-level: 1 SMS-C, 2 terminal, 3 both
    mask: int = 0  # Kannel dlr-mask bits


ReportChannel = NoReport | AccountChannel | PushChannel


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One recipient's message: what becomes one submit."""

    to: str
    content: Content
    source: str | None = None  # None: the account's default service number
    extno: str = ""
    schedule_at: float | None = None  # epoch; None: now
    validity_s: int | None = None
    priority: int = 0
    report: ReportChannel = NoReport()
    client_ref: str = ""


@dataclass(frozen=True, slots=True)
class Refusal:
    """A recipient refused before submit (a malformed number in a multi-number request).

    The request still goes ahead for the others; each refusal later shows as a failed report.
    """

    to: str
    error: ApiError
    client_ref: str = ""


@dataclass(frozen=True, slots=True)
class Idempotency:
    """v1 `Idempotency-Key` and a digest of what it was sent with (409 if a replay differs)."""

    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class BatchCallbacks:
    """Jasmin sendbatch's `batch_config`: a GET per message to `callback_url` / `errback_url`."""

    callback_url: str = ""
    errback_url: str = ""


@dataclass(frozen=True, slots=True)
class SendRequest:
    reply: Reply
    account: ApiAccount
    messages: tuple[OutboundMessage, ...]
    refused: tuple[Refusal, ...] = ()
    idempotency: Idempotency | None = None
    batch_callbacks: BatchCallbacks | None = None
    scheduled_in_s: int | None = None  # Jasmin sendbatch's countdown, echoed as "scheduled"


@dataclass(frozen=True, slots=True)
class BalanceRequest:
    reply: Reply
    account: ApiAccount


@dataclass(frozen=True, slots=True)
class RateRequest:
    reply: Reply
    account: ApiAccount
    to: str
    content: Content


@dataclass(frozen=True, slots=True)
class PingRequest:
    reply: Reply


@dataclass(frozen=True, slots=True)
class ContentCheckRequest:
    reply: Reply
    account: ApiAccount
    text: str


@dataclass(frozen=True, slots=True)
class PullRequest:
    """Take up to `limit` ready reports (or MO) of the account's pull mailbox.

    Legacy pulls are destructive (delete after the reply is written); v1 pulls lease a page that
    an `AckRequest` with its cursor deletes.
    """

    reply: Reply
    account: ApiAccount
    limit: int
    task_id: int | None = None  # legacy ipyy clients filter by taskid


@dataclass(frozen=True, slots=True)
class AckRequest:
    reply: Reply  # op ACK; `inbound` tells which mailbox
    account: ApiAccount
    cursor: str
    inbound: bool = False


@dataclass(frozen=True, slots=True)
class StatusRequest:
    reply: Reply
    account: ApiAccount
    message_id: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """A request refused at parse time, with the reply form its refusal takes."""

    reply: Reply
    error: ApiError


ApiRequest = (
    SendRequest
    | BalanceRequest
    | RateRequest
    | PingRequest
    | ContentCheckRequest
    | PullRequest
    | AckRequest
    | StatusRequest
)
