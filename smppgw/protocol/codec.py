"""Encode PDUs to bytes and decode one framed PDU from bytes.

Each PDU type has a schema: its mandatory fields in spec order, each with its wire type,
its size limit and the command_status to answer when a peer's value breaks the limit.
TLVs follow the mandatory fields; unknown tags are kept, known tags are length-checked.
"""

from __future__ import annotations

import struct
from typing import Any, Final

from . import pdu as p
from .constants import RESPONSE_BIT, TLV_LENGTHS, CommandStatus
from .errors import LocalProtocolError, PduDecodeError

HEADER: Final = struct.Struct(">IIII")
HEADER_SIZE: Final = 16
_TLV_HEAD: Final = struct.Struct(">HH")
_U32: Final = struct.Struct(">I")

S = CommandStatus

# Field kinds
U8, U32, CSTR, SM, DESTS, UNSUCC = range(6)

Field = tuple[str, int, int, int]  # (name, kind, max octets incl. NUL for CSTR, status on overflow)


def _c(name: str, size: int, status: int) -> Field:
    return (name, CSTR, size, status)


def _u8(name: str) -> Field:
    return (name, U8, 1, S.ESME_RINVCMDLEN)


_SERVICE_TYPE = _c("service_type", 6, S.ESME_RINVSERTYP)
_SOURCE21 = (_u8("source_addr_ton"), _u8("source_addr_npi"), _c("source_addr", 21, S.ESME_RINVSRCADR))
_DEST21 = (_u8("dest_addr_ton"), _u8("dest_addr_npi"), _c("destination_addr", 21, S.ESME_RINVDSTADR))
_MESSAGE_TAIL = (
    _u8("esm_class"),
    _u8("protocol_id"),
    _u8("priority_flag"),
    _c("schedule_delivery_time", 17, S.ESME_RINVSCHED),
    _c("validity_period", 17, S.ESME_RINVEXPIRY),
    _u8("registered_delivery"),
    _u8("replace_if_present_flag"),
    _u8("data_coding"),
    _u8("sm_default_msg_id"),
    ("short_message", SM, 255, S.ESME_RINVMSGLEN),
)
_BIND = (
    _c("system_id", 16, S.ESME_RINVSYSID),
    _c("password", 9, S.ESME_RINVPASWD),
    _c("system_type", 13, S.ESME_RINVSYSTYP),
    _u8("interface_version"),
    _u8("addr_ton"),
    _u8("addr_npi"),
    _c("address_range", 41, S.ESME_RBINDFAIL),
)
_BIND_RESP = (_c("system_id", 16, S.ESME_RINVSYSID),)
_MESSAGE_ID = _c("message_id", 65, S.ESME_RINVMSGID)

