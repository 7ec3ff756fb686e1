"""FrameBuffer: a CMPP byte stream cut into packets, with a bounded Total_Length."""

from __future__ import annotations

import itertools
import struct

import pytest
from cmpp_strategies import any_packet
from hypothesis import given
from hypothesis import strategies as st

from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import decode, encode
from smppgw.cmpp.constants import Result, Version
from smppgw.cmpp.errors import FramingError
from smppgw.cmpp.framing import DEFAULT_MAX_PACKET_SIZE, FrameBuffer

V = Version.V30


def frames_of(buf: FrameBuffer) -> list[bytes]:
    out = []
    while (frame := buf.next_frame()) is not None:
        out.append(frame)
    return out


@given(st.lists(any_packet(V), max_size=6), st.lists(st.integers(0, 5000), max_size=6))
def test_packets_cut_anywhere_come_out_whole_and_in_order(packets: list[pk.Packet], cuts: list[int]) -> None:
    stream = b"".join(encode(p, V) for p in packets)
    points = sorted({c % (len(stream) + 1) for c in cuts} | {0, len(stream)})
    buf = FrameBuffer()
    got: list[pk.Packet] = []
    for a, b in itertools.pairwise(points):
        buf.feed(stream[a:b])
        got.extend(decode(f, V) for f in frames_of(buf))
    assert got == packets
    assert len(buf) == 0


def test_the_largest_submit_fits_the_default_bound() -> None:
    submit = pk.Submit(dest_terminal_ids=("1" * 31,) * 99, content=bytes(159), link_id="L" * 20)
    assert len(encode(submit, V)) == 3490 <= DEFAULT_MAX_PACKET_SIZE


@pytest.mark.parametrize("length", [0, 11, DEFAULT_MAX_PACKET_SIZE + 1, 0xFFFFFFFF])
def test_total_length_out_of_bounds_is_a_framing_error_with_the_header(length: int) -> None:
    buf = FrameBuffer()
    buf.feed(struct.pack(">III", length, 4, 99))
    with pytest.raises(FramingError) as info:
        buf.next_frame()
    assert (info.value.result, info.value.command_id, info.value.sequence_id) == (Result.BAD_LENGTH, 4, 99)


def test_peek_and_skip() -> None:
    buf = FrameBuffer()
    buf.feed(b"x00" + encode(pk.ActiveTest(sequence_id=1), V))
    assert buf.peek(3) == b"x00"
    buf.skip(3)
    assert [decode(f, V) for f in frames_of(buf)] == [pk.ActiveTest(sequence_id=1)]
