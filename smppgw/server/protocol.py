"""One SMPP connection: hosts the pure SMPPSession, runs its single timer, and connects its
events to the gateway (binds, submits, queries) and the delivery queue (receipts, MO).  The
factory's ConnectionHooks and the WireTap they give each connection (smppgw.server.hooks) ride
along at named points."""

from __future__ import annotations

import typing
from typing import cast

from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITCPTransport
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..config import SecurityConfig
from ..model import Delivery, DeliveryKind, Message
from ..pipeline.guard import BindGuard
from ..pipeline.outcomes import Accepted
from ..protocol import pdu as p
from ..protocol.constants import CommandStatus, status_name
from ..protocol.events import (
    BindRequested,
    CloseConnection,
    Event,
    ProtocolViolation,
    RequestReceived,
    ResponseReceived,
    ResponseTimedOut,
    Unbound,
)
from ..protocol.multi import fan_out, submit_multi_resp, unsuccessful
from ..protocol.receipt import deliver_sm, receipt_tlvs
from ..protocol.session import SessionConfig, SessionState, SMPPSession
from ..protocol.traffic import Traffic
from ..runtime.deliveries import DeliveryQueue
from ..runtime.runner import Batch, GatewayRunner, Rejected, Submitted
from ..store.ports import CommitRefusedError
from .backpressure import WriteStall, socket_transport
from .hooks import NO_TAP, ConnectionHooks, WireTap

S = CommandStatus
_BIND_TYPE = {
    SessionState.BOUND_TX: "transmitter",
    SessionState.BOUND_RX: "receiver",
    SessionState.BOUND_TRX: "transceiver",
}


class Listener(typing.Protocol):
    """What a connection needs of the listener that accepted it (smppgw.server.factory)."""

    gateway: GatewayRunner
    deliveries: DeliveryQueue
    session_config: SessionConfig
    traffic: Traffic
    security: SecurityConfig
    guard: BindGuard
    hooks: ConnectionHooks
    receipt_window: int

    def connection_opened(self, proto: SMPPServerProtocol) -> str | None:
        """Admit the connection, or say why it is refused."""

    def connection_closed(self, proto: SMPPServerProtocol) -> None: ...

    def session_bound(self, proto: SMPPServerProtocol) -> None: ...

    def session_unbound(self, proto: SMPPServerProtocol) -> None: ...


