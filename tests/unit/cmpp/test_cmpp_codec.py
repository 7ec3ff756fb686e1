"""The CMPP codec: golden bytes of every packet in 2.0 and 3.0 (laid out by hand from the
specification's field tables), round trips of any packet, and the Result each kind of bad
input is answered with."""

from __future__ import annotations

import struct

import pytest
from cmpp_strategies import VERSIONS, any_packet, packet_of
from hypothesis import given, settings
from hypothesis import strategies as st

from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import LAYOUTS, decode, encode, report_size
from smppgw.cmpp.constants import Result, Version
from smppgw.cmpp.errors import CmppDecodeError, LocalProtocolError

V20, V30 = Version.V20, Version.V30
MSG_ID = 0xBDB9E14DBBA1002A  # 27 November 14:30:05, gateway 900001, sequence 42
AUTH_SOURCE = bytes.fromhex("e1ed8b4b848981623ff9697124b229cc")
SUBMIT = pk.Submit(
    sequence_id=2,
    registered_delivery=1,
    service_id="MI",
    fee_user_type=2,
    msg_fmt=8,
    msg_src="900001",
    fee_type="01",
    fee_code="000000",
    src_id="10690000",
    dest_terminal_ids=("13800138000",),
    content="你好".encode("utf-16-be"),
)
MO = pk.Deliver(sequence_id=3, msg_id=MSG_ID, dest_id="10690000", src_terminal_id="13800138000", content=b"TD")
REPORT = pk.Deliver(
    sequence_id=4,
    msg_id=MSG_ID + 1,
    dest_id="10690000",
    src_terminal_id="13800138000",
    content=pk.StatusReport(MSG_ID, "DELIVRD", "2611271430", "2611271431", "13800138000", 7),
)
QUERY_RESP = pk.QueryResp(
    sequence_id=5,
    time="20261127",
    query_type=1,
    query_code="MI",
    mt_tlmsg=10,
    mt_tlusr=12,
    mt_scs=9,
    mt_wt=1,
    mt_fl=2,
    mo_scs=3,
    mo_wt=0,
    mo_fl=1,
)

