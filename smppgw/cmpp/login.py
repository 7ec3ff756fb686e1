"""CMPP_CONNECT: the MD5 authenticators both sides prove the shared secret with, the
MMDDHHMMSS timestamp, and which version a session is served in."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from .codec import result_size
from .constants import ConnectStatus, Version, layout_of


def timestamp_of(when: datetime) -> int:
    """The CONNECT Timestamp of ``when``: MMDDHHMMSS read as a decimal integer."""
    return int(when.strftime("%m%d%H%M%S"))


def _octets(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")


def authenticator_source(source_addr: str, secret: str | bytes, timestamp: int) -> bytes:
    """MD5(Source_Addr + 9 zero octets + shared secret + timestamp).

    The timestamp enters as its 10-character zero-padded text: written with plain ``%d``,
    January to September lose their leading zero and every login fails.
    """
    if not 0 <= timestamp <= 1231235959:
        raise ValueError(f"timestamp {timestamp} is not MMDDHHMMSS")
    return hashlib.md5(
        _octets(source_addr) + bytes(9) + _octets(secret) + f"{timestamp:010d}".encode("ascii"),
        usedforsecurity=False,
    ).digest()


def authenticator_ismg(status: int, authenticator_source: bytes, secret: str | bytes, version: Version) -> bytes:
    """MD5(Status + AuthenticatorSource + shared secret), Status as its wire octets (4 in 3.0,
    1 in 2.0), so the client can check the server knows the secret too."""
    status_octets = status.to_bytes(result_size(version), "big")
    return hashlib.md5(status_octets + authenticator_source + _octets(secret), usedforsecurity=False).digest()


def authenticates(source_addr: str, secret: str | bytes, timestamp: int, authenticator: bytes) -> bool:
    try:
        expected = authenticator_source(source_addr, secret, timestamp)
    except ValueError:
        return False
    return hmac.compare_digest(expected, authenticator)


def negotiate(requested: int, account_version: Version) -> tuple[ConnectStatus, Version]:
    """(status, layout) for a client asking ``requested`` on an account set to ``account_version``.

    Any 2.x is served as 2.0 (0x21 comes from some 2.0 clients).  A version above the account's
    gets "version too high" (4), in the layout the client asked for so it can read the answer;
    a version below 2.0 is not spoken at all ("other error", 5).
    """
    layout = layout_of(requested)
    if layout is None:
        if requested > Version.V30:
            return ConnectStatus.VERSION_TOO_HIGH, Version.V30
        return ConnectStatus.OTHER, Version.V20
    if layout > account_version:
        return ConnectStatus.VERSION_TOO_HIGH, layout
    return ConnectStatus.OK, layout