SCHEMAS: Final[dict[type[p.Pdu], tuple[Field, ...]]] = {
    p.BindTransmitter: _BIND,
    p.BindReceiver: _BIND,
    p.BindTransceiver: _BIND,
    p.BindTransmitterResp: _BIND_RESP,
    p.BindReceiverResp: _BIND_RESP,
    p.BindTransceiverResp: _BIND_RESP,
    p.Outbind: (_c("system_id", 16, S.ESME_RINVSYSID), _c("password", 9, S.ESME_RINVPASWD)),
    p.Unbind: (),
    p.UnbindResp: (),
    p.EnquireLink: (),
    p.EnquireLinkResp: (),
    p.GenericNack: (),
    p.AlertNotification: (
        _u8("source_addr_ton"),
        _u8("source_addr_npi"),
        _c("source_addr", 65, S.ESME_RINVSRCADR),
        _u8("esme_addr_ton"),
        _u8("esme_addr_npi"),
        _c("esme_addr", 65, S.ESME_RINVDSTADR),
    ),
    p.SubmitSm: (_SERVICE_TYPE, *_SOURCE21, *_DEST21, *_MESSAGE_TAIL),
    p.DeliverSm: (_SERVICE_TYPE, *_SOURCE21, *_DEST21, *_MESSAGE_TAIL),
    p.SubmitSmResp: (_MESSAGE_ID,),
    p.DeliverSmResp: (_MESSAGE_ID,),
    p.SubmitMulti: (
        _SERVICE_TYPE,
        *_SOURCE21,
        ("dest_addresses", DESTS, 254, S.ESME_RINVNUMDESTS),
        *_MESSAGE_TAIL,
    ),
    p.SubmitMultiResp: (_MESSAGE_ID, ("unsuccess_smes", UNSUCC, 255, S.ESME_RINVNUMDESTS)),
    p.DataSm: (
        _SERVICE_TYPE,
        _u8("source_addr_ton"),
        _u8("source_addr_npi"),
        _c("source_addr", 65, S.ESME_RINVSRCADR),
        _u8("dest_addr_ton"),
        _u8("dest_addr_npi"),
        _c("destination_addr", 65, S.ESME_RINVDSTADR),
        _u8("esm_class"),
        _u8("registered_delivery"),
        _u8("data_coding"),
    ),
    p.DataSmResp: (_MESSAGE_ID,),
    p.QuerySm: (_MESSAGE_ID, *_SOURCE21),
    p.QuerySmResp: (
        _MESSAGE_ID,
        _c("final_date", 17, S.ESME_RINVCMDLEN),
        _u8("message_state"),
        _u8("error_code"),
    ),
    p.CancelSm: (_SERVICE_TYPE, _MESSAGE_ID, *_SOURCE21, *_DEST21),
    p.CancelSmResp: (),
    p.ReplaceSm: (
        _MESSAGE_ID,
        *_SOURCE21,
        _c("schedule_delivery_time", 17, S.ESME_RINVSCHED),
        _c("validity_period", 17, S.ESME_RINVEXPIRY),
        _u8("registered_delivery"),
        _u8("sm_default_msg_id"),
        ("short_message", SM, 255, S.ESME_RINVMSGLEN),
    ),
    p.ReplaceSmResp: (),
}

# ---- encoding -----------------------------------------------------------------------


def _put_cstr(out: bytearray, name: str, value: str, size: int) -> None:
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raise LocalProtocolError(f"{name} must hold one octet per character (latin-1)") from None
    if len(raw) >= size or 0 in raw:  # an int needle: see _fast_cstr
        raise LocalProtocolError(f"{name} must be at most {size - 1} octets without NUL")
    out += raw
    out.append(0)


def _put_u8(out: bytearray, name: str, value: int) -> None:
    if not 0 <= value <= 0xFF:
        raise LocalProtocolError(f"{name} must fit one octet")
    out.append(value)


def encode_body(pdu: p.Pdu) -> bytearray:
    out = bytearray()
    for name, kind, size, _status in SCHEMAS[type(pdu)]:
        value: Any = getattr(pdu, name)
        if kind == CSTR:
            _put_cstr(out, name, value, size)
        elif kind == U8:
            _put_u8(out, name, value)
        elif kind == SM:
            if len(value) > 254:
                raise LocalProtocolError("short_message must be at most 254 octets")
            out.append(len(value))
            out += value
        elif kind == DESTS:
            if len(value) > size:
                raise LocalProtocolError(f"submit_multi allows at most {size} destinations")
            _put_u8(out, "number_of_dests", len(value))
            for dest in value:
                if isinstance(dest, p.SmeAddress):
                    out.append(1)
                    _put_u8(out, "dest_addr_ton", dest.ton)
                    _put_u8(out, "dest_addr_npi", dest.npi)
                    _put_cstr(out, "destination_addr", dest.address, 21)
                else:
                    out.append(2)
                    _put_cstr(out, "dl_name", dest.name, 21)
        else:  # UNSUCC
            _put_u8(out, "no_unsuccess", len(value))
            for sme in value:
                _put_u8(out, "dest_addr_ton", sme.ton)
                _put_u8(out, "dest_addr_npi", sme.npi)
                _put_cstr(out, "destination_addr", sme.address, 21)
                if not 0 <= sme.error_status_code <= 0xFFFFFFFF:
                    raise LocalProtocolError("error_status_code must fit 4 octets")
                out += _U32.pack(sme.error_status_code)
    out += _encode_tlvs(pdu.tlvs)
    return out


