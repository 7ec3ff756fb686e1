"""Text coding of short_message by data_coding, and how many SMS a carrier bills for it.

GSM 03.38 text travels UNPACKED over SMPP (one septet per octet), so an octet string of
dc 0 is a sequence of alphabet indexes, 0x1B introducing the extension table.
"""

from __future__ import annotations

import codecs
from enum import Enum

# GSM 03.38 default alphabet, indexed by septet.  0x1B is the escape to the extension
# table; it never stands for a character by itself.
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
_GSM_ESCAPE = 0x1B
_GSM_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}
_GSM_ENCODE: dict[str, bytes] = {ch: bytes([i]) for i, ch in enumerate(_GSM_BASIC) if i != _GSM_ESCAPE}
_GSM_ENCODE.update({ch: bytes([_GSM_ESCAPE, i]) for i, ch in _GSM_EXTENSION.items()})

_REPLACEMENT = "\ufffd"
# Octet -> character for text without the escape, decoded in C by a charmap (0.7 against 15 us
# for the septet loop on a 160-octet SMS); octets above 0x7F are not septets.
_GSM_CHARMAP = _GSM_BASIC + _REPLACEMENT * 128

# Carrier billing limits: one SMS alone / each part of a concatenated message (8-bit ref UDH).
GSM7_SINGLE, GSM7_PART = 160, 153
OCTET_SINGLE, OCTET_PART = 140, 134
UCS2_SINGLE, UCS2_PART = 70, 67

DC0_CHOICES = ("gsm7", "latin1", "ascii")


class Alphabet(Enum):
    """How the octets of a data_coding are to be read (and counted)."""

    GSM7 = "gsm7"
    ASCII = "ascii"
    LATIN1 = "latin1"
    UCS2 = "ucs2"
    GBK = "gbk"
    CYRILLIC = "cyrillic"
    HEBREW = "hebrew"


_DC0_ALPHABETS = {choice: Alphabet(choice) for choice in DC0_CHOICES}

# Python codec of each alphabet that is a plain byte codec.
_CODECS = {
    Alphabet.ASCII: "ascii",
    Alphabet.LATIN1: "latin-1",
    Alphabet.GBK: "gb18030",
    Alphabet.CYRILLIC: "iso8859-5",
    Alphabet.HEBREW: "iso8859-8",
}


def alphabet_of(data_coding: int, *, dc0: str = "gsm7") -> Alphabet:
    """The alphabet a data_coding value selects.  Codings without a codec here (binary,
    JIS, KS C 5601, pictogram, reserved values) map octet-for-octet to Latin-1 for display."""
    if data_coding == 0:
        alphabet = _DC0_ALPHABETS.get(dc0)
        if alphabet is None:
            raise ValueError(f"dc0 must be one of {DC0_CHOICES}, not {dc0!r}")
        return alphabet
    if data_coding == 1:
        return Alphabet.ASCII
    if data_coding == 6:
        return Alphabet.CYRILLIC
    if data_coding == 7:
        return Alphabet.HEBREW
    if data_coding == 8:
        return Alphabet.UCS2
    if data_coding == 0x0F:
        # Chinese gateways follow CMPP Msg_Fmt 15 (GB text); GB18030 is a superset of GBK and GB2312.
        return Alphabet.GBK
    if 0xC0 <= data_coding <= 0xDF:
        # GSM 03.38 message-waiting groups "discard"/"store": default alphabet.
        return Alphabet.GSM7
    if 0xE0 <= data_coding <= 0xEF:
        # GSM 03.38 message-waiting group "store, UCS2".
        return Alphabet.UCS2
    if data_coding >= 0xF0:
        # GSM data coding / message class group: bit 2 picks 8-bit data over the 7-bit alphabet.
        return Alphabet.LATIN1 if data_coding & 0x04 else Alphabet.GSM7
    return Alphabet.LATIN1


def _gsm7_decode(octets: bytes) -> str:
    if _GSM_ESCAPE not in octets:
        return codecs.charmap_decode(octets, "strict", _GSM_CHARMAP)[0]
    out: list[str] = []
    i, n = 0, len(octets)
    while i < n:
        b = octets[i]
        i += 1
        if b == _GSM_ESCAPE:
            if i >= n:
                out.append(_REPLACEMENT)
                break
            nxt = octets[i]
            i += 1
            ext = _GSM_EXTENSION.get(nxt)
            if ext is not None:
                out.append(ext)
            elif nxt < 0x80 and nxt != _GSM_ESCAPE:
                # 03.38: an unknown extension shows as the default-alphabet character.
                out.append(_GSM_BASIC[nxt])
            else:
                out.append(_REPLACEMENT)
        elif b < 0x80:
            out.append(_GSM_BASIC[b])
        else:
            out.append(_REPLACEMENT)
    return "".join(out)


