"""The SMPP codec: round trips, wire limits, the command_status of each decode error, fuzzing."""

from __future__ import annotations

import dataclasses
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples
from pdu_strategies import any_pdu, pdu_of, u32

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.codec import decode, encode
from smppgw.protocol.constants import TLV_LENGTHS, CommandId, CommandStatus, Tag
from smppgw.protocol.errors import LocalProtocolError, PduDecodeError

S = CommandStatus
ROUND_TRIP = settings(max_examples=examples(200), deadline=None)


def frame(command_id: int, body: bytes = b"", *, status: int = 0, seq: int = 1) -> bytes:
    return struct.pack(">IIII", 16 + len(body), command_id, status, seq) + body


def c(value: bytes | str) -> bytes:
    """A C-octet string on the wire, built by hand so it can break the limits."""
    raw = value.encode("latin-1") if isinstance(value, str) else value
    return raw + b"\0"


def tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def submit_sm_body(
    *,
    source: bytes | str = "1065",
    dest: bytes | str = "13800138000",
    sm_length: int | None = None,
    short_message: bytes = b"hi",
    tlvs: bytes = b"",
) -> bytes:
    """submit_sm fields in the order of SMPP 3.4 section 4.4.1, written independently of the codec."""
    return (
        c("")  # service_type
        + bytes([1, 1])
        + c(source)
        + bytes([1, 1])
        + c(dest)
        + bytes([0, 0, 0])  # esm_class, protocol_id, priority_flag
        + c("")  # schedule_delivery_time
        + c("")  # validity_period
        + bytes([1, 0, 8, 0])  # registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
        + bytes([len(short_message) if sm_length is None else sm_length])
        + short_message
        + tlvs
    )


def bind_body(system_id: str = "acct01", password: str = "secret") -> bytes:
    return c(system_id) + c(password) + c("") + bytes([0x34, 0, 0]) + c("")


def decode_error(data: bytes) -> PduDecodeError:
    with pytest.raises(PduDecodeError) as info:
        decode(data)
    return info.value


# ---- schema coverage ----------------------------------------------------------------


def test_every_pdu_type_has_a_schema_and_a_unique_command_id() -> None:
    assert set(codec.SCHEMAS) == set(p.ALL_PDU_TYPES)
    assert len(p.PDU_BY_ID) == len(p.ALL_PDU_TYPES)
    assert set(p.PDU_BY_ID) == {int(cid) for cid in CommandId}


@pytest.mark.parametrize("cls", p.ALL_PDU_TYPES, ids=lambda cls: cls.__name__)
def test_schema_puts_every_dataclass_field_on_the_wire(cls: type[p.Pdu]) -> None:
    # A field added to a PDU dataclass but not to its schema would be silently dropped.
    header_fields = {"sequence_number", "command_status", "tlvs"}
    fields = {f.name for f in dataclasses.fields(cls)} - header_fields
    assert fields == {name for name, *_ in codec.SCHEMAS[cls]}


# ---- round trips --------------------------------------------------------------------


# One example holds a PDU of every type, so every type is round-tripped in every example.
# (A single @given instead of @given + parametrize: pytest-twisted breaks that combination.)
@ROUND_TRIP
@given(pdus=st.tuples(*(pdu_of(cls) for cls in p.ALL_PDU_TYPES)))
def test_round_trip_of_every_pdu_type(pdus: tuple[p.Pdu, ...]) -> None:
    assert [type(pdu) for pdu in pdus] == list(p.ALL_PDU_TYPES)
    for pdu in pdus:
        wire = encode(pdu)
        assert struct.unpack_from(">II", wire) == (len(wire), pdu.command_id)
        assert decode(wire) == pdu


