"""Msg_Content as text by Msg_Fmt, and long messages: parts by UDH (8- and 16-bit references)
or by Pk_total/Pk_number, reassembled in any order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smppgw.cmpp.longmsg import Part, Reassembler, part_of, split
from smppgw.cmpp.text import choose_fmt, decode_text, encode_text


@pytest.mark.parametrize(
    ("fmt", "data", "text"),
    [
        (0, b"hello", "hello"),
        (8, "你好".encode("utf-16-be"), "你好"),
        (15, "你好".encode("gbk"), "你好"),
        (4, b"\x00\xff", "\x00\xff"),  # binary: octet for octet
    ],
)
def test_decode_text_by_format(fmt: int, data: bytes, text: str) -> None:
    assert decode_text(fmt, data) == text
    assert encode_text(text, fmt) == data


def test_undecodable_octets_become_replacement_characters() -> None:
    assert decode_text(8, b"\x4f") == "\ufffd"  # an odd octet in UCS2
    assert decode_text(0, b"\xff") == "\ufffd"


def test_choose_fmt() -> None:
    assert (choose_fmt("hi"), choose_fmt("你好")) == (0, 8)


def test_udh_parts_with_8_and_16_bit_references() -> None:
    assert part_of(1, 3, 2, bytes((5, 0, 3, 0xAB, 3, 2)) + b"body") == Part(3, 2, 0xAB, 8, b"body")
    assert part_of(1, 0, 0, bytes((6, 8, 4, 0x12, 0x34, 2, 1)) + b"x") == Part(2, 1, 0x1234, 16, b"x")


def test_pk_fields_alone_mark_a_part_without_a_reference() -> None:
    assert part_of(0, 2, 2, b"tail") == Part(2, 2, None, 0, b"tail")
    assert part_of(0, 0, 0, b"one").is_single  # some clients send 0/0 for one part
    assert part_of(1, 1, 1, bytes((3, 0x05, 1, 9)) + b"x") == Part(1, 1, None, 0, b"x")  # ports only


@pytest.mark.parametrize(
    ("udhi", "total", "number", "content"),
    [
        (1, 1, 1, b""),
        (1, 1, 1, b"\x09\x00\x03"),  # UDH longer than the content
        (1, 1, 1, bytes((5, 0, 2, 1, 2, 1))),  # 8-bit element of length 2
        (1, 1, 1, bytes((5, 0, 3, 1, 2, 3))),  # part 3 of 2
        (1, 1, 1, bytes((5, 0, 3, 1, 0, 0))),
        (0, 2, 3, b"x"),
    ],
)
def test_malformed_parts_are_refused(udhi: int, total: int, number: int, content: bytes) -> None:
    with pytest.raises(ValueError):
        part_of(udhi, total, number, content)


@given(st.binary(min_size=1, max_size=700), st.integers(0, 0xFFFF), st.sampled_from([8, 16]), st.randoms())
def test_split_then_reassemble_in_any_order(body: bytes, ref: int, bits: int, rnd: object) -> None:
    contents = split(body, ref, 134 if bits == 8 else 132, ref_bits=bits)
    parts = [part_of(1 if len(contents) > 1 else 0, 0, 0, c) for c in contents]
    rnd.shuffle(parts)  # type: ignore[attr-defined]
    assembler = Reassembler()
    results = [assembler.add(("acct", "106", "138"), part, now=0.0) for part in parts]
    assert results[-1] == body
    assert all(r is None for r in results[:-1])
    assert len(assembler) == 0


def test_parts_of_different_messages_do_not_mix_and_old_ones_expire() -> None:
    assembler = Reassembler(max_age=60, max_groups=2)
    assert assembler.add("a", Part(2, 1, 7, 8, b"A1"), now=0) is None
    assert assembler.add("b", Part(2, 2, 7, 8, b"B2"), now=10) is None
    assert assembler.next_deadline() == 60
    assert assembler.add("a", Part(2, 2, 7, 8, b"A2"), now=20) == b"A1A2"
    assert assembler.expire(now=70) == ["b"]
    assert len(assembler) == 0
    for key in ("x", "y", "z"):  # the oldest group goes when the bound is reached
        assembler.add(key, Part(2, 1, 1, 8, b""), now=0)
    assert len(assembler) == 2
