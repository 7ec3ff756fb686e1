"""The PROXY protocol (v2, and v1) in front of an SMPP listener, for a gateway behind HAProxy
(``send-proxy-v2``): the client's real address replaces the proxy's for everything that uses it
(IP allowlists, failed-bind lockouts, connection limits, logs, the sessions list).

Twisted's own ``haproxy:`` endpoint parses the header but starts the wrapped protocol at once,
before the header has arrived, so ``connectionMade`` would still see the proxy's address.  This
wrapper starts the SMPP protocol only once the header is read, and closes a connection whose
first bytes are not a valid header (or that sends none in time) with a log line.
"""

from __future__ import annotations

from typing import Any, cast

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IListeningPort,
    IProtocolFactory,
    IReactorTime,
    IStreamServerEndpoint,
    ITransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.protocols.haproxy._exceptions import InvalidProxyHeader
from twisted.protocols.haproxy._info import ProxyInfo
from twisted.protocols.haproxy._v1parser import V1Parser
from twisted.protocols.haproxy._v2parser import V2Parser
from twisted.protocols.policies import ProtocolWrapper, WrappingFactory
from twisted.python.failure import Failure
from zope.interface import directlyProvides, implementer, providedBy

log = Logger()

_V1_PREFIX = b"PROXY "


class ProxyHeaderProtocol(ProtocolWrapper):
    """Reads the PROXY header, then hands the connection, with the address it names, to the
    wrapped protocol."""

    factory: ProxyHeaderFactory

    def __init__(self, factory: ProxyHeaderFactory, wrapped: Protocol) -> None:
        super().__init__(factory, wrapped)
        self._info: ProxyInfo | None = None
        self._parser: V1Parser | V2Parser | None = None
        self._head = b""  # bytes before the header's version is known
        self._timer: IDelayedCall | None = None
        self._waiting = False  # counted in factory.waiting

    def makeConnection(self, transport: Any) -> None:  # noqa: N802 (Twisted's name)
        # As ProtocolWrapper does, but the wrapped protocol waits for the header.
        directlyProvides(self, providedBy(transport))
        Protocol.makeConnection(self, transport)  # type: ignore[no-untyped-call]
        self.factory.registerProtocol(self)  # type: ignore[no-untyped-call]
        factory = self.factory
        if factory.waiting >= factory.max_waiting:  # connections not yet counted by the SMPP limits
            self._refuse(f"{factory.max_waiting} connections already wait for their PROXY header")
            return
        factory.waiting += 1
        self._waiting = True
        self._timer = factory.clock.callLater(factory.timeout, self._timed_out)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self._info is not None:
            self.wrappedProtocol.dataReceived(data)
            return
        parser = self._parser
        if parser is None:
            data = self._head + data
            v2_version = len(data) < 13 or data[12] & 0xF0 == 0x20
            if data.startswith(_V1_PREFIX):
                parser = V1Parser()
            elif len(data) >= 16 and data.startswith(V2Parser.PREFIX) and v2_version:  # its parser needs 16
                parser = V2Parser()
            elif (len(data) < 16 and V2Parser.PREFIX.startswith(data[:12]) and v2_version) or (
                len(data) < len(_V1_PREFIX) and _V1_PREFIX.startswith(data)
            ):
                self._head = data  # a header split across segments: wait for the rest
                return
            else:
                self._refuse("no PROXY protocol header")
                return
            self._parser, self._head = parser, b""
        try:
            info, rest = parser.feed(data)
        except InvalidProxyHeader:
            self._refuse("an invalid PROXY protocol header")
            return
        if info is None:
            return
        self._info = info
        self._cancel_timer()
        self.wrappedProtocol.makeConnection(cast(ITransport, self))  # it provides what its transport does
        if rest and not self.disconnecting:
            self.wrappedProtocol.dataReceived(rest)

    @property
    def proxy_header(self) -> bytes:
        """The header as received (b"" until read): what must go along when the connection's socket
        is handed to another process, which reads it again to learn the client's address."""
        return self._info.header if self._info is not None else b""

    def abortConnection(self) -> None:  # noqa: N802
        self.disconnecting = True  # so no buffered bytes reach a protocol that refused its connection
        self.transport.abortConnection()  # type: ignore[union-attr]

    def getPeer(self) -> IAddress:  # noqa: N802
        # A LOCAL header (the proxy's own checks) names no client: the connection's own peer.
        if self._info is not None and self._info.source is not None:
            return self._info.source
        peer: IAddress = self.transport.getPeer()  # type: ignore[union-attr]
        return peer

    def getHost(self) -> IAddress:  # noqa: N802
        if self._info is not None and self._info.destination is not None:
            return self._info.destination
        host: IAddress = self.transport.getHost()  # type: ignore[union-attr]
        return host

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        self._cancel_timer()
        if self._info is not None:
            super().connectionLost(reason)  # type: ignore[no-untyped-call]
        else:  # the wrapped protocol never started: nothing of it to tell
            self.factory.unregisterProtocol(self)  # type: ignore[no-untyped-call]

    def _timed_out(self) -> None:
        self._timer = None
        self._refuse(f"no PROXY protocol header within {self.factory.timeout:g} s")

    def _refuse(self, why: str) -> None:
        peer = self.transport.getPeer() if self.transport is not None else None
        log.info(
            "connection from {peer} closed: {why} (the listener has proxy_protocol = true)",
            peer=f"{getattr(peer, 'host', '?')}:{getattr(peer, 'port', '?')}",
            why=why,
        )
        self._cancel_timer()
        self.loseConnection()  # type: ignore[no-untyped-call]

    def _cancel_timer(self) -> None:
        """Stop waiting for the header (it came, it was refused, or the connection is gone)."""
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self._waiting:
            self._waiting = False
            self.factory.waiting -= 1


