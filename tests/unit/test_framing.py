"""FrameBuffer: splitting a TCP byte stream into PDUs, alone and together with decode."""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples
from pdu_strategies import any_pdu, u32

from smppgw.protocol import pdu as p
from smppgw.protocol.codec import decode, encode
from smppgw.protocol.constants import CommandId, CommandStatus
from smppgw.protocol.errors import FramingError, PduDecodeError
from smppgw.protocol.framing import DEFAULT_MAX_PDU_SIZE, FrameBuffer


def header(length: int, command_id: int = CommandId.ENQUIRE_LINK, seq: int = 1) -> bytes:
    return struct.pack(">IIII", length, command_id, 0, seq)


def frames_of(buf: FrameBuffer) -> list[bytes]:
    out = []
    while (frame := buf.next_frame()) is not None:
        out.append(frame)
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


PDUS = [
    p.BindTransceiver(sequence_number=1, system_id="acct01", password="secret"),
    p.EnquireLink(sequence_number=2),
    p.SubmitSm(sequence_number=3, source_addr="1065", destination_addr="13800138000", short_message=b"hi"),
    p.Unbind(sequence_number=4),
]
STREAM = b"".join(encode(pdu) for pdu in PDUS)


def test_pdus_fed_one_byte_at_a_time_come_out_whole_and_in_order() -> None:
    buf = FrameBuffer()
    got: list[p.Pdu] = []
    for i in range(len(STREAM)):
        buf.feed(STREAM[i : i + 1])
        got.extend(decode(frame) for frame in frames_of(buf))
    assert got == PDUS
    assert len(buf) == 0


def test_several_pdus_in_one_chunk_with_a_partial_one_left_over() -> None:
    buf = FrameBuffer()
    buf.feed(STREAM + encode(PDUS[0])[:10])
    assert [decode(frame) for frame in frames_of(buf)] == PDUS
    assert len(buf) == 10
    buf.feed(encode(PDUS[0])[10:])
    assert [decode(frame) for frame in frames_of(buf)] == [PDUS[0]]


def test_header_only_pdu_is_a_whole_frame() -> None:
    buf = FrameBuffer()
    buf.feed(header(16, seq=5)[:15])
    assert buf.next_frame() is None
    buf.feed(header(16, seq=5)[15:])
    assert decode(buf.next_frame() or b"") == p.EnquireLink(sequence_number=5)


@pytest.mark.parametrize("length", [0, 1, 15])
def test_command_length_below_16_is_a_framing_error(length: int) -> None:
    buf = FrameBuffer()
    buf.feed(header(length, seq=0x42))
    with pytest.raises(FramingError) as info:
        buf.next_frame()
    assert (info.value.status, info.value.sequence_number) == (CommandStatus.ESME_RINVCMDLEN, 0x42)


def test_command_length_0x7fffffff_is_a_framing_error_before_the_body_arrives() -> None:
    buf = FrameBuffer()
    buf.feed(header(0x7FFF_FFFF, CommandId.SUBMIT_SM, seq=9))
    with pytest.raises(FramingError) as info:
        buf.next_frame()
    assert info.value.status == CommandStatus.ESME_RINVCMDLEN
    assert isinstance(info.value, PduDecodeError)


def test_max_pdu_size_is_inclusive() -> None:
    buf = FrameBuffer(max_pdu_size=100)
    buf.feed(header(100) + b"\0" * 84 + header(101))
    assert len(buf.next_frame() or b"") == 100
    with pytest.raises(FramingError):
        buf.next_frame()
    assert FrameBuffer().max_pdu_size == DEFAULT_MAX_PDU_SIZE


@settings(max_examples=examples(200), deadline=None)
@given(pdus=st.lists(any_pdu(), min_size=1, max_size=6), cuts=st.lists(st.integers(0, 1 << 16), max_size=12))
def test_any_chunking_yields_the_same_pdus(pdus: list[p.Pdu], cuts: list[int]) -> None:
    data = b"".join(encode(pdu) for pdu in pdus)
    buf = FrameBuffer()
    got: list[p.Pdu] = []
    for chunk in split(data, cuts):
        buf.feed(chunk)
        got.extend(decode(frame) for frame in frames_of(buf))
    assert got == pdus
    assert len(buf) == 0


def receive(chunks: list[bytes]) -> list[p.Pdu | PduDecodeError]:
    """What a connection sees: decoded PDUs and errors, stopping at a framing error as it must."""
    buf = FrameBuffer()
    seen: list[p.Pdu | PduDecodeError] = []
    for chunk in chunks:
        buf.feed(chunk)
        while True:
            try:
                frame = buf.next_frame()
            except FramingError as err:
                return [*seen, err]
            if frame is None:
                break
            try:
                seen.append(decode(frame))
            except PduDecodeError as err:
                seen.append(err)
    return seen


@settings(max_examples=examples(300), deadline=None)
@given(data=st.binary(max_size=400), cuts=st.lists(st.integers(0, 1 << 16), max_size=8))
def test_random_stream_raises_only_pdu_decode_error(data: bytes, cuts: list[int]) -> None:
    receive(split(data, cuts))


@st.composite
def damaged_stream(draw: st.DrawFn) -> bytes:
    """Valid encodings with random octets overwritten; command_length is left alone half the time."""
    wire = bytearray(b"".join(encode(pdu) for pdu in draw(st.lists(any_pdu(), min_size=1, max_size=4))))
    for at, value in draw(st.lists(st.tuples(st.integers(0, len(wire) - 1), st.integers(0, 255)), max_size=6)):
        wire[at] = value
    return bytes(wire) + draw(st.binary(max_size=20))


@settings(max_examples=examples(300), deadline=None)
@given(data=damaged_stream(), cuts=st.lists(st.integers(0, 1 << 16), max_size=8))
def test_damaged_stream_raises_only_pdu_decode_error(data: bytes, cuts: list[int]) -> None:
    seen = receive(split(data, cuts))
    # The outcome does not depend on how TCP happened to chunk the stream.
    assert [type(x) for x in seen] == [type(x) for x in receive([data])]


@settings(max_examples=examples(100), deadline=None)
@given(seq=u32, junk=st.binary(min_size=1, max_size=40))
def test_bad_body_keeps_the_stream_in_step(seq: int, junk: bytes) -> None:
    # A PDU whose body cannot be decoded still occupies exactly command_length octets,
    # so the PDU after it is read correctly.
    bad = header(16 + len(junk), 0x0000_0022, seq) + junk  # unknown command_id
    seen = receive([bad + encode(PDUS[2])])
    assert isinstance(seen[0], PduDecodeError)
    assert (seen[0].status, seen[0].sequence_number) == (CommandStatus.ESME_RINVCMDID, seq)
    assert seen[1:] == [PDUS[2]]
