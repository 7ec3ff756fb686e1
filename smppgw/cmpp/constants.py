"""Command ids, Result codes and protocol versions of CMPP 2.0 and 3.0 (QB-GF-028-2003)."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

HEADER_SIZE: Final = 12  # Total_Length 4, Command_Id 4, Sequence_Id 4
RESPONSE_BIT: Final = 0x80000000


class CommandId(IntEnum):
    CONNECT = 0x00000001
    CONNECT_RESP = 0x80000001
    TERMINATE = 0x00000002
    TERMINATE_RESP = 0x80000002
    SUBMIT = 0x00000004
    SUBMIT_RESP = 0x80000004
    DELIVER = 0x00000005
    DELIVER_RESP = 0x80000005
    QUERY = 0x00000006
    QUERY_RESP = 0x80000006
    CANCEL = 0x00000007
    CANCEL_RESP = 0x80000007
    ACTIVE_TEST = 0x00000008
    ACTIVE_TEST_RESP = 0x80000008


class Version(IntEnum):
    """The two wire layouts.  The Version byte's high nibble is the major version."""

    V20 = 0x20
    V30 = 0x30


def layout_of(version_byte: int) -> Version | None:
    """The layout a CONNECT's Version byte asks for: any 2.x (0x21 from some 2.0 clients) is 2.0,
    any 3.x is 3.0; None for a version this server does not speak."""
    major = version_byte >> 4
    if major == 2:
        return Version.V20
    if major == 3:
        return Version.V30
    return None


class ConnectStatus(IntEnum):
    """Status of CMPP_CONNECT_RESP."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_SOURCE_ADDR = 2  # unknown SP_Id
    AUTH_FAILED = 3
    VERSION_TOO_HIGH = 4
    OTHER = 5


class Result(IntEnum):
    """Result of CMPP_SUBMIT_RESP and CMPP_DELIVER_RESP (0-99 protocol, 100-199 vendor)."""

    OK = 0
    BAD_STRUCTURE = 1
    BAD_COMMAND = 2
    DUPLICATE_SEQUENCE = 3
    BAD_LENGTH = 4
    BAD_FEE_CODE = 5
    TOO_LONG = 6
    BAD_SERVICE_ID = 7
    FLOW_CONTROL = 8
    CHARGED_NUMBER_NOT_SERVED = 9
    BAD_SRC_ID = 10
    BAD_MSG_SRC = 11
    BAD_FEE_TERMINAL_ID = 12
    BAD_DEST_TERMINAL_ID = 13


class MsgFmt(IntEnum):
    ASCII = 0
    SIM_WRITE = 3
    BINARY = 4
    UCS2 = 8
    GBK = 15


def result_name(result: int) -> str:
    try:
        return Result(result).name
    except ValueError:
        return f"result {result}"


MAX_DESTINATIONS: Final = 99  # DestUsr_tl < 100
MAX_CONTENT: Final = 140  # Msg_Length <= 140 octets, except ASCII (Msg_Fmt 0): < 160
MAX_ASCII_CONTENT: Final = 159
