"""Encode CMPP packets to bytes and decode one framed packet, by the layout of 2.0 or 3.0.

Each version is a table: for each packet type its fields in wire order, each with its wire kind,
its size, the check a peer's value must pass and the Result to answer when it does not.  The
two tables differ where the versions do: terminal ids (21 / 32 octets), the width of every
result field (1 / 4), the 3.0-only type octets, and the trailing Reserve (2.0, 8) or LinkID
(3.0, 20).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

from . import packets as pk
from .constants import HEADER_SIZE, MAX_ASCII_CONTENT, MAX_CONTENT, MAX_DESTINATIONS, MsgFmt, Result, Version
from .errors import CmppDecodeError, LocalProtocolError

HEADER: Final = struct.Struct(">III")
_U32: Final = struct.Struct(">I")
_U64: Final = struct.Struct(">Q")
R = Result


class Kind(IntEnum):
    U8 = 1
    U32 = 2
    U64 = 3
    STR = 4  # fixed-length octet string, NUL padded
    OCTETS = 5  # fixed-length raw bytes (the authenticators)
    RESULT = 6  # an unsigned integer of the version's result width
    DESTS = 7  # DestUsr_tl, then that many terminal ids
    CONTENT = 8  # Msg_Length, then Msg_Content
    DELIVER_CONTENT = 9  # Registered_Delivery, Msg_Length, then Msg_Content or a status report


class Check(IntEnum):
    """What a peer's string must look like (checked on decode, after the padding is removed)."""

    TEXT = 1  # any octets
    PRINTABLE = 2  # printable ASCII
    DIGITS = 3  # 0-9, may be empty
    MSISDN = 4  # an optional '+' then digits, not empty


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    size: int = 0  # octets of a STR/OCTETS/RESULT, or of each terminal id of DESTS
    check: Check = Check.TEXT
    result: int = R.BAD_STRUCTURE  # answered when a peer's value fails ``check``


def _u8(name: str) -> Field:
    return Field(name, Kind.U8, 1)


def _str(name: str, size: int, check: Check = Check.TEXT, result: int = R.BAD_STRUCTURE) -> Field:
    return Field(name, Kind.STR, size, check, result)


def terminal_size(version: Version) -> int:
    return 32 if version is Version.V30 else 21


def result_size(version: Version) -> int:
    return 4 if version is Version.V30 else 1


def report_size(version: Version) -> int:
    """Octets of a status report: 71 in 3.0, 60 in 2.0."""
    return 8 + 7 + 10 + 10 + terminal_size(version) + 4