def _encode_tlvs(tlvs: tuple[p.Tlv, ...]) -> bytearray:
    out = bytearray()
    for tlv in tlvs:
        if not 0 <= tlv.tag <= 0xFFFF or len(tlv.value) > 0xFFFF:
            raise LocalProtocolError(f"TLV tag {tlv.tag} or its {len(tlv.value)}-octet value does not fit")
        # The peer would answer a known tag of the wrong length with ESME_RINVPARLEN, as decode does.
        bounds = TLV_LENGTHS.get(tlv.tag)
        if bounds is not None and not bounds[0] <= len(tlv.value) <= bounds[1]:
            raise LocalProtocolError(f"TLV 0x{tlv.tag:04X} must be {bounds[0]}..{bounds[1]} octets")
        out += _TLV_HEAD.pack(tlv.tag, len(tlv.value))
        out += tlv.value
    return out


def _fast_cstr(value: str, size: int) -> bytes | None:
    """``value`` and its NUL when it fits ``size`` octets; None sends the caller to the checked path."""
    try:
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        return None
    # NUL as an int: `b"\0" in raw` first tries its needle as an int and pays for the TypeError.
    if len(raw) >= size or 0 in raw:
        return None
    return raw + b"\0"


_MESSAGE_ID_ONLY: Final = (p.SubmitSmResp, p.DeliverSmResp, p.DataSmResp)
_SHORT_MESSAGES: Final = (p.DeliverSm, p.SubmitSm)


def _fast_body(pdu: p.Pdu) -> bytes | None:
    """Straight-line bodies of the PDUs the gateway sends most: submit_sm_resp (and its kin) and
    deliver_sm.  None when a value needs the schema-driven path (and its error message)."""
    # isinstance narrows for mypy and for mypyc alike (a compiled annotation is checked at run time);
    # these classes have no subclasses, so it selects the same PDUs as a type() comparison.
    if isinstance(pdu, _MESSAGE_ID_ONLY):
        return _fast_cstr(pdu.message_id, 65)
    if isinstance(pdu, _SHORT_MESSAGES):
        m = pdu
        service = _fast_cstr(m.service_type, 6)
        source = _fast_cstr(m.source_addr, 21)
        dest = _fast_cstr(m.destination_addr, 21)
        sched = _fast_cstr(m.schedule_delivery_time, 17)
        validity = _fast_cstr(m.validity_period, 17)
        sm = m.short_message
        if service is None or source is None or dest is None or sched is None or validity is None or len(sm) > 254:
            return None
        try:
            return b"".join(
                (
                    service,
                    bytes((m.source_addr_ton, m.source_addr_npi)),
                    source,
                    bytes((m.dest_addr_ton, m.dest_addr_npi)),
                    dest,
                    bytes((m.esm_class, m.protocol_id, m.priority_flag)),
                    sched,
                    validity,
                    bytes((m.registered_delivery, m.replace_if_present_flag, m.data_coding, m.sm_default_msg_id)),
                    bytes((len(sm),)),
                    sm,
                )
            )
        except ValueError:  # an integer field outside 0..255
            return None
    return None


def encode(pdu: p.Pdu) -> bytes:
    """The wire bytes of ``pdu``.  Raises LocalProtocolError for values SMPP cannot carry."""
    if not 0 <= pdu.sequence_number <= 0xFFFFFFFF or not 0 <= pdu.command_status <= 0xFFFFFFFF:
        raise LocalProtocolError("sequence_number and command_status must fit 4 octets")
    body: bytes | bytearray | None = _fast_body(pdu)
    if body is None:
        body = encode_body(pdu)
    elif pdu.tlvs:
        body += _encode_tlvs(pdu.tlvs)
    return HEADER.pack(HEADER_SIZE + len(body), pdu.command_id, pdu.command_status, pdu.sequence_number) + body


# ---- decoding -----------------------------------------------------------------------