def _at_limits(cls: type[p.Pdu]) -> p.Pdu:
    values: dict[str, object] = {}
    for name, kind, size, _status in codec.SCHEMAS[cls]:
        if kind == codec.CSTR:
            values[name] = "\xff" * (size - 1)
        elif kind == codec.U8:
            values[name] = 0xFF
        elif kind == codec.SM:
            values[name] = bytes(range(254))
        elif kind == codec.DESTS:
            values[name] = tuple(
                p.SmeAddress(0xFF, 0xFF, "9" * 20) if i % 2 else p.DistributionList("d" * 20) for i in range(size)
            )
        else:
            values[name] = tuple(p.UnsuccessSme(0xFF, 0xFF, "9" * 20, 0xFFFF_FFFF) for _ in range(size))
    return cls(sequence_number=0xFFFF_FFFF, command_status=0xFFFF_FFFF, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize("cls", p.ALL_PDU_TYPES, ids=lambda cls: cls.__name__)
def test_every_field_at_its_wire_limit_round_trips(cls: type[p.Pdu]) -> None:
    pdu = _at_limits(cls).evolve(tlvs=(p.Tlv(Tag.MESSAGE_PAYLOAD, b"\0" * 65535), p.Tlv(0x3FFF, b"")))
    assert decode(encode(pdu)) == pdu


# ---- encoding refuses what SMPP cannot carry ----------------------------------------

_CSTR_FIELDS = [
    pytest.param(cls, name, size, status, id=f"{cls.__name__}.{name}")
    for cls in p.ALL_PDU_TYPES
    for name, kind, size, status in codec.SCHEMAS[cls]
    if kind == codec.CSTR
]


@pytest.mark.parametrize(("cls", "name", "size", "status"), _CSTR_FIELDS)
def test_encode_refuses_a_c_string_past_its_limit(cls: type[p.Pdu], name: str, size: int, status: int) -> None:
    encode(cls(**{name: "x" * (size - 1)}))
    with pytest.raises(LocalProtocolError):
        encode(cls(**{name: "x" * size}))
    with pytest.raises(LocalProtocolError):
        encode(cls(**{name: "a\0b"}))


_UNCARRIABLE = {
    "short_message-255": p.SubmitSm(short_message=b"x" * 255),
    "u8-256": p.SubmitSm(esm_class=256),
    "u8-negative": p.SubmitSm(data_coding=-1),
    "sequence-negative": p.SubmitSm(sequence_number=-1),
    "sequence-2**32": p.SubmitSm(sequence_number=1 << 32),
    "status-2**32": p.SubmitSmResp(command_status=1 << 32),
    "not-latin-1": p.SubmitSm(source_addr="验证码"),  # not one octet per character
    "tlv-value-65536": p.SubmitSm(tlvs=(p.Tlv(Tag.MESSAGE_PAYLOAD, b"x" * 65536),)),
    "tlv-tag-65536": p.SubmitSm(tlvs=(p.Tlv(0x10000, b""),)),
    "tlv-tag-negative": p.SubmitSm(tlvs=(p.Tlv(-1, b""),)),
    # A known TLV of the wrong length would be answered with ESME_RINVPARLEN by the peer.
    "user_message_reference-1-octet": p.SubmitSm(tlvs=(p.int_tlv(Tag.USER_MESSAGE_REFERENCE, 7),)),
    "sar_total_segments-2-octets": p.SubmitSm(tlvs=(p.Tlv(Tag.SAR_TOTAL_SEGMENTS, b"\0\2"),)),
    "dest-ton-256": p.SubmitMulti(dest_addresses=(p.SmeAddress(256, 1, "1380013800"),)),
    "255-dests": p.SubmitMulti(dest_addresses=tuple(p.DistributionList("dl") for _ in range(255))),
    "error_status_code-2**32": p.SubmitMultiResp(unsuccess_smes=(p.UnsuccessSme(1, 1, "1380013800", 1 << 32),)),
}


@pytest.mark.parametrize("pdu", list(_UNCARRIABLE.values()), ids=list(_UNCARRIABLE))
def test_encode_raises_local_protocol_error_for_values_smpp_cannot_carry(pdu: p.Pdu) -> None:
    with pytest.raises(LocalProtocolError):
        encode(pdu)


# ---- wire layout against the spec, independently of the codec ------------------------


def test_submit_sm_decodes_from_hand_written_spec_layout() -> None:
    tlvs = (
        tlv(Tag.SAR_MSG_REF_NUM, b"\x01\x2c") + tlv(Tag.SAR_TOTAL_SEGMENTS, b"\2") + tlv(Tag.SAR_SEGMENT_SEQNUM, b"\1")
    )
    wire = frame(CommandId.SUBMIT_SM, submit_sm_body(short_message=b"\x4f\x60\x59\x7d", tlvs=tlvs), seq=42)
    pdu = decode(wire)
    assert pdu == p.SubmitSm(
        sequence_number=42,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="1065",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="13800138000",
        registered_delivery=1,
        data_coding=8,
        short_message="你好".encode("utf-16-be"),
        tlvs=(
            p.int_tlv(Tag.SAR_MSG_REF_NUM, 300, 2),
            p.int_tlv(Tag.SAR_TOTAL_SEGMENTS, 2),
            p.int_tlv(Tag.SAR_SEGMENT_SEQNUM, 1),
        ),
    )
    assert pdu.tlv_int(Tag.SAR_MSG_REF_NUM) == 300
    assert encode(pdu) == wire


def test_cancel_sm_matches_hand_written_spec_layout() -> None:
    # smpplib cannot build cancel_sm, so the expected octets are written from SMPP 3.4 section 4.9.1.
    body = c("") + c("0A1B2C") + bytes([1, 1]) + c("1065") + bytes([1, 1]) + c("13800138000")
    wire = frame(CommandId.CANCEL_SM, body, seq=9)
    pdu = p.CancelSm(
        sequence_number=9,
        message_id="0A1B2C",
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="1065",
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr="13800138000",
    )
    assert encode(pdu) == wire
    assert decode(wire) == pdu


def test_submit_multi_matches_hand_written_spec_layout() -> None:
    dests = bytes([3, 1, 1, 1]) + c("13800138000") + bytes([2]) + c("vip") + bytes([1, 1, 1]) + c("13900139000")
    body = c("") + bytes([1, 1]) + c("1065") + dests + bytes([0, 0, 0]) + c("") + c("") + bytes([0, 0, 0, 0, 2]) + b"hi"
    wire = frame(CommandId.SUBMIT_MULTI, body, seq=3)
    assert decode(wire) == p.SubmitMulti(
        sequence_number=3,
        source_addr_ton=1,
        source_addr_npi=1,
        source_addr="1065",
        dest_addresses=(
            p.SmeAddress(1, 1, "13800138000"),
            p.DistributionList("vip"),
            p.SmeAddress(1, 1, "13900139000"),
        ),
        short_message=b"hi",
    )
    assert encode(decode(wire)) == wire


# ---- decode errors and their command_status -----------------------------------------


def test_unknown_command_id_is_rinvcmdid_with_the_sequence_number() -> None:
    err = decode_error(frame(0x00000022, seq=0x1234))  # SMPP 3.3 param_retrieve
    assert err.status == S.ESME_RINVCMDID
    assert (err.command_id, err.sequence_number) == (0x22, 0x1234)
    # An SMPP 5.0 broadcast_sm with a body is no different.
    assert decode_error(frame(0x00000111, b"\0" * 30, seq=7)).sequence_number == 7


def test_frame_shorter_than_the_header_is_rinvcmdlen() -> None:
    assert decode_error(b"\0\0\0\x10\0\0\0\x15").status == S.ESME_RINVCMDLEN


def test_command_length_not_matching_the_frame_is_rinvcmdlen() -> None:
    wire = frame(CommandId.ENQUIRE_LINK, seq=5) + b"\0"
    err = decode_error(wire)
    assert (err.status, err.sequence_number) == (S.ESME_RINVCMDLEN, 5)


@pytest.mark.parametrize(
    "tail",
    [b"\x14", b"\x14\x00\x00", tlv(0x1400, b"abcd")[:-1], tlv(Tag.MESSAGE_PAYLOAD, b"x" * 10)[:-3]],
    ids=["1-octet-header", "3-octet-header", "value-short-by-1", "payload-short-by-3"],
)
def test_truncated_tlv_is_rinvtlvstream(tail: bytes) -> None:
    err = decode_error(frame(CommandId.SUBMIT_SM, submit_sm_body(tlvs=tlv(0x1401, b"ok") + tail), seq=77))
    assert err.status == S.ESME_RINVTLVSTREAM == 0xC0
    assert (err.command_id, err.sequence_number) == (CommandId.SUBMIT_SM, 77)


@pytest.mark.parametrize(
    ("tag", "value"),
    [
        (Tag.SAR_TOTAL_SEGMENTS, b"\0\2"),
        (Tag.SAR_MSG_REF_NUM, b"\1"),
        (Tag.MESSAGE_STATE, b""),
        (Tag.USER_MESSAGE_REFERENCE, b"\0\0\0\1"),
        (Tag.RECEIPTED_MESSAGE_ID, b"x" * 66),
        (Tag.ALERT_ON_MESSAGE_DELIVERY, b"\1"),
    ],
)
def test_known_tlv_with_wrong_length_is_rinvparlen(tag: int, value: bytes) -> None:
    err = decode_error(frame(CommandId.SUBMIT_SM, submit_sm_body(tlvs=tlv(tag, value)), seq=8))
    assert (err.status, err.sequence_number) == (S.ESME_RINVPARLEN, 8)


def test_known_tlvs_at_both_length_bounds_are_accepted() -> None:
    for tag, (low, high) in TLV_LENGTHS.items():
        for length in {low, high}:
            wire = frame(CommandId.DATA_SM_RESP, c("") + tlv(tag, b"\1" * length))
            assert decode(wire).tlvs == (p.Tlv(tag, b"\1" * length),)


def test_source_addr_of_21_octets_is_rinvsrcadr() -> None:
    decode(frame(CommandId.SUBMIT_SM, submit_sm_body(source="1" * 20)))
    err = decode_error(frame(CommandId.SUBMIT_SM, submit_sm_body(source="1" * 21), seq=11))
    assert (err.status, err.sequence_number) == (S.ESME_RINVSRCADR, 11)


def test_destination_addr_of_21_octets_is_rinvdstadr() -> None:
    decode(frame(CommandId.SUBMIT_SM, submit_sm_body(dest="8" * 20)))
    err = decode_error(frame(CommandId.SUBMIT_SM, submit_sm_body(dest="8613800138000" * 2), seq=12))
    assert (err.status, err.sequence_number) == (S.ESME_RINVDSTADR, 12)


def test_system_id_of_16_chars_is_rinvsysid() -> None:
    decode(frame(CommandId.BIND_TRANSCEIVER, bind_body(system_id="s" * 15)))
    err = decode_error(frame(CommandId.BIND_TRANSCEIVER, bind_body(system_id="s" * 16), seq=1))
    assert (err.status, err.command_id) == (S.ESME_RINVSYSID, CommandId.BIND_TRANSCEIVER)


def test_password_of_9_chars_is_rinvpaswd() -> None:
    decode(frame(CommandId.BIND_TRANSMITTER, bind_body(password="p" * 8)))
    assert decode_error(frame(CommandId.BIND_TRANSMITTER, bind_body(password="p" * 9))).status == S.ESME_RINVPASWD


def test_sm_length_past_the_end_is_rinvmsglen() -> None:
    err = decode_error(frame(CommandId.SUBMIT_SM, submit_sm_body(sm_length=10, short_message=b"hi"), seq=13))
    assert (err.status, err.sequence_number) == (S.ESME_RINVMSGLEN, 13)


def test_sm_length_255_is_rinvmsglen() -> None:
    # The spec allows 0..254 octets; 255 could not be re-encoded (relayed) either.
    body = submit_sm_body(short_message=b"x" * 255)
    assert decode_error(frame(CommandId.SUBMIT_SM, body)).status == S.ESME_RINVMSGLEN


@pytest.mark.parametrize("cut", [1, 3, 6, 21, 24, 26, 31])
def test_body_ending_inside_mandatory_fields_is_rinvcmdlen(cut: int) -> None:
    body = submit_sm_body()[:cut]  # ends inside a C-string or before a one-octet field
    err = decode_error(frame(CommandId.SUBMIT_SM, body, seq=14))
    assert (err.status, err.sequence_number) == (S.ESME_RINVCMDLEN, 14)


@pytest.mark.parametrize("command_id", [CommandId.SUBMIT_SM, CommandId.BIND_TRANSCEIVER, CommandId.QUERY_SM])
def test_request_with_empty_body_is_rinvcmdlen(command_id: int) -> None:
    assert decode_error(frame(command_id)).status == S.ESME_RINVCMDLEN


def test_unknown_tlvs_are_kept_in_arrival_order() -> None:
    tlvs = (
        p.Tlv(0x1401, b"vendor-a"),
        p.Tlv(Tag.USER_MESSAGE_REFERENCE, b"\0\7"),
        p.Tlv(0x0428, b"\x50"),  # SMPP 5.0 congestion_state: skipped by 3.4, still kept
        p.Tlv(0x1400, b""),
        p.Tlv(0x1401, b"vendor-a-again"),
    )
    wire = frame(CommandId.SUBMIT_SM, submit_sm_body(tlvs=b"".join(tlv(t.tag, t.value) for t in tlvs)))
    pdu = decode(wire)
    assert pdu.tlvs == tlvs
    assert pdu.tlv(0x1401) == b"vendor-a"
    assert pdu.tlv_int(Tag.USER_MESSAGE_REFERENCE) == 7
    assert encode(pdu) == wire


@pytest.mark.parametrize(
    ("command_id", "expected"),
    [
        (CommandId.SUBMIT_SM_RESP, p.SubmitSmResp(sequence_number=21, command_status=0x45)),
        (CommandId.BIND_TRANSCEIVER_RESP, p.BindTransceiverResp(sequence_number=21, command_status=0x45)),
        (CommandId.QUERY_SM_RESP, p.QuerySmResp(sequence_number=21, command_status=0x45)),
        (CommandId.SUBMIT_MULTI_RESP, p.SubmitMultiResp(sequence_number=21, command_status=0x45)),
        (CommandId.DATA_SM_RESP, p.DataSmResp(sequence_number=21, command_status=0x45)),
    ],
)
def test_error_response_with_empty_body_decodes_with_default_fields(command_id: int, expected: p.Pdu) -> None:
    assert decode(frame(command_id, status=0x45, seq=21)) == expected


def test_submit_multi_resp_without_unsuccess_list_decodes() -> None:
    pdu = decode(frame(CommandId.SUBMIT_MULTI_RESP, c("m1"), seq=2))
    assert pdu == p.SubmitMultiResp(sequence_number=2, message_id="m1", unsuccess_smes=())


def test_submit_multi_dest_errors() -> None:
    head = c("") + bytes([1, 1]) + c("1065")
    tail = bytes([0, 0, 0]) + c("") + c("") + bytes([0, 0, 0, 0, 0])
    bad_flag = head + bytes([1, 3]) + c("x") + tail
    too_many = head + bytes([255]) + (bytes([2]) + c("dl")) * 255 + tail
    long_dl = head + bytes([1, 2]) + c("d" * 21) + tail
    long_addr = head + bytes([1, 1, 1, 1]) + c("1" * 21) + tail
    assert decode_error(frame(CommandId.SUBMIT_MULTI, bad_flag)).status == S.ESME_RINVDESTFLAG
    assert decode_error(frame(CommandId.SUBMIT_MULTI, too_many)).status == S.ESME_RINVNUMDESTS
    assert decode_error(frame(CommandId.SUBMIT_MULTI, long_dl)).status == S.ESME_RINVDLNAME
    assert decode_error(frame(CommandId.SUBMIT_MULTI, long_addr)).status == S.ESME_RINVDSTADR


@pytest.mark.parametrize(("cls", "name", "size", "status"), _CSTR_FIELDS)
def test_overlong_c_string_is_answered_with_its_schema_status(
    cls: type[p.Pdu], name: str, size: int, status: int
) -> None:
    # Encode the longest legal value, then splice one more octet into it on the wire.
    wire = encode(cls(sequence_number=31, **{name: "~" * (size - 1)}))
    at = wire.index(b"~" * (size - 1))
    body = wire[16:at] + b"~" + wire[at:]
    err = decode_error(frame(cls.command_id, body, seq=31))
    assert (err.status, err.command_id, err.sequence_number) == (status, cls.command_id, 31)


# ---- fuzzing: decode raises nothing but PduDecodeError --------------------------------

Mutation = tuple[str, int, int, bytes]

mutations: st.SearchStrategy[Mutation] = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1 << 16), st.integers(1, 255), st.just(b"")),
    st.tuples(st.just("truncate"), st.integers(0, 1 << 16), st.just(0), st.just(b"")),
    st.tuples(st.just("extend"), st.just(0), st.just(0), st.binary(min_size=1, max_size=24)),
    st.tuples(st.just("insert"), st.integers(0, 1 << 16), st.just(0), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 1 << 16), st.integers(1, 8), st.just(b"")),
    st.tuples(st.just("length"), st.just(0), u32, st.just(b"")),
)