# (version, packet, wire) -- the wire written out field by field from the layout tables of the spec.
GOLDEN = [
    (V30, pk.Connect(sequence_id=1, source_addr="900001", authenticator_source=AUTH_SOURCE, version=0x30,
                     timestamp=102030405),
     "00000027 00000001 00000001 39303030 3031e1ed 8b4b8489 81623ff9 697124b2 29cc3006 14dc45"),
    (V30, pk.ConnectResp(sequence_id=1, status=0, authenticator_ismg=bytes.fromhex("a8cb9df3176678b1c7398fbe46abcfab"),
                         version=0x30),
     "00000021 80000001 00000001 00000000 a8cb9df3 176678b1 c7398fbe 46abcfab 30"),
    (V20, pk.ConnectResp(sequence_id=1, status=0, authenticator_ismg=bytes.fromhex("6d86ed7a6ed5714dec2829ed72693817"),
                         version=0x21),
     "0000001e 80000001 00000001 006d86ed 7a6ed571 4dec2829 ed726938 1721"),
    (V30, SUBMIT,
     "000000c7 00000004 00000002 00000000 00000000 01010100 4d490000 00000000 00000200 00000000 00000000 00000000"
     " 00000000 00000000 00000000 00000000 00000000 00000839 30303030 31303130 30303030 30000000 00000000 00000000"
     " 00000000 00000000 00000000 00000000 00000000 00000031 30363930 30303000 00000000 00000000 00000000 01313338"
     " 30303133 38303030 00000000 00000000 00000000 00000000 00000000 0000044f 60597d00 00000000 00000000 00000000"
     " 00000000 000000"),
    (V20, SUBMIT,
     "000000a3 00000004 00000002 00000000 00000000 01010100 4d490000 00000000 00000200 00000000 00000000 00000000"
     " 00000000 00000000 00000839 30303030 31303130 30303030 30000000 00000000 00000000 00000000 00000000 00000000"
     " 00000000 00000000 00000031 30363930 30303000 00000000 00000000 00000000 01313338 30303133 38303030 00000000"
     " 00000000 0000044f 60597d00 00000000 000000"),
    (V30, pk.SubmitResp(sequence_id=2, msg_id=MSG_ID, result=0),
     "00000018 80000004 00000002 bdb9e14d bba1002a 00000000"),
    (V20, pk.SubmitResp(sequence_id=2, msg_id=MSG_ID, result=8), "00000015 80000004 00000002 bdb9e14d bba1002a 08"),
    (V30, MO,
     "0000006f 00000005 00000003 bdb9e14d bba1002a 31303639 30303030 00000000 00000000 00000000 00000000 00000000"
     " 00000000 00003133 38303031 33383030 30000000 00000000 00000000 00000000 00000000 00000000 02544400 00000000"
     " 00000000 00000000 00000000 000000"),
    (V20, MO,
     "00000057 00000005 00000003 bdb9e14d bba1002a 31303639 30303030 00000000 00000000 00000000 00000000 00000000"
     " 00000000 00003133 38303031 33383030 30000000 00000000 00000000 02544400 00000000 000000"),
    (V30, REPORT,
     "000000b4 00000005 00000004 bdb9e14d bba1002b 31303639 30303030 00000000 00000000 00000000 00000000 00000000"
     " 00000000 00003133 38303031 33383030 30000000 00000000 00000000 00000000 00000000 00000001 47bdb9e1 4dbba100"
     " 2a44454c 49565244 32363131 32373134 33303236 31313237 31343331 31333830 30313338 30303000 00000000 00000000"
     " 00000000 00000000 00000000 00000007 00000000 00000000 00000000 00000000 00000000"),
    (V20, REPORT,
     "00000091 00000005 00000004 bdb9e14d bba1002b 31303639 30303030 00000000 00000000 00000000 00000000 00000000"
     " 00000000 00003133 38303031 33383030 30000000 00000000 00000001 3cbdb9e1 4dbba100 2a44454c 49565244 32363131"
     " 32373134 33303236 31313237 31343331 31333830 30313338 30303000 00000000 00000000 00000000 07000000 00000000 00"),
    (V30, pk.DeliverResp(sequence_id=4, msg_id=MSG_ID), "00000018 80000005 00000004 bdb9e14d bba1002a 00000000"),
    (V20, pk.DeliverResp(sequence_id=4, msg_id=MSG_ID), "00000015 80000005 00000004 bdb9e14d bba1002a 00"),
    (V30, pk.Query(sequence_id=5, time="20261127", query_type=1, query_code="MI"),
     "00000027 00000006 00000005 32303236 31313237 014d4900 00000000 00000000 00000000 000000"),
    (V30, QUERY_RESP,
     "0000003f 80000006 00000005 32303236 31313237 014d4900 00000000 00000000 00000a00 00000c00 00000900 00000100"
     " 00000200 00000300 00000000 000001"),
    (V30, pk.Cancel(sequence_id=6, msg_id=MSG_ID), "00000014 00000007 00000006 bdb9e14d bba1002a"),
    (V30, pk.CancelResp(sequence_id=6, success_id=1), "00000010 80000007 00000006 00000001"),
    (V20, pk.CancelResp(sequence_id=6, success_id=1), "0000000d 80000007 00000006 01"),
    (V30, pk.Terminate(sequence_id=7), "0000000c 00000002 00000007"),
    (V30, pk.TerminateResp(sequence_id=7), "0000000c 80000002 00000007"),
    (V30, pk.ActiveTest(sequence_id=8), "0000000c 00000008 00000008"),
    (V30, pk.ActiveTestResp(sequence_id=8), "0000000d 80000008 00000008 00"),
]  # fmt: skip
# Packets whose layout is the same in both versions count for both.
SAME_IN_BOTH = (pk.Connect, pk.Query, pk.QueryResp, pk.Cancel, pk.Terminate, pk.TerminateResp, pk.ActiveTest,
                pk.ActiveTestResp)  # fmt: skip
CASES = [
    (v, packet, wire)
    for version, packet, wire in GOLDEN
    for v in ((V20, V30) if isinstance(packet, SAME_IN_BOTH) else (version,))
]


@pytest.mark.parametrize(("version", "packet", "wire"), CASES, ids=lambda x: getattr(x, "name", type(x).__name__))
def test_golden_bytes(version: Version, packet: pk.Packet, wire: str) -> None:
    raw = bytes.fromhex(wire.replace(" ", ""))
    assert encode(packet, version) == raw
    assert decode(raw, version) == packet


