"""Connections accepted by one worker and bound to an account another worker owns are handed to
the owner: the socket itself (SCM_RIGHTS over a Unix SOCK_SEQPACKET socket) with the bytes already read.

A worker reads a new connection only until its first PDU.  A bind of an account this worker owns,
or anything that is not a bind, is served here: the SMPP protocol takes over the transport as if
it had accepted it.  A bind of another worker's account stops reading, sends the socket and the
buffered bytes to the owner and closes this worker's copy without a shutdown, so the TCP
connection lives on in the owner, which feeds the bytes to a fresh session and reads on.  Each
worker's receiving end belongs to the supervisor too: sockets sent to a worker that died wait in
the kernel for its successor.

A TLS session cannot change process (its keys live in the process that shook hands), so a TLS bind
of another worker's account is relayed instead: the accepting worker keeps the TLS connection and
sends the owner one end of a Unix stream socket pair, with the client's address; the owner serves
the plain SMPP on that end as if the client were connected directly.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from collections.abc import Sequence
from typing import Any

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IAddress, IDelayedCall, IReadDescriptor
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from ..protocol.constants import CommandId
from .placement import owner_of

log = Logger()

_BINDS = frozenset({CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER})
_HEADER = struct.Struct(">II")
_ENQUIRE = struct.Struct(">IIII")
# A bind is small (system_id 16, password 9, system_type 13, address_range 41 octets + header);
# a larger first PDU is not a bind worth moving and is answered where it arrived.
MAX_FIRST_PDU = 1024
# One message carries the socket and what was read with the bind (at most one read of 64 KiB).
DATAGRAM_MAX = 1 << 18
# Never wait for a busy or restarting owner: two workers blocked sending to each other would hang.
# A full queue (hundreds of hand-offs waiting) closes the connection instead; the client reconnects.
_DONTWAIT = socket.MSG_DONTWAIT


def first_bind(buffer: bytes) -> str | bool | None:
    """The system_id of the bind at the start of ``buffer``; None while the first PDU is incomplete;
    False when the first PDU is not a bind (it is served where it arrived)."""
    if len(buffer) < 8:
        return None
    length, command_id = _HEADER.unpack_from(buffer)
    if command_id not in _BINDS or not 16 < length <= MAX_FIRST_PDU:
        return False
    if len(buffer) < length:
        return None
    body = buffer[16:length]
    end = body.find(b"\0")
    if end < 0:
        return False
    return body[:end].decode("latin-1")


def pack(data: bytes, peer: tuple[str, int] | None = None) -> bytes:
    """A hand-off message: a JSON header line (the client's address when relayed), then the bytes read."""
    return json.dumps({"peer": list(peer)} if peer else {}).encode("ascii") + b"\n" + data


def unpack(message: bytes) -> tuple[tuple[str, int] | None, bytes]:
    header, _, data = message.partition(b"\n")
    peer = json.loads(header).get("peer")
    return (str(peer[0]), int(peer[1])) if peer else None, data


class Sorter(Protocol):
    """A new connection until its first PDU says which worker serves it."""

    def __init__(self, factory: HandoffFactory, addr: IAddress | None) -> None:
        self.factory = factory
        self.addr = addr
        self.buffer = b""
        self.timer: IDelayedCall | None = None
        self.relay: _Relay | None = None  # a TLS connection relayed to its owner

    def connectionMade(self) -> None:  # noqa: N802 (Twisted's name)
        factory = self.factory
        if factory.sorting >= factory.max_sorting:
            # Connections waiting for their first PDU count against the limit like sessions do.
            log.info(
                "connection from {peer} refused: {n} connections wait for a bind", peer=self.addr, n=factory.sorting
            )
            self.transport.abortConnection()  # type: ignore[union-attr]
            return
        factory.sorting += 1
        # Past the session's init timeout the connection is served here, whose session closes it.
        self.timer = factory.clock.callLater(factory.init_timeout, self.serve_here)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.relay is not None:
            self.relay.forward(data)
            return
        self.buffer += data
        self._answer_enquire_links()
        found = first_bind(self.buffer)
        if found is None:
            return
        owner = owner_of(found, self.factory.workers) if isinstance(found, str) else self.factory.index
        if owner == self.factory.index:
            self.serve_here()
        else:
            self.hand_to(owner)

    def _answer_enquire_links(self) -> None:
        """Some clients check the link before they bind: answered here, so the bind still decides."""
        while len(self.buffer) >= 16:
            length, command_id, _, sequence = _ENQUIRE.unpack_from(self.buffer)
            if command_id != CommandId.ENQUIRE_LINK or length != 16:
                return
            self.transport.write(_ENQUIRE.pack(16, CommandId.ENQUIRE_LINK_RESP, 0, sequence))  # type: ignore[union-attr]
            self.buffer = self.buffer[16:]

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        self._cancel()
        if self.relay is not None:
            self.relay.close()

    def _cancel(self) -> None:
        """Done sorting (called once more on connectionLost, which then finds nothing to do)."""
        if self.timer is not None:
            self.factory.sorting -= 1
            if self.timer.active():
                self.timer.cancel()
        self.timer = None

    def serve_here(self) -> None:
        """The SMPP protocol takes the transport over and gets what was read so far."""
        self._cancel()
        transport: Any = self.transport
        if transport is None or not transport.connected:
            return
        inner = self.factory.inner.buildProtocol(self.addr)
        # The transport now calls the session directly (TLS calls its wrapped protocol).
        if hasattr(transport, "wrappedProtocol"):
            transport.wrappedProtocol = inner
        else:
            transport.protocol = inner
        inner.makeConnection(transport)
        data, self.buffer = self.buffer, b""
        if data and transport.connected and not transport.disconnecting:
            inner.dataReceived(data)

    def hand_to(self, owner: int) -> None:
        self._cancel()
        if self.factory.relay:
            self.relay_to(owner)
            return
        transport: Any = self.transport
        transport.stopReading()
        try:
            socket.send_fds(self.factory.senders[owner], [pack(self.buffer)], [transport.fileno()], _DONTWAIT)
        except OSError as err:
            # The owner's queue is full or gone: the client sees a closed connection and reconnects.
            log.warn("hand-off of {peer} to worker {owner} failed: {error}", peer=self.addr, owner=owner, error=err)
            transport.abortConnection()
            return
        self.factory.handed += 1
        # Close this process's copy only: a shutdown() would end the connection for the owner too.
        transport._shouldShutdown = False
        transport.loseConnection()

    def relay_to(self, owner: int) -> None:
        transport: Any = self.transport
        here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        peer = (str(getattr(self.addr, "host", "")), int(getattr(self.addr, "port", 0)))
        try:
            with here, there:
                socket.send_fds(self.factory.senders[owner], [pack(self.buffer, peer)], [there.fileno()], _DONTWAIT)
                here.setblocking(False)
                relay = _Relay(self)
                self.factory.reactor.adoptStreamConnection(here.fileno(), socket.AF_UNIX, _Once(relay))
        except OSError as err:
            log.warn("relay of {peer} to worker {owner} failed: {error}", peer=self.addr, owner=owner, error=err)
            transport.abortConnection()
            return
        self.relay = relay
        self.buffer = b""
        self.factory.handed += 1


class _Relay(Protocol):
    """The accepting worker's end of a relayed TLS connection: bytes both ways, and each side that
    stops reading stops the reading of the other, so nothing piles up here."""

    def __init__(self, sorter: Sorter) -> None:
        self.sorter = sorter

    def connectionMade(self) -> None:  # noqa: N802
        tls: Any = self.sorter.transport
        unix: Any = self.transport
        tls.registerProducer(unix, True)
        unix.registerProducer(tls.transport, True)  # the TCP connection under the TLS

    def forward(self, data: bytes) -> None:
        if self.transport is not None:
            self.transport.write(data)

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        tls: Any = self.sorter.transport
        if tls is not None:
            tls.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.loseConnection()

    def connectionLost(self, reason: Failure = connectionDone) -> None:  # noqa: N802
        tls: Any = self.sorter.transport
        if tls is not None:
            tls.unregisterProducer()
            tls.loseConnection()


class _Once(ServerFactory):
    def __init__(self, protocol: Protocol) -> None:
        self.built = protocol

    def buildProtocol(self, addr: IAddress | None) -> Protocol:  # noqa: N802
        return self.built


class HandoffFactory(ServerFactory):
    """Wraps the SMPP factory of a worker: sorts new connections, adopts handed ones."""

    def __init__(
        self,
        inner: ServerFactory,
        *,
        index: int,
        workers: int,
        senders: Sequence[socket.socket],
        clock: Any,
        init_timeout: float,
        max_sorting: int,
        reactor: Any = None,
        relay: bool = False,
    ) -> None:
        """``relay``: connections are TLS sessions, relayed to their owner rather than handed over."""
        self.inner = inner
        self.reactor = reactor or clock
        self.relay = relay
        self.index = index
        self.workers = workers
        self.senders = senders
        self.clock = clock
        self.init_timeout = init_timeout
        self.max_sorting = max_sorting
        self.sorting = 0  # connections waiting for their first PDU
        self.noisy = False
        self.handed = 0  # connections sent to their owner (for tests and logs)
        self.adopted = 0  # connections received from another worker

    def buildProtocol(self, addr: IAddress | None) -> Protocol:  # noqa: N802 (Twisted's name)
        return Sorter(self, addr)

    def adopt(self, reactor: Any, fd: int, message: bytes) -> None:
        """Serve a connection another worker accepted (or relays); ``message`` holds what it had read."""
        try:
            peer, data = unpack(message)
            with socket.socket(fileno=os.dup(fd)) as probe:
                family = probe.family
                host, port = peer or probe.getpeername()[:2]
            how = "relays over TLS" if peer else "accepted"
            log.info("adopted a connection from {peer} that another worker {how}", peer=f"{host}:{port}", how=how)
            reactor.adoptStreamConnection(fd, family, _Adopting(self, data, peer))
            self.adopted += 1
        except OSError as err:
            log.warn("could not adopt a handed-over connection: {error}", error=err)
        finally:
            os.close(fd)  # the reactor holds its own duplicate


class _Adopting(ServerFactory):
    """Builds the session of one adopted connection and feeds it the bytes read before the hand-off."""

    def __init__(self, handoff: HandoffFactory, data: bytes, peer: tuple[str, int] | None) -> None:
        self.handoff = handoff
        self.data = data
        self.peer = peer

    def buildProtocol(self, addr: IAddress | None) -> Protocol:  # noqa: N802
        if self.peer is not None:
            addr = (IPv6Address if ":" in self.peer[0] else IPv4Address)("TCP", *self.peer)
        sorter = _AdoptedSorter(self.handoff, addr)
        sorter.buffer = self.data
        return sorter


class _AdoptedSorter(Sorter):
    """An adopted connection is served here whatever its bind says: it never moves twice."""

    def connectionMade(self) -> None:  # noqa: N802
        transport: Any = self.transport
        if isinstance(self.addr, IPv4Address | IPv6Address) and transport.getPeer() != self.addr:
            # A relayed TLS client: the session sees the client's address (for allow lists, limits
            # and lockouts), and a Unix socket has no Nagle to turn off.
            client = self.addr
            transport.getPeer = lambda: client
            transport.setTcpNoDelay = lambda enabled: None
        self.serve_here()


@implementer(IReadDescriptor)
class HandoffReceiver:
    """Reads the worker's end of the hand-off socket and adopts the connections it brings."""

    def __init__(self, reactor: Any, sock: socket.socket, factory: HandoffFactory) -> None:
        self.reactor = reactor
        self.sock = sock
        self.factory = factory
        sock.setblocking(False)

    def start(self) -> None:
        self.reactor.addReader(self)

    def stop(self) -> None:
        self.reactor.removeReader(self)

    def fileno(self) -> int:
        return self.sock.fileno()

    def logPrefix(self) -> str:  # noqa: N802
        return "handoff"

    def doRead(self) -> None:  # noqa: N802
        while True:
            try:
                data, fds, flags, _ = socket.recv_fds(self.sock, DATAGRAM_MAX, 4)
            except (BlockingIOError, InterruptedError):
                return
            if not data and not fds:
                self.stop()  # every sending end closed: nothing more will come
                return
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC) or len(fds) != 1:
                log.warn("dropping a malformed hand-off ({n} descriptors, flags {flags})", n=len(fds), flags=flags)
                for fd in fds:
                    os.close(fd)
                continue
            self.factory.adopt(self.reactor, fds[0], data)

    def connectionLost(self, reason: Failure) -> None:  # noqa: N802
        pass