class ProxyHeaderFactory(WrappingFactory[ProxyHeaderProtocol]):
    protocol = ProxyHeaderProtocol

    def __init__(self, wrapped: IProtocolFactory, clock: IReactorTime, timeout: float, max_waiting: int) -> None:
        super().__init__(wrapped)  # type: ignore[no-untyped-call]
        self.clock = clock
        self.timeout = timeout
        self.max_waiting = max_waiting
        self.waiting = 0  # connections whose header has not arrived yet

    def logPrefix(self) -> str:  # noqa: N802
        return f"{type(self.wrappedFactory).__name__} (PROXY)"


@implementer(IStreamServerEndpoint)
class ProxyHeaderEndpoint:
    """A server endpoint whose connections start with a PROXY header."""

    def __init__(self, wrapped: IStreamServerEndpoint, clock: IReactorTime, timeout: float, max_waiting: int) -> None:
        self.wrapped = wrapped
        self.clock = clock
        self.timeout = timeout
        self.max_waiting = max_waiting

    def listen(self, protocolFactory: IProtocolFactory) -> Deferred[IListeningPort]:  # noqa: N803 (its name)
        return self.wrapped.listen(ProxyHeaderFactory(protocolFactory, self.clock, self.timeout, self.max_waiting))


def server_endpoint(
    reactor: Any, listen: str, proxy_protocol: bool, header_timeout: float, max_waiting: int
) -> IStreamServerEndpoint:
    """The endpoint of an SMPP listener, behind the PROXY protocol when the configuration asks: a
    header is awaited ``header_timeout`` seconds, by at most ``max_waiting`` connections at once."""
    from twisted.internet.endpoints import serverFromString  # noqa: PLC0415

    endpoint: IStreamServerEndpoint = serverFromString(reactor, listen)
    if proxy_protocol:
        return ProxyHeaderEndpoint(endpoint, reactor, header_timeout, max_waiting)
    return endpoint
