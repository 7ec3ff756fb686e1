from __future__ import annotations

import pytest
import smpplib.consts
import smpplib.gsm

from smppgw.protocol.codec import decode, encode
from smppgw.protocol.coding import count_segments
from smppgw.protocol.concat import ConcatInfo, concat_info, split_udh
from smppgw.protocol.constants import Tag
from smppgw.protocol.pdu import SubmitSm, Tlv, int_tlv

UDHI = 0x40


def sar(ref: int, total: int, seqnum: int) -> list[Tlv]:
    return [
        int_tlv(Tag.SAR_MSG_REF_NUM, ref, 2),
        int_tlv(Tag.SAR_TOTAL_SEGMENTS, total),
        int_tlv(Tag.SAR_SEGMENT_SEQNUM, seqnum),
    ]


def test_split_udh() -> None:
    assert split_udh(b"\x05\x00\x03\x2a\x03\x02hello") == (b"\x05\x00\x03\x2a\x03\x02", b"hello")
    assert split_udh(b"\x00body") == (b"\x00", b"body")
    assert split_udh(b"\x02\x00\x00") == (b"\x02\x00\x00", b"")


@pytest.mark.parametrize("sm", [b"", b"\x05\x00\x03\x2a\x03", b"\xffabc"])
def test_split_udh_rejects_overlong_header(sm: bytes) -> None:
    with pytest.raises(ValueError, match="UDH"):
        split_udh(sm)


def test_udh_8bit_reference() -> None:
    info = concat_info(UDHI, b"\x05\x00\x03\x2a\x03\x02hello", ())
    assert info == ConcatInfo(ref=0x2A, total=3, seqnum=2, ref_bits=8)


def test_udh_16bit_reference() -> None:
    info = concat_info(UDHI | 0x03, b"\x06\x08\x04\x12\x34\x02\x01body", ())
    assert info == ConcatInfo(ref=0x1234, total=2, seqnum=1, ref_bits=16)


def test_udh_concat_next_to_port_addressing() -> None:
    sm = b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x07\x02\x02wap"
    assert concat_info(UDHI, sm, ()) == ConcatInfo(ref=7, total=2, seqnum=2, ref_bits=8)


def test_udh_without_concat_element_is_a_single_message() -> None:
    assert concat_info(UDHI, b"\x06\x05\x04\x0b\x84\x23\xf0wap", ()) is None


def test_no_udhi_means_the_octets_are_text() -> None:
    assert concat_info(0x03, b"\x05\x00\x03\x2a\x03\x02hello", ()) is None
    assert concat_info(0, b"plain", ()) is None


@pytest.mark.parametrize(
    ("sm", "reason"),
    [
        (b"\x05\x00\x03\x2a\x00\x01x", "total is 0"),
        (b"\x05\x00\x03\x2a\x03\x00x", "part number is 0"),
        (b"\x05\x00\x03\x2a\x03\x04x", "part 4 is beyond the total of 3"),
        (b"\x06\x08\x04\x00\x01\x02\x03x", "part 3 is beyond the total of 2"),
        (b"\x04\x00\x02\x2a\x03x", "length 2, expected 3"),
        (b"\x06\x08\x04\x00\x01\x02", "runs past"),
        (b"\x05\x00\x04\x2a\x03\x01x", "runs past the header"),
        (b"\x01\x00x", "inside an information element header"),
        (b"", "empty"),
    ],
)
def test_malformed_udh(sm: bytes, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        concat_info(UDHI, sm, ())


def test_sar_tlvs() -> None:
    assert concat_info(0, b"text", sar(0xBEEF, 3, 3)) == ConcatInfo(ref=0xBEEF, total=3, seqnum=3, ref_bits=0)


def test_udh_wins_over_sar() -> None:
    info = concat_info(UDHI, b"\x05\x00\x03\x2a\x03\x02x", sar(9, 2, 1))
    assert info is not None
    assert info.ref_bits == 8
    assert info.ref == 0x2A


@pytest.mark.parametrize(
    ("tlvs", "reason"),
    [
        (sar(1, 0, 1), "total is 0"),
        (sar(1, 2, 0), "part number is 0"),
        (sar(1, 2, 3), "beyond the total"),
        (sar(1, 2, 1)[:2], "sar_segment_seqnum missing"),
        (sar(1, 2, 1)[1:], "sar_msg_ref_num missing"),
        ([Tlv(Tag.SAR_MSG_REF_NUM, b"\x01"), *sar(1, 2, 1)[1:]], "length 1, expected 2"),
    ],
)
def test_malformed_sar(tlvs: list[Tlv], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        concat_info(0, b"text", tlvs)


def test_sar_read_from_a_decoded_submit_sm() -> None:
    pdu = SubmitSm(sequence_number=5, destination_addr="13800138000", short_message=b"part", tlvs=tuple(sar(77, 4, 2)))
    decoded = decode(encode(pdu))
    assert isinstance(decoded, SubmitSm)
    assert concat_info(decoded.esm_class, decoded.short_message, decoded.tlvs) == ConcatInfo(77, 4, 2, 0)


@pytest.mark.parametrize(("text", "dc"), [("a" * 400, 0), ("中" * 150, 8)])
def test_smpplib_long_message_parts(text: str, dc: int) -> None:
    encoding = smpplib.consts.SMPP_ENCODING_DEFAULT if dc == 0 else smpplib.consts.SMPP_ENCODING_ISO10646
    parts, _, esm_class = smpplib.gsm.make_parts(text, encoding)
    infos = [concat_info(esm_class, part, ()) for part in parts]
    assert None not in infos
    assert [i.seqnum for i in infos if i] == list(range(1, len(parts) + 1))
    assert len({(i.ref, i.total, i.ref_bits) for i in infos if i}) == 1
    assert all(i.total == len(parts) and i.ref_bits == 8 for i in infos if i)
    # Billing agrees with the client's own split: one SMS per part it sent.
    whole = b"".join(split_udh(part)[1] for part in parts)
    assert count_segments(dc, whole, has_udh=False) == len(parts)
    assert all(count_segments(dc, part, has_udh=True) == 1 for part in parts)
