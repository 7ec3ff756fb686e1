"""Protocol faults injected on an account's binds: error answers by share, generic_nack bursts,
delayed or dropped submit_sm_resp, an unbind from the gateway's side, a half-open connection,
PDUs split across TCP segments, and a slow reader on the gateway's side.

The settings (and what each key does) are in smppgw.config.rig.  They come from the admin API,
a scenario's ``[[fault]]`` table or an account's ``faults`` table in the configuration; faults
set for one bind type win over the account's faults for every bind.
"""

from __future__ import annotations

import random
from collections import deque
from weakref import WeakSet

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from ..config.rig import BindFaults
from ..model import Delivery
from ..protocol import pdu as p
from ..protocol.constants import CommandStatus
from ..protocol.session import SessionState
from ..server.hooks import HostedConnection
from .receipts import ReceiptShaper

log = Logger()
S = CommandStatus
_BIND_TYPE = {
    SessionState.BOUND_TX: "transmitter",
    SessionState.BOUND_RX: "receiver",
    SessionState.BOUND_TRX: "transceiver",
}
_CHUNK_GAP_S = 0.005  # between the chunks of a split write: long enough for each to leave as its own segment


class _Armed:
    """The faults of one account (or one of its bind types), with what is left of its nack burst,
    its timers, and until when its binds are not read."""

    def __init__(self, faults: BindFaults, now: float) -> None:
        self.faults = faults
        self.nacks_left = faults.generic_nack_burst
        self.unbind_call: IDelayedCall | None = None
        self.half_open_call: IDelayedCall | None = None
        self.read_paused_until = now + faults.pause_reading_s


