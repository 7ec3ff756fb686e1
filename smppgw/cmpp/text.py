"""Msg_Content as text by Msg_Fmt: 0 ASCII, 8 UCS2, 15 GB (read as GB18030, a superset of GBK);
4 (binary), 3 (SIM write) and unknown values map octet for octet to Latin-1 for display.
CMPP's Msg_Fmt values are SMPP data_coding values, so the two sides share one meaning."""

from __future__ import annotations

from .constants import MsgFmt

_CODECS: dict[int, str] = {MsgFmt.ASCII: "ascii", MsgFmt.UCS2: "utf-16-be", MsgFmt.GBK: "gb18030"}


def decode_text(msg_fmt: int, data: bytes) -> str:
    """The text of ``data``; octets the coding cannot read become U+FFFD, never an error."""
    codec = _CODECS.get(msg_fmt)
    if codec is None:
        return data.decode("latin-1")
    return data.decode(codec, errors="replace")


def encode_text(text: str, msg_fmt: int) -> bytes:
    """``text`` in Msg_Fmt ``msg_fmt``.  Raises UnicodeEncodeError when the coding cannot hold it."""
    codec = _CODECS.get(msg_fmt, "latin-1")
    return text.encode(codec)


def choose_fmt(text: str) -> MsgFmt:
    """ASCII when every character is ASCII, else UCS2 (what handsets show for Chinese)."""
    return MsgFmt.ASCII if text.isascii() else MsgFmt.UCS2
