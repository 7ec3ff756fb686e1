"""Receipts and MO pushed to a customer's URL: the request for each format, and when it is acked.

The pusher (a delivery-queue receiver above this layer) asks `report_callback`/`inbound_callback`
for the HTTP request to make, makes it, and asks `verdict` what the answer means.  Nothing here
sends anything.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import quote, urlencode

from ..protocol.constants import status_name
from ..protocol.receipt import format_receipt
from ..protocol.smpptime import format_receipt_date
from .accounts import Limits
from .errors import ApiError
from .fields import local_time
from .jasmin import error_text
from .legacy import PROLOG_UTF8, callbox, statusbox
from .requests import BatchCallbacks, Op, PushChannel, ReportFormat
from .results import InboundEvent, ReportEvent, ReportKind
from .v1 import inbound_event, report_event

JASMIN_ACK = b"ACK/Jasmin"
SIGNATURE_HEADER = "X-Smppgw-Signature"
EVENT_HEADER = "X-Smppgw-Event-Id"


@dataclass(frozen=True, slots=True)
class Callback:
    """One HTTP request to make."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    format: ReportFormat


class Verdict(Enum):
    ACKED = "acked"  # delete the delivery
    RETRY = "retry"  # try again after the backoff
    STOP = "stop"  # never retry (404/410): park it, still pullable


def verdict(format: ReportFormat, status: int | None, body: bytes) -> Verdict:
    """What an answer means: `status` None for a timeout or a connection failure.

    Jasmin's format needs a 2xx *and* the body `ACK/Jasmin` (after strip); the others any 2xx.
    """
    if status is None:
        return Verdict.RETRY
    if status in (404, 410):
        return Verdict.STOP
    if not 200 <= status < 300:
        return Verdict.RETRY
    if format is ReportFormat.JASMIN and body.strip() != JASMIN_ACK:
        return Verdict.RETRY
    return Verdict.ACKED


def ack_problem(format: ReportFormat, status: int | None, body: bytes) -> str:
    """Why an answer was not an acknowledgement, for the log ("" when it was one)."""
    if verdict(format, status, body) is Verdict.ACKED:
        return ""
    if status is None:
        return "no answer"
    if 200 <= status < 300:
        shown = body[:40].decode("utf-8", "replace")
        return f"answered {status} but the body is {shown!r}, not 'ACK/Jasmin'"
    return f"answered {status}"


def _receipt_date(t: float, utc_offset_minutes: int) -> str:
    """`YYMMDDhhmm`, or "" for a time receipts cannot carry (an unset 0, a year past 2099)."""
    try:
        return format_receipt_date(t, utc_offset_minutes)
    except (ValueError, OverflowError, OSError):
        return ""


def _with_query(url: str, query: str) -> str:
    return url + ("&" if "?" in url else "?") + query if query else url


def _jasmin(method: str, url: str, fields: list[tuple[str, str]], user_agent: str) -> Callback:
    headers: tuple[tuple[str, str], ...] = (("Accept", "text/plain"), ("User-Agent", user_agent))
    encoded = urlencode(fields)
    if method.upper() == "GET":
        return Callback("GET", _with_query(url, encoded), headers, b"", ReportFormat.JASMIN)
    headers += (("Content-Type", "application/x-www-form-urlencoded"),)
    return Callback("POST", url, headers, encoded.encode("ascii"), ReportFormat.JASMIN)


def jasmin_report(event: ReportEvent, channel: PushChannel, utc_offset_minutes: int) -> Callback | None:
    """Jasmin's DLR thrower: level 1 for the submit outcome, levels 2/3 for the receipt."""
    level = channel.level
    if event.kind is ReportKind.RECEIPT or (event.kind is ReportKind.REJECTED and level == 2):
        if level == 1:
            return None
        stat = "REJECTD" if event.kind is ReportKind.REJECTED else event.stat
        fields = [
            ("id", event.message_id),
            ("id_smsc", event.smsc_id),
            ("message_status", stat),
            ("level", str(level)),
            ("connector", event.carrier),
            ("subdate", _receipt_date(event.submitted_at, utc_offset_minutes)),
            ("donedate", _receipt_date(event.done_at, utc_offset_minutes)),
            ("sub", "1"),
            ("dlvrd", "1" if stat == "DELIVRD" else "0"),
            ("err", event.err),
            ("text", event.text[:20]),
        ]
    else:
        if level == 2:
            return None
        word = "ESME_ROK" if event.kind is ReportKind.SUBMIT_ACK else status_name(event.status or 0x08)
        fields = [("id", event.message_id), ("message_status", word), ("level", "1"), ("connector", event.carrier)]
    return _jasmin(channel.method, channel.url, fields, "Jasmin gateway/1.0 DLRThrower")


