from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smppgw.protocol.smpptime import format_receipt_date, format_smpp_time, parse_smpp_time

NOON_BEIJING = 1735704000.0  # 2025-01-01 12:00:00 UTC+8 = 04:00 UTC
NOW = 1735000000.0


def test_empty_means_immediate() -> None:
    assert parse_smpp_time("", NOW) is None


@pytest.mark.parametrize(
    "value",
    [
        "250101120000032+",  # Beijing time, 32 quarter hours ahead of UTC
        "250101040000000+",  # UTC, as Kannel sends it
        "241231230000020-",  # UTC-5
        "250101053000006+",  # UTC+1:30
    ],
)
def test_absolute_times_name_the_same_instant(value: str) -> None:
    assert parse_smpp_time(value, NOW) == NOON_BEIJING


def test_absolute_tenths() -> None:
    assert parse_smpp_time("250101120000532+", NOW) == pytest.approx(NOON_BEIJING + 0.5)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("000002000000000R", 2 * 86400),
        ("000000013000000R", 5400),
        ("000000000045000R", 45),
        ("000000000000000R", 0),
        ("000000480000000R", 48 * 3600),
        ("000000000000500R", 0.5),
    ],
)
def test_relative_times_count_from_now(value: str, seconds: float) -> None:
    assert parse_smpp_time(value, NOW) == pytest.approx(NOW + seconds)


def test_relative_months_and_years_are_calendar_ones() -> None:
    jan31 = 1738281600.0  # 2025-01-31 00:00 UTC
    assert parse_smpp_time("000100000000000R", jan31) == 1740700800.0  # 2025-02-28
    assert parse_smpp_time("010000000000000R", jan31) == 1769817600.0  # 2026-01-31


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("25010112000003+", "16 characters"),
        ("250101120000032+\0", "16 characters"),
        ("2501011200000 2+", "non-digits"),
        ("250101120000032X", "end in"),
        ("251301120000032+", "not a valid date"),
        ("250132120000032+", "not a valid date"),
        ("250230120000032+", "not a valid date"),
        ("250101240000032+", "not a valid date"),
        ("250101126000032+", "not a valid date"),
        ("250101120000049+", "quarter hours"),
        ("00000200000000AR", "non-digits"),
    ],
)
def test_malformed_times_say_why(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_smpp_time(value, NOW)


def test_format_absolute() -> None:
    assert format_smpp_time(NOON_BEIJING) == "250101120000032+"
    assert format_smpp_time(NOON_BEIJING, 0) == "250101040000000+"
    assert format_smpp_time(NOON_BEIJING, -300) == "241231230000020-"
    assert format_smpp_time(NOON_BEIJING + 0.75) == "250101120000732+"


@pytest.mark.parametrize("offset", [7, 481, 13 * 60])
def test_format_refuses_offsets_smpp_cannot_express(offset: int) -> None:
    with pytest.raises(ValueError, match="quarter hours"):
        format_smpp_time(NOON_BEIJING, offset)


def test_format_refuses_years_outside_two_digits() -> None:
    with pytest.raises(ValueError, match="year"):
        format_smpp_time(0.0)
    with pytest.raises(ValueError, match="year"):
        format_receipt_date(4200000000.0)


def test_receipt_date() -> None:
    assert format_receipt_date(NOON_BEIJING + 34 * 60) == "2501011234"
    assert format_receipt_date(NOON_BEIJING + 34 * 60, 0) == "2501010434"


@given(
    seconds=st.integers(946_771_200, 4_070_000_000),
    tenths=st.integers(0, 9),
    quarters=st.integers(-48, 48),
)
def test_format_parse_round_trip(seconds: int, tenths: int, quarters: int) -> None:
    t = seconds + tenths / 10
    text = format_smpp_time(t, quarters * 15)
    assert len(text) == 16
    assert parse_smpp_time(text, NOW) == pytest.approx(t, abs=1e-6)
