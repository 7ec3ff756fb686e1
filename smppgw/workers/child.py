"""One worker process of ``smppgw serve --workers N``, started by the supervisor.

The supervisor passes the descriptors at fixed numbers: 3 the worker's SO_REUSEPORT listening
socket, 4 the worker's end of its hand-off socket, 5 its SO_REUSEPORT socket of the TLS port (when
TLS is on), 6 + j the sending end towards worker j; 0 is a pipe from the supervisor whose end means
the supervisor is gone (the worker then stops)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.endpoints import AdoptedStreamServerEndpoint
from twisted.internet.interfaces import IListeningPort, IReadDescriptor, IStreamServerEndpoint
from twisted.internet.protocol import Factory, ServerFactory
from twisted.python.failure import Failure
from zope.interface import implementer

from ..config import GatewayConfig
from .handoff import HandoffFactory, HandoffReceiver
from .placement import message_seq_floor, worker_config

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


class WorkerListening:
    """How a worker listens (the gateway's Listening): on the sockets the supervisor passed, through
    the hand-off sorter, so that each account's connections reach the worker that owns it; the
    internal admin port is reported to the supervisor once it listens."""

    def __init__(self, slot: WorkerSlot, config: GatewayConfig, reactor: Any) -> None:
        self.slot = slot
        self.config = config
        self.reactor = reactor
        # Session ids name one session across the workers (the front asks them all for one).
        self.first_session_id = slot.index * SESSION_ID_SPAN + 1
        self._senders = [socket.socket(fileno=FIRST_SENDER_FD + j) for j in range(slot.workers)]
        self._handoff: HandoffFactory | None = None

    def shape(self, config: GatewayConfig) -> GatewayConfig:
        return self.slot.shape(config)  # a reload keeps to this worker's accounts

    def _sorting(self, inner: ServerFactory, **relaying: Any) -> HandoffFactory:
        return HandoffFactory(
            inner,
            index=self.slot.index,
            workers=self.slot.workers,
            senders=self._senders,
            clock=self.reactor,
            init_timeout=self.config.session.session_init_timeout,
            max_sorting=self.config.security.max_connections,
            **relaying,
        )

    def smpp(self, factory: ServerFactory, configured: IStreamServerEndpoint) -> tuple[IStreamServerEndpoint, Factory]:
        self._handoff = self._sorting(factory)
        return _adopted(self.reactor, LISTEN_FD), self._handoff

    def tls(self, factory: ServerFactory, configured: IStreamServerEndpoint) -> tuple[IStreamServerEndpoint, Factory]:
        # Inside TLS: the same sorting, but another worker's account is relayed, not handed over.
        return _adopted(self.reactor, TLS_LISTEN_FD), self._sorting(factory, reactor=self.reactor, relay=True)

    def admin(self, configured: IStreamServerEndpoint) -> IStreamServerEndpoint:
        return _Reporting(configured, self.slot.index)

    def start(self) -> None:
        """Once the gateway is built: adopt the connections other workers send, and stop when the
        supervisor is gone."""
        assert self._handoff is not None, "the gateway listens through smpp() first"
        receiver = HandoffReceiver(self.reactor, socket.socket(fileno=RECEIVE_FD), self._handoff)
        self.reactor.callWhenRunning(receiver.start)
        self.reactor.addSystemEventTrigger("before", "shutdown", receiver.stop)
        self.reactor.addReader(_ParentWatch(self.reactor))


def _adopted(reactor: Any, fd: int) -> IStreamServerEndpoint:
    """The listening socket inherited at ``fd``."""
    sock = socket.socket(fileno=fd)
    family = sock.family
    sock.detach()
    return AdoptedStreamServerEndpoint(reactor, fd, family)


@implementer(IStreamServerEndpoint)
class _Reporting:
    """An endpoint that tells the supervisor which port it got."""

    def __init__(self, endpoint: IStreamServerEndpoint, index: int) -> None:
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
