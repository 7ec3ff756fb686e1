"""The gateway (ISMG) side of one CMPP session, as a pure state machine (no I/O, no clock).

The host feeds bytes with ``receive_data(data, now)``, acts on the returned events, answers
with ``respond_submit`` / ``respond_query`` / ``respond_cancel``, sends MO messages and status
reports with ``send_deliver``, writes out ``data_to_send()`` and calls ``handle_timers(now)`` at
``next_deadline()``.  The CONNECT is checked here, against the injected account lookup.

Rules (CMPP 3.0 sections 6 and 7): a link test after C = 3 min without traffic from the client,
each request of ours resent after T = 60 s unanswered, N = 3 tries in all, then the link is
dropped (ACTIVE_TEST, TERMINATE) or the DELIVER given up; window W = 16; a Sequence_Id that is
still waiting, or was answered within the last N * T, is a duplicate (Result 3).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from . import packets as pk
from .account import AccountLookup, CmppAccount
from .codec import decode, encode, peek_header
from .constants import HEADER_SIZE, CommandId, ConnectStatus, Result, Version, layout_of
from .errors import CmppDecodeError, FramingError, LocalProtocolError
from .events import (
    CancelReceived,
    CloseConnection,
    Connected,
    ConnectRefused,
    DeliverAcknowledged,
    DeliverTimedOut,
    Event,
    ProtocolViolation,
    QueryReceived,
    SubmitReceived,
    Terminated,
)
from .framing import DEFAULT_MAX_PACKET_SIZE, FrameBuffer
from .login import authenticates, authenticator_ismg, negotiate
from .longmsg import part_of

C = CommandId
R = Result
_MAX_SEQUENCE = 0xFFFFFFFF
# pycmpp answers ACTIVE_TEST with Total_Length 13 and the four octets b"0x00": the reserved
# octet is the '0', and these three follow outside the packet.
_PYCMPP_TAIL = b"x00"


class SessionState(Enum):
    AWAITING_CONNECT = "awaiting_connect"
    CONNECTED = "connected"
    TERMINATING = "terminating"  # we sent TERMINATE
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Timers in seconds (0 disables one) and bounds."""

    connect_timeout: float = 30.0  # from accept to CONNECT
    active_test_interval: float = 180.0  # C: silence from the client before we test the link
    response_timeout: float = 60.0  # T
    max_tries: int = 3  # N
    window: int = 16  # our DELIVERs the client has not answered yet
    max_pending_requests: int = 16  # the client's requests we have not answered; beyond: Result 8
    duplicate_memory: float = 180.0  # how long an answered Sequence_Id counts as a duplicate
    max_remembered: int = 4096
    max_packet_size: int = DEFAULT_MAX_PACKET_SIZE


@dataclass(slots=True)
class _Outstanding:
    request: pk.Packet
    wire: bytes
    deadline: float
    tries: int