def test_every_packet_type_has_golden_bytes_in_both_versions() -> None:
    covered = {(v, type(p)) for v, p, _ in CASES}
    assert covered == {(v, cls) for v in Version for cls in pk.ALL_PACKET_TYPES}


def test_status_report_is_71_octets_in_30_and_60_in_20() -> None:
    assert (report_size(V30), report_size(V20)) == (71, 60)


def test_layouts_differ_where_the_versions_do() -> None:
    names = {v: [f.name for f in LAYOUTS[v][pk.Submit]] for v in Version}
    assert set(names[V30]) - set(names[V20]) == {"fee_terminal_type", "dest_terminal_type", "link_id"}
    assert set(names[V20]) - set(names[V30]) == {"reserve"}
    sizes = {v: {f.name: f.size for f in LAYOUTS[v][pk.Submit]} for v in Version}
    assert (sizes[V20]["dest_terminal_ids"], sizes[V30]["dest_terminal_ids"]) == (21, 32)


@given(st.data())
def test_any_packet_round_trips(data: st.DataObject) -> None:
    version = data.draw(VERSIONS)
    packet = data.draw(any_packet(version))
    assert decode(encode(packet, version), version) == packet


@pytest.mark.parametrize("cls", pk.ALL_PACKET_TYPES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("version", list(Version), ids=lambda v: v.name)
def test_each_packet_type_round_trips(cls: type[pk.Packet], version: Version) -> None:
    @given(packet_of(cls, version))
    @settings(max_examples=30)
    def round_trip(packet: pk.Packet) -> None:
        assert decode(encode(packet, version), version) == packet

    round_trip()


# ---- what the codec refuses to send -------------------------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        pk.Submit(dest_terminal_ids=("1",), link_id="x"),  # no LinkID in 2.0
        pk.Submit(dest_terminal_ids=("1",), dest_terminal_type=1),
        pk.Submit(dest_terminal_ids=("1" * 22,)),  # 21 octets in 2.0
        pk.Submit(dest_terminal_ids=()),
        pk.Submit(dest_terminal_ids=("1",) * 100),
        pk.Submit(dest_terminal_ids=("1",), msg_fmt=8, content=bytes(141)),
        pk.Submit(dest_terminal_ids=("1",), msg_src="9000010"),
        pk.SubmitResp(result=256),  # one octet in 2.0
        pk.Connect(authenticator_source=b"short"),
        pk.Deliver(src_terminal_id="中国"),
        pk.Terminate(sequence_id=1 << 32),
    ],
)
def test_values_cmpp_20_cannot_carry_are_refused(packet: pk.Packet) -> None:
    with pytest.raises(LocalProtocolError):
        encode(packet, V20)


def test_ascii_content_may_be_159_octets_and_other_formats_140() -> None:
    for fmt, limit in ((0, 159), (8, 140), (15, 140), (4, 140)):
        ok = pk.Submit(dest_terminal_ids=("1",), msg_fmt=fmt, content=bytes(limit))
        assert decode(encode(ok, V30), V30) == ok
        with pytest.raises(LocalProtocolError):
            encode(ok.evolve(content=bytes(limit + 1)), V30)


# ---- the Result each malformed packet is answered with -------------------------------------------


def raw(version: Version, packet: pk.Packet) -> bytearray:
    return bytearray(encode(packet, version))


def offset(version: Version, name: str) -> int:
    """Where field ``name`` of SUBMIT starts on the wire (header included), one destination."""
    pos = 12
    for f in LAYOUTS[version][pk.Submit]:
        if f.name == name:
            return pos
        pos += {"dest_terminal_ids": 1 + f.size, "content": 1}.get(f.name, f.size)
    raise AssertionError(name)


def failure(frame: bytes | bytearray, version: Version = V30) -> CmppDecodeError:
    with pytest.raises(CmppDecodeError) as info:
        decode(bytes(frame), version)
    return info.value