def jasmin_inbound(event: InboundEvent, url: str) -> Callback:
    """Jasmin's deliverSm thrower, plus `content_utf8` (unknown fields are harmless to receivers)."""
    octets = event.octets or event.text.encode("utf-16-be")
    fields = [
        ("id", event.message_id),
        ("from", event.msisdn),
        ("to", event.to),
        ("origin-connector", event.carrier),
        ("priority", "0"),
        ("coding", str(event.data_coding)),
        ("validity", "None"),
        ("content", octets.decode("latin-1")),
        ("binary", octets.hex()),
        ("content_utf8", event.text),
    ]
    headers = (
        ("Accept", "text/plain"),
        ("User-Agent", "Jasmin gateway/1.0 deliverSmHttpThrower"),
        ("Content-Type", "application/x-www-form-urlencoded"),
    )
    body = urlencode([(k, v.encode("latin-1") if k == "content" else v) for k, v in fields]).encode("ascii")
    return Callback("POST", url, headers, body, ReportFormat.JASMIN)


# --- Kannel ---------------------------------------------------------------------------------

_ESCAPE = re.compile(r"%(.)", re.DOTALL)


def kannel_bit(event: ReportEvent) -> int:
    """The dlr-mask bit an event stands for (`%d`)."""
    if event.kind is ReportKind.SUBMIT_ACK:
        return 8
    if event.kind is ReportKind.REJECTED:
        return 16
    if event.stat == "DELIVRD":
        return 1
    if not event.final:
        return 4
    return 2


def expand(template: str, values: dict[str, str]) -> str:
    """Kannel's escapes: `%x` replaced by its value URL-encoded, `%%` a percent, others kept."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code == "%":
            return "%"
        if code in values:
            return quote(values[code], safe="")
        return match.group(0)

    return _ESCAPE.sub(one, template)


def _receipt_text(event: ReportEvent, limits: Limits) -> str:
    """The SMSC's receipt line (`%A`); a short form if the event cannot make a well-formed one."""
    try:
        return format_receipt(
            event.message_id,
            submitted_at=event.submitted_at,
            done_at=event.done_at,
            stat=event.stat,
            err=event.err if re.fullmatch(r"[0-9A-Za-z]{1,3}", event.err) else "000",
            text=event.text,
            utc_offset_minutes=limits.utc_offset_minutes,
        ).decode("ascii")
    except (ValueError, OverflowError, OSError):
        return f"id:{event.message_id} stat:{event.stat} err:{event.err}"


def kannel_report(event: ReportEvent, channel: PushChannel, limits: Limits) -> Callback | None:
    bit = kannel_bit(event)
    if not channel.mask & bit:
        return None
    smsc_reply = ""
    if event.kind is ReportKind.RECEIPT:
        smsc_reply = _receipt_text(event, limits)
    elif event.kind is ReportKind.REJECTED:
        smsc_reply = f"NACK/{event.status or 0}/{status_name(event.status or 0)}"
    else:
        smsc_reply = "ACK/"
    values = {
        "d": str(bit),
        "A": smsc_reply,
        "I": event.message_id,
        "F": event.smsc_id,
        "p": event.source,
        "P": event.to,
        "t": local_time(event.done_at, limits)[:16],
        "T": str(int(event.done_at)),
        "a": event.text,
        "b": event.text,
        "k": event.text.split(" ", 1)[0] if event.text else "",
        "i": event.carrier,
        "n": event.carrier,
        "o": event.client_ref,  # the account field, where Kannel users put their own reference
    }
    return Callback("GET", expand(channel.url, values), (), b"", ReportFormat.KANNEL)