class CMPPServerSession:
    def __init__(self, config: SessionConfig, accounts: AccountLookup, now: float) -> None:
        self.config = config
        self._accounts = accounts
        self.state = SessionState.AWAITING_CONNECT
        self.version = Version.V30  # until the CONNECT names one
        self.account: CmppAccount | None = None
        self.connected_at: float | None = None
        self._frames = FrameBuffer(config.max_packet_size)
        self._out: list[bytes] = []
        self._next_seq = 1
        self._outstanding: dict[int, _Outstanding] = {}
        self._pending_in: dict[int, type[pk.Packet]] = {}
        self._answered: OrderedDict[int, float] = OrderedDict()
        self._opened_at = now
        self._last_rx = now
        self._active_test_seq: int | None = None
        self._junk = b""

    # ---- introspection ----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.state is SessionState.CLOSED

    @property
    def connected(self) -> bool:
        return self.state is SessionState.CONNECTED

    @property
    def outstanding(self) -> int:
        """Requests we sent that are not answered yet (our window in use)."""
        return len(self._outstanding)

    @property
    def window_open(self) -> bool:
        """May ``send_deliver`` be called now?"""
        return self.connected and self._delivers_outstanding() < self.config.window

    @property
    def pending_requests(self) -> int:
        """Requests the client sent that the host has not answered yet."""
        return len(self._pending_in)

    @property
    def next_sequence(self) -> int:
        return self._next_seq

    def _delivers_outstanding(self) -> int:
        return sum(1 for o in self._outstanding.values() if isinstance(o.request, pk.Deliver))

    # ---- output -----------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        if not self._out:
            return b""
        data = b"".join(self._out)
        self._out.clear()
        return data

    def _emit(self, packet: pk.Packet, version: Version | None = None) -> None:
        self._out.append(encode(packet, self.version if version is None else version))

    def _answer(self, response: pk.Packet, now: float) -> None:
        """Send the host's answer to a waiting request and remember its Sequence_Id.  After the
        session closed there is no one to answer: the host's late answer is dropped."""
        if self.closed:
            return
        seq = response.sequence_id
        expected = self._pending_in.get(seq)
        if expected is None:
            raise LocalProtocolError(f"no request {seq} waits for an answer")
        if pk.RESPONSE_OF[expected] is not type(response):
            raise LocalProtocolError(
                f"request {seq} is a {expected.__name__}, not answered by {type(response).__name__}"
            )
        del self._pending_in[seq]
        self._remember(seq, now)
        self._emit(response)

    def _remember(self, seq: int, now: float) -> None:
        answered = self._answered
        answered[seq] = now
        answered.move_to_end(seq)
        horizon = now - self.config.duplicate_memory
        while answered and (len(answered) > self.config.max_remembered or next(iter(answered.values())) < horizon):
            answered.popitem(last=False)

    def _is_duplicate(self, seq: int, now: float) -> bool:
        if seq in self._pending_in:
            return True
        at = self._answered.get(seq)
        return at is not None and now - at < self.config.duplicate_memory

    def respond_submit(self, sequence_id: int, msg_id: int, now: float, result: int = R.OK) -> None:
        """Answer a SubmitReceived: the Msg_Id given (the first of the range for a mass send)."""
        self._answer(pk.SubmitResp(sequence_id=sequence_id, msg_id=msg_id, result=result), now)

    def respond_query(self, response: pk.QueryResp, now: float) -> None:
        self._answer(response, now)

    def respond_cancel(self, sequence_id: int, cancelled: bool, now: float) -> None:
        self._answer(pk.CancelResp(sequence_id=sequence_id, success_id=1 if cancelled else 0), now)

    def _send_request(self, request: pk.Packet, now: float) -> int:
        seq = self._next_seq
        self._next_seq = 1 if seq >= _MAX_SEQUENCE else seq + 1
        request = request.evolve(sequence_id=seq)
        wire = encode(request, self.version)
        self._outstanding[seq] = _Outstanding(request, wire, now + self.config.response_timeout, 1)
        self._out.append(wire)
        return seq

    def send_deliver(self, deliver: pk.Deliver, now: float) -> int:
        """Send an MO message or a status report; returns its Sequence_Id.  The host waits for
        DeliverAcknowledged or DeliverTimedOut, and keeps to ``window_open``."""
        if not self.connected:
            raise LocalProtocolError(f"DELIVER may not be sent in {self.state.value}")
        if not self.window_open:
            raise LocalProtocolError(f"the window of {self.config.window} DELIVERs is full")
        return self._send_request(deliver, now)

    def terminate(self, now: float) -> None:
        """Start a gateway-side TERMINATE; the session closes when it is answered or times out."""
        if self.connected:
            self._send_request(pk.Terminate(), now)
            self.state = SessionState.TERMINATING

    # ---- input ------------------------------------------------------------------------

    def receive_data(
        self, data: bytes, now: float, frame_in: Callable[[bytes, float], None] | None = None
    ) -> list[Event]:
        """``frame_in`` sees each whole packet cut from the stream before it is decoded (a tap)."""
        if self.closed:
            return []
        self._frames.feed(data)
        events: list[Event] = []
        while not self.closed:
            if self._junk and not self._skip_junk():
                break
            try:
                frame = self._frames.next_frame()
            except FramingError as err:
                events.extend(self._framing_failed(err))
                break
            if frame is None:
                break
            self._last_rx = now
            if frame_in is not None:
                frame_in(frame, now)
            try:
                packet = decode(frame, self.version)
            except CmppDecodeError as err:
                events.extend(self._undecodable(err, frame, now))
                continue
            events.extend(self._dispatch(packet, frame, now))
        return events

    def _skip_junk(self) -> bool:
        """False while the buffer holds only the start of the expected stray octets."""
        head = self._frames.peek(len(self._junk))
        if head == self._junk:
            self._frames.skip(len(head))
        elif self._junk.startswith(head):
            return False
        self._junk = b""
        return True

    def _framing_failed(self, err: FramingError) -> list[Event]:
        if err.command_id == C.SUBMIT and self.connected:
            self._emit(pk.SubmitResp(sequence_id=err.sequence_id or 0, result=err.result))
        return [ProtocolViolation(err.result, err.detail, err.sequence_id), *self._close("Total_Length out of bounds")]

    def _undecodable(self, err: CmppDecodeError, frame: bytes, now: float) -> list[Event]:
        seq = err.sequence_id or 0
        cid = err.command_id
        violation = ProtocolViolation(err.result, err.detail, err.sequence_id)
        if cid == C.CONNECT and self.state is SessionState.AWAITING_CONNECT:
            layout = layout_of(frame[HEADER_SIZE + 22]) if len(frame) > HEADER_SIZE + 22 else None
            self._emit(pk.ConnectResp(sequence_id=seq, status=ConnectStatus.BAD_STRUCTURE), layout or Version.V30)
            return [violation, *self._close("undecodable CONNECT")]
        if cid is not None and cid & 0x80000000:
            return [violation]  # never answer a response; a bad DELIVER_RESP leaves its DELIVER to be resent
        if self.state is not SessionState.AWAITING_CONNECT and cid in (C.SUBMIT, C.DELIVER, C.CANCEL):
            duplicate = self._is_duplicate(seq, now)
            result = R.DUPLICATE_SEQUENCE if duplicate else err.result
            if cid == C.SUBMIT:
                self._emit(pk.SubmitResp(sequence_id=seq, result=result))
            elif cid == C.DELIVER:
                self._emit(pk.DeliverResp(sequence_id=seq, result=result))
            else:
                self._emit(pk.CancelResp(sequence_id=seq, success_id=0))
            if not duplicate:
                self._remember(seq, now)
            return [violation]
        return [violation, *self._close(f"cannot answer: {err.detail}")]

    def _dispatch(self, packet: pk.Packet, frame: bytes, now: float) -> list[Event]:
        if packet.is_response:
            return self._on_response(packet, frame)
        seq = packet.sequence_id
        if isinstance(packet, pk.Connect):
            if self.state is SessionState.AWAITING_CONNECT:
                return self._on_connect(packet, now)
            self._emit(pk.ConnectResp(sequence_id=seq, status=ConnectStatus.OTHER, version=self.version))
            return [ProtocolViolation(R.BAD_COMMAND, "CONNECT on a session already connected", seq)]
        if isinstance(packet, pk.Terminate):
            self._emit(pk.TerminateResp(sequence_id=seq))
            was_connected = self.state is not SessionState.AWAITING_CONNECT
            ended: list[Event] = [Terminated(by_peer=True)] if was_connected else []
            return [*ended, *self._close("terminated by the client")]
        if self.state is SessionState.AWAITING_CONNECT:
            return [
                ProtocolViolation(R.BAD_COMMAND, f"{packet.command_id.name} before CONNECT", seq),
                *self._close("request before CONNECT"),
            ]
        if isinstance(packet, pk.ActiveTest):
            self._emit(pk.ActiveTestResp(sequence_id=seq))
            return []
        if isinstance(packet, pk.Deliver):
            self._emit(pk.DeliverResp(sequence_id=seq, msg_id=packet.msg_id, result=R.BAD_COMMAND))
            return [ProtocolViolation(R.BAD_COMMAND, "DELIVER goes from the gateway to the SP", seq)]
        if not isinstance(packet, pk.Submit | pk.Query | pk.Cancel):  # pragma: no cover - every request is above
            raise AssertionError(packet)
        refusal = self._refusal(packet, now)
        if refusal is not None:
            result, detail = refusal
            self._refuse(packet, result, now)
            return [ProtocolViolation(result, detail, seq)]
        if isinstance(packet, pk.Submit):
            try:
                part = part_of(packet.tp_udhi, packet.pk_total, packet.pk_number, packet.content)
            except ValueError as err:
                self._refuse(packet, R.BAD_STRUCTURE, now)
                return [ProtocolViolation(R.BAD_STRUCTURE, str(err), seq)]
            self._pending_in[seq] = pk.Submit
            return [SubmitReceived(packet, part)]
        self._pending_in[seq] = type(packet)
        return [QueryReceived(packet) if isinstance(packet, pk.Query) else CancelReceived(packet)]

    def _refusal(self, packet: pk.Submit | pk.Query | pk.Cancel, now: float) -> tuple[int, str] | None:
        seq = packet.sequence_id
        if self._is_duplicate(seq, now):
            return R.DUPLICATE_SEQUENCE, f"Sequence_Id {seq} is already in use"
        if self.state is SessionState.TERMINATING:
            return R.FLOW_CONTROL, "the session is terminating"
        if len(self._pending_in) >= self.config.max_pending_requests:
            return R.FLOW_CONTROL, f"more than {self.config.max_pending_requests} requests unanswered"
        if isinstance(packet, pk.Submit):
            account = self.account
            assert account is not None
            if packet.msg_src != account.sp_id:
                return R.BAD_MSG_SRC, f"Msg_src {packet.msg_src!r} is not the SP_Id logged in"
            if packet.src_id and not packet.src_id.startswith(account.service_code):
                return R.BAD_SRC_ID, f"Src_Id {packet.src_id!r} is not under the service code {account.service_code}"
        return None

    def _refuse(self, packet: pk.Submit | pk.Query | pk.Cancel, result: int, now: float) -> None:
        """Answer a request the host never sees.  A duplicate's Sequence_Id keeps its first
        record (the real request may still be waiting)."""
        seq = packet.sequence_id
        if isinstance(packet, pk.Submit):
            self._emit(pk.SubmitResp(sequence_id=seq, result=result))
        elif isinstance(packet, pk.Cancel):
            self._emit(pk.CancelResp(sequence_id=seq, success_id=0))
        else:  # QUERY_RESP has no result field: empty counters
            self._emit(pk.QueryResp(sequence_id=seq, time=packet.time, query_type=packet.query_type,
                                    query_code=packet.query_code))  # fmt: skip
        if result != R.DUPLICATE_SEQUENCE:
            self._remember(seq, now)

    def _on_connect(self, connect: pk.Connect, now: float) -> list[Event]:
        seq = connect.sequence_id
        account = self._accounts(connect.source_addr)
        if account is None:
            status, layout = ConnectStatus.BAD_SOURCE_ADDR, layout_of(connect.version) or Version.V30
        elif not authenticates(account.sp_id, account.secret, connect.timestamp, connect.authenticator_source):
            status, layout = ConnectStatus.AUTH_FAILED, layout_of(connect.version) or Version.V30
        else:
            status, layout = negotiate(connect.version, account.version)
        if account is None or status != ConnectStatus.OK:
            # "Empty on failure": no proof of the secret to a client that could not prove it.
            version = account.version if account is not None and status == ConnectStatus.VERSION_TOO_HIGH else layout
            self._emit(pk.ConnectResp(sequence_id=seq, status=status, version=version), layout)
            return [ConnectRefused(connect.source_addr, status), *self._close("CONNECT refused")]
        self.state = SessionState.CONNECTED
        self.version = layout
        self.account = account
        self.connected_at = now
        proof = authenticator_ismg(status, connect.authenticator_source, account.secret, layout)
        # The client's own Version octet back (0x21 stays 0x21): clients that compare it accept it.
        self._emit(pk.ConnectResp(sequence_id=seq, status=status, authenticator_ismg=proof, version=connect.version))
        return [Connected(account, layout, connect.version)]

    def _on_response(self, packet: pk.Packet, frame: bytes) -> list[Event]:
        seq = packet.sequence_id
        waiting = self._outstanding.get(seq)
        if waiting is None or pk.RESPONSE_OF[type(waiting.request)] is not type(packet):
            return [ProtocolViolation(R.BAD_COMMAND, f"{packet.command_id.name} {seq} answers no request of ours", seq)]
        del self._outstanding[seq]
        request = waiting.request
        if isinstance(packet, pk.ActiveTestResp):
            self._active_test_seq = None
            if packet.reserved == ord("0") and peek_header(frame)[0] == HEADER_SIZE + 1:
                self._junk = _PYCMPP_TAIL
            return []
        if isinstance(request, pk.Terminate):
            return [Terminated(by_peer=False), *self._close("TERMINATE answered")]
        assert isinstance(request, pk.Deliver) and isinstance(packet, pk.DeliverResp)
        return [DeliverAcknowledged(request, packet.result)]

    # ---- timers -----------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        if self.closed:
            return None
        cfg = self.config
        deadlines = [o.deadline for o in self._outstanding.values()]
        if self.state is SessionState.AWAITING_CONNECT and cfg.connect_timeout:
            deadlines.append(self._opened_at + cfg.connect_timeout)
        if self.connected and cfg.active_test_interval and self._active_test_seq is None:
            deadlines.append(self._last_rx + cfg.active_test_interval)
        return min(deadlines) if deadlines else None

    def handle_timers(self, now: float) -> list[Event]:
        if self.closed:
            return []
        cfg = self.config
        if (
            self.state is SessionState.AWAITING_CONNECT
            and cfg.connect_timeout
            and now >= self._opened_at + cfg.connect_timeout
        ):
            return self._close("no CONNECT within connect_timeout")
        events: list[Event] = []
        for seq, waiting in list(self._outstanding.items()):
            if waiting.deadline > now:
                continue
            if waiting.tries < cfg.max_tries:
                waiting.tries += 1
                waiting.deadline = now + cfg.response_timeout
                self._out.append(waiting.wire)  # the same Sequence_Id: the client may answer either copy
                continue
            del self._outstanding[seq]
            request = waiting.request
            if isinstance(request, pk.Deliver):
                events.append(DeliverTimedOut(request))
                continue
            what = "ACTIVE_TEST" if isinstance(request, pk.ActiveTest) else "TERMINATE"
            return [*events, *self._close(f"{what} unanswered after {cfg.max_tries} tries")]
        if (
            self.connected
            and cfg.active_test_interval
            and self._active_test_seq is None
            and now >= self._last_rx + cfg.active_test_interval
        ):
            self._active_test_seq = self._send_request(pk.ActiveTest(), now)
        return events

    # ---- closing ----------------------------------------------------------------------

    def connection_lost(self) -> list[Event]:
        """The transport went away.  DELIVERs not answered come back as timed out."""
        was_connected = self.state in (SessionState.CONNECTED, SessionState.TERMINATING)
        self.state = SessionState.CLOSED
        lost: list[Event] = [
            DeliverTimedOut(o.request) for o in self._outstanding.values() if isinstance(o.request, pk.Deliver)
        ]
        self._outstanding.clear()
        self._pending_in.clear()
        return [*([Terminated(by_peer=True)] if was_connected else []), *lost]

    def _close(self, reason: str) -> list[Event]:
        self.state = SessionState.CLOSED
        self._pending_in.clear()
        lost: list[Event] = [
            DeliverTimedOut(o.request) for o in self._outstanding.values() if isinstance(o.request, pk.Deliver)
        ]
        self._outstanding.clear()
        return [*lost, CloseConnection(reason)]