def _gsm7_encode(text: str) -> bytes:
    parts: list[bytes] = []
    for pos, ch in enumerate(text):
        septets = _GSM_ENCODE.get(ch)
        if septets is None:
            raise ValueError(f"character {ch!r} at position {pos} is not in the GSM 03.38 alphabet")
        parts.append(septets)
    return b"".join(parts)


def decode_text(data_coding: int, octets: bytes, *, dc0: str = "gsm7") -> str:
    """short_message (without UDH) as text.  Never raises on bad octets: they become U+FFFD."""
    alphabet = alphabet_of(data_coding, dc0=dc0)
    if alphabet is Alphabet.GSM7:
        return _gsm7_decode(octets)
    if alphabet is Alphabet.UCS2:
        return octets.decode("utf-16-be", errors="replace")
    return octets.decode(_CODECS[alphabet], errors="replace")


def encode_text(text: str, data_coding: int, *, dc0: str = "gsm7") -> bytes:
    """Inverse of decode_text.  Raises ValueError if the coding cannot represent the text."""
    alphabet = alphabet_of(data_coding, dc0=dc0)
    if alphabet is Alphabet.GSM7:
        return _gsm7_encode(text)
    codec = "utf-16-be" if alphabet is Alphabet.UCS2 else _CODECS[alphabet]
    try:
        return text.encode(codec)
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"character {text[exc.start]!r} at position {exc.start} cannot be sent with data_coding {data_coding}"
        ) from exc


def gsm7_encodable(text: str) -> bool:
    return all(ch in _GSM_ENCODE for ch in text)


def best_data_coding(text: str) -> int:
    """The coding a handset client would pick: GSM 7-bit if possible, else UCS2."""
    return 0 if gsm7_encodable(text) else 8


def _pack(units: list[int], single: int, part: int) -> int:
    """Parts needed for a message of indivisible units (sizes), filling each part greedily."""
    if sum(units) <= single:
        return 1
    parts, used = 1, 0
    for size in units:
        if used + size > part:
            parts += 1
            used = 0
        used += size
    return parts


def _gsm7_units(octets: bytes) -> list[int]:
    units: list[int] = []
    i, n = 0, len(octets)
    while i < n:
        if octets[i] == _GSM_ESCAPE and i + 1 < n:
            units.append(2)
            i += 2
        else:
            units.append(1)
            i += 1
    return units


def _utf16_units(octets: bytes) -> list[int]:
    words = [int.from_bytes(octets[i : i + 2], "big") for i in range(0, len(octets), 2)]
    units: list[int] = []
    i, n = 0, len(words)
    while i < n:
        if 0xD800 <= words[i] <= 0xDBFF and i + 1 < n and 0xDC00 <= words[i + 1] <= 0xDFFF:
            units.append(2)
            i += 2
        else:
            units.append(1)
            i += 1
    return units


def count_segments(data_coding: int, octets: bytes, *, has_udh: bool) -> int:
    """How many SMS a carrier bills for this short_message (or message_payload).

    ``has_udh`` means the client split the message itself and this PDU is one part of it.
    Counting does not depend on the dc 0 interpretation: ASCII and GSM are both 7-bit on air.
    """
    if has_udh:
        return 1
    alphabet = alphabet_of(data_coding)
    n = len(octets)
    # Each octet is at most one unit (two for a UCS2 unit), so a short text is one part; GSM text
    # without the escape is all 1-unit characters, packed greedily.
    if alphabet is Alphabet.GSM7:
        if n <= GSM7_SINGLE:
            return 1
        if _GSM_ESCAPE not in octets:
            return -(-n // GSM7_PART)
        return _pack(_gsm7_units(octets), GSM7_SINGLE, GSM7_PART)
    if alphabet is Alphabet.UCS2:
        if n <= 2 * UCS2_SINGLE:
            return 1
        return _pack(_utf16_units(octets), UCS2_SINGLE, UCS2_PART)
    if alphabet is Alphabet.GBK:
        # GB text goes on air as UCS2, so it is billed by UTF-16 code units.
        utf16 = octets.decode("gb18030", errors="replace").encode("utf-16-be", errors="replace")
        return _pack(_utf16_units(utf16), UCS2_SINGLE, UCS2_PART)
    return 1 if n <= OCTET_SINGLE else -(-n // OCTET_PART)


def segment_count_for_text(text: str, data_coding: int) -> int:
    """Parts billed for ``text`` sent with ``data_coding``; ValueError if it cannot be encoded."""
    return count_segments(data_coding, encode_text(text, data_coding), has_udh=False)
