"""Delivery receipts (SMPP 3.4 Appendix B): the text, written so Kannel's and Jasmin's parsers accept
it, and the deliver_sm that carries a receipt or an MO."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import pdu as p
from .constants import Tag
from .smpptime import format_receipt_date

RECEIPT_TEXT_CHARS = 20

# sub, dlvrd and a numeric err as receipts write them: an f-string with a format spec becomes a
# str.format call in the compiled build (~0.5 us each), a lookup here does not.
_THREE_DIGITS = tuple(f"{n:03d}" for n in range(1000))
_ERR_RE = re.compile(r"[0-9A-Za-z]{1,3}")
_STAT_RE = re.compile(r"[0-9A-Za-z]{7}")
# Keys are matched only at a word start so "id:" inside another token is not taken for the id.
_TEXT_RE = re.compile(r"(?:^|\s)text:", re.IGNORECASE)
_FIELD_RES = {
    "id": re.compile(r"(?:^|\s)id:(\S+)", re.IGNORECASE),
    "sub": re.compile(r"(?:^|\s)sub:(\d+)", re.IGNORECASE),
    "dlvrd": re.compile(r"(?:^|\s)dlvrd:(\d+)", re.IGNORECASE),
    "submit_date": re.compile(r"(?:^|\s)submit[ _]date:(\d+)", re.IGNORECASE),
    "done_date": re.compile(r"(?:^|\s)done[ _]date:(\d+)", re.IGNORECASE),
    "stat": re.compile(r"(?:^|\s)stat:(\S+)", re.IGNORECASE),
    "err": re.compile(r"(?:^|\s)err:(\S+)", re.IGNORECASE),
}


@dataclass(frozen=True, slots=True)
class ReceiptText:
    message_id: str
    sub: int
    dlvrd: int
    submit_date: str
    done_date: str
    stat: str
    err: str
    text: str


def _receipt_snippet(text: str) -> str:
    # The receipt goes out with data_coding 0, so only printable 7-bit ASCII survives every client.
    snippet = text[:RECEIPT_TEXT_CHARS]
    if snippet.isascii() and snippet.isprintable():  # the usual case, checked in C
        return snippet
    out = []
    for ch in snippet:
        if ch in "\r\n\t\f\v":
            out.append(" ")
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append("?")
    return "".join(out)


def _err_field(err: int | str) -> str:
    if isinstance(err, int):
        if not 0 <= err <= 999:
            raise ValueError(f"receipt err {err} does not fit in 3 digits")
        return _THREE_DIGITS[err]
    if not _ERR_RE.fullmatch(err):
        raise ValueError(f"receipt err {err!r} must be 1-3 letters or digits (carrier codes belong in text)")
    return err.zfill(3) if err.isdigit() else err


def format_receipt(
    message_id: str,
    *,
    submitted_at: float,
    done_at: float,
    stat: str,
    err: int | str,
    text: str,
    utc_offset_minutes: int = 480,
    sub: int = 1,
) -> bytes:
    """Receipt short_message: ``id:.. sub:001 dlvrd:001 submit date:.. done date:.. stat:.. err:.. text:..``.

    ``text`` is the original message; its first 20 characters are kept, non-ASCII as '?'.
    dlvrd equals sub for DELIVRD and is 0 otherwise.
    """
    if not message_id or not message_id.isascii() or not message_id.isprintable() or " " in message_id:
        raise ValueError(f"receipt message id {message_id!r} must be non-empty printable ASCII without spaces")
    if not _STAT_RE.fullmatch(stat):
        raise ValueError(f"receipt stat {stat!r} must be a 7-character word such as DELIVRD")
    if not 0 <= sub <= 999:
        raise ValueError(f"receipt sub {sub} does not fit in 3 digits")
    dlvrd = sub if stat == "DELIVRD" else 0
    line = (
        f"id:{message_id} sub:{_THREE_DIGITS[sub]} dlvrd:{_THREE_DIGITS[dlvrd]}"
        f" submit date:{format_receipt_date(submitted_at, utc_offset_minutes)}"
        f" done date:{format_receipt_date(done_at, utc_offset_minutes)}"
        f" stat:{stat} err:{_err_field(err)} text:{_receipt_snippet(text)}"
    )
    return line.encode("ascii")


def parse_receipt(data: bytes) -> ReceiptText:
    """Read a receipt as SMPP clients do: keys case-insensitive, any order, sub/dlvrd/dates/text optional.

    Raises ValueError when there is no id or no stat (then it is not a receipt).
    """
    line = data.decode("latin-1")
    text_key = _TEXT_RE.search(line)
    head, text = (line[: text_key.start()], line[text_key.end() :]) if text_key else (line, "")
    found = {name: (m.group(1) if (m := regex.search(head)) else "") for name, regex in _FIELD_RES.items()}
    if not found["id"]:
        raise ValueError("receipt has no id: field")
    if not found["stat"]:
        raise ValueError("receipt has no stat: field")
    return ReceiptText(
        message_id=found["id"],
        sub=int(found["sub"] or 0),
        dlvrd=int(found["dlvrd"] or 0),
        submit_date=found["submit_date"],
        done_date=found["done_date"],
        stat=found["stat"],
        err=found["err"],
        text=text,
    )


# network_error_code: a network type octet, then the error code.  Type 8 is "SMSC-specific": the
# error is the gateway's (the carrier's) own code, not a GSM or ANSI one.
_NETWORK_TYPE = 8
SHORT_MESSAGE_MAX = 254  # longer bodies travel in message_payload


def receipt_tlvs(message_id: str, state: int, network_error: int) -> tuple[p.Tlv, ...]:
    """The TLVs of a delivery receipt: the receipted id, its message_state and, for an error, the code."""
    tlvs: tuple[p.Tlv, ...] = (p.cstr_tlv(Tag.RECEIPTED_MESSAGE_ID, message_id), p.int_tlv(Tag.MESSAGE_STATE, state))
    if network_error:
        tlvs += (p.Tlv(Tag.NETWORK_ERROR_CODE, bytes([_NETWORK_TYPE]) + network_error.to_bytes(2, "big")),)
    return tlvs


def deliver_sm(
    *,
    sequence_number: int,
    source_addr_ton: int,
    source_addr_npi: int,
    source_addr: str,
    dest_addr_ton: int,
    dest_addr_npi: int,
    destination_addr: str,
    esm_class: int,
    data_coding: int,
    body: bytes,
    tlvs: tuple[p.Tlv, ...] = (),
) -> p.DeliverSm:
    """A deliver_sm (receipt or MO) carrying ``body`` in short_message, or in message_payload when longer."""
    short = len(body) <= SHORT_MESSAGE_MAX
    return p.DeliverSm(
        sequence_number=sequence_number,
        source_addr_ton=source_addr_ton,
        source_addr_npi=source_addr_npi,
        source_addr=source_addr,
        dest_addr_ton=dest_addr_ton,
        dest_addr_npi=dest_addr_npi,
        destination_addr=destination_addr,
        esm_class=esm_class,
        data_coding=data_coding,
        short_message=body if short else b"",
        tlvs=tlvs if short else (*tlvs, p.Tlv(Tag.MESSAGE_PAYLOAD, body)),
    )
