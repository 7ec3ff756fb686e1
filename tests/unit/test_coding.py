from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from smppgw.protocol.coding import (
    Alphabet,
    alphabet_of,
    best_data_coding,
    count_segments,
    decode_text,
    encode_text,
    gsm7_encodable,
    segment_count_for_text,
)

GSM_BASIC_CHARS = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION_CHARS = "\f^{}\\[~]|€"
GSM_CHARS = GSM_BASIC_CHARS + GSM_EXTENSION_CHARS
EMOJI = "\U0001f600"


def gsm_segments(text: str) -> int:
    return count_segments(0, encode_text(text, 0), has_udh=False)


def ucs2_segments(text: str) -> int:
    return count_segments(8, encode_text(text, 8), has_udh=False)


# ---- GSM 03.38 alphabet ----------------------------------------------------------------


def test_gsm_basic_alphabet_has_128_positions_minus_escape() -> None:
    assert len(GSM_BASIC_CHARS) == 127
    assert len(set(GSM_BASIC_CHARS)) == 127


@pytest.mark.parametrize(
    ("text", "octets"),
    [
        ("@", b"\x00"),
        ("$", b"\x02"),
        ("¤", b"\x24"),
        ("Hi", b"Hi"),
        ("_", b"\x11"),
        ("€", b"\x1b\x65"),
        ("{}", b"\x1b\x28\x1b\x29"),
        ("\f", b"\x1b\x0a"),
        ("\n", b"\x0a"),
        ("§", b"\x5f"),
    ],
)
def test_gsm_unpacked_septets(text: str, octets: bytes) -> None:
    assert encode_text(text, 0) == octets
    assert decode_text(0, octets) == text


def test_gsm_decode_bad_octets_become_replacement_chars() -> None:
    assert decode_text(0, b"A\x80B") == "A\ufffdB"
    assert decode_text(0, b"A\x1b") == "A\ufffd"
    assert decode_text(0, b"\x1b\x1bA") == "\ufffdA"
    # Unknown extension: shown as the default-alphabet character.
    assert decode_text(0, b"\x1bA") == "A"


def test_dc0_can_be_read_as_ascii_or_latin1() -> None:
    assert decode_text(0, b"@x") == "¡x"
    assert decode_text(0, b"@x", dc0="ascii") == "@x"
    assert decode_text(0, b"caf\xe9", dc0="latin1") == "café"
    assert decode_text(0, b"caf\xe9", dc0="ascii") == "caf\ufffd"
    assert encode_text("a@b", 0, dc0="ascii") == b"a@b"
    with pytest.raises(ValueError, match="dc0"):
        decode_text(0, b"x", dc0="utf8")


def test_gsm7_encodable() -> None:
    assert gsm7_encodable("Hello [world] €5 @home")
    assert gsm7_encodable("")
    assert not gsm7_encodable("你好")
    assert not gsm7_encodable("`")
    assert best_data_coding("Hello") == 0
    assert best_data_coding("验证码123456") == 8


@pytest.mark.parametrize(("text", "dc"), [("你好", 0), ("你好", 3), ("é", 1), (EMOJI, 4), ("`", 0)])
def test_encode_rejects_unrepresentable_text(text: str, dc: int) -> None:
    with pytest.raises(ValueError, match="position 0"):
        encode_text(text, dc)


# ---- other codings -----------------------------------------------------------------------


def test_ucs2_is_utf16be_with_surrogate_pairs() -> None:
    assert encode_text("中文", 8) == b"\x4e\x2d\x65\x87"
    assert encode_text(EMOJI, 8) == b"\xd8\x3d\xde\x00"
    assert decode_text(8, b"\xd8\x3d\xde\x00\x00A") == EMOJI + "A"
    assert decode_text(8, b"\x00A\x00") == "A\ufffd"
    assert decode_text(8, b"\xd8\x3d\x00A") == "\ufffdA"


def test_gbk_coding_15() -> None:
    assert encode_text("中文", 15) == "中文".encode("gbk")
    assert decode_text(15, "短信验证码".encode("gbk")) == "短信验证码"
    assert decode_text(15, b"\x81") == "\ufffd"