class SMPPServerProtocol(Protocol):
    log = Logger()

    def __init__(self, factory: Listener, clock: IReactorTime) -> None:
        self.factory = factory
        self.clock = clock
        self.hooks = factory.hooks
        self.session = SMPPSession(factory.session_config, clock.seconds(), factory.traffic)
        self._timer: IDelayedCall | None = None
        self._deliveries: dict[int, Delivery] = {}  # our deliver_sm sequence number -> delivery
        # Submits of the read being handled that were accepted: committed together at its end.
        self._accepted: list[Accepted] = []
        self._accepted_tlvs: list[tuple[p.Tlv, ...]] = []  # their submits' own TLVs (the handset view reads them)
        self._answers: list[tuple[type[p.SubmitSmResp | p.DataSmResp], int, float]] = []
        self.peer_host = ""
        self.peer = ""
        self.account: str | None = None
        self.connected_at = clock.seconds()
        self.admitted = False
        self.tap: WireTap = NO_TAP  # the hooks' tap, once admitted
        security = factory.security
        self.writes = WriteStall(clock, security.stalled_write_timeout, self._writes_resumed, self._writes_stalled)

    # ---- transport --------------------------------------------------------------------

    def connectionMade(self) -> None:  # noqa: N802 (Twisted's name)
        peer = self.transport.getPeer() if self.transport is not None else None
        self.peer_host = getattr(peer, "host", "")
        self.peer = f"{self.peer_host}:{getattr(peer, 'port', '')}"
        if ITCPTransport.providedBy(self.transport):
            # SMPP is request/response: Nagle's algorithm would hold small PDUs back by up to 40 ms.
            self.transport.setTcpNoDelay(True)
        refused = self.factory.connection_opened(self)
        if refused is not None:
            self.log.info("connection from {peer} refused: {why}", peer=self.peer, why=refused)
            self._abort()
            return
        self.admitted = True
        self.tap = self.hooks.opened(self, self.connected_at)
        self.writes.attach(self.transport, self.factory.security.write_buffer)
        self._rearm()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self._handle(self.session.receive_data(data, self.clock.seconds(), self.tap.frame_in))
        self.hooks.received(self, len(data))

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        self._cancel_timer()
        bind_type = _BIND_TYPE.get(self.session.state)
        events = self.session.connection_lost()
        for event in events:
            if isinstance(event, ResponseTimedOut):
                self._delivery_failed(event.request.sequence_number)
        if bind_type is not None and self.account is not None and self.admitted:
            self.hooks.dropped(self, self.account, bind_type, self.clock.seconds())  # lost while bound
        self._release_account("connection closed")
        for delivery in self._deliveries.values():
            self.factory.deliveries.failed(delivery)
        self._deliveries.clear()
        self.factory.connection_closed(self)
        if self.admitted:
            self.hooks.ended(self, self.clock.seconds())

    def close(self) -> None:
        """Close once what is written has been sent."""
        self.writes.detach()
        if self.transport is not None:
            self.transport.loseConnection()

    def _writes_resumed(self) -> None:
        if self.account is not None and self.session.can_receive:
            self.factory.deliveries.pump(self.account)

    def _writes_stalled(self) -> None:
        self.log.info(
            "dropping {peer} ({account}): it read nothing for {timeout} s",
            peer=self.peer,
            account=self.account or "-",
            timeout=self.writes.timeout,
        )
        self.writes.detach()
        self._abort()

    def _abort(self) -> None:
        if self.transport is not None:
            cast(ITCPTransport, self.transport).abortConnection()  # TLS transports have it too

    def _flush(self) -> None:
        frames = self.session.frames_to_send()
        if frames and self.transport is not None:
            now = self.clock.seconds()
            frame_out = self.tap.frame_out
            for frame in frames:
                frame_out(frame, now)
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            if not self.hooks.outgoing(self, data):
                self.transport.write(data)

    # ---- what the hooks may ask (smppgw.server.hooks.HostedConnection) ----------------------

    @property
    def session_id(self) -> int | None:
        """The number the hooks' tap gives this connection (None without one)."""
        return self.tap.session_id

    @property
    def writes_paused(self) -> bool:
        return self.writes.paused

    def pause_reading(self) -> None:
        if self.transport is not None:
            socket_transport(self.transport).pauseProducing()

    def resume_reading(self) -> None:
        if self.transport is not None:
            socket_transport(self.transport).resumeProducing()

    def write_raw(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def delivery_acknowledged(self, delivery: Delivery) -> None:
        self.factory.deliveries.acknowledged(delivery)

    def delivery_failed(self, delivery: Delivery) -> None:
        self.factory.deliveries.failed(delivery)

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
                return  # it fires early, finds nothing due, and re-arms: cheaper than a reset per PDU
            timer.cancel()
        self._timer = self.clock.callLater(max(0.0, deadline - self.clock.seconds()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._handle(self.session.handle_timers(self.clock.seconds()))

    # ---- events -----------------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        acked: list[Delivery] = []  # the deliver_sm_resp of this read: done as one group
        for event in events:
            if isinstance(event, RequestReceived):
                self._on_request(event.pdu)
            elif isinstance(event, ResponseReceived):
                self._on_response(event.pdu, event.request, acked)
            elif isinstance(event, BindRequested):
                self._on_bind(event.pdu)
            elif isinstance(event, ProtocolViolation):
                self.log.info(
                    "protocol error from {peer} ({account}): {status} {detail}",
                    peer=self.peer,
                    account=self.account or "-",
                    status=status_name(event.status),
                    detail=event.detail,
                )
            elif isinstance(event, ResponseTimedOut):
                self._delivery_failed(event.request.sequence_number)
            elif isinstance(event, Unbound):
                self._release_account("unbound by peer" if event.by_peer else "unbound by gateway")
            elif isinstance(event, CloseConnection):
                self._flush()
                self.close()
        if acked:
            self.factory.deliveries.acknowledged_many(acked)
        if self._accepted:
            self._commit_batch()
        self._flush()
        self._rearm()

    def _on_bind(self, bind: p.BindTransmitter | p.BindReceiver | p.BindTransceiver) -> None:
        now = self.clock.seconds()
        guard = self.factory.guard
        locked = guard.locked(bind.system_id, self.peer_host, now)
        if locked:  # refused before the password is even looked at
            status: int = S.ESME_RBINDFAIL
        else:
            status = self.factory.gateway.accounts.authenticate(
                bind.system_id, bind.password, bind.command_id, self.peer_host, now
            )
            if status == S.ESME_ROK and (refused := self.hooks.binding(self, bind, now)):
                self.factory.gateway.accounts.release_bind(bind.system_id)
                status = refused
            lockout = guard.record(bind.system_id, self.peer_host, status, now)
            if lockout is not None:
                self.log.warn(
                    "bind lockout: {account} from {address} for {seconds} s after {failures} failed binds",
                    account=bind.system_id,
                    address=self.peer_host,
                    seconds=guard.lockout,
                    failures=guard.limit,
                )
        self._handle(self.session.complete_bind(bind, status, now))
        kind = type(bind).__name__
        if status == S.ESME_ROK:
            self.account = bind.system_id
            self.log.info(
                "bind {kind} {account} from {peer} (interface 0x{version:02x})",
                kind=kind,
                account=bind.system_id,
                peer=self.peer,
                version=bind.interface_version,
            )
            self.factory.session_bound(self)
        else:
            self.log.info(
                "bind {kind} {account} from {peer} refused: {status}{why}",
                kind=kind,
                account=bind.system_id,
                peer=self.peer,
                status=status_name(status),
                why=" (locked out)" if locked else "",
            )

    def _release_account(self, why: str) -> None:
        if self.account is None:
            return
        self.log.info("unbind {account} from {peer}: {why}", account=self.account, peer=self.peer, why=why)
        self.factory.session_unbound(self)
        self.account = None

    def _respond(self, response: p.Pdu) -> None:
        if self.hooks.hold(self, response):
            return  # the hooks send it later, or never
        self.respond_now(response)

    def respond_now(self, response: p.Pdu) -> None:
        if not self.session.closed:
            if isinstance(response, p.SUBMIT_RESPS):
                response = self.hooks.annotate(self, response)
            self.session.respond(response)
            self._flush()
            self._rearm()

    def _on_request(self, pdu: p.Pdu) -> None:
        account = self.account
        assert account is not None  # the session only lets requests through once bound
        gateway = self.factory.gateway
        now = self.clock.seconds()
        seq = pdu.sequence_number
        if (injected := self.hooks.intercept(self, pdu)) is not None:
            self.session.respond(injected)  # e.g. a fault the test rig was asked to inject
            return
        if isinstance(pdu, p.SUBMITS):
            resp_cls: type[p.SubmitSmResp | p.DataSmResp] = (
                p.SubmitSmResp if isinstance(pdu, p.SubmitSm) else p.DataSmResp
            )
            result = gateway.accept(account, pdu, now, self.peer_host)
            if isinstance(result, Rejected):
                self.session.respond(
                    self.hooks.annotate(self, resp_cls(sequence_number=seq, command_status=result.status))
                )
                self.factory.traffic.observe_submit(self.clock.seconds() - now)
                return
            self._accepted.append(result)
            self._accepted_tlvs.append(pdu.tlvs)
            self._answers.append((resp_cls, seq, now))
        elif isinstance(pdu, p.QuerySm):
            answer = gateway.query(account, pdu.message_id)
            if answer is None:
                self.session.respond(p.QuerySmResp(sequence_number=seq, command_status=S.ESME_RINVMSGID))
            else:
                self.session.respond(
                    p.QuerySmResp(
                        sequence_number=seq,
                        message_id=answer.message_id,
                        final_date=answer.final_date,
                        message_state=answer.state,
                        error_code=answer.error_code,
                    )
                )
        elif isinstance(pdu, p.CancelSm):
            self.session.respond(p.CancelSmResp(sequence_number=seq, command_status=gateway.cancel(account, pdu, now)))
        elif isinstance(pdu, p.ReplaceSm):
            status = gateway.replace_message(account, pdu, now)
            self.session.respond(p.ReplaceSmResp(sequence_number=seq, command_status=status))
        elif isinstance(pdu, p.SubmitMulti):
            self.session.respond(self._submit_multi(account, pdu, now))
        else:
            self.session.respond(p.GenericNack(sequence_number=seq, command_status=S.ESME_RINVCMDID))

    def _commit_batch(self) -> None:
        """One group of writes for the read's accepted submits; their answers go out together."""
        accepted, answers, tlvs = self._accepted, self._answers, self._accepted_tlvs
        self._accepted, self._answers, self._accepted_tlvs = [], [], []
        batch = self.factory.gateway.commit_batch(accepted, tlvs)
        args = (batch, answers)
        batch.committed.addCallbacks(self._batch_committed, self._batch_failed, args, None, args)

    def _batch_committed(
        self,
        refused: dict[int, str],
        batch: Batch,
        answers: list[tuple[type[p.SubmitSmResp | p.DataSmResp], int, float]],
    ) -> None:
        # An OK answer only once the message and its charge are durable.
        gateway = self.factory.gateway
        observe = self.factory.traffic.observe_submit
        hold, annotate = self.hooks.hold, self.hooks.annotate
        session = self.session
        now = self.clock.seconds()
        released: list[Message] = []
        for i, (message, (resp_cls, seq, received)) in enumerate(zip(batch.messages, answers, strict=True)):
            if i in refused:
                gateway.abort(message)
                status = gateway.commit_failed_status(CommitRefusedError(refused[i]))
                response = resp_cls(sequence_number=seq, command_status=status)
            else:
                response = resp_cls(sequence_number=seq, message_id=message.message_id)
                released.append(message)
            if not hold(self, response) and not session.closed:
                session.respond(annotate(self, response))  # as respond_now does (e.g. congestion_state)
            observe(now - received)
        self._flush()  # the whole batch's answers in one write
        self._rearm()
        gateway.release_all(released)

    def _batch_failed(
        self,
        failure: Failure,
        batch: Batch,
        answers: list[tuple[type[p.SubmitSmResp | p.DataSmResp], int, float]],
    ) -> None:
        gateway = self.factory.gateway
        status = gateway.commit_failed_status(failure.value)
        now = self.clock.seconds()
        for message, (resp_cls, seq, received) in zip(batch.messages, answers, strict=True):
            gateway.abort(message)
            self._respond(resp_cls(sequence_number=seq, command_status=status))
            self.factory.traffic.observe_submit(now - received)

    def _submit_multi(self, account: str, pdu: p.SubmitMulti, now: float) -> p.SubmitMultiResp:
        """Each SME destination is submitted on its own; the response lists the ones that failed."""
        gateway = self.factory.gateway
        failed: list[p.UnsuccessSme] = []
        first_id = ""
        pending: list[Submitted] = []
        for single in fan_out(pdu):
            if isinstance(single, p.UnsuccessSme):
                failed.append(single)
                continue
            result = gateway.submit(account, single, now, self.peer_host)
            if isinstance(result, Rejected):
                failed.append(unsuccessful(single, result.status))
            else:
                pending.append(result)
                first_id = first_id or result.message.message_id
        for accepted in pending:
            # Already answered: a commit that fails (or a cluster store refuses) just forgets the message.
            accepted.committed.addCallbacks(
                self._release, gateway.abort_failed, callbackArgs=(accepted.message,), errbackArgs=(accepted.message,)
            )
        return submit_multi_resp(pdu, first_id, failed)

    def _release(self, _: None, message: Message) -> None:
        self.factory.gateway.release(message)

    # ---- deliveries (receipts and MO) ------------------------------------------------------

    def delivery_capacity(self) -> int:
        if not self.session.can_receive or self.writes.paused:
            return 0
        window: int = self.factory.receipt_window
        return window - len(self._deliveries)

    def send_deliveries(self, deliveries: list[Delivery]) -> None:
        session, hooks, sent = self.session, self.hooks, self._deliveries
        now = self.clock.seconds()
        for delivery in deliveries:
            receipt = delivery.kind == DeliveryKind.RECEIPT
            pdu = deliver_sm(
                sequence_number=session.next_sequence,
                source_addr_ton=delivery.source_ton,
                source_addr_npi=delivery.source_npi,
                source_addr=delivery.source_addr,
                dest_addr_ton=delivery.dest_ton,
                dest_addr_npi=delivery.dest_npi,
                destination_addr=delivery.destination_addr,
                esm_class=delivery.esm_class,
                data_coding=delivery.data_coding,
                body=delivery.body,
                tlvs=receipt_tlvs(delivery.message_id, delivery.state, delivery.err) if receipt else (),
            )
            if hooks.deliver(self, delivery, pdu):
                continue  # the hooks send it in another shape, later, or never
            sent[session.send_request(pdu, now)] = delivery
        self._flush()  # the whole batch in one write
        self._rearm()

    def send_delivery_pdu(self, delivery: Delivery, pdu: p.DeliverSm | p.DataSm) -> None:
        seq = self.session.send_request(pdu, self.clock.seconds())
        self._deliveries[seq] = delivery
        self._flush()
        self._rearm()

    def send_extra(self, pdu: p.Pdu) -> None:
        """Send a request whose answer nobody waits for (e.g. the test rig's duplicate receipts)."""
        self.session.send_request(pdu, self.clock.seconds())
        self._flush()
        self._rearm()

    def _on_response(self, pdu: p.Pdu, request: p.Pdu, acked: list[Delivery]) -> None:
        delivery = self._deliveries.pop(request.sequence_number, None)
        if delivery is None:
            return
        if pdu.command_status == S.ESME_ROK:
            acked.append(delivery)
        else:
            self.factory.deliveries.failed(delivery)

    def _delivery_failed(self, seq: int) -> None:
        delivery = self._deliveries.pop(seq, None)
        if delivery is not None:
            self.factory.deliveries.failed(delivery)

    # ---- operator actions -------------------------------------------------------------

    def unbind(self) -> None:
        """Unbind from the gateway's side (suspension, shutdown)."""
        self.session.unbind(self.clock.seconds())
        self._flush()
        self._rearm()
