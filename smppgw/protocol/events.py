"""What a session tells its host.  The host reacts; the session has already answered
everything it can answer by itself (enquire_link, wrong-state requests, unknown commands)."""

from __future__ import annotations

from dataclasses import dataclass

from . import pdu as p


@dataclass(frozen=True, slots=True)
class BindRequested:
    """Answer with ``SMPPSession.complete_bind``."""

    pdu: p.BindTransmitter | p.BindReceiver | p.BindTransceiver


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A message operation (submit_sm, query_sm, ...) allowed in this state.  Answer with ``respond``."""

    pdu: p.Pdu


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response to a request this side sent; ``request`` is that request."""

    pdu: p.Pdu
    request: p.Pdu


@dataclass(frozen=True, slots=True)
class ResponseTimedOut:
    request: p.Pdu


@dataclass(frozen=True, slots=True)
class Unbound:
    """The session left the bound state (the peer unbound, or our unbind was answered or timed out)."""

    by_peer: bool


@dataclass(frozen=True, slots=True)
class ProtocolViolation:
    """The peer broke the protocol; the session already answered it.  For logs and scorecards."""

    status: int
    detail: str
    sequence_number: int | None


@dataclass(frozen=True, slots=True)
class CloseConnection:
    """Flush what ``data_to_send`` holds, then close the transport."""

    reason: str


Event = (
    BindRequested
    | RequestReceived
    | ResponseReceived
    | ResponseTimedOut
    | Unbound
    | ProtocolViolation
    | CloseConnection
)
