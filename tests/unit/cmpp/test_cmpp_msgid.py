"""Msg_Id: the 64-bit time / gateway code / sequence layout, its decimal and hex forms, and
the generator's ranges for mass sends."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smppgw.cmpp.msgid import MsgId, MsgIdGenerator, nth

WHEN = datetime(2026, 11, 27, 14, 30, 5)


def spec_formula(month: int, day: int, hour: int, minute: int, sec: int, gw: int, seq: int) -> int:
    # As the reference gives it (SMSGate DefaultMsgIdUtil; Wireshark decodes the same fields).
    return (month << 60) | (day << 55) | (hour << 50) | (minute << 44) | (sec << 38) | (gw << 16) | seq


def test_layout_follows_the_spec_formula() -> None:
    msg_id = MsgId(11, 27, 14, 30, 5, 900001, 42)
    assert int(msg_id) == spec_formula(11, 27, 14, 30, 5, 900001, 42) == 0xBDB9E14DBBA1002A
    assert MsgId.from_int(0xBDB9E14DBBA1002A) == msg_id


def test_decimal_and_hex_forms() -> None:
    msg_id = MsgId(1, 2, 3, 4, 5, 7, 9)
    assert msg_id.decimal == "0102030405000000700009"
    assert MsgId.from_decimal(msg_id.decimal) == msg_id
    assert msg_id.hex == f"{spec_formula(1, 2, 3, 4, 5, 7, 9):016X}"
    assert MsgId.from_hex(msg_id.hex.lower()) == msg_id


@given(st.integers(0, (1 << 64) - 1))
def test_every_64_bit_value_has_one_decimal_and_one_hex_form(value: int) -> None:
    msg_id = MsgId.from_int(value)
    assert int(MsgId.from_decimal(msg_id.decimal)) == value
    assert int(MsgId.from_hex(msg_id.hex)) == value
    assert len(msg_id.decimal) == 22


@pytest.mark.parametrize("bad", ["123", "0102030405000000700009x", "01020304050000007000091"])
def test_malformed_decimal_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        MsgId.from_decimal(bad)


def test_fields_must_fit_their_bits() -> None:
    with pytest.raises(ValueError):
        MsgId(16, 1, 1, 1, 1, 1, 1)
    with pytest.raises(ValueError):
        MsgIdGenerator(1 << 22)


def test_generator_stamps_time_and_gateway_and_counts_up() -> None:
    gen = MsgIdGenerator(gateway=3)
    first, second = gen.next(WHEN), gen.next(WHEN)
    assert (first.month, first.day, first.hour, first.minute, first.second, first.gateway) == (11, 27, 14, 30, 5, 3)
    assert second.sequence == first.sequence + 1


def test_a_mass_send_takes_consecutive_ids_that_never_straddle_the_wrap() -> None:
    gen = MsgIdGenerator(gateway=3, first_sequence=65530)
    first = gen.next(WHEN, count=10)
    assert first.sequence == 0  # 65530..65539 would carry into the gateway code
    ids = [MsgId.from_int(nth(first, k)) for k in range(10)]
    assert [i.sequence for i in ids] == list(range(10))
    assert {i.gateway for i in ids} == {3}
    assert gen.next(WHEN).sequence == 10


def test_two_nodes_never_issue_the_same_id() -> None:
    a, b = MsgIdGenerator(1), MsgIdGenerator(2)
    assert {int(a.next(WHEN)) for _ in range(100)}.isdisjoint({int(b.next(WHEN)) for _ in range(100)})
