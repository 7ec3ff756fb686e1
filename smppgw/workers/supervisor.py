"""The supervisor of ``smppgw serve --workers N``: opens the shared SMPP port, starts the workers,
restarts one that dies, runs the admin front, and stops everything on SIGTERM/SIGINT.

The SMPP port is N listening sockets bound with SO_REUSEPORT (the kernel spreads new connections
over them), one per worker.  The supervisor keeps every socket open, so connections that arrive
for a worker that died wait in its accept queue for its successor instead of being refused.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
from typing import Any

from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.protocol import ProcessProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from .. import __version__
from ..config import ConfigError, GatewayConfig
from .child import FIRST_SENDER_FD, LISTEN_FD, READY, RECEIVE_FD, TLS_LISTEN_FD
from .placement import owner_of, worker_store_path

log = Logger()

RESTART_DELAY = 1.0  # seconds before a worker that died is started again
STOP_GRACE = 15.0  # seconds a worker has to stop after SIGTERM before it is killed
_READY = re.compile(READY.format(index=r"(\d+)", port=r"(\d+)", pid=r"\d+"))
_TCP = re.compile(r"^tcp:(\d+)((?::[a-z]+=[^:]*)*)$")


def tcp_address(description: str, where: str) -> tuple[str, int]:
    """(host, port) of a ``tcp:PORT[:interface=HOST]`` endpoint: the only kind the workers can share."""
    match = _TCP.match(description)
    if match is None:
        raise ConfigError(f"{where}: --workers needs a tcp:PORT[:interface=HOST] endpoint, got {description!r}")
    options = dict(part.split("=", 1) for part in match.group(2).split(":") if part)
    return options.get("interface", "0.0.0.0"), int(match.group(1))  # noqa: S104 (Twisted's default too)


def shared_listeners(host: str, port: int, count: int, backlog: int = 1024) -> list[socket.socket]:
    """``count`` sockets listening on one port with SO_REUSEPORT (port 0: the first one's port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    for _ in range(count):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        port = sock.getsockname()[1]
        sock.listen(backlog)
        sockets.append(sock)
    return sockets


def handoff_pairs(count: int) -> list[tuple[socket.socket, socket.socket]]:
    """(sending end, receiving end) of each worker's hand-off socket."""
    pairs = []
    for _ in range(count):
        # SEQPACKET: whole messages like datagrams, but queued up to the buffer size rather than
        # net.unix.max_dgram_qlen (10 by default), which a burst of binds would exceed.
        send, receive = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        send.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        receive.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        pairs.append((send, receive))
    return pairs


class Worker(ProcessProtocol):
    """One worker process: relays its output with a prefix, notices its admin port and its end."""

    def __init__(self, supervisor: Supervisor, index: int) -> None:
        self.supervisor = supervisor
        self.index = index
        self.partial = b""
        self.ended: Deferred[None] = Deferred()

    def outReceived(self, data: bytes) -> None:  # noqa: N802 (Twisted's name)
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            text = line.decode("utf-8", "replace")
            ready = _READY.search(text)
            if ready is not None:
                self.supervisor.worker_ready(self.index, int(ready.group(2)))
            self.supervisor.out.write(f"w{self.index} {text}\n")
        self.supervisor.out.flush()

    errReceived = outReceived  # noqa: N815

    def processEnded(self, reason: Failure) -> None:  # noqa: N802
        self.ended.callback(None)
        self.supervisor.worker_ended(self, reason)


class Supervisor:
    def __init__(self, reactor: Any, config: GatewayConfig, argv: list[str], workers: int) -> None:
        self.reactor = reactor
        self.config = config
        self.argv = argv  # the worker's command line without --worker
        self.count = workers
        self.out = sys.stdout
        host, port = tcp_address(config.listen, f"{config.source.name}: smpp.listen")
        self.listeners = shared_listeners(host, port, workers)
        self.host, self.port = host, self.listeners[0].getsockname()[1]
        self.tls_listeners: list[socket.socket] = []
        if config.tls.listen:
            tls_host, tls_port = tcp_address(config.tls.listen, f"{config.source.name}: tls.listen")
            self.tls_listeners = shared_listeners(tls_host, tls_port, workers)
        self.pairs = handoff_pairs(workers)
        self.procs: list[Worker | None] = [None] * workers
        self.admin_ports: list[int | None] = [None] * workers
        self.restarts = 0
        self.stopping = False
        self.announced = False
        self.front_port = 0

    def start_worker(self, index: int) -> None:
        fds: dict[int, Any] = {0: "w", 1: "r", 2: "r"}
        fds[LISTEN_FD] = self.listeners[index].fileno()
        fds[RECEIVE_FD] = self.pairs[index][1].fileno()
        if self.tls_listeners:
            fds[TLS_LISTEN_FD] = self.tls_listeners[index].fileno()
        for j, (send, _) in enumerate(self.pairs):
            fds[FIRST_SENDER_FD + j] = send.fileno()
        worker = Worker(self, index)
        argv = [*self.argv, "--worker", f"{index}/{self.count}"]
        self.reactor.spawnProcess(worker, sys.executable, argv, env=dict(os.environ), childFDs=fds)
        self.procs[index] = worker

    def worker_ready(self, index: int, admin_port: int) -> None:
        self.admin_ports[index] = admin_port
        if not self.announced and all(p is not None for p in self.admin_ports):
            self.announced = True
            self.out.write(
                f"smppgw {__version__}: {self.count} workers, SMPP on {self.host}:{self.port}, "
                f"admin API on {self.config.admin.listen} (port {self.front_port}), {self._tls()}"
                f"stores {worker_store_path(self.config.store.path, 0)} ...\n"
            )
            self.out.flush()

    def _tls(self) -> str:
        return f"TLS on {self.tls_listeners[0].getsockname()[1]}, " if self.tls_listeners else ""

    def worker_ended(self, worker: Worker, reason: Failure) -> None:
        index = worker.index
        if self.procs[index] is worker:
            self.procs[index] = None
            self.admin_ports[index] = None
        if self.stopping:
            return
        self.restarts += 1
        self.out.write(f"smppgw: worker {index} ended ({reason.value}); starting it again in {RESTART_DELAY} s\n")
        self.out.flush()
        self.reactor.callLater(RESTART_DELAY, self._restart, index)

    def _restart(self, index: int) -> None:
        if not self.stopping and self.procs[index] is None:
            self.start_worker(index)

    def signal_workers(self, signum: int) -> None:
        for worker in self.procs:
            if worker is not None and worker.transport is not None and worker.transport.pid is not None:
                worker.transport.signalProcess(signum)

    def stop(self) -> Deferred[Any]:
        """SIGTERM to every worker; SIGKILL to any still running after STOP_GRACE seconds."""
        self.stopping = True
        running = [w for w in self.procs if w is not None]
        self.signal_workers(signal.SIGTERM)
        killer = self.reactor.callLater(STOP_GRACE, self.signal_workers, signal.SIGKILL)
        done: Deferred[Any] = DeferredList([w.ended for w in running])

        def finished(result: Any) -> Any:
            if killer.active():
                killer.cancel()
            return result

        return done.addBoth(finished)

    def owner_port(self, system_id: str) -> int | None:
        return self.admin_ports[owner_of(system_id, self.count)]
