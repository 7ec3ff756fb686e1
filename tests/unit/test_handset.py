"""The handset's view: parts read from accepted messages, put together as a phone would, decoded,
and every cause of a broken long message named; the inbox's bounds."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from smppgw.handset import Cause, HandsetInbox, Method, ReceivedPart, reassemble, received
from smppgw.handset.text import decode, signature_of
from smppgw.model import Message
from smppgw.protocol.constants import Tag
from smppgw.protocol.pdu import Tlv

MSISDN = "8613800138000"


def message(body: bytes, *, esm_class: int = 0, data_coding: int = 8, account: str = "demo", n: int = 1,
            source: str = "10690000") -> Message:  # fmt: skip
    return Message(
        message_id=f"m{n}", account=account, source_addr=source, source_ton=0, source_npi=1,
        destination_addr="13800138000", dest_ton=1, dest_npi=1, msisdn=MSISDN, carrier="CMCC",
        home_carrier="CMCC", segments=1, price=40, charge=40, data_coding=data_coding, esm_class=esm_class,
        body=body, registered_delivery=0, submitted_at=0.0, validity_until=None,
    )  # fmt: skip


def udh8(ref: int, total: int, seq: int, body: bytes, **kw: object) -> ReceivedPart:
    return received(message(bytes([5, 0, 3, ref, total, seq]) + body, esm_class=0x40, **kw), (), float(seq))  # type: ignore[arg-type]


def udh16(ref: int, total: int, seq: int, body: bytes, **kw: object) -> ReceivedPart:
    head = bytes([6, 8, 4, ref >> 8, ref & 0xFF, total, seq])
    return received(message(head + body, esm_class=0x40, **kw), (), float(seq))  # type: ignore[arg-type]


def sar(ref: int, total: int, seq: int, body: bytes, **kw: object) -> ReceivedPart:
    tlvs = (
        Tlv(Tag.SAR_MSG_REF_NUM, ref.to_bytes(2, "big")),
        Tlv(Tag.SAR_TOTAL_SEGMENTS, bytes([total])),
        Tlv(Tag.SAR_SEGMENT_SEQNUM, bytes([seq])),
    )
    return received(message(body, **kw), tlvs, float(seq))  # type: ignore[arg-type]


def ucs2(text: str) -> bytes:
    return text.encode("utf-16-be")


def causes(parts: list[ReceivedPart]) -> list[set[Cause]]:
    return [{p.cause for p in m.problems} for m in reassemble(parts)]


# ---- reading parts ------------------------------------------------------------------------------


def test_udh_8_and_16_bit_and_sar_parts_are_read() -> None:
    assert (udh8(7, 2, 1, b"x").method, udh8(7, 2, 1, b"x").reference) == (Method.UDH8, 7)
    part = udh16(0x1234, 3, 2, ucs2("中"))
    assert (part.method, part.reference, part.total, part.part, part.body) == (Method.UDH16, 0x1234, 3, 2, ucs2("中"))
    part = sar(300, 2, 2, b"ab", data_coding=0)
    assert (part.method, part.reference, part.total, part.part, part.body) == (Method.SAR, 300, 2, 2, b"ab")


def test_message_payload_is_one_message() -> None:
    text = "长" * 200
    part = received(message(ucs2(text)), (Tlv(Tag.MESSAGE_PAYLOAD, ucs2(text)),), 1.0)
    assert part.method is Method.PAYLOAD
    [shown] = reassemble([part])
    assert shown.text == text and not shown.problems


# ---- long messages put together ---------------------------------------------------------------


def test_ucs2_by_udh_in_any_order_reads_as_one_text_with_its_signature() -> None:
    text = "【演示】您的验证码是123456，请勿告诉他人。" * 6
    chunks = [ucs2(text[i : i + 67]) for i in range(0, len(text), 67)]
    parts = [udh8(42, len(chunks), i + 1, c) for i, c in enumerate(chunks)]
    [shown] = reassemble(list(reversed(parts)))
    assert shown.text == text and shown.complete and not shown.problems
    assert shown.signature == ("【演示】", "start")


def test_a_surrogate_pair_split_between_parts_is_one_character() -> None:
    octets = ucs2("ok😀")
    [shown] = reassemble([udh8(1, 2, 1, octets[:6]), udh8(1, 2, 2, octets[6:])])
    assert shown.text == "ok😀"


def test_sar_gsm7_with_an_escape_split_between_parts() -> None:
    octets = b"price 10\x1b\x65"  # € is escape + 0x65
    [shown] = reassemble([sar(9, 2, 1, octets[:9], data_coding=0), sar(9, 2, 2, octets[9:], data_coding=0)])
    assert shown.text == "price 10€" and shown.method is Method.SAR


def test_a_reference_used_again_after_a_complete_message_starts_a_new_one() -> None:
    first = [udh8(5, 2, 1, ucs2("ab")), udh8(5, 2, 2, ucs2("cd"))]
    second = [udh8(5, 2, 1, ucs2("ef")), udh8(5, 2, 2, ucs2("gh"))]
    assert [m.text for m in reassemble(first + second)] == ["abcd", "efgh"]


def test_8_bit_and_16_bit_references_of_the_same_number_are_different_messages() -> None:
    parts = [udh8(5, 2, 1, ucs2("a")), udh16(5, 2, 1, ucs2("b")), udh8(5, 2, 2, ucs2("c")), udh16(5, 2, 2, ucs2("d"))]
    assert [m.text for m in reassemble(parts)] == ["ac", "bd"]


# ---- every cause of a broken long message ---------------------------------------------------------


def test_missing_part() -> None:
    [shown] = reassemble([udh8(1, 3, 1, ucs2("a")), udh8(1, 3, 3, ucs2("c"))])
    assert [(p.cause, p.detail) for p in shown.problems] == [(Cause.MISSING_PART, "part 2 of 3 has not arrived")]
    assert shown.text == "ac" and shown.missing == (2,)


def test_mixed_references_are_shown_as_one_message() -> None:
    [shown] = reassemble([udh8(1, 2, 1, ucs2("a")), udh8(2, 2, 2, ucs2("b"))])
    assert {p.cause for p in shown.problems} == {Cause.MIXED_REFERENCES}
    assert shown.text == "ab" and shown.complete
    assert "part 1 has reference 1 (8-bit UDH); part 2 has reference 2 (8-bit UDH)" in shown.problems[0].detail


def test_udh_and_sar_mixed_is_mixed_references() -> None:
    assert causes([udh8(1, 2, 1, ucs2("a")), sar(1, 2, 2, ucs2("b"))]) == [{Cause.MIXED_REFERENCES}]


def test_mixed_codings_each_part_decoded_in_its_own() -> None:
    [shown] = reassemble([udh8(1, 2, 1, ucs2("中"), data_coding=8), udh8(1, 2, 2, b"abc", data_coding=0)])
    assert {p.cause for p in shown.problems} == {Cause.MIXED_CODINGS}
    assert shown.text == "中abc"
    assert "part 1 is data_coding 8 (UCS2); part 2 is data_coding 0" in shown.problems[0].detail


def test_a_part_count_that_changes() -> None:
    [shown] = reassemble([udh8(1, 2, 1, ucs2("a")), udh8(1, 3, 2, ucs2("b"))])
    assert {p.cause for p in shown.problems} == {Cause.PART_COUNT_CHANGED, Cause.MISSING_PART}
    detail = {p.cause: p.detail for p in shown.problems}
    assert detail[Cause.PART_COUNT_CHANGED] == "the part count changes: part 1 says 2; part 2 says 3"
    assert detail[Cause.MISSING_PART] == "part 3 of 3 has not arrived"


def test_parts_from_several_accounts() -> None:
    [shown] = reassemble([udh8(1, 2, 1, ucs2("a"), account="demo"), udh8(1, 2, 2, ucs2("b"), account="demo2")])
    assert [(p.cause, p.detail) for p in shown.problems] == [
        (Cause.SEVERAL_ACCOUNTS, "parts submitted by several accounts: part 1 from demo; part 2 from demo2")
    ]


def test_a_duplicate_part_identical_or_not() -> None:
    same = [udh8(1, 2, 1, ucs2("a")), udh8(1, 2, 2, ucs2("b")), udh8(1, 2, 2, ucs2("b"))]
    [shown] = reassemble(same)
    assert [(p.cause, p.detail) for p in shown.problems] == [(Cause.DUPLICATE_PART, "part 2 arrived 2 times")]
    assert shown.text == "ab"
    other = [udh8(1, 3, 1, ucs2("a")), udh8(1, 3, 1, ucs2("x")), udh8(1, 3, 2, ucs2("b")), udh8(1, 3, 3, ucs2("c"))]
    [shown] = reassemble(other)
    assert [p.detail for p in shown.problems] == ["part 1 arrived 2 times with different content"]


def test_a_single_message_is_never_broken() -> None:
    [shown] = reassemble([received(message(b"hello", data_coding=0), (), 1.0)])
    assert shown.text == "hello" and not shown.problems and shown.method is Method.SINGLE


# ---- codings ------------------------------------------------------------------------------------


def test_codings_the_gateway_accepts_are_shown() -> None:
    assert decode(0, b"\x00\x02abc").text == "@$abc"  # GSM 03.38: 0x00 is @, 0x02 is $
    assert decode(0, b"caf\xe9", dc0="latin1").text == "café"
    assert decode(3, b"caf\xe9").text == "café"
    assert decode(8, ucs2("中文")).text == "中文"
    assert decode(0x0F, "中文".encode("gb18030")).text == "中文"
    assert decode(6, "мир".encode("iso8859-5")).text == "мир"
    assert decode(0x0E, "한국".encode("euc_kr")).text == "한국"
    assert decode(0x05, "日本".encode("iso2022_jp")[3:-3]).text == "日本"
    assert decode(0x0A, "日本".encode("iso2022_jp")).text == "日本"
    assert decode(0x19, ucs2("x")).text is not None  # reserved: octets shown one for one


def test_binary_is_shown_as_hex() -> None:
    for coding in (0x02, 0x04, 0xF5):
        shown = decode(coding, b"\x01\xab")
        assert (shown.text, shown.hex) == (None, "01ab")
    [m] = reassemble([udh8(3, 2, 1, b"\x00\x01", data_coding=4), udh8(3, 2, 2, b"\xff", data_coding=4)])
    assert m.hex == "0001ff" and m.text is None


def test_signature_at_start_or_end_or_none() -> None:
    assert signature_of("【演示】hello") == ("【演示】", "start")
    assert signature_of("hello【演示】") == ("【演示】", "end")
    assert signature_of("hello") is None


# ---- properties and bounds ----------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(text=st.text(alphabet=st.characters(codec="utf-16", exclude_categories=("Cs",)), min_size=1, max_size=300),
       size=st.integers(1, 67), seed=st.integers(0, 2**16), kind=st.sampled_from(["udh8", "udh16", "sar"]))  # fmt: skip
def test_any_split_in_any_order_reads_back(text: str, size: int, seed: int, kind: str) -> None:
    octets = ucs2(text)
    chunks = [octets[i : i + 2 * size] for i in range(0, len(octets), 2 * size)][:255]
    make = {"udh8": udh8, "udh16": udh16, "sar": sar}[kind]
    parts = [make(77, len(chunks), i + 1, c) for i, c in enumerate(chunks)]
    random.Random(seed).shuffle(parts)
    [shown] = reassemble(parts)
    assert shown.text == octets[: sum(len(c) for c in chunks)].decode("utf-16-be") and not shown.problems


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 400)), max_size=300),
       st.integers(1, 10), st.integers(1, 40), st.integers(300, 20_000))  # fmt: skip
def test_the_inbox_keeps_its_bounds_and_drops_the_oldest(
    arrivals: list[tuple[int, int]], per_number: int, max_parts: int, max_bytes: int
) -> None:
    inbox = HandsetInbox(per_number=per_number, max_parts=max_parts, max_bytes=max_bytes)
    all_parts = []
    for n, (number, size) in enumerate(arrivals):
        m = message(b"x" * size, data_coding=4, n=n)
        part = received(m, (), float(n))
        part = ReceivedPart(**{**{f: getattr(part, f) for f in part.__slots__}, "msisdn": f"86138000000{number:02d}"})  # type: ignore[arg-type]
        inbox.add(part)
        all_parts.append(part)
        assert inbox.parts <= max_parts and inbox.bytes <= max_bytes
        kept = [p for k in range(6) for p in inbox.received(f"86138000000{k:02d}")]
        assert len(kept) == inbox.parts and sum(p.size for p in kept) == inbox.bytes
        for k in range(6):
            mine = [p for p in all_parts if p.msisdn == f"86138000000{k:02d}"]
            got = inbox.received(f"86138000000{k:02d}")
            assert len(got) <= per_number
            assert list(got) == mine[len(mine) - len(got) :]  # the newest are kept, oldest dropped
    assert inbox.dropped == len(arrivals) - inbox.parts


def test_an_accepted_message_is_read_when_its_number_is_asked_for() -> None:
    inbox = HandsetInbox()
    inbox.accepted(message(bytes([5, 0, 3, 1, 2, 2]) + ucs2("界"), esm_class=0x40, n=2), (), 2.0)
    inbox.accepted(message(bytes([5, 0, 3, 1, 2, 1]) + ucs2("世"), esm_class=0x40, n=1), (), 1.0)
    [shown] = inbox.messages(MSISDN)
    assert shown.text == "世界" and [p.message_id for p in shown.parts] == ["m1", "m2"]
    assert inbox.numbers_by_recent() == [(MSISDN, 2, 1.0)]  # ordered by the last arrival, as it came
    assert inbox.messages("8613900000000") == []