def _layouts(version: Version) -> dict[type[pk.Packet], tuple[Field, ...]]:
    v3 = version is Version.V30
    term = terminal_size(version)
    res = Field("result", Kind.RESULT, result_size(version))
    tail = _str("link_id", 20) if v3 else _str("reserve", 8)
    msg_id = Field("msg_id", Kind.U64, 8)
    service_id = _str("service_id", 10, Check.PRINTABLE, R.BAD_SERVICE_ID)
    return {
        pk.Connect: (
            _str("source_addr", 6),
            Field("authenticator_source", Kind.OCTETS, 16),
            _u8("version"),
            Field("timestamp", Kind.U32, 4),
        ),
        pk.ConnectResp: (
            Field("status", Kind.RESULT, result_size(version)),
            Field("authenticator_ismg", Kind.OCTETS, 16),
            _u8("version"),
        ),
        pk.Terminate: (),
        pk.TerminateResp: (),
        pk.ActiveTest: (),
        pk.ActiveTestResp: (_u8("reserved"),),
        pk.Submit: (
            msg_id,
            _u8("pk_total"),
            _u8("pk_number"),
            _u8("registered_delivery"),
            _u8("msg_level"),
            service_id,
            _u8("fee_user_type"),
            _str("fee_terminal_id", term),
            *((_u8("fee_terminal_type"),) if v3 else ()),
            _u8("tp_pid"),
            _u8("tp_udhi"),
            _u8("msg_fmt"),
            _str("msg_src", 6, Check.PRINTABLE, R.BAD_MSG_SRC),
            _str("fee_type", 2),
            _str("fee_code", 6, Check.DIGITS, R.BAD_FEE_CODE),
            _str("valid_time", 17),
            _str("at_time", 17),
            _str("src_id", 21, Check.DIGITS, R.BAD_SRC_ID),
            Field("dest_terminal_ids", Kind.DESTS, term, Check.MSISDN, R.BAD_DEST_TERMINAL_ID),
            *((_u8("dest_terminal_type"),) if v3 else ()),
            Field("content", Kind.CONTENT, 0, Check.TEXT, R.TOO_LONG),
            tail,
        ),
        pk.SubmitResp: (msg_id, res),
        pk.Deliver: (
            msg_id,
            _str("dest_id", 21),
            service_id,
            _u8("tp_pid"),
            _u8("tp_udhi"),
            _u8("msg_fmt"),
            _str("src_terminal_id", term),
            *((_u8("src_terminal_type"),) if v3 else ()),
            Field("content", Kind.DELIVER_CONTENT, 0, Check.TEXT, R.TOO_LONG),
            tail,
        ),
        pk.DeliverResp: (msg_id, res),
        pk.Query: (_str("time", 8), _u8("query_type"), _str("query_code", 10), _str("reserve", 8)),
        pk.QueryResp: (
            _str("time", 8),
            _u8("query_type"),
            _str("query_code", 10),
            *(
                Field(name, Kind.U32, 4)
                for name in ("mt_tlmsg", "mt_tlusr", "mt_scs", "mt_wt", "mt_fl", "mo_scs", "mo_wt", "mo_fl")
            ),
        ),
        pk.Cancel: (msg_id,),
        pk.CancelResp: (Field("success_id", Kind.RESULT, result_size(version)),),
    }


def _report_layout(version: Version) -> tuple[Field, ...]:
    return (
        Field("msg_id", Kind.U64, 8),
        _str("stat", 7),
        _str("submit_time", 10),
        _str("done_time", 10),
        _str("dest_terminal_id", terminal_size(version)),
        Field("smsc_sequence", Kind.U32, 4),
    )


LAYOUTS: Final[dict[Version, dict[type[pk.Packet], tuple[Field, ...]]]] = {v: _layouts(v) for v in Version}
REPORT_LAYOUTS: Final[dict[Version, tuple[Field, ...]]] = {v: _report_layout(v) for v in Version}


def content_limit(msg_fmt: int) -> int:
    """The longest Msg_Content: under 160 octets for ASCII, 140 for anything else."""
    return MAX_ASCII_CONTENT if msg_fmt == MsgFmt.ASCII else MAX_CONTENT


def unused_fields(cls: type[pk.Packet], version: Version) -> frozenset[str]:
    """Fields of ``cls`` the other version has and this one lacks (they must keep their default)."""
    return frozenset(name for name, _ in _UNUSED[version][cls])


def _unused(version: Version) -> dict[type[pk.Packet], tuple[tuple[str, object], ...]]:
    out = {}
    for cls in pk.ALL_PACKET_TYPES:
        mine = {f.name for f in LAYOUTS[version][cls]}
        every = {f.name for v in Version for f in LAYOUTS[v][cls]}
        default = cls()
        out[cls] = tuple((name, getattr(default, name)) for name in sorted(every - mine))
    return out


_UNUSED: Final = {v: _unused(v) for v in Version}


# ---- encoding ---------------------------------------------------------------------------


def _put_str(out: bytearray, name: str, value: str, size: int) -> None:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{name} must hold one octet per character (latin-1)") from None
    if len(raw) > size:
        raise LocalProtocolError(f"{name} must be at most {size} octets")
    out += raw
    out += bytes(size - len(raw))


def _put_uint(out: bytearray, name: str, value: int, size: int) -> None:
    if not 0 <= value < 1 << (8 * size):
        raise LocalProtocolError(f"{name} must fit {size} octet(s)")
    out += value.to_bytes(size, "big")


