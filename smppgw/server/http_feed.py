"""Batches of the customer HTTP interface, fed to the gateway at each account's pace.

A send is accepted whole: every recipient gets an id (reserved in the account's form) and a
*queued* route holding its ``submit_sm`` (``Route.pdu``), committed before the reply.  Then the
feeder submits them through ``GatewayRunner.submit`` (the function SMPP binds call) as fast as the
account's throughput allows.  Submitting rewrites the route without its PDU in the same commit as
the message, so after a kill -9 the queued routes the store still holds are exactly the messages
to feed again (``resume``).  A recipient the gateway refuses at that point (throttled for good,
opted out, the balance gone meanwhile, no carrier) gets a failed report, ``GW:<status>``, in its
report channel, never nothing.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import replace

from twisted.internet.defer import Deferred, gatherResults
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..model import Delivery, DeliveryKind, Message, MessageState
from ..protocol import codec
from ..protocol import pdu as p
from ..protocol.coding import decode_text
from ..protocol.constants import ESM_CLASS_RECEIPT, CommandStatus
from ..runtime.committer import GroupCommitter
from ..runtime.runner import GatewayRunner, Rejected, Submitted
from ..writes import DeliveryStored, ReportRouteSet
from .http_reports import HttpReports, Route

log = Logger()

PER_TURN = 200  # submits per reactor turn: a big batch does not stall the other connections
RETRY_AFTER_FAILED_COMMIT = 1.0


def queued_seq_floor(routes: dict[str, str], owner: str) -> int:
    """The message sequence number after every id ``owner`` reserved for a queued message (a
    restart must not give those ids to other messages)."""
    queued = (Route.from_json(r) for r in routes.values() if r.startswith('{"q":'))
    return max((route.seq + 1 for route in queued if route.owner == owner), default=1)


class HttpFeeder:
    """Accepted HTTP messages waiting for their submit, per account, in the order accepted."""

    def __init__(
        self,
        *,
        gateway: GatewayRunner,
        committer: GroupCommitter,
        reports: HttpReports,
        clock: IReactorTime,
        stored_message: Callable[[str], Message | None],
        owner: str = "",
    ) -> None:
        self.owner = owner  # this node's (and worker's) name in the queued routes it writes
        self._gateway = gateway
        self._committer = committer
        self._reports = reports
        self._clock = clock
        self._stored_message = stored_message
        self._waiting: dict[str, deque[tuple[str, Route]]] = {}
        self._timers: dict[str, IDelayedCall] = {}
        self._owed: dict[str, int] = {}  # account -> quoted cost of its waiting messages
        self.fed = 0
        self.refused = 0

    # ---- what the HTTP gateway asks -------------------------------------------------------

    def owed(self, account: str) -> int:
        """What the account's accepted but unsubmitted messages will cost (the next batch's money
        check counts it as spent)."""
        return self._owed.get(account, 0)

    def backlog(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    def waiting(self, message_id: str) -> Route | None:
        route = self._reports.route(message_id)
        return route if route is not None and route.queued else None

    def queue(self, account: str, items: list[tuple[str, Route]]) -> None:
        """Committed queued messages: feed them (from the next reactor turn, after the reply)."""
        box = self._waiting.setdefault(account, deque())
        for message_id, route in items:
            self._reports.remember(message_id, route)
            box.append((message_id, route))
            self._owed[account] = self._owed.get(account, 0) + route.cost
        self._later(account, 0.0)

    def resume(self) -> None:
        """After a restart: the queued routes the store kept are fed again, unless their message
        was committed already (the crash fell between the message and its route's rewrite)."""
        for message_id, route in sorted(self._reports.queued().items(), key=lambda kv: kv[1].seq):
            if route.owner != self.owner:
                continue  # another node's (or worker's): it feeds its own
            account = route.account
            if self._gateway.find(message_id) is not None or self._stored_message(message_id) is not None:
                done = _fed(route)
                self._reports.remember(message_id, done)
                self._committer.write_later([ReportRouteSet(message_id, account, done.to_json())])
                continue
            self.queue(account, [(message_id, route)])

    # ---- feeding --------------------------------------------------------------------------

    def _later(self, account: str, delay: float) -> None:
        if account not in self._timers:
            self._timers[account] = self._clock.callLater(delay, self._pump, account)

    def _pump(self, account: str) -> None:
        self._timers.pop(account, None)
        box = self._waiting.get(account)
        state = self._gateway.accounts.get(account)
        rate = state.config.throughput if state is not None else 0.0
        for _ in range(PER_TURN):
            if not box:
                return
            message_id, route = box[0]
            pdu = codec.decode(bytes.fromhex(route.pdu))
            assert isinstance(pdu, p.SubmitSm)
            result = self._gateway.submit(account, pdu, self._clock.seconds(), route.peer, message_id=message_id)
            if isinstance(result, Rejected) and result.status == CommandStatus.ESME_RTHROTTLED and rate > 0:
                self._later(account, 1.0 / rate)  # the next token
                return
            box.popleft()
            self._owed[account] = max(0, self._owed.get(account, 0) - route.cost)
            if isinstance(result, Rejected):
                self.refused += 1
                self.report_refusal(account, message_id, _fed(route), result.status, pdu)
            else:
                assert isinstance(result, Submitted)
                self._submitted(account, message_id, route, result)
        if box:
            self._later(account, 0.0)

    def _submitted(self, account: str, message_id: str, route: Route, result: Submitted) -> None:
        self.fed += 1
        done = _fed(route)
        self._reports.remember(message_id, done)
        # Written in the same reactor turn as the message: one commit holds both.
        stored = self._committer.write([ReportRouteSet(message_id, account, done.to_json())])
        message = result.message

        def committed(_: object) -> None:
            self._gateway.release(message)

        def failed(failure: Failure) -> None:
            log.failure("an HTTP message's commit failed; fed again shortly", failure)
            self._gateway.abort(message)
            self._reports.remember(message_id, route)
            self._waiting.setdefault(account, deque()).appendleft((message_id, route))
            self._owed[account] = self._owed.get(account, 0) + route.cost
            self._later(account, RETRY_AFTER_FAILED_COMMIT)

        gatherResults([result.committed, stored], consumeErrors=True).addCallbacks(committed, failed)

    def report_refusal(
        self, account: str, message_id: str, route: Route, status: int, pdu: p.SubmitSm | None = None
    ) -> Deferred[None]:
        """A recipient refused after its request was accepted: a failed report (``GW:<status>``)
        in its channel, through the durable deliveries."""
        text = route.text
        if not text and pdu is not None:
            text = decode_text(pdu.data_coding, pdu.payload, dc0=self._gateway.dc0)
        route = replace(route, status=status or int(CommandStatus.ESME_RINVDSTADR), text=text)
        delivery = Delivery(
            delivery_id=self._gateway.core.take_delivery_id(),
            account=account,
            kind=DeliveryKind.RECEIPT,
            message_id=message_id,
            source_addr=route.to,
            source_ton=0,
            source_npi=1,
            destination_addr=pdu.source_addr if pdu is not None else "",
            dest_ton=0,
            dest_npi=1,
            esm_class=ESM_CLASS_RECEIPT,
            data_coding=0,
            body=b"",
            state=int(MessageState.REJECTED),
            err=route.status & 0xFFF,
            created_at=self._clock.seconds(),
        )
        self._reports.remember(message_id, route)
        d = self._committer.write([ReportRouteSet(message_id, account, route.to_json()), DeliveryStored(delivery)])
        return d.addCallback(lambda _: self._reports.add(delivery))

    def stop(self) -> None:
        for timer in self._timers.values():
            if timer.active():
                timer.cancel()
        self._timers.clear()


def _fed(route: Route) -> Route:
    """The route once its message is submitted (or refused): without what only the queue needed."""
    return replace(route, pdu="", peer="", seq=0, cost=0, account="", owner="")
