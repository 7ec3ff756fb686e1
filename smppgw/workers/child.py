"""One worker process of ``smppgw serve --workers N``, started by the supervisor.

The supervisor passes the descriptors at fixed numbers: 3 the worker's SO_REUSEPORT listening
socket, 4 the worker's end of its hand-off socket, 5 its SO_REUSEPORT socket of the TLS port (when
TLS is on), 6 + j the sending end towards worker j; 0 is a pipe from the supervisor whose end means
the supervisor is gone (the worker then stops)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.internet.interfaces import IListeningPort, IReadDescriptor
from twisted.python.failure import Failure
from zope.interface import implementer

from ..config import GatewayConfig
from .handoff import HandoffFactory, HandoffReceiver
from .placement import message_seq_floor, worker_config

if TYPE_CHECKING:
    from ..app.service import GatewayService

LISTEN_FD = 3
RECEIVE_FD = 4
TLS_LISTEN_FD = 5
FIRST_SENDER_FD = 6
SESSION_ID_SPAN = 10**9
READY = "smppgw worker {index}: admin on 127.0.0.1:{port}, pid {pid}"


@dataclass(frozen=True, slots=True)
class WorkerSlot:
    index: int
    workers: int

    @classmethod
    def parse(cls, text: str) -> WorkerSlot:
        index, _, workers = text.partition("/")
        slot = cls(int(index), int(workers))
        if not 0 <= slot.index < slot.workers:
            raise ValueError(f"--worker {text}: want INDEX/COUNT with 0 <= INDEX < COUNT")
        return slot

    @property
    def seq_floor(self) -> int:
        return message_seq_floor(self.index)

    def shape(self, config: GatewayConfig) -> GatewayConfig:
        return worker_config(config, self.index, self.workers)

    def install(self, service: GatewayService, reactor: Any) -> None:
        """Listen on the inherited socket through the hand-off sorter, adopt connections other
        workers send, and report the internal admin port once it listens."""
        service.shape_config = self.shape  # a reload keeps to this worker's accounts
        listen = socket.socket(fileno=LISTEN_FD)
        family = listen.family
        listen.detach()
        senders = [socket.socket(fileno=FIRST_SENDER_FD + j) for j in range(self.workers)]

        def sorting(**relaying: Any) -> HandoffFactory:
            return HandoffFactory(
                service.factory,
                index=self.index,
                workers=self.workers,
                senders=senders,
                clock=reactor,
                init_timeout=service.config.session.session_init_timeout,
                max_sorting=service.config.security.max_connections,
                **relaying,
            )

        handoff = sorting()
        service.handoff = handoff  # type: ignore[attr-defined]
        if service.factory.scorecards is not None:
            # Session ids name one session across the workers (the front asks them all for one).
            service.factory.scorecards.number_from(self.index * SESSION_ID_SPAN + 1)
        service.smpp_service.endpoint = AdoptedStreamServerEndpoint(reactor, LISTEN_FD, family)
        service.smpp_service.factory = handoff
        if service.tls_service is not None:
            tls_listen = socket.socket(fileno=TLS_LISTEN_FD)
            tls_family = tls_listen.family
            tls_listen.detach()
            service.tls_service.endpoint = AdoptedStreamServerEndpoint(reactor, TLS_LISTEN_FD, tls_family)
            # Inside TLS: the same sorting, but another worker's account is relayed, not handed over.
            service.tls_service.factory.wrappedFactory = sorting(reactor=reactor, relay=True)
        receiver = HandoffReceiver(reactor, socket.socket(fileno=RECEIVE_FD), handoff)
        reactor.callWhenRunning(receiver.start)
        reactor.addSystemEventTrigger("before", "shutdown", receiver.stop)
        service.admin_service.endpoint = _Reporting(service.admin_service.endpoint, self.index)
        reactor.addReader(_ParentWatch(reactor))


class _Reporting:
    """An endpoint that tells the supervisor which port it got."""

    def __init__(self, endpoint: Any, index: int) -> None:
        self.endpoint = endpoint
        self.index = index

    def listen(self, factory: Any) -> Deferred[IListeningPort]:
        def report(port: IListeningPort) -> IListeningPort:
            print(READY.format(index=self.index, port=port.getHost().port, pid=os.getpid()), flush=True)  # type: ignore[attr-defined]
            return port

        d: Deferred[IListeningPort] = self.endpoint.listen(factory)
        return d.addCallback(report)


@implementer(IReadDescriptor)
class _ParentWatch:
    """Stops the worker when the supervisor's pipe on stdin closes (the supervisor died)."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    def fileno(self) -> int:
        return 0

    def logPrefix(self) -> str:  # noqa: N802
        return "supervisor"

    def doRead(self) -> None:  # noqa: N802
        if not os.read(0, 4096):
            self.reactor.removeReader(self)
            self.reactor.stop()

    def connectionLost(self, reason: Failure) -> None:  # noqa: N802
        # The reactor reports a hung-up pipe here rather than as an empty read.
        if self.reactor.running:
            self.reactor.stop()
