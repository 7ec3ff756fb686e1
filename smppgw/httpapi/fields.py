"""Field checks the fronts share: numbers, lengths, times, extensions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta, timezone

from ..protocol.coding import best_data_coding, count_segments, segment_count_for_text
from .accounts import ApiAccount, Limits
from .errors import ApiError, Reason

_MAINLAND = re.compile(r"(?:\+?86|0086)?(1[3-9]\d{9})")
_SEPARATORS = re.compile(r"[,，;；\r\n]+")
_INNER_SPACE = re.compile(r"[\s\-]+")
_DIGITS = re.compile(r"\d+")
_LEGACY_TIMES = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S")
_RFC3339 = re.compile(r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def split_numbers(text: str) -> list[str]:
    """The items of a legacy `mobile` list (half- or full-width commas), empty items dropped."""
    return [item for item in (_INNER_SPACE.sub("", part) for part in _SEPARATORS.split(text)) if item]


def mainland_mobile(raw: str) -> str | None:
    """An 11-digit mainland mobile number ("+86", "86" or "0086" in front tolerated), else None."""
    match = _MAINLAND.fullmatch(_INNER_SPACE.sub("", raw))
    return match.group(1) if match and match.group(1).isascii() else None


def international_number(raw: str) -> str | None:
    """Digits of `^\\+?\\d+$` (Jasmin's rule) up to 20 digits, without the plus; else None."""
    text = raw.strip()
    text = text.removeprefix("+")
    if not ascii_digits(text) or not 5 <= len(text) <= 20:
        return None
    return text


def dedupe(items: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def well_formed_text(text: str) -> bool:
    """False for text that cannot go on air at all (lone surrogates from JSON escapes)."""
    try:
        text.encode("utf-16-be")
    except UnicodeEncodeError:
        return False
    return True


def text_segments(text: str) -> int:
    """Parts the text needs with the coding the gateway would choose for it."""
    return segment_count_for_text(text, best_data_coding(text))


def text_too_long(text: str, limits: Limits) -> bool:
    # Cheap bound first: even UCS-2 parts hold 67 characters.
    if len(text) <= 67:
        return False
    if len(text) > 160 * limits.max_segments:
        return True
    return text_segments(text) > limits.max_segments


def octets_too_long(octets: bytes, data_coding: int, limits: Limits) -> bool:
    if len(octets) > 160 * limits.max_segments:
        return True
    return count_segments(data_coding, octets, has_udh=False) > limits.max_segments


def _zone(limits: Limits) -> timezone:
    return timezone(timedelta(minutes=limits.utc_offset_minutes))


def local_time(t: float, limits: Limits) -> str:
    """`yyyy-MM-dd HH:mm:ss` of epoch `t` at the configured UTC offset (legacy replies)."""
    try:
        return f"{datetime.fromtimestamp(t, _zone(limits)):%Y-%m-%d %H:%M:%S}"
    except (ValueError, OverflowError, OSError):
        return ""  # a time no calendar date stands for; the reply stays well-formed


def rfc3339(t: float) -> str:
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return ""


def schedule(when: float, now: float, limits: Limits, field: str) -> float | ApiError | None:
    """A schedule time: None if it is not in the future (send now), refused if too far ahead."""
    if when <= now:
        return None
    if when - now > limits.max_schedule_ahead_s:
        return ApiError(Reason.INVALID_SCHEDULE, field=field, value=str(int(when)))
    return when


def legacy_send_time(text: str, now: float, limits: Limits) -> float | ApiError | None:
    """`sendTime` (`yyyy-MM-dd HH:mm:ss`, Beijing time); empty means now."""
    value = text.strip()
    if not value:
        return None
    for pattern in _LEGACY_TIMES:
        try:
            moment = datetime.strptime(value, pattern)
        except ValueError:
            continue
        return schedule(moment.replace(tzinfo=_zone(limits)).timestamp(), now, limits, "sendTime")
    return ApiError(Reason.INVALID_SCHEDULE, field="sendTime", value=value)


def parse_rfc3339(text: str) -> float | None:
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = float(match.group(7)) if match.group(7) else 0.0
    zone = match.group(8)
    if zone in ("Z", "z"):
        tz = UTC
    else:
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            return None
        tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        moment = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        return None
    return moment.timestamp() + fraction


def check_extno(extno: str, limits: Limits, field: str = "extno") -> str | ApiError:
    """An extension sub-number: digits only, at most `max_extno_digits`."""
    value = extno.strip()
    if value and (not ascii_digits(value) or len(value) > limits.max_extno_digits):
        return ApiError(Reason.INVALID_SOURCE, field=field, value=value)
    return value


def source_with_extno(account: ApiAccount, extno: str, limits: Limits) -> str | ApiError | None:
    """The service number with the extension appended; None: the account's default source."""
    if not extno:
        return account.service_number or None
    source = account.service_number + extno
    if len(source) > limits.max_source_digits:
        return ApiError(Reason.INVALID_SOURCE, field="extno", value=extno)
    return source


def parse_int(text: str, low: int, high: int) -> int | None:
    value = text.strip()
    if not _DIGITS.fullmatch(value) or not value.isascii() or len(value) > 12:
        return None
    number = int(value)
    return number if low <= number <= high else None