def mutate(data: bytes, mutation: Mutation) -> bytes:
    kind, index, number, extra = mutation
    at = index % (len(data) + 1)
    if kind == "flip" and data:
        at %= len(data)
        return data[:at] + bytes([data[at] ^ number]) + data[at + 1 :]
    if kind == "truncate":
        return data[:at]
    if kind == "extend":
        return data + extra
    if kind == "insert":
        return data[:at] + extra + data[at:]
    if kind == "delete":
        return data[:at] + data[at + number :]
    if kind == "length" and len(data) >= 4:
        return struct.pack(">I", number) + data[4:]
    return data


def check_decode(data: bytes) -> PduDecodeError | None:
    """decode either fails with PduDecodeError (returned) or gives a PDU that re-encodes canonically."""
    try:
        pdu = decode(data)
    except PduDecodeError as err:
        return err
    again = encode(pdu)
    assert decode(again) == pdu
    if not pdu.is_response:  # a response may omit its body, which encode always writes
        assert again == data
    return None


@settings(max_examples=examples(300), deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_raise_only_pdu_decode_error(data: bytes) -> None:
    check_decode(data)


@settings(max_examples=examples(500), deadline=None)
@given(command_id=st.sampled_from(sorted(p.PDU_BY_ID)), body=st.binary(max_size=200), seq=u32)
def test_random_body_behind_a_valid_header(command_id: int, body: bytes, seq: int) -> None:
    err = check_decode(frame(command_id, body, seq=seq))
    # Whatever went wrong in the body, the error can be answered with the right sequence number.
    if err is not None:
        assert (err.command_id, err.sequence_number) == (command_id, seq)


@settings(max_examples=examples(500), deadline=None)
@given(pdu=any_pdu(), steps=st.lists(mutations, min_size=1, max_size=4), fix_length=st.booleans())
def test_mutated_encodings_raise_only_pdu_decode_error(pdu: p.Pdu, steps: list[Mutation], fix_length: bool) -> None:
    data = encode(pdu)
    for step in steps:
        data = mutate(data, step)
    if fix_length and len(data) >= 4:
        # Keep command_length consistent so the mutation reaches the body parser.
        data = struct.pack(">I", len(data)) + data[4:]
    check_decode(data)


# ---- fast paths agree with the schema-driven reference ---------------------------------


@ROUND_TRIP
@given(
    pdus=st.tuples(pdu_of(p.SubmitSm), pdu_of(p.DeliverSm), pdu_of(p.SubmitSmResp), pdu_of(p.DeliverSmResp)),
    cut=st.integers(0, 400),
)
def test_fast_paths_give_the_bytes_and_pdus_the_schema_gives(pdus: tuple[p.Pdu, ...], cut: int) -> None:
    for pdu in pdus:
        wire = codec.encode(pdu)
        assert wire[codec.HEADER_SIZE :] == codec.encode_body(pdu)
        assert codec.decode(wire) == pdu
    # A submit_sm cut short (header fixed up) fails exactly as the reference decoder fails.
    wire = codec.encode(pdus[0])
    short = wire[: max(codec.HEADER_SIZE, len(wire) - cut)]
    short = struct.pack(">I", len(short)) + short[4:]
    reference: p.Pdu | PduDecodeError
    try:
        _, command_id, status, seq = codec.peek_header(short)
        reference = codec.decode_by_schema(p.SubmitSm, short, command_id, status, seq)
    except PduDecodeError as err:
        reference = err
    try:
        assert codec.decode(short) == reference
    except PduDecodeError as err:
        assert isinstance(reference, PduDecodeError)
        assert (err.status, err.detail) == (reference.status, reference.detail)
