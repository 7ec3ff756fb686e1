"""One CMPP connection: hosts the pure CMPPServerSession, runs its single timer, and connects
its events to the gateway (SUBMIT, QUERY, CANCEL) and the delivery queue (status reports, MO)."""

from __future__ import annotations

from collections import deque

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITCPTransport
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from ...cmpp import packets as pk
from ...cmpp.account import CmppAccount
from ...cmpp.codec import HEADER
from ...cmpp.constants import Result, result_name
from ...cmpp.deliveries import status_report
from ...cmpp.events import (
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
from ...cmpp.msgid import nth
from ...cmpp.session import CMPPServerSession
from ...model import Delivery, DeliveryKind
from ...protocol import pdu as p
from ...protocol.constants import CommandStatus
from ...routing.numbers import mask_msisdn
from ...runtime.runner import Rejected, Submitted
from ..hooks import NO_TAP, WireTap
from .counters import DayCounters
from .mapping import (
    local_time,
    message_id_of,
    mo_deliver_packets,
    report_deliver,
    result_of,
    submit_sms,
)
from .ports import CmppHost


def _outcome(committed: Deferred[None]) -> Deferred[Failure | None]:
    """None once committed, or the failure: so one failed commit does not hide the others."""
    outcome: Deferred[Failure | None] = Deferred()
    committed.addCallbacks(lambda _: outcome.callback(None), outcome.callback)
    return outcome


class CMPPServerProtocol(Protocol):
    log = Logger()

    def __init__(self, factory: CmppHost, clock: IReactorTime) -> None:
        self.factory = factory
        self.hooks = factory.hooks
        self.tap: WireTap = NO_TAP  # the hooks' tap, once accepted
        self.clock = clock
        self.connected_at = clock.seconds()
        self.session = CMPPServerSession(factory.session_config, self._lookup, self.connected_at)
        self._timer: IDelayedCall | None = None
        self._in_flight: dict[int, Delivery] = {}  # our DELIVER's Sequence_Id -> the delivery it carries
        self._parts_left: dict[int, int] = {}  # delivery id -> its DELIVERs not acknowledged yet
        self._waiting: deque[tuple[Delivery, pk.Deliver]] = deque()  # DELIVERs beyond the window
        # REJECTD reports of destinations a mass send's pipeline refused: never stored (nothing was
        # accepted for them), sent once after the SUBMIT_RESP.
        self._rejections: deque[pk.Deliver] = deque()
        self.peer_host = ""
        self.peer = ""
        self.session_id = 0
        self.account: str | None = None  # the gateway's account id once CONNECTed
        self.login: CmppAccount | None = None
        self.requested_version = 0
        self.submits = 0
        self.delivers_sent = 0
        self.delivers_unanswered = 0  # given up after every try (the queue resends them later)

    # ---- transport --------------------------------------------------------------------

    def connectionMade(self) -> None:  # noqa: N802 (Twisted's name)
        peer = self.transport.getPeer() if self.transport is not None else None
        self.peer_host = getattr(peer, "host", "")
        self.peer = f"{self.peer_host}:{getattr(peer, 'port', '')}"
        if ITCPTransport.providedBy(self.transport):
            self.transport.setTcpNoDelay(True)
        self.factory.connection_opened(self)
        self.tap = self.hooks.opened(self, self.connected_at)
        self._rearm()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self._handle(self.session.receive_data(data, self.clock.seconds(), self.tap.frame_in))

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        self._cancel_timer()
        self._handle_closed(self.session.connection_lost())
        self._release_account("connection closed")
        self.hooks.ended(self, self.clock.seconds())
        self.factory.connection_closed(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def _lookup(self, sp_id: str) -> CmppAccount | None:
        found: CmppAccount | None = self.factory.lookup(sp_id, self.peer_host)
        return found

    def _flush(self) -> None:
        data = self.session.data_to_send()
        if data and self.transport is not None:
            if self.tap is not NO_TAP:
                now = self.clock.seconds()
                at = 0
                while at < len(data):  # the session emits whole packets only
                    size = HEADER.unpack_from(data, at)[0]
                    self.tap.frame_out(data[at : at + size], now)
                    at += size
            self.transport.write(data)

    # ---- timer ------------------------------------------------------------------------

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _rearm(self) -> None:
        deadline = self.session.next_deadline()
        if deadline is None:
            self._cancel_timer()
            return
        timer = self._timer
        if timer is not None and timer.active():
            if timer.getTime() <= deadline:
                return
            timer.cancel()
        self._timer = self.clock.callLater(max(0.0, deadline - self.clock.seconds()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._handle(self.session.handle_timers(self.clock.seconds()))

    # ---- events -----------------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, SubmitReceived):
                self._on_submit(event.submit)
            elif isinstance(event, DeliverAcknowledged):
                self._on_acknowledged(event.deliver, event.result)
            elif isinstance(event, DeliverTimedOut):
                self._on_timed_out(event.deliver)
            elif isinstance(event, QueryReceived):
                self._on_query(event.query)
            elif isinstance(event, CancelReceived):
                self._on_cancel(event.cancel)
            elif isinstance(event, Connected):
                self._on_connected(event)
            elif isinstance(event, ConnectRefused):
                self.log.info(
                    "CMPP CONNECT as {sp_id} from {peer} refused: status {status}",
                    sp_id=event.source_addr,
                    peer=self.peer,
                    status=event.status,
                )
            elif isinstance(event, Terminated):
                self._release_account("terminated by the client" if event.by_peer else "terminated by the gateway")
            elif isinstance(event, ProtocolViolation):
                self.log.info(
                    "CMPP protocol error from {peer} ({account}): {result} {detail}",
                    peer=self.peer,
                    account=self.account or "-",
                    result=result_name(event.result),
                    detail=event.detail,
                )
            elif isinstance(event, CloseConnection):
                self._flush()
                self.close()
        self._send_waiting()
        self._flush()
        self._rearm()

    def _handle_closed(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, DeliverTimedOut):
                self._on_timed_out(event.deliver)

    def _on_connected(self, event: Connected) -> None:
        self.login = event.account
        self.account = event.account.name
        self.requested_version = event.requested_version
        self.log.info(
            "CMPP CONNECT {account} as {sp_id} from {peer} (version 0x{version:02x}, served as {layout})",
            account=self.account,
            sp_id=event.account.sp_id,
            peer=self.peer,
            version=event.requested_version,
            layout="3.0" if event.version == 0x30 else "2.0",
        )
        self.factory.session_bound(self)
        self.hooks.connected(self, self.clock.seconds())

    def _release_account(self, why: str) -> None:
        if self.account is None:
            return
        self.log.info("CMPP session {account} from {peer} ended: {why}", account=self.account, peer=self.peer, why=why)
        self.factory.session_unbound(self)
        # What this connection still owes goes back to the queue, once per delivery (a long MO
        # may have parts in flight and parts waiting).
        owed = {d.delivery_id: d for d in self._in_flight.values()}
        owed.update((d.delivery_id, d) for d, _ in self._waiting)
        for delivery_id, delivery in owed.items():
            if delivery_id in self._parts_left:
                self.factory.deliveries.failed(delivery)
        self._in_flight.clear()
        self._waiting.clear()
        self._parts_left.clear()
        self.account = None

    # ---- SUBMIT -----------------------------------------------------------------------

    def _day(self, now: float) -> str:
        return local_time(now, self.factory.utc_offset_minutes).strftime("%Y%m%d")

    def _on_submit(self, submit: pk.Submit) -> None:
        account, login = self.account, self.login
        assert account is not None and login is not None
        gateway = self.factory.gateway
        now = self.clock.seconds()
        seq = submit.sequence_id
        self.submits += 1
        counters = self.factory.counters.of(account, self._day(now), submit.service_id)
        counters.mt_tlmsg += 1
        destinations = len(submit.dest_terminal_ids)
        counters.mt_tlusr += destinations
        if not destinations:
            self.session.respond_submit(seq, 0, now, Result.BAD_DEST_TERMINAL_ID)
            return
        forced = self.hooks.refuse_submit(self, submit)
        if forced is not None:  # a rig fault: answered before the pipeline, nothing charged
            counters.mt_fl += destinations
            self.session.respond_submit(seq, 0, now, forced)
            return
        # An empty Src_Id (pycmpp sends none) is the account's service code.
        source = submit.src_id or login.service_code
        first = int(self.factory.msg_ids.next(local_time(now, self.factory.utc_offset_minutes), destinations))
        accepted: list[tuple[int, Submitted]] = []  # (destination, its message)
        refused: list[Rejected] = []
        for k, sm in enumerate(submit_sms(submit, source)):
            result = gateway.submit(account, sm, now, self.peer_host, message_id=message_id_of(nth(first, k)))
            if isinstance(result, Rejected):
                refused.append(result)
                self.log.info(
                    "CMPP SUBMIT from {account}: destination {k} of {n} refused: {reason}",
                    account=account,
                    k=k + 1,
                    n=destinations,
                    reason=result.reason or f"status {result.status}",
                )
            else:
                accepted.append((k, result))
        counters.mt_fl += len(refused)
        if not accepted:
            why = refused[0]
            self.session.respond_submit(seq, 0, now, result_of(why.status))
            self.log.debug(
                "CMPP SUBMIT from {account} refused: {reason}", account=account, reason=getattr(why, "reason", "")
            )
            return
        # One answer for all destinations, once every accepted one (and its charge) is durable.
        outcomes = [_outcome(a.committed) for _, a in accepted]
        done: Deferred[list[Failure | None]] = gatherResults(outcomes)
        done.addCallback(self._committed, submit, accepted, first, counters)

    def _committed(
        self,
        outcomes: list[Failure | None],
        submit: pk.Submit,
        accepted: list[tuple[int, Submitted]],
        first: int,
        counters: DayCounters,
    ) -> None:
        gateway = self.factory.gateway
        seq = submit.sequence_id
        stored = [a for (_, a), failure in zip(accepted, outcomes, strict=True) if failure is None]
        failures = [f for f in outcomes if f is not None]
        kept = {k for (k, _), failure in zip(accepted, outcomes, strict=True) if failure is None}
        for (_, a), failure in zip(accepted, outcomes, strict=True):
            if failure is not None:
                gateway.abort(a.message)
                self.log.info("CMPP message {id} not stored: {why}", id=a.message.message_id, why=str(failure.value))
        now = self.clock.seconds()
        counters.mt_scs += len(stored)
        counters.mt_fl += len(failures)
        if not self.session.closed:
            if stored:
                if not self.hooks.hold_submit_resp(self, seq, first, Result.OK):
                    self.session.respond_submit(seq, first, now)
                if submit.registered_delivery and len(kept) < len(submit.dest_terminal_ids):
                    self._reject_others(submit, first, kept, now)
            else:
                status = gateway.commit_failed_status(failures[0].value)
                self.session.respond_submit(seq, 0, now, result_of(status))
            self._flush()
            self._rearm()
        for a in stored:
            gateway.release(a.message)

    def _reject_others(self, submit: pk.Submit, first: int, kept: set[int], now: float) -> None:
        """A mass send answered Result 0 with some destinations refused: each of those gets a
        REJECTD report under its own Msg_Id of the range, so the SP waits for none of them."""
        factory = self.factory
        when = local_time(now, factory.utc_offset_minutes)
        source = submit.src_id or (self.login.service_code if self.login is not None else "")
        for k in range(len(submit.dest_terminal_ids)):
            if k in kept:
                continue
            report = status_report(submit, k, nth(first, k), stat="REJECTD", submitted=when, done=when, dest_id=source)
            self._rejections.append(report.evolve(msg_id=int(factory.msg_ids.next(when))))
        self._send_waiting()

    # ---- QUERY / CANCEL ---------------------------------------------------------------

    def _on_query(self, query: pk.Query) -> None:
        account = self.account
        assert account is not None
        service_id = query.query_code if query.query_type == 1 else None
        c = self.factory.counters.total(account, query.time, service_id)
        self.session.respond_query(
            pk.QueryResp(
                sequence_id=query.sequence_id,
                time=query.time,
                query_type=query.query_type,
                query_code=query.query_code,
                mt_tlmsg=c.mt_tlmsg,
                mt_tlusr=c.mt_tlusr,
                mt_scs=c.mt_scs,
                mt_wt=0,
                mt_fl=c.mt_fl,
                mo_scs=c.mo_scs,
                mo_wt=self.factory.deliveries.backlog(account),
                mo_fl=c.mo_fl,
            ),
            self.clock.seconds(),
        )

    def _on_cancel(self, cancel: pk.Cancel) -> None:
        account = self.account
        assert account is not None
        now = self.clock.seconds()
        message_id = message_id_of(cancel.msg_id)
        status = CommandStatus.ESME_RCANCELFAIL
        if message_id:
            status = self.factory.gateway.cancel(account, p.CancelSm(message_id=message_id), now)
        self.session.respond_cancel(cancel.sequence_id, status == CommandStatus.ESME_ROK, now)

    # ---- deliveries (status reports and MO) -------------------------------------------------

    def delivery_capacity(self) -> int:
        session = self.session
        if not session.connected:
            return 0
        return session.config.window - session.outstanding - len(self._waiting)

    def send_deliveries(self, deliveries: list[Delivery]) -> None:
        factory = self.factory
        now = self.clock.seconds()
        for delivery in deliveries:
            deliver_id = int(factory.msg_ids.next(local_time(now, factory.utc_offset_minutes)))
            if delivery.kind == DeliveryKind.RECEIPT:
                message = factory.gateway.find(delivery.message_id)
                packets = [
                    report_deliver(
                        delivery, message, deliver_id=deliver_id, utc_offset_minutes=factory.utc_offset_minutes
                    )
                ]
            else:
                packets = mo_deliver_packets(delivery, deliver_id=deliver_id, dc0=factory.gateway.dc0)
                self.log.info(
                    "CMPP MO from {sender} to {account}", sender=mask_msisdn(delivery.source_addr), account=self.account
                )
            self._parts_left[delivery.delivery_id] = len(packets)
            self._waiting.extend((delivery, packet) for packet in packets)
        self._send_waiting()
        self._flush()
        self._rearm()

    def _send_waiting(self) -> None:
        session = self.session
        now = self.clock.seconds()
        while self._rejections and session.window_open:
            session.send_deliver(self._rejections.popleft(), now)
            self.delivers_sent += 1
        while self._waiting and session.window_open:
            delivery, packet = self._waiting.popleft()
            if delivery.delivery_id not in self._parts_left:
                continue  # an earlier part failed: the whole delivery is resent later
            seq = session.send_deliver(packet, now)
            self.delivers_sent += 1
            self._in_flight[seq] = delivery

    def _on_acknowledged(self, deliver: pk.Deliver, result: int) -> None:
        delivery = self._in_flight.pop(deliver.sequence_id, None)
        if delivery is None:
            return
        if result != Result.OK:
            self._failed(delivery)
            return
        left = self._parts_left.get(delivery.delivery_id)
        if left is None:
            return
        if left > 1:
            self._parts_left[delivery.delivery_id] = left - 1
            return
        del self._parts_left[delivery.delivery_id]
        if delivery.kind == DeliveryKind.MO and self.account is not None:
            self.factory.counters.of(self.account, self._day(self.clock.seconds()), "").mo_scs += 1
        self.factory.deliveries.acknowledged(delivery)

    def _on_timed_out(self, deliver: pk.Deliver) -> None:
        delivery = self._in_flight.pop(deliver.sequence_id, None)
        if delivery is not None:
            self.delivers_unanswered += 1
            self._failed(delivery)

    def _failed(self, delivery: Delivery) -> None:
        """Refused or unanswered after every try: the queue resends the whole delivery later."""
        if self._parts_left.pop(delivery.delivery_id, None) is None:
            return
        if delivery.kind == DeliveryKind.MO and self.account is not None:
            self.factory.counters.of(self.account, self._day(self.clock.seconds()), "").mo_fl += 1
        self.factory.deliveries.failed(delivery)

    # ---- what the hooks may ask (smppgw.server.cmpp.hooks.CmppConnection) ----------------

    def respond_submit_now(self, sequence_id: int, msg_id: int, result: int) -> None:
        if self.session.closed:
            return
        self.session.respond_submit(sequence_id, msg_id, self.clock.seconds(), result)
        self._flush()
        self._rearm()

    # ---- operator actions -------------------------------------------------------------

    def unbind(self) -> None:
        """End the session from the gateway's side (suspension, shutdown): CMPP_TERMINATE."""
        self.session.terminate(self.clock.seconds())
        self._flush()
        self._rearm()
