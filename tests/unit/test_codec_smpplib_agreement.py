"""Byte-for-byte agreement with PDUs built and parsed by the smpplib client library.

smpplib is what many customers script against, so what it sends must decode to the fields it
meant, re-encode to the same octets, and what we send must read back in smpplib unchanged.
(smpplib has no cancel_sm, replace_sm, submit_multi or outbind: test_codec checks those
against octets written from the spec.)
"""

from __future__ import annotations

from typing import Any

import pytest
import smpplib.exceptions
import smpplib.smpp

from smppgw.model import MessageState
from smppgw.protocol import pdu as p
from smppgw.protocol.codec import decode, encode
from smppgw.protocol.constants import CommandStatus, Tag
from smppgw.protocol.errors import PduDecodeError


class Client:
    """The little of smpplib.client.Client that make_pdu/parse_pdu touch: the sequence counter."""

    sequence = 0

    def next_sequence(self) -> int:
        self.sequence += 1
        return self.sequence


def smpplib_wire(command: str, seq: int, **fields: Any) -> bytes:
    pdu = smpplib.smpp.make_pdu(command, client=Client(), **fields)
    pdu.sequence = seq  # make_pdu ignores a sequence= keyword when the client has a counter
    data: bytes = pdu.generate()
    return data


def smpplib_parse(data: bytes, **options: Any) -> Any:
    return smpplib.smpp.parse_pdu(data, client=Client(), **options)


UCS2_TEXT = "【示例科技】您的验证码是123456".encode("utf-16-be")

# (smpplib command, its keyword arguments, the PDU our codec must decode the octets to)
FROM_SMPPLIB: list[tuple[str, dict[str, Any], p.Pdu]] = [
    (
        "bind_transceiver",
        {"system_id": "acct01", "password": "secret08", "system_type": "SMS", "addr_ton": 1, "addr_npi": 1},
        p.BindTransceiver(
            sequence_number=1, system_id="acct01", password="secret08", system_type="SMS", addr_ton=1, addr_npi=1
        ),
    ),
    (
        "bind_transmitter",
        {"system_id": "acct01", "password": "pw", "address_range": "^106"},
        p.BindTransmitter(sequence_number=1, system_id="acct01", password="pw", address_range="^106"),
    ),
    (
        "submit_sm",
        {
            "source_addr_ton": 0,
            "source_addr_npi": 1,
            "source_addr": "1065012345",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": "8613800138000",
            "registered_delivery": 1,
            "data_coding": 8,
            "short_message": UCS2_TEXT,
        },
        p.SubmitSm(
            sequence_number=1,
            source_addr_npi=1,
            source_addr="1065012345",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="8613800138000",
            registered_delivery=1,
            data_coding=8,
            short_message=UCS2_TEXT,
        ),
    ),
    (
        "submit_sm",
        {
            "source_addr": "1065",
            "destination_addr": "13800138000",
            "esm_class": 0,
            "data_coding": 8,
            "short_message": UCS2_TEXT[:20],
            "user_message_reference": 0xBEEF,
            "sar_msg_ref_num": 300,
            "sar_total_segments": 2,
            "sar_segment_seqnum": 1,
        },
        p.SubmitSm(
            sequence_number=1,
            source_addr="1065",
            destination_addr="13800138000",
            data_coding=8,
            short_message=UCS2_TEXT[:20],
            # smpplib writes TLVs in its own fixed order, which we must keep on re-encoding.
            tlvs=(
                p.int_tlv(Tag.USER_MESSAGE_REFERENCE, 0xBEEF, 2),
                p.int_tlv(Tag.SAR_MSG_REF_NUM, 300, 2),
                p.int_tlv(Tag.SAR_TOTAL_SEGMENTS, 2),
                p.int_tlv(Tag.SAR_SEGMENT_SEQNUM, 1),
            ),
        ),
    ),
    (
        "submit_sm",
        {"source_addr": "1065", "destination_addr": "13800138000", "data_coding": 8, "message_payload": UCS2_TEXT * 9},
        p.SubmitSm(
            sequence_number=1,
            source_addr="1065",
            destination_addr="13800138000",
            data_coding=8,
            tlvs=(p.Tlv(Tag.MESSAGE_PAYLOAD, UCS2_TEXT * 9),),
        ),
    ),
    (
        "data_sm",
        {"source_addr": "1065", "destination_addr": "13800138000", "message_payload": b"x" * 300},
        p.DataSm(
            sequence_number=1,
            source_addr="1065",
            destination_addr="13800138000",
            tlvs=(p.Tlv(Tag.MESSAGE_PAYLOAD, b"x" * 300),),
        ),
    ),
    (
        "query_sm",
        {"message_id": "0A1B2C3D", "source_addr_ton": 0, "source_addr_npi": 1, "source_addr": "1065"},
        p.QuerySm(sequence_number=1, message_id="0A1B2C3D", source_addr_npi=1, source_addr="1065"),
    ),
    ("enquire_link", {}, p.EnquireLink(sequence_number=1)),
    ("enquire_link_resp", {}, p.EnquireLinkResp(sequence_number=1)),
    ("unbind", {}, p.Unbind(sequence_number=1)),
    ("unbind_resp", {}, p.UnbindResp(sequence_number=1)),
    ("generic_nack", {"status": CommandStatus.ESME_RINVCMDID}, p.GenericNack(sequence_number=1, command_status=3)),
    ("deliver_sm_resp", {}, p.DeliverSmResp(sequence_number=1)),
    ("submit_sm_resp", {"message_id": "0A1B2C3D"}, p.SubmitSmResp(sequence_number=1, message_id="0A1B2C3D")),
    (
        "bind_transceiver_resp",
        {"system_id": "SMSC", "sc_interface_version": 0x34},
        p.BindTransceiverResp(sequence_number=1, system_id="SMSC", tlvs=(p.int_tlv(Tag.SC_INTERFACE_VERSION, 0x34),)),
    ),
    (
        "query_sm_resp",
        {"message_id": "0A1B2C3D", "message_state": 2, "error_code": 0},
        p.QuerySmResp(sequence_number=1, message_id="0A1B2C3D", message_state=2),
    ),
    (
        "deliver_sm",
        {
            "source_addr": "13800138000",
            "destination_addr": "1065",
            "esm_class": 0x04,
            "short_message": b"id:0A1B2C3D sub:001 dlvrd:001 stat:DELIVRD err:000 text:",
            "receipted_message_id": "0A1B2C3D",
            "message_state": 2,
            "network_error_code": b"\x03\x00\x00",
        },
        p.DeliverSm(
            sequence_number=1,
            source_addr="13800138000",
            destination_addr="1065",
            esm_class=0x04,
            short_message=b"id:0A1B2C3D sub:001 dlvrd:001 stat:DELIVRD err:000 text:",
            tlvs=(
                p.Tlv(Tag.NETWORK_ERROR_CODE, b"\x03\x00\x00"),
                p.int_tlv(Tag.MESSAGE_STATE, 2),
                p.cstr_tlv(Tag.RECEIPTED_MESSAGE_ID, "0A1B2C3D"),
            ),
        ),
    ),
    (
        "alert_notification",
        {"source_addr": "13800138000", "esme_addr": "1065", "ms_availability_status": 0},
        p.AlertNotification(
            sequence_number=1,
            source_addr="13800138000",
            esme_addr="1065",
            tlvs=(p.int_tlv(Tag.MS_AVAILABILITY_STATUS, 0),),
        ),
    ),
]