def kannel_inbound(event: InboundEvent, template: str, limits: Limits) -> Callback:
    words = event.text.split()
    values = {
        "p": event.msisdn,
        "P": event.to,
        "a": event.text,
        "b": event.text,
        "k": words[0] if words else "",
        "s": words[1] if len(words) > 1 else "",
        "r": " ".join(words[1:]),
        "t": local_time(event.received_at, limits)[:16],
        "T": str(int(event.received_at)),
        "i": event.carrier,
        "I": event.message_id,
        "c": str(event.data_coding),
        "C": "UTF-8",
    }
    return Callback("GET", expand(template, values), (), b"", ReportFormat.KANNEL)


# --- legacy push and v1 webhooks -------------------------------------------------------------


def legacy_report(event: ReportEvent, url: str, limits: Limits) -> Callback:
    """The statusApi XML with one box: the customer's pull parser reads a push as well."""
    body = (PROLOG_UTF8 + "<returnsms>\n" + statusbox(event, limits) + "</returnsms>").encode("utf-8")
    return Callback("POST", url, (("Content-Type", "text/xml; charset=utf-8"),), body, ReportFormat.LEGACY)


def legacy_inbound(event: InboundEvent, url: str, limits: Limits) -> Callback:
    body = (PROLOG_UTF8 + "<returnsms>\n" + callbox(event, limits) + "</returnsms>").encode("utf-8")
    return Callback("POST", url, (("Content-Type", "text/xml; charset=utf-8"),), body, ReportFormat.LEGACY)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`X-Smppgw-Signature`: `t=<unix>,v1=<hex hmac_sha256(secret, t + "." + body)>`."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signature_valid(secret: str, header: str, body: bytes, now: float, tolerance_s: int = 300) -> bool:
    """What a receiver checks: the HMAC matches and the timestamp is recent."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    stamp, mac = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isascii() or not stamp.isdigit() or abs(now - int(stamp)) > tolerance_s:
        return False
    expected = signature(secret, int(stamp), body).split("v1=", 1)[1]
    return hmac.compare_digest(mac.encode("ascii", "replace"), expected.encode("ascii"))


def v1_webhook(events: list[ReportEvent | InboundEvent], url: str, secret: str, now: float) -> Callback:
    """One POST of one event (an object) or several (an array); signed when the account has a secret."""
    objects = [report_event(e) if isinstance(e, ReportEvent) else inbound_event(e) for e in events]
    payload: object = objects[0] if len(objects) == 1 else objects
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers: tuple[tuple[str, str], ...] = (
        ("Content-Type", "application/json; charset=utf-8"),
        (EVENT_HEADER, ",".join(e.event_id for e in events)),
    )
    if secret:
        headers += ((SIGNATURE_HEADER, signature(secret, int(now), body)),)
    return Callback("POST", url, headers, body, ReportFormat.V1)


def report_callback(
    event: ReportEvent, channel: PushChannel, *, secret: str, now: float, limits: Limits
) -> Callback | None:
    """The request that pushes a report through `channel`, None if its level/mask does not want it."""
    if channel.format is ReportFormat.JASMIN:
        return jasmin_report(event, channel, limits.utc_offset_minutes)
    if channel.format is ReportFormat.KANNEL:
        return kannel_report(event, channel, limits)
    if channel.format is ReportFormat.LEGACY:
        return legacy_report(event, channel.url, limits) if event.final else None
    return v1_webhook([event], channel.url, secret, now)


def inbound_callback(
    event: InboundEvent, url: str, format: ReportFormat, *, secret: str, now: float, limits: Limits
) -> Callback:
    if format is ReportFormat.JASMIN:
        return jasmin_inbound(event, url)
    if format is ReportFormat.KANNEL:
        return kannel_inbound(event, url, limits)
    if format is ReportFormat.LEGACY:
        return legacy_inbound(event, url, limits)
    return v1_webhook([event], url, secret, now)


def batch_callback(callbacks: BatchCallbacks, batch_id: str, to: str, outcome: str | ApiError) -> Callback | None:
    """Jasmin sendbatch: GET `callback_url` (a message id) or `errback_url` (an error) per message."""
    if isinstance(outcome, str):
        url, status, text = callbacks.callback_url, "1", f'Success "{outcome}"'
    else:
        url, status, text = callbacks.errback_url, "0", f'Error "{error_text(outcome, Op.SEND)[1]}"'
    if not url:
        return None
    query = urlencode([("batchId", batch_id), ("to", to), ("status", status), ("statusText", text)])
    return Callback("GET", _with_query(url, query), (), b"", ReportFormat.JASMIN)
