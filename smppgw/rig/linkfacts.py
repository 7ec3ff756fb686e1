"""What the connection itself tells about a slow client, read when a scorecard is asked for or
every quarter second of traffic: the account's rate, the receipts and MO queued for it, the
gateway's transport buffer and back-pressure, and on Linux the kernel's TCP_INFO of the socket (the
shortest round trip, and the time the client's receive window held the gateway's sending)."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from typing import Any

from ..pipeline.accounts import AccountBook
from ..server.backpressure import socket_transport
from ..server.hooks import HostedConnection
from .throughput import LinkFacts

# struct tcp_info (linux/tcp.h): tcpi_min_rtt (µs, Linux 4.9+) at 148, tcpi_rwnd_limited (µs, 4.10+)
# at 176.  Not the smoothed tcpi_rtt: a client that pauses between sends delays its ACKs until its
# next request, and the smoothed figure then counts the pause as round trip.
_RTT = struct.Struct("=I")
_RWND_LIMITED = struct.Struct("=Q")
_TCP_INFO_SIZE = 232


def tcp_info(sock: Any) -> tuple[float | None, float | None]:
    """(round trip, receive-window-limited time) in seconds, None where the kernel does not say."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None or sock is None:
        return None, None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, option, _TCP_INFO_SIZE)
    except (OSError, ValueError, AttributeError):  # closed, not TCP (a test transport), not a socket
        return None, None
    rtt = _RTT.unpack_from(raw, 148)[0] / 1e6 if len(raw) >= 152 else None
    limited = _RWND_LIMITED.unpack_from(raw, 176)[0] / 1e6 if len(raw) >= 184 else None
    return (rtt or None), limited


def buffered(transport: Any) -> int:
    """Octets the transport holds for the client (Twisted's FileDescriptor buffers)."""
    inner = socket_transport(transport)
    held = getattr(inner, "_tempDataLen", 0) + len(getattr(inner, "dataBuffer", b""))
    offset = getattr(inner, "offset", 0)
    return max(0, int(held) - int(offset))


def link_probe(conn: HostedConnection, accounts: AccountBook, backlog: Callable[[str], int]) -> Callable[[], LinkFacts]:
    """A reader of ``conn``'s facts; it keeps no reference to anything once the connection is gone
    but the connection itself (the scorecard drops the probe when the session ends)."""

    def probe() -> LinkFacts:
        account = conn.account
        state = accounts.get(account) if account is not None else None
        transport = conn.transport
        handle = None
        if transport is not None:
            get_handle = getattr(socket_transport(transport), "getHandle", None)
            handle = get_handle() if get_handle is not None else None
        rtt, limited = tcp_info(handle)
        return LinkFacts(
            rate_limit=state.config.throughput if state is not None else 0.0,
            rtt_s=rtt,
            rwnd_limited_s=limited,
            buffered=buffered(transport) if transport is not None else 0,
            writes_paused=conn.writes_paused,
            queued=backlog(account) if account is not None else 0,
        )

    return probe
