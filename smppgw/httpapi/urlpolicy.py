"""Which callback URLs the gateway will call (the SSRF guard), as a pure check.

At parse time only the URL itself is known, so literal addresses (including the odd IPv4 forms a
resolver accepts, such as `127.1` or `0x7f000001`) and `localhost` are judged; the pusher checks
the addresses it resolved a name to with the same function before connecting.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

_IPV4_LOOSE = re.compile(r"[0-9a-fA-FxX.]+")
MAX_URL_LENGTH = 2048


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    host = host.split("%", 1)[0]  # an IPv6 zone id
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _IPV4_LOOSE.fullmatch(host) and any(ch.isdigit() for ch in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def callback_url_problem(url: str, *, allow_private: bool, resolved: Iterable[str] = ()) -> str | None:
    """Why the gateway must not call `url`, or None if it may.

    `resolved` are the addresses the host name resolved to, when the caller has looked them up.
    """
    if not url or len(url) > MAX_URL_LENGTH or not url.isascii() or any(ch in url for ch in " \r\n\t"):
        return "not a URL"
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        _ = parts.port  # raises for a port that is not a number in range
    except ValueError:
        return "not a URL"
    if parts.scheme.lower() not in ("http", "https"):
        return "only http and https callbacks"
    if not host:
        return "no host"
    if allow_private:
        return None
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback address"
    candidates = [host, *resolved]
    for candidate in candidates:
        address = _address(candidate)
        if address is not None and _private(address):
            return "private or loopback address"
    return None