def _put_content(out: bytearray, content: bytes, msg_fmt: int) -> None:
    if len(content) > content_limit(msg_fmt):
        raise LocalProtocolError(f"Msg_Content must be at most {content_limit(msg_fmt)} octets for Msg_Fmt {msg_fmt}")
    out.append(len(content))
    out += content


def _encode_fields(out: bytearray, value: object, fields: tuple[Field, ...], version: Version) -> None:
    for f in fields:
        v: Any = getattr(value, f.name)
        kind = f.kind
        if kind is Kind.U8:
            _put_uint(out, f.name, v, 1)
        elif kind is Kind.U32:
            _put_uint(out, f.name, v, 4)
        elif kind is Kind.U64:
            _put_uint(out, f.name, v, 8)
        elif kind is Kind.RESULT:
            _put_uint(out, f.name, v, f.size)
        elif kind is Kind.STR:
            _put_str(out, f.name, v, f.size)
        elif kind is Kind.OCTETS:
            if len(v) != f.size:
                raise LocalProtocolError(f"{f.name} must be {f.size} octets")
            out += v
        elif kind is Kind.DESTS:
            if not 1 <= len(v) <= MAX_DESTINATIONS:
                raise LocalProtocolError(f"a SUBMIT needs 1..{MAX_DESTINATIONS} destinations")
            out.append(len(v))
            for dest in v:
                _put_str(out, f.name, dest, f.size)
        elif kind is Kind.CONTENT:
            _put_content(out, v, getattr(value, "msg_fmt"))  # noqa: B009 (Submit and Deliver both have it)
        elif isinstance(v, pk.StatusReport):
            out.append(1)
            out.append(report_size(version))
            _encode_fields(out, v, REPORT_LAYOUTS[version], version)
        else:
            out.append(0)
            _put_content(out, v, getattr(value, "msg_fmt"))  # noqa: B009


def encode(packet: pk.Packet, version: Version) -> bytes:
    """The wire bytes of ``packet`` in ``version``'s layout.  Raises LocalProtocolError for
    values CMPP cannot carry, including a field the version lacks set to other than its default."""
    cls = type(packet)
    for name, default in _UNUSED[version][cls]:
        if getattr(packet, name) != default:
            raise LocalProtocolError(f"{name} does not exist in CMPP {version.value >> 4}.0")
    if not 0 <= packet.sequence_id <= 0xFFFFFFFF:
        raise LocalProtocolError("Sequence_Id must fit 4 octets")
    body = bytearray()
    _encode_fields(body, packet, LAYOUTS[version][cls], version)
    return HEADER.pack(HEADER_SIZE + len(body), packet.command_id, packet.sequence_id) + body


# ---- decoding ---------------------------------------------------------------------------


def _passes(check: Check, value: str) -> bool:
    if check is Check.TEXT:
        return True
    if check is Check.PRINTABLE:
        return all(" " <= ch <= "~" for ch in value)
    if check is Check.DIGITS:
        return value.isascii() and (value == "" or value.isdigit())
    digits = value[1:] if value.startswith("+") else value
    return digits.isascii() and digits.isdigit()


class _Reader:
    __slots__ = ("command_id", "data", "end", "pos", "seq")

    def __init__(self, data: bytes, command_id: int, seq: int, pos: int, end: int) -> None:
        self.data = data
        self.pos = pos
        self.end = end
        self.command_id = command_id
        self.seq = seq

    def fail(self, result: int, detail: str) -> CmppDecodeError:
        return CmppDecodeError(result, detail, command_id=self.command_id, sequence_id=self.seq)

    def take(self, name: str, n: int) -> bytes:
        if self.pos + n > self.end:
            raise self.fail(R.BAD_LENGTH, f"packet ends inside {name}")
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value

    def uint(self, name: str, n: int) -> int:
        return int.from_bytes(self.take(name, n), "big")

    def string(self, f: Field) -> str:
        value = self.take(f.name, f.size).rstrip(b"\0").decode("latin-1")
        if not _passes(f.check, value):
            raise self.fail(f.result, f"{f.name} {value!r} is not {f.check.name.lower()}")
        return value

    def content(self, f: Field, msg_fmt: int) -> bytes:
        length = self.uint("Msg_Length", 1)
        if length > content_limit(msg_fmt):
            raise self.fail(f.result, f"Msg_Length {length} above {content_limit(msg_fmt)} for Msg_Fmt {msg_fmt}")
        return self.take("Msg_Content", length)


