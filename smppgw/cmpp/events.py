"""What a CMPP session tells its host.  The session has already answered what it can answer by
itself (CONNECT, ACTIVE_TEST, TERMINATE, duplicates, bad packets, a full window)."""

from __future__ import annotations

from dataclasses import dataclass

from . import packets as pk
from .account import CmppAccount
from .constants import Version
from .longmsg import Part


@dataclass(frozen=True, slots=True)
class Connected:
    account: CmppAccount
    version: Version  # the layout the session speaks from now on
    requested_version: int  # the Version octet the client sent (0x21, 0x30 ...)


@dataclass(frozen=True, slots=True)
class ConnectRefused:
    source_addr: str
    status: int  # ConnectStatus sent to the client


@dataclass(frozen=True, slots=True)
class SubmitReceived:
    """Answer with ``CMPPServerSession.respond_submit``."""

    submit: pk.Submit
    part: Part  # which part of which long message it carries (total 1: a message of its own)


@dataclass(frozen=True, slots=True)
class QueryReceived:
    """Answer with ``respond_query``."""

    query: pk.Query


@dataclass(frozen=True, slots=True)
class CancelReceived:
    """Answer with ``respond_cancel``."""

    cancel: pk.Cancel


@dataclass(frozen=True, slots=True)
class DeliverAcknowledged:
    """The client answered a DELIVER (an MO message or a status report) of ours."""

    deliver: pk.Deliver
    result: int


@dataclass(frozen=True, slots=True)
class DeliverTimedOut:
    """A DELIVER of ours went unanswered after every try (or the connection went away)."""

    deliver: pk.Deliver


@dataclass(frozen=True, slots=True)
class Terminated:
    by_peer: bool


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The client broke the protocol; the session already answered (or closed).  For logs."""

    result: int
    detail: str
    sequence_id: int | None


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """Flush what ``data_to_send`` holds, then close the transport."""

    reason: str


Event = (
    Connected
    | ConnectRefused
    | SubmitReceived
    | QueryReceived
    | CancelReceived
    | DeliverAcknowledged
    | DeliverTimedOut
    | Terminated
    | ProtocolViolation
    | CloseConnection
)
