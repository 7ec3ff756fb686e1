"""Which part of a concatenated message a PDU carries: UDH (IEI 0x00 / 0x08) or SAR TLVs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .constants import ESM_CLASS_UDHI, Tag
from .pdu import Tlv

IEI_CONCAT_8BIT = 0x00
IEI_CONCAT_16BIT = 0x08


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    ref: int
    total: int
    seqnum: int
    ref_bits: int  # 8 or 16 for UDH, 0 for SAR TLVs


def split_udh(short_message: bytes) -> tuple[bytes, bytes]:
    """(UDH including its UDHL octet, body) of a short_message sent with UDHI set."""
    if not short_message:
        raise ValueError("UDHI is set but short_message is empty")
    end = 1 + short_message[0]
    if end > len(short_message):
        raise ValueError(f"UDH length {short_message[0]} runs past the {len(short_message)}-octet message")
    return short_message[:end], short_message[end:]


def _checked(ref: int, total: int, seqnum: int, ref_bits: int) -> ConcatInfo:
    if total == 0:
        raise ValueError("concatenation total is 0")
    if seqnum == 0:
        raise ValueError("concatenation part number is 0")
    if seqnum > total:
        raise ValueError(f"concatenation part {seqnum} is beyond the total of {total}")
    return ConcatInfo(ref=ref, total=total, seqnum=seqnum, ref_bits=ref_bits)


def _from_udh(udh: bytes) -> ConcatInfo | None:
    found: ConcatInfo | None = None
    i = 1
    while i < len(udh):
        if i + 2 > len(udh):
            raise ValueError("UDH ends inside an information element header")
        iei, iedl = udh[i], udh[i + 1]
        data = udh[i + 2 : i + 2 + iedl]
        if len(data) < iedl:
            raise ValueError(f"UDH element 0x{iei:02X} runs past the header")
        i += 2 + iedl
        # 23.040: when a non-repeatable element repeats, the last occurrence counts.
        if iei == IEI_CONCAT_8BIT:
            if iedl != 3:
                raise ValueError(f"8-bit concatenation element has length {iedl}, expected 3")
            found = _checked(data[0], data[1], data[2], 8)
        elif iei == IEI_CONCAT_16BIT:
            if iedl != 4:
                raise ValueError(f"16-bit concatenation element has length {iedl}, expected 4")
            found = _checked(int.from_bytes(data[:2], "big"), data[2], data[3], 16)
    return found


def _from_sar(tlvs: Sequence[Tlv]) -> ConcatInfo | None:
    if not tlvs:
        return None
    values: dict[int, bytes] = {}
    for tlv in tlvs:
        values.setdefault(tlv.tag, tlv.value)  # first occurrence, as Pdu.tlv() reads it
    wanted = {Tag.SAR_MSG_REF_NUM: 2, Tag.SAR_TOTAL_SEGMENTS: 1, Tag.SAR_SEGMENT_SEQNUM: 1}
    present = [tag for tag in wanted if tag in values]
    if not present:
        return None
    if len(present) != len(wanted):
        missing = ", ".join(tag.name.lower() for tag in wanted if tag not in values)
        raise ValueError(f"incomplete SAR TLVs: {missing} missing")
    for tag, size in wanted.items():
        if len(values[tag]) != size:
            raise ValueError(f"{tag.name.lower()} has length {len(values[tag])}, expected {size}")
    return _checked(
        int.from_bytes(values[Tag.SAR_MSG_REF_NUM], "big"),
        values[Tag.SAR_TOTAL_SEGMENTS][0],
        values[Tag.SAR_SEGMENT_SEQNUM][0],
        0,
    )


def concat_info(esm_class: int, short_message: bytes, tlvs: Sequence[Tlv]) -> ConcatInfo | None:
    """The concatenation this PDU is part of, or None for a stand-alone message.

    ``short_message`` is the message octets: the message_payload value when that TLV is used.

    A UDH concatenation element wins over SAR TLVs; a UDH without one (e.g. ports only)
    falls back to the TLVs.  Raises ValueError with the reason when either is malformed.
    """
    if esm_class & ESM_CLASS_UDHI:
        udh, _ = split_udh(short_message)
        info = _from_udh(udh)
        if info is not None:
            return info
    return _from_sar(tlvs)
