"""Hypothesis strategies for SMPP PDUs, derived from ``codec.SCHEMAS``.

Every value stays within the wire limits the schema states, so whatever these strategies
build must survive ``decode(encode(x)) == x``.  A PDU type added to ``SCHEMAS`` is covered
without touching this module.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import TLV_LENGTHS

u8 = st.integers(0, 0xFF)
u32 = st.integers(0, 0xFFFF_FFFF)

KNOWN_TAGS: tuple[int, ...] = tuple(sorted(int(tag) for tag in TLV_LENGTHS))
VENDOR_TAGS = st.integers(0x1400, 0x3FFF)  # vendor range: none of them has a fixed length
# Cap generated TLV values: message_payload may be 64 KiB, but size adds nothing to the check.
_TLV_VALUE_CAP = 64


def cstr(size: int) -> st.SearchStrategy[str]:
    """A C-octet string of at most ``size - 1`` octets: latin-1 characters except NUL."""
    return st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=size - 1)


def known_tlv() -> st.SearchStrategy[p.Tlv]:
    def with_valid_length(tag: int) -> st.SearchStrategy[p.Tlv]:
        low, high = TLV_LENGTHS[tag]
        return st.binary(min_size=low, max_size=min(high, _TLV_VALUE_CAP)).map(lambda v: p.Tlv(tag, v))

    return st.sampled_from(KNOWN_TAGS).flatmap(with_valid_length)


def unknown_tlv() -> st.SearchStrategy[p.Tlv]:
    any_unknown_tag = st.integers(0, 0xFFFF).filter(lambda t: t not in TLV_LENGTHS)
    return st.builds(p.Tlv, st.one_of(VENDOR_TAGS, any_unknown_tag), st.binary(max_size=50))


def tlvs(max_size: int = 4) -> st.SearchStrategy[tuple[p.Tlv, ...]]:
    return st.lists(st.one_of(known_tlv(), unknown_tlv()), max_size=max_size).map(tuple)


def dest_address() -> st.SearchStrategy[p.SmeAddress | p.DistributionList]:
    return st.one_of(st.builds(p.SmeAddress, u8, u8, cstr(21)), st.builds(p.DistributionList, cstr(21)))


def unsuccess_sme() -> st.SearchStrategy[p.UnsuccessSme]:
    return st.builds(p.UnsuccessSme, u8, u8, cstr(21), u32)


def field_value(kind: int, size: int) -> st.SearchStrategy[Any]:
    """Values of one mandatory field of the given schema kind and size."""
    if kind == codec.CSTR:
        return cstr(size)
    if kind == codec.U8:
        return u8
    if kind == codec.SM:
        return st.binary(max_size=size - 1)  # size counts the sm_length octet's range: 0..254
    if kind == codec.DESTS:
        return st.lists(dest_address(), max_size=4).map(tuple)
    if kind == codec.UNSUCC:
        return st.lists(unsuccess_sme(), max_size=4).map(tuple)
    raise AssertionError(f"schema kind {kind} has no strategy: add one here")


def pdu_of(cls: type[p.Pdu]) -> st.SearchStrategy[p.Pdu]:
    fields = {name: field_value(kind, size) for name, kind, size, _status in codec.SCHEMAS[cls]}
    return st.builds(cls, sequence_number=u32, command_status=u32, tlvs=tlvs(), **fields)


def any_pdu() -> st.SearchStrategy[p.Pdu]:
    return st.sampled_from(p.ALL_PDU_TYPES).flatmap(pdu_of)
