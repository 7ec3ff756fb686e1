"""Hypothesis strategies for CMPP packets, derived from ``codec.LAYOUTS``.

Every value keeps to the limits and checks the layout states, so whatever these build must
survive ``decode(encode(x, v), v) == x``.  A packet type or field added to a layout is covered
without touching this module.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from smppgw.cmpp import codec
from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import Check, Field, Kind
from smppgw.cmpp.constants import Version

VERSIONS = st.sampled_from(list(Version))
u32 = st.integers(0, 0xFFFF_FFFF)


def string(size: int, check: Check) -> st.SearchStrategy[str]:
    if check is Check.TEXT:  # any octet but NUL (NUL is the padding)
        return st.text(st.characters(min_codepoint=1, max_codepoint=0xFF), max_size=size)
    if check is Check.PRINTABLE:
        return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=size)
    if check is Check.DIGITS:
        return st.text(st.sampled_from("0123456789"), max_size=size)
    digits = st.text(st.sampled_from("0123456789"), min_size=1, max_size=size - 1)
    return st.tuples(st.sampled_from(["", "+"]), digits).map("".join)


def _value(draw: st.DrawFn, f: Field, version: Version, values: dict[str, Any]) -> Any:
    kind = f.kind
    if kind is Kind.U8:
        return draw(st.integers(0, 0xFF))
    if kind is Kind.U32:
        return draw(u32)
    if kind is Kind.U64:
        return draw(st.integers(0, (1 << 64) - 1))
    if kind is Kind.RESULT:
        return draw(st.integers(0, (1 << (8 * f.size)) - 1))
    if kind is Kind.STR:
        return draw(string(f.size, f.check))
    if kind is Kind.OCTETS:
        return draw(st.binary(min_size=f.size, max_size=f.size))
    if kind is Kind.DESTS:
        return tuple(draw(st.lists(string(f.size, f.check), min_size=1, max_size=5)))
    content = st.binary(max_size=codec.content_limit(values["msg_fmt"]))
    if kind is Kind.CONTENT:
        return draw(content)
    return draw(st.one_of(content, report(version)))


def report(version: Version) -> st.SearchStrategy[pk.StatusReport]:
    @st.composite
    def build(draw: st.DrawFn) -> pk.StatusReport:
        values: dict[str, Any] = {}
        for f in codec.REPORT_LAYOUTS[version]:
            values[f.name] = _value(draw, f, version, values)
        return pk.StatusReport(**values)

    return build()


def packet_of(cls: type[pk.Packet], version: Version) -> st.SearchStrategy[pk.Packet]:
    @st.composite
    def build(draw: st.DrawFn) -> pk.Packet:
        values: dict[str, Any] = {"sequence_id": draw(u32)}
        for f in codec.LAYOUTS[version][cls]:
            values[f.name] = _value(draw, f, version, values)
        return cls(**values)

    return build()


def any_packet(version: Version) -> st.SearchStrategy[pk.Packet]:
    return st.sampled_from(pk.ALL_PACKET_TYPES).flatmap(lambda cls: packet_of(cls, version))