@pytest.mark.parametrize(
    ("command", "fields", "expected"), FROM_SMPPLIB, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(FROM_SMPPLIB)]
)
def test_pdu_built_by_smpplib_decodes_and_reencodes_byte_for_byte(
    command: str, fields: dict[str, Any], expected: p.Pdu
) -> None:
    wire = smpplib_wire(command, 0x0102_0304, **fields)
    pdu = decode(wire)
    assert pdu == expected.evolve(sequence_number=0x0102_0304)
    assert encode(pdu) == wire


def test_submit_sm_from_smpplib_reads_as_a_segment() -> None:
    wire = smpplib_wire(
        "submit_sm",
        7,
        source_addr="1065",
        destination_addr="13800138000",
        short_message=b"part 2",
        sar_msg_ref_num=0x1234,
        sar_total_segments=3,
        sar_segment_seqnum=2,
    )
    pdu = decode(wire)
    assert isinstance(pdu, p.SubmitSm)
    assert pdu.payload == b"part 2"
    assert (pdu.tlv_int(Tag.SAR_MSG_REF_NUM), pdu.tlv_int(Tag.SAR_TOTAL_SEGMENTS)) == (0x1234, 3)
    assert pdu.tlv_int(Tag.SAR_SEGMENT_SEQNUM) == 2


def test_smpplib_source_addr_subunit_is_two_octets_and_rejected() -> None:
    # smpplib declares submit_sm's source_addr_subunit as I2; SMPP 3.4 (5.3.2.2) says I1.
    # A client that sets it gets ESME_RINVPARLEN, which names the actual fault.
    wire = smpplib_wire("submit_sm", 5, source_addr="1065", destination_addr="138", source_addr_subunit=1)
    with pytest.raises(PduDecodeError) as info:
        decode(wire)
    assert (info.value.status, info.value.sequence_number) == (CommandStatus.ESME_RINVPARLEN, 5)


# ---- ours -> smpplib ------------------------------------------------------------------


def test_smpplib_reads_our_submit_sm_resp() -> None:
    got = smpplib_parse(encode(p.SubmitSmResp(sequence_number=0x7FFF_FFFF, message_id="0A1B2C3D")))
    assert (got.command, got.sequence, got.status) == ("submit_sm_resp", 0x7FFF_FFFF, 0)
    assert got.message_id == b"0A1B2C3D"