def test_latin1_ia5_binary_cyrillic() -> None:
    assert decode_text(3, b"caf\xe9") == "café"
    assert decode_text(1, b"abc") == "abc"
    assert decode_text(1, b"\xff") == "\ufffd"
    assert decode_text(4, b"\x00\xff") == "\x00\xff"
    assert decode_text(2, b"\x80") == "\x80"
    assert decode_text(6, "Привет".encode("iso8859-5")) == "Привет"


@pytest.mark.parametrize(
    ("dc", "alphabet"),
    [
        (0xF0, Alphabet.GSM7),
        (0xF1, Alphabet.GSM7),
        (0xF4, Alphabet.LATIN1),
        (0xF7, Alphabet.LATIN1),
        (0xC0, Alphabet.GSM7),
        (0xD3, Alphabet.GSM7),
        (0xE0, Alphabet.UCS2),
        (0x05, Alphabet.LATIN1),
        (0x40, Alphabet.LATIN1),
    ],
)
def test_gsm_coding_groups(dc: int, alphabet: Alphabet) -> None:
    assert alphabet_of(dc) is alphabet


def test_class_group_7bit_reads_gsm() -> None:
    assert decode_text(0xF0, b"\x00\x1b\x65") == "@€"
    assert decode_text(0xF4, b"\x00\x1b") == "\x00\x1b"


@given(st.text(alphabet=GSM_CHARS))
def test_gsm_round_trip(text: str) -> None:
    assert decode_text(0, encode_text(text, 0)) == text


@given(st.text())
def test_ucs2_round_trip(text: str) -> None:
    assert decode_text(8, encode_text(text, 8)) == text


@given(st.text())
def test_gbk_round_trip(text: str) -> None:
    assert decode_text(15, encode_text(text, 15)) == text


@given(st.binary(max_size=300), st.sampled_from(["gsm7", "latin1", "ascii"]))
def test_decode_never_raises(octets: bytes, dc0: str) -> None:
    for dc in range(256):
        assert isinstance(decode_text(dc, octets, dc0=dc0), str)


# ---- segment counting ---------------------------------------------------------------------


@pytest.mark.parametrize(("n", "parts"), [(0, 1), (1, 1), (160, 1), (161, 2), (306, 2), (307, 3), (459, 3), (460, 4)])
def test_gsm_boundaries(n: int, parts: int) -> None:
    assert gsm_segments("a" * n) == parts


def test_gsm_extension_chars_cost_two_septets() -> None:
    assert gsm_segments("a" * 158 + "€") == 1
    assert gsm_segments("a" * 159 + "€") == 2
    assert gsm_segments("€" * 80) == 1
    assert gsm_segments("€" * 81) == 2


def test_gsm_escape_pair_is_never_split_between_parts() -> None:
    # 152 + 2 + 152 = 306 septets would fit two naive parts, but the euro cannot straddle
    # parts 1 and 2, so part 1 ends after 152 septets and the message needs a third part.
    assert gsm_segments("a" * 152 + "€" + "a" * 152) == 3
    assert gsm_segments("a" * 151 + "€" + "a" * 153) == 2


@pytest.mark.parametrize(("n", "parts"), [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)])
def test_ucs2_chinese_boundaries(n: int, parts: int) -> None:
    assert ucs2_segments("中" * n) == parts
    assert segment_count_for_text("中" * n, 8) == parts


def test_ucs2_counts_utf16_code_units() -> None:
    assert ucs2_segments("中" * 68 + EMOJI) == 1
    assert ucs2_segments("中" * 69 + EMOJI) == 2


def test_ucs2_surrogate_pair_is_never_split_between_parts() -> None:
    assert ucs2_segments("中" * 66 + EMOJI + "中" * 66) == 3
    assert ucs2_segments("中" * 65 + EMOJI + "中" * 67) == 2


@pytest.mark.parametrize(("text", "parts"), [("中" * 70, 1), ("中" * 71, 2), ("中" * 134, 2), ("中" * 135, 3)])
def test_gbk_is_billed_like_ucs2(text: str, parts: int) -> None:
    assert count_segments(15, encode_text(text, 15), has_udh=False) == parts


def test_gbk_counts_characters_not_octets() -> None:
    # 100 ASCII characters are 100 GBK octets (one 8-bit SMS) but 100 UCS2 code units (two).
    assert count_segments(15, b"a" * 100, has_udh=False) == 2
    assert count_segments(3, b"a" * 100, has_udh=False) == 1


