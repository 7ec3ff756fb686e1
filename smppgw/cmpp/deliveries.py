"""DELIVERs the gateway builds: the status report for one destination of a SUBMIT, and an MO
message (cut into UDH parts when it does not fit one)."""

from __future__ import annotations

from datetime import datetime

from . import packets as pk
from .codec import content_limit
from .constants import MsgFmt
from .longmsg import split
from .text import choose_fmt, encode_text

STAT_SIZE = 7


def report_time(when: datetime) -> str:
    """Submit_time / Done_time of a status report: YYMMDDHHMM."""
    return when.strftime("%y%m%d%H%M")


def status_report(
    submit: pk.Submit,
    destination: int,
    msg_id: int,
    *,
    stat: str,
    submitted: datetime,
    done: datetime,
    smsc_sequence: int = 0,
    dest_id: str | None = None,
) -> pk.Deliver:
    """The report DELIVER for destination ``destination`` (0-based) of ``submit``, whose
    SUBMIT_RESP gave ``msg_id`` (the id of that destination: first id + destination).

    ``stat`` is any 7-character word the carrier plan gives: DELIVRD, UNDELIV, MA:0001 ...
    The report goes to the number the SP sent from (``dest_id``, by default the SUBMIT's Src_Id).
    """
    if not 0 < len(stat) <= STAT_SIZE or not stat.isascii():
        raise ValueError(f"Stat {stat!r} is not at most {STAT_SIZE} ASCII characters")
    phone = submit.dest_terminal_ids[destination]
    return pk.Deliver(
        dest_id=submit.src_id if dest_id is None else dest_id,
        service_id=submit.service_id,
        src_terminal_id=phone,
        content=pk.StatusReport(
            msg_id=msg_id,
            stat=stat,
            submit_time=report_time(submitted),
            done_time=report_time(done),
            dest_terminal_id=phone,
            smsc_sequence=smsc_sequence,
        ),
    )


def mo_delivers(
    text: str, src_terminal_id: str, dest_id: str, *, ref: int, msg_id: int = 0, service_id: str = ""
) -> list[pk.Deliver]:
    """The DELIVERs of an MO message from ``src_terminal_id`` to the SP's number ``dest_id``:
    one when it fits (70 UCS2 / 159 ASCII characters), else UCS2 parts of 67 characters with an
    8-bit-reference UDH (``ref``), each with TP_udhi = 1."""
    fmt = choose_fmt(text)
    body = encode_text(text, fmt)
    if len(body) > content_limit(fmt):
        fmt, body = MsgFmt.UCS2, encode_text(text, MsgFmt.UCS2)
    contents = [body] if len(body) <= content_limit(fmt) else split(body, ref, 134)
    udhi = 1 if len(contents) > 1 else 0
    return [
        pk.Deliver(
            msg_id=msg_id,
            dest_id=dest_id,
            service_id=service_id,
            tp_udhi=udhi,
            msg_fmt=fmt,
            src_terminal_id=src_terminal_id,
            content=content,
        )
        for content in contents
    ]
