"""One SMPP connection: hosts the pure SMPPSession, runs its single timer, and connects its
events to the gateway (binds, submits, queries) and the delivery queue (receipts, MO)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITCPTransport
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..model import Delivery, Message
from ..protocol import pdu as p
from ..protocol.constants import CommandStatus, Tag, status_name
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
from ..protocol.session import SMPPSession
from ..runtime.runner import Rejected, Submitted
from .backpressure import WriteStall

if TYPE_CHECKING:
    from ..rig.scorecard import Scorecard
    from .factory import SMPPServerFactory

S = CommandStatus


class SMPPServerProtocol(Protocol):
    log = Logger()

    def __init__(self, factory: SMPPServerFactory, clock: IReactorTime) -> None:
        self.factory = factory
        self.clock = clock
        self.session = SMPPSession(factory.session_config, clock.seconds(), factory.traffic)
        self._timer: IDelayedCall | None = None
        self._deliveries: dict[int, Delivery] = {}  # our deliver_sm sequence number -> delivery
        self.peer_host = ""
        self.peer = ""
        self.account: str | None = None
        self.connected_at = clock.seconds()
        self.admitted = False
        self.scorecard: Scorecard | None = None
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
        if self.factory.scorecards is not None:
            self.scorecard = self.factory.scorecards.open(self.peer, self.peer_host, self.connected_at, self._account)
        self.writes.attach(self.transport, self.factory.security.write_buffer)
        self._rearm()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.scorecard is not None:
            self.scorecard.inbound(data, self.clock.seconds())
        self._handle(self.session.receive_data(data, self.clock.seconds()))
        if self.factory.injector is not None:
            self.factory.injector.received(self, len(data))  # the test rig's slow reader

    def _account(self) -> str | None:
        return self.account

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        self._cancel_timer()
        events = self.session.connection_lost()
        for event in events:
            if isinstance(event, ResponseTimedOut):
                self._delivery_failed(event.request.sequence_number)
        self._release_account("connection closed")
        for delivery in self._deliveries.values():
            self.factory.deliveries.failed(delivery)
        self._deliveries.clear()
        self.factory.connection_closed(self)
        if self.scorecard is not None and self.factory.scorecards is not None:
            self.factory.scorecards.ended(self.scorecard, self.clock.seconds())

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
        data = self.session.data_to_send()
        if data and self.transport is not None:
            if self.scorecard is not None:
                self.scorecard.outbound(data, self.clock.seconds())
            injector = self.factory.injector
            if injector is None or not injector.outgoing(self, data):
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
                return  # it fires early, finds nothing due, and re-arms: cheaper than a reset per PDU
            timer.cancel()
        self._timer = self.clock.callLater(max(0.0, deadline - self.clock.seconds()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._handle(self.session.handle_timers(self.clock.seconds()))

    # ---- events -----------------------------------------------------------------------

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, RequestReceived):
                self._on_request(event.pdu)
            elif isinstance(event, ResponseReceived):
                self._on_response(event.pdu, event.request)
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
        injector = self.factory.injector
        if injector is not None and injector.hold(self, response):
            return  # the test rig sends it later, or never
        self.respond_now(response)

    def respond_now(self, response: p.Pdu) -> None:
        if not self.session.closed:
            self.session.respond(response)
            self._flush()
            self._rearm()

    def _on_request(self, pdu: p.Pdu) -> None:
        account = self.account
        assert account is not None  # the session only lets requests through once bound
        gateway = self.factory.gateway
        now = self.clock.seconds()
        seq = pdu.sequence_number
        injector = self.factory.injector
        if injector is not None and (injected := injector.intercept(self, pdu)) is not None:
            self.session.respond(injected)  # a fault the test rig was asked to inject
            return
        if isinstance(pdu, p.SubmitSm | p.DataSm):
            resp_cls: type[p.SubmitSmResp | p.DataSmResp] = (
                p.SubmitSmResp if isinstance(pdu, p.SubmitSm) else p.DataSmResp
            )
            result = gateway.submit(account, pdu, now, self.peer_host)
            if isinstance(result, Rejected):
                self.session.respond(resp_cls(sequence_number=seq, command_status=result.status))
                self.factory.traffic.observe_submit(self.clock.seconds() - now)
                return
            self._await_commit(result, resp_cls, seq, now)
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

    def _await_commit(
        self, accepted: Submitted, resp_cls: type[p.SubmitSmResp | p.DataSmResp], seq: int, received: float
    ) -> None:
        message = accepted.message
        gateway = self.factory.gateway
        traffic = self.factory.traffic

        def committed(_: None) -> None:
            # An OK answer only once the message and its charge are durable.
            self._respond(resp_cls(sequence_number=seq, message_id=message.message_id))
            traffic.observe_submit(self.clock.seconds() - received)
            gateway.release(message)

        def failed(failure: Failure) -> None:
            gateway.abort(message)
            status = gateway.commit_failed_status(failure.value)
            self._respond(resp_cls(sequence_number=seq, command_status=status))
            traffic.observe_submit(self.clock.seconds() - received)

        accepted.committed.addCallbacks(committed, failed)

    def _submit_multi(self, account: str, pdu: p.SubmitMulti, now: float) -> p.SubmitMultiResp:
        """Each SME destination is submitted on its own; the response lists the ones that failed.
        Distribution lists are not supported (ESME_RCNTSUBDL)."""
        gateway = self.factory.gateway
        failed: list[p.UnsuccessSme] = []
        first_id = ""
        pending: list[Submitted] = []
        for dest in pdu.dest_addresses:
            if isinstance(dest, p.DistributionList):
                failed.append(p.UnsuccessSme(0, 0, dest.name, S.ESME_RCNTSUBDL))
                continue
            single = p.SubmitSm(
                sequence_number=pdu.sequence_number,
                service_type=pdu.service_type,
                source_addr_ton=pdu.source_addr_ton,
                source_addr_npi=pdu.source_addr_npi,
                source_addr=pdu.source_addr,
                dest_addr_ton=dest.ton,
                dest_addr_npi=dest.npi,
                destination_addr=dest.address,
                esm_class=pdu.esm_class,
                protocol_id=pdu.protocol_id,
                priority_flag=pdu.priority_flag,
                schedule_delivery_time=pdu.schedule_delivery_time,
                validity_period=pdu.validity_period,
                registered_delivery=pdu.registered_delivery,
                data_coding=pdu.data_coding,
                short_message=pdu.short_message,
                tlvs=pdu.tlvs,
            )
            result = gateway.submit(account, single, now, self.peer_host)
            if isinstance(result, Rejected):
                failed.append(p.UnsuccessSme(dest.ton, dest.npi, dest.address, result.status))
            else:
                pending.append(result)
                first_id = first_id or result.message.message_id
        for accepted in pending:
            # Already answered: a commit that fails (or a cluster store refuses) just forgets the message.
            accepted.committed.addCallbacks(
                self._release, gateway.abort_failed, callbackArgs=(accepted.message,), errbackArgs=(accepted.message,)
            )
        status = S.ESME_ROK if pending else S.ESME_RSUBMITFAIL
        return p.SubmitMultiResp(
            sequence_number=pdu.sequence_number,
            command_status=status,
            message_id=first_id,
            unsuccess_smes=tuple(failed),
        )

    def _release(self, _: None, message: Message) -> None:
        self.factory.gateway.release(message)

    # ---- deliveries (receipts and MO) ------------------------------------------------------

    def delivery_capacity(self) -> int:
        if not self.session.can_receive or self.writes.paused:
            return 0
        window: int = self.factory.receipt_window
        return window - len(self._deliveries)

    def send_delivery(self, delivery: Delivery) -> None:
        tlvs: tuple[p.Tlv, ...] = ()
        if delivery.kind == "receipt":
            tlvs = (
                p.cstr_tlv(Tag.RECEIPTED_MESSAGE_ID, delivery.message_id),
                p.int_tlv(Tag.MESSAGE_STATE, delivery.state),
            )
            if delivery.err:
                tlvs += (p.Tlv(Tag.NETWORK_ERROR_CODE, bytes([8]) + delivery.err.to_bytes(2, "big")),)
        pdu = p.DeliverSm(
            sequence_number=self.session.next_sequence,
            source_addr_ton=delivery.source_ton,
            source_addr_npi=delivery.source_npi,
            source_addr=delivery.source_addr,
            dest_addr_ton=delivery.dest_ton,
            dest_addr_npi=delivery.dest_npi,
            destination_addr=delivery.destination_addr,
            esm_class=delivery.esm_class,
            data_coding=delivery.data_coding,
            short_message=delivery.body if len(delivery.body) <= 254 else b"",
            tlvs=tlvs if len(delivery.body) <= 254 else (*tlvs, p.Tlv(Tag.MESSAGE_PAYLOAD, delivery.body)),
        )
        injector = self.factory.injector
        if injector is not None and injector.deliver(self, delivery, pdu):
            return  # the test rig sends it in another shape, later, or never
        self.send_delivery_pdu(delivery, pdu)

    def send_delivery_pdu(self, delivery: Delivery, pdu: p.DeliverSm | p.DataSm) -> None:
        seq = self.session.send_request(pdu, self.clock.seconds())
        self._deliveries[seq] = delivery
        self._flush()
        self._rearm()

    def send_extra(self, pdu: p.Pdu) -> None:
        """Send a request whose answer nobody waits for (the test rig's duplicate receipts)."""
        self.session.send_request(pdu, self.clock.seconds())
        self._flush()
        self._rearm()

    def _on_response(self, pdu: p.Pdu, request: p.Pdu) -> None:
        delivery = self._deliveries.pop(request.sequence_number, None)
        if delivery is None:
            return
        if pdu.command_status == S.ESME_ROK:
            self.factory.deliveries.acknowledged(delivery)
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
