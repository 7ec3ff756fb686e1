"""The server side of one SMPP session, as a pure state machine (no I/O, no clock).

The host feeds bytes with ``receive_data(data, now)``, acts on the returned events, sends
its own PDUs with ``respond`` / ``send_request``, writes out ``data_to_send()``, and calls
``handle_timers(now)`` at ``next_deadline()``.  SMPP 3.4 sections 2.3-2.4 and 7.2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from . import pdu as p
from .codec import decode, encode
from .constants import (
    INTERFACE_VERSION_34,
    INTERFACE_VERSION_50,
    CommandId,
    CommandStatus,
    Tag,
)
from .errors import FramingError, LocalProtocolError, PduDecodeError
from .events import (
    BindRequested,
    CloseConnection,
    Event,
    ProtocolViolation,
    RequestReceived,
    ResponseReceived,
    ResponseTimedOut,
    Unbound,
)
from .framing import DEFAULT_MAX_PDU_SIZE, FrameBuffer
from .traffic import Traffic

C = CommandId
S = CommandStatus


class SessionState(Enum):
    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBOUND = "unbound"
    CLOSED = "closed"


BOUND_STATES = frozenset({SessionState.BOUND_TX, SessionState.BOUND_RX, SessionState.BOUND_TRX})

_BIND_STATE = {
    p.BindTransmitter: SessionState.BOUND_TX,
    p.BindReceiver: SessionState.BOUND_RX,
    p.BindTransceiver: SessionState.BOUND_TRX,
}

_BIND_RESPONSE: dict[type[p.Pdu], type[p.BindResponse]] = {
    p.BindTransmitter: p.BindTransmitterResp,
    p.BindReceiver: p.BindReceiverResp,
    p.BindTransceiver: p.BindTransceiverResp,
}

_TX_OPS = frozenset({C.SUBMIT_SM, C.SUBMIT_MULTI, C.QUERY_SM, C.CANCEL_SM, C.REPLACE_SM, C.DATA_SM})
_ALWAYS = frozenset({C.ENQUIRE_LINK})
# Requests an ESME may send to us in each state (the transition table of section 2.3).
ALLOWED_REQUESTS: dict[SessionState, frozenset[int]] = {
    SessionState.OPEN: _ALWAYS,
    SessionState.BOUND_TX: _ALWAYS | _TX_OPS | {C.UNBIND},
    SessionState.BOUND_RX: _ALWAYS | {C.UNBIND},
    SessionState.BOUND_TRX: _ALWAYS | _TX_OPS | {C.UNBIND},
    SessionState.UNBOUND: _ALWAYS,
    SessionState.CLOSED: frozenset(),
}
# Requests we may send in each state.
SENDABLE: dict[SessionState, frozenset[int]] = {
    SessionState.OPEN: frozenset({C.ENQUIRE_LINK}),
    SessionState.BOUND_TX: frozenset({C.ENQUIRE_LINK, C.UNBIND}),
    SessionState.BOUND_RX: frozenset({C.ENQUIRE_LINK, C.UNBIND, C.DELIVER_SM, C.DATA_SM, C.ALERT_NOTIFICATION}),
    SessionState.BOUND_TRX: frozenset({C.ENQUIRE_LINK, C.UNBIND, C.DELIVER_SM, C.DATA_SM, C.ALERT_NOTIFICATION}),
    SessionState.UNBOUND: frozenset(),
    SessionState.CLOSED: frozenset(),
}
# A decode failure with one of these statuses means the PDU as a whole cannot be understood:
# generic_nack.  Other statuses name a bad field value, answered with the command's own response.
_STRUCTURAL = frozenset({S.ESME_RINVCMDLEN, S.ESME_RINVCMDID, S.ESME_RINVTLVSTREAM})
_MAX_SEQUENCE = 0x7FFFFFFF


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """SMPP timers (seconds; 0 disables one) and bounds, named as in SMPP 3.4 section 7.2."""

    session_init_timeout: float = 30.0
    enquire_link_interval: float = 30.0
    inactivity_timeout: float = 300.0
    response_timeout: float = 60.0
    max_pdu_size: int = DEFAULT_MAX_PDU_SIZE
    max_pending_requests: int = 1000  # requests received and not answered yet; beyond: ESME_RMSGQFUL
    system_id: str = "smppgw"  # our system_id in bind responses


@dataclass(slots=True, init=False)
class _Outstanding:
    request: p.Pdu
    deadline: float

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(self, request: p.Pdu, deadline: float) -> None:
        self.request = request
        self.deadline = deadline


class SMPPSession:
    def __init__(self, config: SessionConfig, now: float, traffic: Traffic | None = None) -> None:
        self.config = config
        self.traffic = traffic if traffic is not None else Traffic()
        self.state = SessionState.OPEN
        self.interface_version = INTERFACE_VERSION_34
        self.system_id: str | None = None
        self._frames = FrameBuffer(config.max_pdu_size)
        self._out: list[bytes] = []
        self._next_seq = 1
        self._outstanding: dict[int, _Outstanding] = {}
        self._pending_in: set[int] = set()
        self._opened_at = now
        self._last_rx = now
        self._last_tx = now
        self._enquire_seq: int | None = None
        self._binding = False  # a bind was handed to the host: any other is answered here
        self.bound_at: float | None = None

    # ---- introspection ---------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.state is SessionState.CLOSED

    @property
    def is_bound(self) -> bool:
        return self.state in BOUND_STATES

    @property
    def can_receive(self) -> bool:
        """May this session be sent deliver_sm (receipts and MO)?"""
        return self.state in (SessionState.BOUND_RX, SessionState.BOUND_TRX)

    @property
    def legacy(self) -> bool:
        """Bound as SMPP 3.3 or older: never send TLVs."""
        return self.interface_version <= 0x33

    @property
    def outstanding(self) -> int:
        """Requests we sent that are not answered yet (our window in use)."""
        return len(self._outstanding)

    @property
    def next_sequence(self) -> int:
        """The sequence number send_request will give the next request."""
        return self._next_seq

    @property
    def pending_requests(self) -> int:
        """Requests the peer sent that we have not answered yet."""
        return len(self._pending_in)

    # ---- output ----------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data

    def frames_to_send(self) -> list[bytes]:
        """What ``data_to_send`` would return, one encoded PDU per item (for a host that taps frames)."""
        frames = self._out
        self._out = []
        return frames

    def _emit(self, pdu: p.Pdu, now: float | None = None) -> None:
        if self.legacy and pdu.tlvs:
            pdu = pdu.evolve(tlvs=())
        self._out.append(encode(pdu))
        self.traffic.count("out", pdu.command_id, pdu.command_status)
        if now is not None:
            self._last_tx = now

    def respond(self, response: p.Pdu) -> None:
        """Answer a request the host received (sequence_number must be the request's).  Once the
        session closed (maybe later in the read that brought the request) the answer is dropped."""
        if self.state is SessionState.CLOSED:
            return
        if response.sequence_number not in self._pending_in:
            raise LocalProtocolError(f"no request {response.sequence_number} waits for an answer")
        self._pending_in.discard(response.sequence_number)
        self._emit(response)

    def send_request(self, request: p.Pdu, now: float) -> int:
        """Send a request of ours; returns the sequence number it was given."""
        if request.command_id not in SENDABLE[self.state]:
            raise LocalProtocolError(f"{request.command_id.name} may not be sent in {self.state.value}")
        seq = self._next_seq
        self._next_seq = 1 if seq >= _MAX_SEQUENCE else seq + 1
        if request.sequence_number != seq:  # a host that built it with next_sequence saves a copy
            request = request.evolve(sequence_number=seq)
        self._outstanding[seq] = _Outstanding(request, now + self.config.response_timeout)
        self._emit(request, now)
        if request.command_id == C.UNBIND:
            self.state = SessionState.UNBOUND
        return seq

    def unbind(self, now: float) -> None:
        """Start a server-side unbind (the session closes when it is answered or times out)."""
        if self.is_bound:
            self.send_request(p.Unbind(), now)

    # ---- binds -----------------------------------------------------------------------

    def complete_bind(self, bind: p.BindRequest, status: int, now: float) -> list[Event]:
        """Answer a BindRequested: status ESME_ROK binds, anything else refuses and closes."""
        if self.state is SessionState.CLOSED:  # closed later in the same read: nothing to answer
            return []
        resp_cls = _BIND_RESPONSE[type(bind)]
        tlvs: tuple[p.Tlv, ...] = ()
        if status == S.ESME_ROK:
            self.state = _BIND_STATE[type(bind)]
            self.interface_version = bind.interface_version
            self.system_id = bind.system_id
            self.bound_at = now
            if not self.legacy:
                tlvs = (p.int_tlv(Tag.SC_INTERFACE_VERSION, INTERFACE_VERSION_34),)
        self.respond(
            resp_cls(
                sequence_number=bind.sequence_number,
                command_status=status,
                system_id=self.config.system_id,
                tlvs=tlvs,
            )
        )
        if status != S.ESME_ROK:
            return self._close("bind refused")
        return []

    # ---- input -----------------------------------------------------------------------

    def receive_data(
        self, data: bytes, now: float, frame_seen: Callable[[bytes, float], None] | None = None
    ) -> list[Event]:
        """``frame_seen`` is called with each frame cut from the stream, before it is decoded
        (so it sees what the session refuses too): a wire tap's way in without framing twice."""
        if self.state is SessionState.CLOSED:
            return []
        self._frames.feed(data)
        events: list[Event] = []
        while not self.closed:
            try:
                frame = self._frames.next_frame()
            except FramingError as err:
                self._emit(p.GenericNack(sequence_number=err.sequence_number or 0, command_status=err.status))
                events.append(ProtocolViolation(err.status, err.detail, err.sequence_number))
                events.extend(self._close("corrupt command_length"))
                break
            if frame is None:
                break
            if frame_seen is not None:
                frame_seen(frame, now)
            self._last_rx = now
            try:
                pdu = decode(frame)
            except PduDecodeError as err:
                events.extend(self._answer_undecodable(err))
                continue
            events.extend(self._dispatch(pdu, now))
        return events

    def _answer_undecodable(self, err: PduDecodeError) -> list[Event]:
        seq = err.sequence_number or 0
        cid = err.command_id
        cls = p.PDU_BY_ID.get(cid) if cid is not None else None
        resp_cls = p.RESPONSE_OF.get(cls) if cls is not None else None
        if resp_cls is not None and err.status not in _STRUCTURAL:
            self._emit(resp_cls(sequence_number=seq, command_status=err.status))
        elif cid is None or not cid & 0x80000000:  # never nack a response
            self._emit(p.GenericNack(sequence_number=seq, command_status=err.status))
        return [ProtocolViolation(err.status, err.detail, err.sequence_number)]

    def _dispatch(self, pdu: p.Pdu, now: float) -> list[Event]:
        cid = pdu.command_id
        self.traffic.count("in", cid, pdu.command_status)
        if cid & 0x80000000:
            return self._on_response(pdu, now)
        seq = pdu.sequence_number
        if isinstance(pdu, p.BindTransmitter | p.BindReceiver | p.BindTransceiver):
            # Two binds in one read: the host decides the first; deciding a second would rebind
            # (or answer a closed session) after the first one's answer.
            if self.state is not SessionState.OPEN or self._binding:
                status = S.ESME_RALYBND if self.is_bound else S.ESME_RINVBNDSTS
                self._emit(p.RESPONSE_OF[type(pdu)](sequence_number=seq, command_status=status))
                return [ProtocolViolation(status, "bind on a session that is not open", seq)]
            if pdu.interface_version > INTERFACE_VERSION_34 and pdu.interface_version != INTERFACE_VERSION_50:
                self._pending_in.add(seq)
                return self.complete_bind(pdu, S.ESME_RBINDFAIL, now)
            self._pending_in.add(seq)
            self._binding = True
            return [BindRequested(pdu)]
        if cid not in ALLOWED_REQUESTS[self.state]:
            resp_cls = p.RESPONSE_OF.get(type(pdu))
            if resp_cls is None:
                self._emit(p.GenericNack(sequence_number=seq, command_status=S.ESME_RINVBNDSTS))
            else:
                self._emit(resp_cls(sequence_number=seq, command_status=S.ESME_RINVBNDSTS))
            return [ProtocolViolation(S.ESME_RINVBNDSTS, f"{cid.name} not allowed in {self.state.value}", seq)]
        if cid == C.ENQUIRE_LINK:
            self._emit(p.EnquireLinkResp(sequence_number=seq), now)
            return []
        if cid == C.UNBIND:
            self._emit(p.UnbindResp(sequence_number=seq), now)
            self.state = SessionState.UNBOUND
            return [Unbound(by_peer=True), *self._close("unbound by peer")]
        if len(self._pending_in) >= self.config.max_pending_requests:
            resp_cls = p.RESPONSE_OF[type(pdu)]
            self._emit(resp_cls(sequence_number=seq, command_status=S.ESME_RMSGQFUL))
            return [ProtocolViolation(S.ESME_RMSGQFUL, "too many requests waiting for an answer", seq)]
        if seq in self._pending_in:
            # A sequence number reused while outstanding: the two answers could not be told apart.
            resp_cls = p.RESPONSE_OF[type(pdu)]
            self._emit(resp_cls(sequence_number=seq, command_status=S.ESME_RSYSERR))
            return [ProtocolViolation(S.ESME_RSYSERR, "sequence_number reused while outstanding", seq)]
        self._pending_in.add(seq)
        return [RequestReceived(pdu)]

    def _on_response(self, pdu: p.Pdu, now: float) -> list[Event]:
        waiting = self._outstanding.pop(pdu.sequence_number, None)
        if waiting is None:
            return [
                ProtocolViolation(
                    S.ESME_RINVCMDID,
                    f"{pdu.command_id.name} {pdu.sequence_number} answers no request of ours",
                    pdu.sequence_number,
                )
            ]
        request = waiting.request
        if request.command_id == C.ENQUIRE_LINK:
            self._enquire_seq = None
            return []
        if request.command_id == C.UNBIND:
            return [Unbound(by_peer=False), *self._close("unbind answered")]
        return [ResponseReceived(pdu, request)]

    # ---- timers ----------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        if self.state is SessionState.CLOSED:
            return None
        cfg = self.config
        deadlines: list[float] = []
        if self.state is SessionState.OPEN and cfg.session_init_timeout:
            deadlines.append(self._opened_at + cfg.session_init_timeout)
        if self.is_bound:
            if cfg.inactivity_timeout:
                deadlines.append(self._last_rx + cfg.inactivity_timeout)
            if cfg.enquire_link_interval and self._enquire_seq is None:
                deadlines.append(max(self._last_rx, self._last_tx) + cfg.enquire_link_interval)
        if self._outstanding:
            # Requests get now + response_timeout in send order, so the oldest expires first: O(1), not a scan.
            deadlines.append(next(iter(self._outstanding.values())).deadline)
        return min(deadlines) if deadlines else None

    def handle_timers(self, now: float) -> list[Event]:
        if self.state is SessionState.CLOSED:
            return []
        cfg = self.config
        events: list[Event] = []
        if (
            self.state is SessionState.OPEN
            and cfg.session_init_timeout
            and now >= self._opened_at + cfg.session_init_timeout
        ):
            return self._close("no bind within session_init_timeout")
        expired = [seq for seq, o in self._outstanding.items() if o.deadline <= now]
        for seq in expired:
            request = self._outstanding.pop(seq).request
            if request.command_id in (C.ENQUIRE_LINK, C.UNBIND):
                why = "enquire_link not answered" if request.command_id == C.ENQUIRE_LINK else "unbind not answered"
                return [*events, *self._close(why)]
            events.append(ResponseTimedOut(request))
        if self.is_bound:
            if cfg.inactivity_timeout and now >= self._last_rx + cfg.inactivity_timeout:
                self.unbind(now)
                return events
            if (
                cfg.enquire_link_interval
                and self._enquire_seq is None
                and now >= max(self._last_rx, self._last_tx) + cfg.enquire_link_interval
            ):
                self._enquire_seq = self.send_request(p.EnquireLink(), now)
        return events

    # ---- closing ---------------------------------------------------------------------

    def connection_lost(self) -> list[Event]:
        """The transport went away.  Requests we sent that were not answered are returned as timed out."""
        was_bound = self.is_bound
        self.state = SessionState.CLOSED
        lost = [ResponseTimedOut(o.request) for o in self._outstanding.values()]
        self._outstanding.clear()
        self._pending_in.clear()
        unbound: list[Event] = [Unbound(by_peer=True)] if was_bound else []
        return [*unbound, *lost]

    def _close(self, reason: str) -> list[Event]:
        self.state = SessionState.CLOSED
        self._pending_in.clear()
        return [CloseConnection(reason)]
