"""Destination number normalisation and masking for the mainland China number plan.

Everything here works on strings only and knows nothing about which blocks are assigned;
that is the route table's job, so new blocks never need a code change.
"""

from __future__ import annotations

import re

__all__ = ["InvalidNumber", "mask_msisdn", "normalise_msisdn"]

CHINA_CC = "86"
# China Mobile's IP long-distance prefix; validators in the wild accept it before a mobile number.
_IP_DIAL_PREFIX = "17951"
# Written forms clients paste in: "+86 138-0013-8000", "(0086) 138.0013.8000".
_SEPARATORS = re.compile(r"[\s\-.()]+")
# 13-digit IoT blocks (140-144, 146, 148), assigned or reserved: data only, no person-to-person SMS.
_IOT = re.compile(r"14[0-468]\d{10}")
# E.164 allows at most 15 digits; the shortest real international numbers are around 7.
_E164_MIN, _E164_MAX = 7, 15


class InvalidNumber(ValueError):  # noqa: N818 -- the agreed public name across modules
    """The address cannot be a deliverable mobile number; `reason` is a short machine word."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _is_digits(text: str) -> bool:
    # str.isdigit alone accepts full-width and superscript digits.
    return text.isascii() and text.isdigit()


def _strip_national_prefixes(digits: str) -> str:
    """Remove 86, a trunk 0 or the 17951 IP-dialling prefix in front of a national number."""
    if digits.startswith(CHINA_CC) and len(digits) in (13, 15):  # 86 + 11-digit or 86 + 13-digit IoT
        return digits[2:]
    if len(digits) == 12 and digits.startswith("01"):  # trunk prefix only if a mobile number follows
        return digits[1:]
    if len(digits) == 16 and digits.startswith(_IP_DIAL_PREFIX + "1"):
        return digits[len(_IP_DIAL_PREFIX) :]
    return digits


def _check_national(national: str) -> str:
    # A mainland mobile number: 1 and ten more digits (only digits come here).
    if len(national) == 11 and national.startswith("1"):
        return CHINA_CC + national
    if _IOT.fullmatch(national):
        raise InvalidNumber("iot", "13-digit IoT number cannot receive SMS")
    if not national.startswith("1"):
        raise InvalidNumber("not_mobile", "mainland mobile numbers start with 1")
    raise InvalidNumber("length", f"mainland mobile numbers have 11 digits, got {len(national)}")


def normalise_msisdn(address: str) -> str:
    """Return `address` as E.164 digits without "+" (e.g. "8613800138000").

    Bare digits are read as mainland numbers (with or without 86, a trunk 0 or 17951);
    numbers written with "+" or "00" keep any other country code as given.
    Raises InvalidNumber with reason "empty", "not_digits", "iot", "length" or "not_mobile".
    """
    # Bare digits, the usual form, have no separators to strip.
    compact = address if _is_digits(address) else _SEPARATORS.sub("", address)
    if not compact:
        raise InvalidNumber("empty", "no digits in address")
    international = compact.startswith("+")
    digits = compact[1:] if international else compact
    if not digits:
        raise InvalidNumber("empty", "no digits in address")
    if not _is_digits(digits):
        raise InvalidNumber("not_digits", "address contains characters other than digits")
    if not international and digits.startswith("00"):
        international, digits = True, digits[2:]
    if international:
        if digits.startswith(CHINA_CC):
            national = digits[2:]
            # "+86 (0)138..." is a common written form: the bracketed trunk 0 is not dialled.
            if len(national) == 12 and national.startswith("01"):
                national = national[1:]
            return _check_national(national)
        if not _E164_MIN <= len(digits) <= _E164_MAX:
            raise InvalidNumber("length", f"international numbers have {_E164_MIN}-{_E164_MAX} digits")
        if digits.startswith("0"):
            raise InvalidNumber("not_digits", "country codes do not start with 0")
        return digits
    return _check_national(_strip_national_prefixes(digits))


def _mask_digits(digits: str, head: int) -> str:
    """Hide the middle of `digits`: at most `head` leading and 4 trailing digits stay visible."""
    n = len(digits)
    hidden = max(4, n - head - 4)
    if hidden >= n:
        return "*" * n
    visible = n - hidden
    tail = min(4, visible)
    lead = visible - tail
    return digits[:lead] + "*" * hidden + digits[n - tail :]


def mask_msisdn(address: str) -> str:
    """Mask a phone number for logs: "13800138000" -> "138****8000", "8613800138000" -> "86138****8000".

    Never shows more than the first 3 digits after a country code and the last 4; short or
    unparseable input is masked more, never less.
    """
    compact = _SEPARATORS.sub("", address)
    plus = compact.startswith("+")
    digits = compact[1:] if plus else compact
    if not _is_digits(digits):
        # Garbage may still embed a number; show only its length.
        return "*" * len(compact)
    sign = "+" if plus else ""
    cc = ""
    if plus and digits.startswith(CHINA_CC):
        cc = CHINA_CC
    elif not plus and digits.startswith("00" + CHINA_CC):
        cc = "00" + CHINA_CC
    elif not plus and digits.startswith(CHINA_CC + "1") and len(digits) in (13, 15):
        # Bare 86 counts as a country code only before a mainland mobile number; otherwise
        # "86" is just two more digits of an unknown string.
        cc = CHINA_CC
    return sign + cc + _mask_digits(digits[len(cc) :], head=3)