def test_smpplib_reads_our_error_submit_sm_resp() -> None:
    got = smpplib_parse(encode(p.SubmitSmResp(sequence_number=8, command_status=CommandStatus.ESME_RSUBMITFAIL)))
    assert (got.sequence, got.status, got.message_id) == (8, 0x45, b"")
    assert got.is_error()


def test_smpplib_reads_our_bind_transceiver_resp() -> None:
    ours = p.BindTransceiverResp(
        sequence_number=1, system_id="SMPPGW", tlvs=(p.int_tlv(Tag.SC_INTERFACE_VERSION, 0x34),)
    )
    got = smpplib_parse(encode(ours))
    assert (got.command, got.sequence, got.status) == ("bind_transceiver_resp", 1, 0)
    assert (got.system_id, got.sc_interface_version) == (b"SMPPGW", 0x34)


def test_smpplib_reads_our_bind_failure() -> None:
    got = smpplib_parse(encode(p.BindTransceiverResp(sequence_number=1, command_status=CommandStatus.ESME_RBINDFAIL)))
    assert (got.status, got.system_id) == (CommandStatus.ESME_RBINDFAIL, b"")


def test_smpplib_reads_our_delivery_receipt() -> None:
    text = b"id:0A1B2C3D sub:001 dlvrd:001 submit date:2501011200 done date:2501011201 stat:DELIVRD err:000 text:"
    receipt = p.DeliverSm(
        sequence_number=12,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="13800138000",
        destination_addr="1065012345",
        esm_class=0x04,
        short_message=text,
        tlvs=(
            p.cstr_tlv(Tag.RECEIPTED_MESSAGE_ID, "0A1B2C3D"),
            p.int_tlv(Tag.MESSAGE_STATE, MessageState.DELIVERED),
            p.Tlv(Tag.NETWORK_ERROR_CODE, b"\x03\x00\x00"),
        ),
    )
    got = smpplib_parse(encode(receipt))
    assert (got.command, got.sequence) == ("deliver_sm", 12)
    assert (got.source_addr_ton, got.source_addr_npi, got.source_addr) == (1, 1, b"13800138000")
    assert (got.destination_addr, got.esm_class) == (b"1065012345", 0x04)
    assert (got.sm_length, got.short_message) == (len(text), text)
    assert got.receipted_message_id == b"0A1B2C3D"
    assert got.message_state == MessageState.DELIVERED
    assert got.network_error_code == b"\x03\x00\x00"


def test_smpplib_reads_our_ucs2_mo_with_sar_segments() -> None:
    mo = p.DeliverSm(
        sequence_number=13,
        source_addr="13800138000",
        destination_addr="106501234501",
        data_coding=8,
        short_message=UCS2_TEXT,
        tlvs=(
            p.int_tlv(Tag.SAR_MSG_REF_NUM, 0xABCD, 2),
            p.int_tlv(Tag.SAR_TOTAL_SEGMENTS, 2),
            p.int_tlv(Tag.SAR_SEGMENT_SEQNUM, 2),
        ),
    )
    got = smpplib_parse(encode(mo))
    assert (got.data_coding, got.short_message) == (8, UCS2_TEXT)
    assert (got.sar_msg_ref_num, got.sar_total_segments, got.sar_segment_seqnum) == (0xABCD, 2, 2)


def test_smpplib_reads_our_query_sm_resp_and_generic_nack() -> None:
    got = smpplib_parse(
        encode(p.QuerySmResp(sequence_number=3, message_id="0A1B", final_date="250101120000000+", message_state=2))
    )
    assert (got.message_id, got.final_date, got.message_state, got.error_code) == (
        b"0A1B",
        b"250101120000000+",
        2,
        0,
    )
    nack = smpplib_parse(encode(p.GenericNack(sequence_number=4, command_status=CommandStatus.ESME_RINVCMDID)))
    assert (nack.command, nack.sequence, nack.status) == ("generic_nack", 4, 3)


def test_vendor_tlv_needs_smpplib_opt_in_but_is_framed_so_it_can_be_skipped() -> None:
    # smpplib raises on unknown tags unless allow_unknown_opt_params=True: vendor TLVs are opt-in per account.
    receipt = p.DeliverSm(
        sequence_number=14,
        esm_class=0x04,
        short_message=b"id:1 stat:UNDELIV err:001",
        tlvs=(p.Tlv(0x1401, b"\x08\x04\x02"), p.int_tlv(Tag.MESSAGE_STATE, MessageState.UNDELIVERABLE)),
    )
    with pytest.raises(smpplib.exceptions.UnknownCommandError):
        smpplib_parse(encode(receipt))
    got = smpplib_parse(encode(receipt), allow_unknown_opt_params=True)
    assert got.message_state == MessageState.UNDELIVERABLE