@pytest.mark.parametrize("dc", [1, 2, 3, 4, 0xF4])
@pytest.mark.parametrize(("n", "parts"), [(0, 1), (140, 1), (141, 2), (268, 2), (269, 3)])
def test_octet_codings(dc: int, n: int, parts: int) -> None:
    assert count_segments(dc, b"x" * n, has_udh=False) == parts


def test_class_group_picks_the_limit() -> None:
    assert count_segments(0xF0, b"x" * 150, has_udh=False) == 1
    assert count_segments(0xF4, b"x" * 150, has_udh=False) == 2


@pytest.mark.parametrize("dc", [0, 3, 8, 15])
def test_empty_message_is_one_segment(dc: int) -> None:
    assert count_segments(dc, b"", has_udh=False) == 1


@pytest.mark.parametrize("dc", [0, 4, 8, 15])
def test_a_client_split_part_is_one_segment(dc: int) -> None:
    assert count_segments(dc, b"\x05\x00\x03\x01\x02\x01" + b"\x00a" * 200, has_udh=True) == 1


def test_segment_count_for_text_rejects_unencodable() -> None:
    with pytest.raises(ValueError, match="GSM"):
        segment_count_for_text("中", 0)


@given(st.text(alphabet=GSM_CHARS, max_size=1200))
def test_gsm_count_is_enough_to_hold_the_septets(text: str) -> None:
    septets = len(encode_text(text, 0))
    parts = gsm_segments(text)
    assert parts == 1 or septets > 160
    assert parts * 153 >= septets or parts == 1
    # An escape pair can waste at most one septet per part boundary.
    assert parts <= 1 + -(-septets // 152)


def _septet_by_septet(octets: bytes) -> str:
    """GSM 03.38 read one octet at a time, as the reference for the decoder's faster paths."""
    basic = GSM_BASIC_CHARS[:0x1B] + "\x1b" + GSM_BASIC_CHARS[0x1B:]
    extension = dict(zip(b"\x0a\x14\x28\x29\x2f\x3c\x3d\x3e\x40\x65", GSM_EXTENSION_CHARS, strict=True))
    out, i = [], 0
    while i < len(octets):
        b, i = octets[i], i + 1
        if b == 0x1B:
            if i == len(octets):
                out.append("\ufffd")
                break
            nxt, i = octets[i], i + 1
            out.append(extension.get(nxt) or (basic[nxt] if nxt < 0x80 and nxt != 0x1B else "\ufffd"))
        else:
            out.append(basic[b] if b < 0x80 else "\ufffd")
    return "".join(out)


@given(st.binary(max_size=200))
def test_gsm_decode_of_any_octets_matches_the_septet_by_septet_reading(octets: bytes) -> None:
    assert decode_text(0, octets) == _septet_by_septet(octets)
    without_escape = octets.replace(b"\x1b", b"")
    assert decode_text(0, without_escape) == _septet_by_septet(without_escape)


def _greedy_parts(units: list[int], single: int, part: int) -> int:
    """Parts of indivisible units filled greedily: the reference for the counting shortcuts."""
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > part:
            parts, used = parts + 1, 0
        used += size
    return parts


@given(st.binary(max_size=700), st.sampled_from([0, 3, 8, 0xF0]))
@example(b"a" * 161, 0)
@example(b"a" * 307, 0)
@example(b"a" * 152 + b"\x1b\x65" + b"a" * 10, 0)
@example(b"a" * 141, 3)
@example(b"\x00a" * 71, 8)
def test_segment_count_of_any_octets_matches_greedy_packing(octets: bytes, dc: int) -> None:
    if dc == 8:
        words = [int.from_bytes(octets[i : i + 2], "big") for i in range(0, len(octets), 2)]
        units, i = [], 0
        while i < len(words):
            pair = 0xD800 <= words[i] <= 0xDBFF and i + 1 < len(words) and 0xDC00 <= words[i + 1] <= 0xDFFF
            units.append(2 if pair else 1)
            i += 2 if pair else 1
        expected = _greedy_parts(units, 70, 67)
    elif dc == 3:
        expected = _greedy_parts([1] * len(octets), 140, 134)
    else:
        units, i = [], 0
        while i < len(octets):
            escape = octets[i] == 0x1B and i + 1 < len(octets)
            units.append(2 if escape else 1)
            i += 2 if escape else 1
        expected = _greedy_parts(units, 160, 153)
    assert count_segments(dc, octets, has_udh=False) == expected