class _Reader:
    __slots__ = ("command_id", "data", "end", "pos", "seq")

    def __init__(self, data: bytes, command_id: int, seq: int) -> None:
        self.data = data
        self.pos = HEADER_SIZE
        self.end = len(data)
        self.command_id = command_id
        self.seq = seq

    def fail(self, status: int, detail: str) -> PduDecodeError:
        return PduDecodeError(status, detail, command_id=self.command_id, sequence_number=self.seq)

    def u8(self, name: str) -> int:
        if self.pos >= self.end:
            raise self.fail(S.ESME_RINVCMDLEN, f"PDU ends before {name}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def cstr(self, name: str, size: int, status: int) -> str:
        data, pos = self.data, self.pos
        limit = min(pos + size, self.end)
        nul = data.find(b"\0", pos, limit)
        if nul < 0:
            if pos + size <= self.end:
                raise self.fail(status, f"{name} longer than {size - 1} octets")
            raise self.fail(S.ESME_RINVCMDLEN, f"PDU ends inside {name}")
        self.pos = nul + 1
        return data[pos:nul].decode("latin-1")

    def octets(self, name: str, n: int, status: int) -> bytes:
        if self.pos + n > self.end:
            raise self.fail(status, f"{name} runs past the end of the PDU")
        value = self.data[self.pos : self.pos + n]
        self.pos += n
        return value


def _read_field(r: _Reader, name: str, kind: int, size: int, status: int) -> object:
    if kind == CSTR:
        return r.cstr(name, size, status)
    if kind == U8:
        return r.u8(name)
    if kind == SM:
        length = r.u8("sm_length")
        if length >= size:  # 0..254: a longer one could not be encoded again
            raise r.fail(status, f"sm_length {length} above {size - 1}")
        return r.octets(name, length, status)
    if kind == DESTS:
        count = r.u8("number_of_dests")
        if count > size:
            raise r.fail(status, f"number_of_dests {count} above {size}")
        dests: list[p.SmeAddress | p.DistributionList] = []
        for _ in range(count):
            flag = r.u8("dest_flag")
            if flag == 1:
                ton, npi = r.u8("dest_addr_ton"), r.u8("dest_addr_npi")
                dests.append(p.SmeAddress(ton, npi, r.cstr("destination_addr", 21, S.ESME_RINVDSTADR)))
            elif flag == 2:
                dests.append(p.DistributionList(r.cstr("dl_name", 21, S.ESME_RINVDLNAME)))
            else:
                raise r.fail(S.ESME_RINVDESTFLAG, f"dest_flag {flag} is neither 1 nor 2")
        return tuple(dests)
    count = r.u8("no_unsuccess")
    smes = []
    for _ in range(count):
        ton, npi = r.u8("dest_addr_ton"), r.u8("dest_addr_npi")
        address = r.cstr("destination_addr", 21, S.ESME_RINVDSTADR)
        code = _U32.unpack(r.octets("error_status_code", 4, S.ESME_RINVCMDLEN))[0]
        smes.append(p.UnsuccessSme(ton, npi, address, code))
    return tuple(smes)


def decode_tlvs(r: _Reader) -> tuple[p.Tlv, ...]:
    data, pos, end = r.data, r.pos, r.end
    tlvs: list[p.Tlv] = []
    while pos < end:
        if pos + 4 > end:
            raise r.fail(S.ESME_RINVTLVSTREAM, "truncated TLV header")
        tag, length = _TLV_HEAD.unpack_from(data, pos)
        pos += 4
        if pos + length > end:
            raise r.fail(S.ESME_RINVTLVSTREAM, f"TLV 0x{tag:04X} runs past the end of the PDU")
        bounds = TLV_LENGTHS.get(tag)
        if bounds is not None and not bounds[0] <= length <= bounds[1]:
            raise r.fail(S.ESME_RINVPARLEN, f"TLV 0x{tag:04X} has length {length}")
        tlvs.append(p.Tlv(tag, data[pos : pos + length]))
        pos += length
    r.pos = pos
    return tuple(tlvs)


_SUBMIT_SM: Final = int(p.SubmitSm.command_id)


def _decode_submit_sm(frame: bytes, status: int, seq: int) -> p.SubmitSm | None:
    """submit_sm, the PDU that arrives most, in straight-line code.  Anything out of the ordinary
    returns None and goes through the schema-driven path, which finds the right error status."""
    find, end = frame.find, len(frame)
    try:
        pos = HEADER_SIZE
        nul = find(b"\0", pos, min(pos + 6, end))
        if nul < 0:
            return None
        service_type = frame[pos:nul].decode("latin-1")
        source_ton, source_npi, pos = frame[nul + 1], frame[nul + 2], nul + 3
        nul = find(b"\0", pos, min(pos + 21, end))
        if nul < 0:
            return None
        source_addr = frame[pos:nul].decode("latin-1")
        dest_ton, dest_npi, pos = frame[nul + 1], frame[nul + 2], nul + 3
        nul = find(b"\0", pos, min(pos + 21, end))
        if nul < 0:
            return None
        destination_addr = frame[pos:nul].decode("latin-1")
        esm_class, protocol_id, priority_flag, pos = frame[nul + 1], frame[nul + 2], frame[nul + 3], nul + 4
        nul = find(b"\0", pos, min(pos + 17, end))
        if nul < 0:
            return None
        schedule = frame[pos:nul].decode("latin-1")
        pos = nul + 1
        nul = find(b"\0", pos, min(pos + 17, end))
        if nul < 0:
            return None
        validity = frame[pos:nul].decode("latin-1")
        registered_delivery, replace_flag, data_coding, default_msg_id, sm_length = frame[nul + 1 : nul + 6]
        pos = nul + 6
    except (IndexError, ValueError):  # the body ends inside the mandatory fields
        return None
    if sm_length > 254 or pos + sm_length > end:
        return None
    short_message = frame[pos : pos + sm_length]
    pos += sm_length
    tlvs: tuple[p.Tlv, ...] = ()
    if pos < end:
        reader = _Reader(frame, _SUBMIT_SM, seq)
        reader.pos = pos
        tlvs = decode_tlvs(reader)
    return p.SubmitSm(
        sequence_number=seq,
        command_status=status,
        tlvs=tlvs,
        service_type=service_type,
        source_addr_ton=source_ton,
        source_addr_npi=source_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_ton,
        dest_addr_npi=dest_npi,
        destination_addr=destination_addr,
        esm_class=esm_class,
        protocol_id=protocol_id,
        priority_flag=priority_flag,
        schedule_delivery_time=schedule,
        validity_period=validity,
        registered_delivery=registered_delivery,
        replace_if_present_flag=replace_flag,
        data_coding=data_coding,
        sm_default_msg_id=default_msg_id,
        short_message=short_message,
    )


def decode(frame: bytes) -> p.Pdu:
    """Decode one whole PDU (as framed by FrameBuffer).  Raises only PduDecodeError."""
    if len(frame) < HEADER_SIZE:
        raise PduDecodeError(S.ESME_RINVCMDLEN, "PDU shorter than its 16-octet header")
    length, command_id, status, seq = HEADER.unpack_from(frame)
    if length != len(frame):
        raise PduDecodeError(
            S.ESME_RINVCMDLEN, "command_length does not match the PDU", command_id=command_id, sequence_number=seq
        )
    cls = p.PDU_BY_ID.get(command_id)
    if cls is None:
        raise PduDecodeError(
            S.ESME_RINVCMDID, f"unknown command_id 0x{command_id:08X}", command_id=command_id, sequence_number=seq
        )
    if command_id == _SUBMIT_SM:
        fast = _decode_submit_sm(frame, status, seq)
        if fast is not None:
            return fast
    return decode_by_schema(cls, frame, command_id, status, seq)


def decode_by_schema(cls: type[p.Pdu], frame: bytes, command_id: int, status: int, seq: int) -> p.Pdu:
    """The reference decoder every PDU type goes through when no fast path takes it."""
    reader = _Reader(frame, command_id, seq)
    fields: dict[str, Any] = {}
    omissible = bool(command_id & RESPONSE_BIT)
    for name, kind, size, fstatus in SCHEMAS[cls]:
        # A response may leave its body out (e.g. submit_sm_resp with an error status).
        if omissible and reader.pos >= reader.end:
            break
        fields[name] = _read_field(reader, name, kind, size, fstatus)
    tlvs = decode_tlvs(reader)
    return cls(sequence_number=seq, command_status=status, tlvs=tlvs, **fields)


def peek_header(data: bytes | bytearray | memoryview) -> tuple[int, int, int, int]:
    """(command_length, command_id, command_status, sequence_number) of a 16-octet header."""
    length, command_id, status, seq = HEADER.unpack_from(data)
    return length, command_id, status, seq
