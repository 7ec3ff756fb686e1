"""SMPP 3.4 time strings (section 7.1.1): ``YYMMDDhhmmsstnnp`` absolute or relative (``R``)."""

from __future__ import annotations

import calendar
import functools
from datetime import UTC, datetime, timedelta, timezone

_MAX_QUARTERS = 48


def _zone(utc_offset_minutes: int) -> timezone:
    return timezone(timedelta(minutes=utc_offset_minutes))


def _add_months(moment: datetime, months: int) -> datetime:
    year, month0 = divmod(moment.month - 1 + months, 12)
    year += moment.year
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def parse_smpp_time(value: str, now: float) -> float | None:
    """Epoch seconds of an SMPP time, None for "" (immediate / SMSC default).

    Relative times count from ``now``; years and months are calendar ones (in UTC).
    Raises ValueError with the reason for anything malformed.
    """
    if value == "":
        return None
    if len(value) != 16:
        raise ValueError(f"SMPP time must be 16 characters, got {len(value)}")
    digits, sign = value[:15], value[15]
    if not (digits.isascii() and digits.isdigit()):
        raise ValueError(f"SMPP time {value!r} has non-digits in its first 15 characters")
    if sign not in "+-R":
        raise ValueError(f"SMPP time {value!r} must end in '+', '-' or 'R'")
    yy, mo, dd, hh, mi, ss = (int(digits[i : i + 2]) for i in range(0, 12, 2))
    tenths, quarters = int(digits[12]), int(digits[13:15])

    if sign == "R":
        # The spec fixes tnn at "000"; the tenths are honoured and nn ignored for lenience.
        base = datetime.fromtimestamp(now, UTC)
        moved = _add_months(base, yy * 12 + mo)
        moved += timedelta(days=dd, hours=hh, minutes=mi, seconds=ss + tenths / 10)
        return moved.timestamp()

    if quarters > _MAX_QUARTERS:
        raise ValueError(f"SMPP time {value!r} has a UTC offset of {quarters} quarter hours (max 48)")
    offset = quarters * 15 if sign == "+" else -quarters * 15
    try:
        moment = datetime(2000 + yy, mo, dd, hh, mi, ss, tenths * 100_000, tzinfo=_zone(offset))
    except ValueError as exc:
        raise ValueError(f"SMPP time {value!r} is not a valid date/time: {exc}") from exc
    return moment.timestamp()


def _local(t: float, utc_offset_minutes: int) -> datetime:
    moment = datetime.fromtimestamp(t, _zone(utc_offset_minutes))
    if not 2000 <= moment.year <= 2099:
        raise ValueError(f"year {moment.year} cannot be written with two digits")
    return moment


def format_smpp_time(t: float, utc_offset_minutes: int = 480) -> str:
    """Absolute SMPP time of epoch ``t`` in the given UTC offset (a multiple of 15 minutes)."""
    quarters, rest = divmod(abs(utc_offset_minutes), 15)
    if rest or quarters > _MAX_QUARTERS:
        raise ValueError(f"UTC offset {utc_offset_minutes} min is not a whole number of quarter hours within 12 h")
    moment = _local(t, utc_offset_minutes)
    sign = "-" if utc_offset_minutes < 0 else "+"
    return f"{moment:%y%m%d%H%M%S}{moment.microsecond // 100_000}{quarters:02d}{sign}"


def format_receipt_date(t: float, utc_offset_minutes: int = 480) -> str:
    """``YYMMDDhhmm`` of epoch ``t`` in the given UTC offset, as delivery receipts carry dates."""
    return _receipt_minute(int(t // 60), utc_offset_minutes)


@functools.lru_cache(maxsize=256)
def _receipt_minute(minute: int, utc_offset_minutes: int) -> str:
    # Every receipt formats two dates, and under load thousands share the same minute.
    return f"{_local(minute * 60.0, utc_offset_minutes):%y%m%d%H%M}"