@pytest.mark.parametrize("version", list(Version), ids=lambda v: v.name)
@pytest.mark.parametrize(
    ("field", "value", "result"),
    [
        ("service_id", b"\x81", Result.BAD_SERVICE_ID),
        ("msg_src", b"\x00\x01", Result.BAD_MSG_SRC),
        ("src_id", b"10690x", Result.BAD_SRC_ID),
        ("fee_code", b"1a", Result.BAD_FEE_CODE),
        ("dest_terminal_ids", b"\x01abc", Result.BAD_DEST_TERMINAL_ID),  # DestUsr_tl 1, then "abc"
        ("dest_terminal_ids", b"\x00", Result.BAD_DEST_TERMINAL_ID),  # DestUsr_tl 0
    ],
)
def test_a_bad_submit_field_is_answered_with_its_own_result(
    version: Version, field: str, value: bytes, result: Result
) -> None:
    frame = raw(version, SUBMIT.evolve(sequence_id=77))
    at = offset(version, field)
    frame[at : at + len(value)] = value
    if value == b"\x00":  # no destination at all: the packet is that much shorter
        del frame[at + 1 : at + 1 + (32 if version is V30 else 21)]
        frame[:4] = struct.pack(">I", len(frame))
    err = failure(frame, version)
    assert (err.result, err.command_id, err.sequence_id) == (result, 4, 77)


def test_content_longer_than_the_format_allows_is_result_6() -> None:
    frame = raw(V30, SUBMIT)
    frame[offset(V30, "content")] = 141
    frame += bytes(141 - 4)
    frame[:4] = struct.pack(">I", len(frame))
    assert failure(frame).result == Result.TOO_LONG


def test_content_running_past_the_packet_is_result_4() -> None:
    frame = raw(V30, SUBMIT)
    frame[offset(V30, "content")] = 100
    assert failure(frame).result == Result.BAD_LENGTH


def test_unknown_command_is_result_2_with_its_header() -> None:
    err = failure(struct.pack(">III", 12, 0x00000009, 5))  # CMPP_FWD: inter-gateway only
    assert (err.result, err.command_id, err.sequence_id) == (Result.BAD_COMMAND, 9, 5)


@pytest.mark.parametrize("version", list(Version), ids=lambda v: v.name)
def test_length_errors_are_result_4(version: Version) -> None:
    frame = raw(version, SUBMIT)
    assert failure(frame[:-1], version).result == Result.BAD_LENGTH  # Total_Length disagrees
    short = frame[:-1]
    short[:4] = struct.pack(">I", len(short))
    assert failure(short, version).result == Result.BAD_LENGTH  # ends inside LinkID / Reserve
    long = frame + b"\0"
    long[:4] = struct.pack(">I", len(long))
    assert failure(long, version).result == Result.BAD_LENGTH  # an octet after the last field
    assert failure(b"\0\0\0", version).result == Result.BAD_LENGTH


def test_a_submit_in_the_other_versions_layout_is_refused_not_misread() -> None:
    # The fields slide against the table: here the shifted Src_Id is the first to fail its check.
    assert failure(raw(V20, SUBMIT), V30).result == Result.BAD_SRC_ID
    assert failure(raw(V30, SUBMIT), V20).result != Result.OK


def test_a_status_report_of_the_wrong_size_is_refused() -> None:
    frame = raw(V30, REPORT)
    at = 12 + 8 + 21 + 10 + 3 + 32 + 1 + 1
    assert frame[at] == 71
    frame[at] = 60
    assert failure(frame).result == Result.BAD_LENGTH
    frame[at - 1] = 2  # Registered_Delivery neither MO nor report
    assert failure(frame).result == Result.BAD_STRUCTURE


def test_an_active_test_resp_without_its_reserved_octet_is_read() -> None:
    assert decode(struct.pack(">III", 12, 0x80000008, 3), V30) == pk.ActiveTestResp(sequence_id=3)


@given(st.data())
def test_truncated_mutated_or_random_input_raises_only_the_typed_error(data: st.DataObject) -> None:
    version = data.draw(VERSIONS)
    frame = bytearray(encode(data.draw(any_packet(version)), version))
    for where, xor in data.draw(st.lists(st.tuples(st.integers(0, 4000), st.integers(1, 255)), max_size=4)):
        frame[where % len(frame)] ^= xor
    frame = frame[: data.draw(st.integers(0, len(frame)))]
    if data.draw(st.booleans()):
        frame = bytearray(data.draw(st.binary(max_size=300)))
    try:
        packet = decode(bytes(frame), version)
    except CmppDecodeError as err:
        assert 1 <= err.result <= 13
    else:
        assert encode(packet, version) == bytes(frame) or len(frame) == 12  # only a 12-octet ACTIVE_TEST_RESP differs
