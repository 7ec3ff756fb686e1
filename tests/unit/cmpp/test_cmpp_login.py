"""CMPP_CONNECT: the authenticators against vectors computed outside Python (md5sum), the
zero-padded timestamp, and which version each client is served in."""

from __future__ import annotations

from datetime import datetime

import pytest

from smppgw.cmpp.constants import ConnectStatus, Version
from smppgw.cmpp.login import authenticates, authenticator_ismg, authenticator_source, negotiate, timestamp_of

# printf '900001\0\0\0\0\0\0\0\0\0demo12340102030405' | md5sum
JANUARY_VECTOR = "e1ed8b4b848981623ff9697124b229cc"


def test_authenticator_source_matches_the_known_vector() -> None:
    assert authenticator_source("900001", "demo1234", 102030405).hex() == JANUARY_VECTOR


def test_the_timestamp_enters_as_ten_digits_with_its_leading_zero() -> None:
    # The interop trap: "%d" gives "102030405" and a digest no server accepts.
    wrong = __import__("hashlib").md5(b"900001" + bytes(9) + b"demo1234" + b"102030405").hexdigest()
    assert wrong != JANUARY_VECTOR
    assert authenticator_source("900001", "demo1234", 102030405).hex() != wrong


def test_timestamp_is_mmddhhmmss_as_an_integer() -> None:
    assert timestamp_of(datetime(2026, 3, 1, 0, 0, 0)) == 301000000 == 0x11F0E540  # the spec's example
    assert timestamp_of(datetime(2026, 11, 27, 9, 30, 0)) == 1127093000


def test_authenticator_ismg_covers_the_status_in_its_wire_width() -> None:
    source = bytes.fromhex(JANUARY_VECTOR)
    # printf '\x00\x00\x00\x00<source>demo1234' | md5sum, and the same with one status octet
    assert authenticator_ismg(0, source, "demo1234", Version.V30).hex() == "a8cb9df3176678b1c7398fbe46abcfab"
    assert authenticator_ismg(0, source, "demo1234", Version.V20).hex() == "6d86ed7a6ed5714dec2829ed72693817"


def test_authenticates_accepts_only_the_right_secret_and_time() -> None:
    good = authenticator_source("900001", "demo1234", 1127093000)
    assert authenticates("900001", "demo1234", 1127093000, good)
    assert not authenticates("900001", "demo5678", 1127093000, good)
    assert not authenticates("900001", "demo1234", 1127093001, good)
    assert not authenticates("900001", "demo1234", 9999999999, good)  # not a timestamp at all


@pytest.mark.parametrize(
    ("requested", "account", "expected"),
    [
        (0x30, Version.V30, (ConnectStatus.OK, Version.V30)),
        (0x20, Version.V30, (ConnectStatus.OK, Version.V20)),  # an older client on a 3.0 account
        (0x21, Version.V20, (ConnectStatus.OK, Version.V20)),  # pycmpp's version octet
        (0x20, Version.V20, (ConnectStatus.OK, Version.V20)),
        (0x30, Version.V20, (ConnectStatus.VERSION_TOO_HIGH, Version.V30)),
        (0x40, Version.V30, (ConnectStatus.VERSION_TOO_HIGH, Version.V30)),
        (0x12, Version.V30, (ConnectStatus.OTHER, Version.V20)),
    ],
)
def test_version_negotiation(requested: int, account: Version, expected: tuple[ConnectStatus, Version]) -> None:
    assert negotiate(requested, account) == expected
