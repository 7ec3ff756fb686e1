"""Ports for the servers a test starts (gateways, HAProxy, PostgreSQL, fake SMSCs).

A port found by binding to port 0 and closing comes from the kernel's ephemeral range, the same
range every outgoing connection takes its local port from: between the pick and the server's own
bind, a client connection of the same run (a gateway connecting to PostgreSQL, a health check) can
take it, and the server fails with "Address already in use".  So the ports are picked below that
range, checked free by a bind, and never handed out twice in one process."""

from __future__ import annotations

import random
import socket
from pathlib import Path

_LOWEST = 10_000
_given: set[int] = set()
_pick = random.Random()  # runs side by side start at different places


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default; other systems start theirs higher (49152)


def _bindable(port: int, host: str) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now, outside the ephemeral range, not given before."""
    top = _ephemeral_start()
    if top - _LOWEST >= 1_000:
        for _ in range(500):
            port = _pick.randrange(_LOWEST, top)
            if port not in _given and _bindable(port, host):
                _given.add(port)
                return port
    while True:  # no room below the ephemeral range: the kernel's pick, still never twice
        with socket.socket() as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        if port not in _given:
            _given.add(port)
            return port