class FaultInjector:
    """Consulted (through the rig's connection hooks) for each request, each read and each response
    a connection is about to send."""

    def __init__(self, clock: IReactorTime, rng: random.Random, receipts: ReceiptShaper) -> None:
        self._clock = clock
        self._rng = rng
        self._open: dict[HostedConnection, None] = {}  # every admitted connection, in order
        self._armed: dict[str, dict[str, _Armed]] = {}  # account -> bind type ("" = every bind) -> faults
        self.receipts = receipts
        self._silent: WeakSet[HostedConnection] = WeakSet()  # half-open: nothing read, nothing written
        self._chunks: dict[HostedConnection, deque[bytes]] = {}  # split writes not yet sent
        self._not_reading: dict[HostedConnection, tuple[float, IDelayedCall]] = {}  # slow reader: until, resume

    def opened(self, proto: HostedConnection) -> None:
        self._open[proto] = None

    def ended(self, proto: HostedConnection) -> None:
        self._open.pop(proto, None)

    def _sessions_of(self, account: str) -> list[HostedConnection]:
        return [proto for proto in self._open if proto.account == account]

    def set(self, account: str, faults: BindFaults) -> None:
        """Arm ``faults`` on the account's binds (of ``faults.bind_type``), replacing those of that bind type."""
        self._disarm(account, faults.bind_type)
        now = self._clock.seconds()
        armed = self._armed.setdefault(account, {})[faults.bind_type] = _Armed(faults, now)
        if faults.unbind_after_s is not None:
            armed.unbind_call = self._clock.callLater(faults.unbind_after_s, self._unbind, account, faults.bind_type)
        if faults.half_open_after_s is not None:
            armed.half_open_call = self._clock.callLater(
                faults.half_open_after_s, self._half_open, account, faults.bind_type
            )
        if faults.pause_reading_s > 0:
            for proto in self._binds(account, faults.bind_type):
                self._pause_reading(proto, armed.read_paused_until)
        log.info("rig: faults on {account}: {faults}", account=account, faults=faults)

    def clear(self, account: str, bind_type: str | None = None) -> bool:
        """Stop the account's faults (only those of ``bind_type`` when given); False when there were none."""
        kinds = list(self._armed.get(account, {})) if bind_type is None else [bind_type]
        disarmed = [self._disarm(account, kind) for kind in kinds]  # every one, not just up to the first
        return any(disarmed)

    def get(self, account: str, bind_type: str = "") -> BindFaults | None:
        armed = self._armed.get(account, {}).get(bind_type)
        return None if armed is None else armed.faults

    def all_of(self, account: str) -> list[BindFaults]:
        """Every fault setting armed on the account (the one for every bind first)."""
        return [armed.faults for _, armed in sorted(self._armed.get(account, {}).items())]

    def _disarm(self, account: str, bind_type: str) -> bool:
        entries = self._armed.get(account, {})
        armed = entries.pop(bind_type, None)
        if not entries:
            self._armed.pop(account, None)
        if armed is None:
            return False
        for call in (armed.unbind_call, armed.half_open_call):
            if call is not None and call.active():
                call.cancel()
        for proto in [proto for proto in self._not_reading if proto.account == account]:
            self._resume_reading(proto)  # a pause armed for another bind type comes back at its next read
        return True

    def for_bind(self, account: str, bind_type: str) -> BindFaults | None:
        """The faults in force on the account's binds of ``bind_type`` (its own, else those of every bind)."""
        entries = self._armed.get(account)
        if not entries:
            return None
        armed = entries.get(bind_type) or entries.get("")
        return None if armed is None else armed.faults

    def of(self, proto: HostedConnection) -> BindFaults | None:
        """The faults in force on a bound connection."""
        armed = self._armed_for(proto)
        return None if armed is None else armed.faults

    def _armed_for(self, proto: HostedConnection) -> _Armed | None:
        entries = self._armed.get(proto.account or "")
        if not entries:
            return None
        return entries.get(_BIND_TYPE.get(proto.session.state, "")) or entries.get("")

    def _binds(self, account: str, bind_type: str) -> list[HostedConnection]:
        """The account's binds that the faults armed for ``bind_type`` apply to."""
        armed = self._armed.get(account, {}).get(bind_type)
        return [proto for proto in self._sessions_of(account) if armed is not None and self._armed_for(proto) is armed]

    def _unbind(self, account: str, bind_type: str) -> None:
        for proto in self._binds(account, bind_type):
            proto.unbind()

    def _half_open(self, account: str, bind_type: str) -> None:
        # Clearing the faults does not revive these connections: a half-open peer stays dead.
        for proto in self._binds(account, bind_type):
            log.info("rig: {peer} ({account}) goes half-open", peer=proto.peer, account=account)
            self._silent.add(proto)
            proto.pause_reading()

    # ---- the slow reader ---------------------------------------------------------------------

    def received(self, proto: HostedConnection, size: int) -> None:
        """The gateway has just read ``size`` octets from ``proto``: a slow reader stops reading for a while."""
        armed = self._armed_for(proto)
        if armed is None:
            return
        now = self._clock.seconds()
        until = armed.read_paused_until
        rate = armed.faults.slow_read_bytes_per_s
        if rate > 0:
            # Each read is paid for with a pause: on average at most ``rate`` octets a second.
            until = max(until, now + size / rate)
        if until > now:
            self._pause_reading(proto, until)

    def _pause_reading(self, proto: HostedConnection, until: float) -> None:
        if proto in self._silent or proto.transport is None:
            return
        paused = self._not_reading.pop(proto, None)
        if paused is not None:
            if paused[0] >= until:
                self._not_reading[proto] = paused
                return
            paused[1].cancel()
        else:
            proto.pause_reading()
        call = self._clock.callLater(until - self._clock.seconds(), self._resume_reading, proto)
        self._not_reading[proto] = (until, call)

    def _resume_reading(self, proto: HostedConnection) -> None:
        paused = self._not_reading.pop(proto, None)
        if paused is not None and paused[1].active():
            paused[1].cancel()
        # A half-open peer stays unread; one that does not read our writes is resumed by its WriteStall.
        if proto in self._silent or proto.transport is None or proto.writes_paused:
            return
        proto.resume_reading()

    # ---- what the gateway writes -------------------------------------------------------------

    def outgoing(self, proto: HostedConnection, data: bytes) -> bool:
        """True when the rig takes over writing ``data`` (in small chunks, or not at all)."""
        if proto in self._silent:
            return True
        armed = self._armed_for(proto)
        size = armed.faults.split_bytes if armed is not None else 0
        queue = self._chunks.get(proto)
        if not size and queue is None:
            return False
        if queue is None:
            queue = self._chunks[proto] = deque()
            self._clock.callLater(0, self._drip, proto)
        step = size or len(data)  # faults cleared while chunks wait: what follows keeps its place
        queue.extend(data[i : i + step] for i in range(0, len(data), step))
        return True

    def _drip(self, proto: HostedConnection) -> None:
        queue = self._chunks.get(proto)
        if queue and proto.transport is not None and proto not in self._silent:
            proto.write_raw(queue.popleft())
            if queue:
                self._clock.callLater(_CHUNK_GAP_S, self._drip, proto)
                return
        self._chunks.pop(proto, None)

    def intercept(self, proto: HostedConnection, pdu: p.Pdu) -> p.Pdu | None:
        """The answer to send instead of handling ``pdu``, or None to handle it normally."""
        self.receipts.note_request(proto, pdu)
        armed = self._armed_for(proto)
        if armed is None:
            return None
        if armed.nacks_left > 0:
            armed.nacks_left -= 1
            return p.GenericNack(sequence_number=pdu.sequence_number, command_status=S.ESME_RSYSERR)
        if not isinstance(pdu, p.SUBMITS):
            return None
        f = armed.faults
        roll = self._rng.random() * 100
        for share, status in (
            (f.throttled_percent, S.ESME_RTHROTTLED),
            (f.msgqful_percent, S.ESME_RMSGQFUL),
            (f.syserr_percent, S.ESME_RSYSERR),
        ):
            if roll < share:
                resp_cls = p.SubmitSmResp if isinstance(pdu, p.SubmitSm) else p.DataSmResp
                return resp_cls(sequence_number=pdu.sequence_number, command_status=status)
            roll -= share
        return None

    def hold(self, proto: HostedConnection, response: p.Pdu) -> bool:
        """True when the rig takes over sending ``response`` (later, or never)."""
        armed = self._armed_for(proto)
        if armed is None or not isinstance(response, p.SUBMIT_RESPS) or response.command_status:
            return self.receipts.hold_resp(proto, response)
        f = armed.faults
        if f.drop_resp_percent and self._rng.random() * 100 < f.drop_resp_percent:
            return True
        if f.resp_delay_s > 0:
            self._clock.callLater(f.resp_delay_s, proto.respond_now, response)
            return True
        return self.receipts.hold_resp(proto, response)

    def deliver(self, proto: HostedConnection, delivery: Delivery, pdu: p.DeliverSm) -> bool:
        """True when the rig takes over sending a receipt (see smppgw.rig.receipts)."""
        return self.receipts.deliver(proto, delivery, pdu)