def _decode_fields(r: _Reader, fields: tuple[Field, ...], version: Version) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields:
        kind = f.kind
        if kind is Kind.U8:
            values[f.name] = r.uint(f.name, 1)
        elif kind is Kind.U32:
            values[f.name] = r.uint(f.name, 4)
        elif kind is Kind.U64:
            values[f.name] = r.uint(f.name, 8)
        elif kind is Kind.RESULT:
            values[f.name] = r.uint(f.name, f.size)
        elif kind is Kind.STR:
            values[f.name] = r.string(f)
        elif kind is Kind.OCTETS:
            values[f.name] = r.take(f.name, f.size)
        elif kind is Kind.DESTS:
            count = r.uint("DestUsr_tl", 1)
            if not 1 <= count <= MAX_DESTINATIONS:
                raise r.fail(f.result, f"DestUsr_tl {count} outside 1..{MAX_DESTINATIONS}")
            dests = tuple(r.string(f) for _ in range(count))
            values[f.name] = dests
        elif kind is Kind.CONTENT:
            values[f.name] = r.content(f, values["msg_fmt"])
        else:  # DELIVER_CONTENT
            registered = r.uint("Registered_Delivery", 1)
            if registered == 0:
                values[f.name] = r.content(f, values["msg_fmt"])
            elif registered == 1:
                length = r.uint("Msg_Length", 1)
                if length != report_size(version):
                    raise r.fail(R.BAD_LENGTH, f"a status report is {report_size(version)} octets, not {length}")
                end, r.end = r.end, r.pos + length
                if r.end > end:
                    raise r.fail(R.BAD_LENGTH, "packet ends inside the status report")
                values[f.name] = pk.StatusReport(**_decode_fields(r, REPORT_LAYOUTS[version], version))
                r.end = end
            else:
                raise r.fail(R.BAD_STRUCTURE, f"Registered_Delivery {registered} in a DELIVER is neither 0 nor 1")
    return values


def decode(frame: bytes, version: Version) -> pk.Packet:
    """Decode one whole packet (as framed by FrameBuffer) in ``version``'s layout.
    Raises only CmppDecodeError."""
    if len(frame) < HEADER_SIZE:
        raise CmppDecodeError(R.BAD_LENGTH, "packet shorter than its 12-octet header")
    length, command_id, seq = HEADER.unpack_from(frame)
    if length != len(frame):
        raise CmppDecodeError(
            R.BAD_LENGTH,
            f"Total_Length {length} is not the packet's {len(frame)}",
            command_id=command_id,
            sequence_id=seq,
        )
    cls = pk.PACKET_BY_ID.get(command_id)
    if cls is None:
        raise CmppDecodeError(
            R.BAD_COMMAND, f"unknown Command_Id 0x{command_id:08X}", command_id=command_id, sequence_id=seq
        )
    if cls is pk.ActiveTestResp and length == HEADER_SIZE:
        return pk.ActiveTestResp(sequence_id=seq)  # some clients leave the reserved octet out
    reader = _Reader(frame, command_id, seq, HEADER_SIZE, length)
    values = _decode_fields(reader, LAYOUTS[version][cls], version)
    if reader.pos != length:
        raise reader.fail(R.BAD_LENGTH, f"{length - reader.pos} octet(s) after the last field")
    return cls(sequence_id=seq, **values)


def peek_header(data: bytes | bytearray | memoryview) -> tuple[int, int, int]:
    """(Total_Length, Command_Id, Sequence_Id) of a 12-octet header."""
    length, command_id, seq = HEADER.unpack_from(data)
    return int(length), int(command_id), int(seq)
