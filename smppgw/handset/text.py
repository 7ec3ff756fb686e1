"""What a handset shows for the octets of one data_coding: text in its alphabet, or hex for data.

Builds on ``protocol.coding`` (GSM 03.38, Latin-1, UCS2, GB18030, the ISO-8859 tables) and adds
what a phone does beyond counting: the Japanese and Korean sets of SMPP 3.4's table, binary data
shown as hex, and the 【signature】 at the text's start or end.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..protocol.coding import Alphabet, alphabet_of, decode_text

__all__ = ["Decoded", "coding_name", "decode", "decoder_of", "signature_of"]


@dataclass(frozen=True, slots=True)
class Decoded:
    """``text`` for a text coding, else None and ``hex`` (lower case, no separators)."""

    text: str | None
    hex: str | None


# SMPP 3.4 data_coding values that carry octets rather than text.
_OCTETS = frozenset({0x02, 0x04})
# Codings without a text decoder here: a vendor's pictograms.
_NO_DECODER = frozenset({0x09})
# Raw JIS X 0208 / X 0212 (two 7-bit octets a character): read as ISO-2022-JP once the escape that
# selects the set is put in front.
_JIS = {0x05: (b"\x1b$B", "iso2022_jp"), 0x0D: (b"\x1b$(D", "iso2022_jp_1")}
_PLAIN = {0x0A: "iso2022_jp", 0x0E: "euc_kr"}

_NAMES = {
    0x01: "IA5 (ASCII)",
    0x02: "8-bit binary",
    0x03: "Latin-1",
    0x04: "8-bit binary",
    0x05: "JIS X 0208",
    0x06: "Cyrillic (ISO-8859-5)",
    0x07: "Latin/Hebrew (ISO-8859-8)",
    0x08: "UCS2",
    0x09: "pictogram",
    0x0A: "ISO-2022-JP",
    0x0D: "JIS X 0212",
    0x0E: "KS C 5601",
    0x0F: "GB18030 (GBK)",
}
_DC0_NAMES = {"gsm7": "GSM 7-bit default alphabet", "latin1": "Latin-1", "ascii": "ASCII"}


def _is_data(data_coding: int) -> bool:
    # GSM 03.38 group 0xF0: bit 2 set is 8-bit data.
    return data_coding in _OCTETS or data_coding in _NO_DECODER or (data_coding >= 0xF0 and bool(data_coding & 0x04))


def coding_name(data_coding: int, *, dc0: str = "gsm7") -> str:
    """A person's name for the coding, e.g. "UCS2" or "8-bit data, class 1"."""
    if data_coding == 0:
        return _DC0_NAMES.get(dc0, dc0)
    if data_coding in _NAMES:
        return _NAMES[data_coding]
    if 0xC0 <= data_coding <= 0xDF:
        return "GSM 7-bit default alphabet (message waiting)"
    if 0xE0 <= data_coding <= 0xEF:
        return "UCS2 (message waiting)"
    if data_coding >= 0xF0:
        kind = "8-bit data" if data_coding & 0x04 else "GSM 7-bit default alphabet"
        return f"{kind}, class {data_coding & 0x03}"
    return f"data_coding 0x{data_coding:02X}"


def decoder_of(data_coding: int, *, dc0: str = "gsm7") -> str:
    """What reads the octets: parts that differ here are shown differently by the phone."""
    if _is_data(data_coding):
        return "hex"
    if data_coding in _JIS:
        return _JIS[data_coding][1] + f":{data_coding}"
    if data_coding in _PLAIN:
        return _PLAIN[data_coding]
    return alphabet_of(data_coding, dc0=dc0).value


def decode(data_coding: int, octets: bytes, *, dc0: str = "gsm7") -> Decoded:
    """The octets of a message (UDH removed) as the phone shows them.  Never raises: an octet that
    is not a character of the coding becomes U+FFFD, as a phone shows a box."""
    if _is_data(data_coding):
        return Decoded(None, octets.hex())
    if data_coding in _JIS:
        escape, codec = _JIS[data_coding]
        return Decoded((escape + octets + b"\x1b(B").decode(codec, errors="replace"), None)
    if data_coding in _PLAIN:
        return Decoded(octets.decode(_PLAIN[data_coding], errors="replace"), None)
    alphabet = alphabet_of(data_coding, dc0=dc0)
    if alphabet is Alphabet.UCS2 and len(octets) % 2:
        # A UCS2 message cut inside a character: the phone shows what it can and a box for the rest.
        return Decoded(octets[:-1].decode("utf-16-be", errors="replace") + "\ufffd", None)
    return Decoded(decode_text(data_coding, octets, dc0=dc0), None)


# The same shape config checks registered signatures against: a name in full-width brackets.
_AT_START = re.compile(r"\s*(【[^【】]{1,20}】)")
_AT_END = re.compile(r"(【[^【】]{1,20}】)\s*$")


def signature_of(text: str) -> tuple[str, str] | None:
    """(the 【signature】, "start" or "end") where the text carries one, as Chinese phones show it."""
    found = _AT_START.match(text)
    if found is not None:
        return found.group(1), "start"
    found = _AT_END.search(text)
    if found is not None:
        return found.group(1), "end"
    return None
