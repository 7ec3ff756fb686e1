"""Kannel's `/cgi-bin/sendsms` (smsbox): the GET/POST form and the POST body with X-Kannel headers.

Reply texts and codes are smsbox's.  Arguments Kannel has but the gateway does not use (`smsc`,
`mclass`, `udh`, ...) are accepted and ignored, as smsbox ignores what a route does not need.
"""

from __future__ import annotations

from .accounts import CredentialLookup, Front, Limits, authenticate
from .errors import ApiError, Reason
from .fields import dedupe, international_number, octets_too_long, parse_int, schedule, text_too_long
from .requests import (
    ApiRequest,
    Content,
    Dialect,
    NoReport,
    Octets,
    Op,
    OutboundMessage,
    PushChannel,
    Refusal,
    Rejection,
    Reply,
    ReportChannel,
    ReportFormat,
    SendRequest,
    Text,
)
from .results import Outcome, SendOutcome
from .urlpolicy import callback_url_problem
from .wire import HttpRequest, HttpResponse, Params, codec_for, decode_bytes, media_type, normalise_path, split_form

PATH = "/cgi-bin/sendsms"
REPLY = Reply(Dialect.KANNEL, Op.SEND)
_BODY_TYPES = ("text/plain", "text/html", "text/vnd.wap.wml", "application/octet-stream")
# X-Kannel-* headers and the CGI variable each stands for.
_HEADERS = {
    "x-kannel-username": "username",
    "x-kannel-password": "password",
    "x-kannel-from": "from",
    "x-kannel-to": "to",
    "x-kannel-coding": "coding",
    "x-kannel-dlr-mask": "dlr-mask",
    "x-kannel-dlr-url": "dlr-url",
    "x-kannel-validity": "validity",
    "x-kannel-deferred": "deferred",
    "x-kannel-priority": "priority",
    "x-kannel-charset": "charset",
}
_SOURCE_CHARS = frozenset("0123456789+ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _values(pairs: list[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    out = []
    for name, value in pairs:
        key = decode_bytes(name, ("ascii",))
        if key is not None:
            out.append((key, decode_bytes(value, ("utf-8", "latin-1")) or ""))
    return out


def _fields(request: HttpRequest) -> tuple[Params, bytes | None, str | None] | ApiError:
    """(variables, raw text bytes, charset from Content-Type) of either request form.

    `text` stays bytes until `charset` and `coding` say how to read it.
    """
    query_pairs = split_form(request.query)
    kind, declared = media_type(request.header("Content-Type"))
    if request.method.upper() != "POST" or kind in ("", "application/x-www-form-urlencoded"):
        form_pairs = split_form(request.body) if request.method.upper() == "POST" else []
        params = Params(_values(query_pairs), _values(form_pairs), case_insensitive=False)
        text = next((value for name, value in (*query_pairs, *form_pairs) if name == b"text"), None)
        return params, text, None
    if kind not in _BODY_TYPES:
        return ApiError(Reason.MALFORMED_BODY, field="content-type")
    headers = [(_HEADERS[k.lower()], v) for k, v in request.headers if k.lower() in _HEADERS]
    return Params(headers, _values(query_pairs), case_insensitive=False), request.body, declared


def parse_kannel(
    request: HttpRequest, now: float, accounts: CredentialLookup, limits: Limits
) -> ApiRequest | Rejection:
    if normalise_path(request.path) != PATH:
        return Rejection(REPLY, ApiError(Reason.NOT_FOUND))
    if request.method.upper() not in ("GET", "POST"):
        return Rejection(REPLY, ApiError(Reason.NOT_FOUND))
    if len(request.body) > limits.max_body_bytes:
        return Rejection(REPLY, ApiError(Reason.BODY_TOO_LARGE))
    fields = _fields(request)
    if isinstance(fields, ApiError):
        return Rejection(REPLY, fields)
    params, raw_text, declared = fields

    def refuse(reason: Reason, field: str = "", value: str = "") -> Rejection:
        return Rejection(REPLY, ApiError(reason, field=field, value=value, username=username or ""))

    username = params.any_of("username", "user")
    account = authenticate(accounts, Front.KANNEL, username, params.any_of("password", "pass"), request.peer)
    if isinstance(account, ApiError):
        return Rejection(REPLY, account)

    raw_to = params.first("to")
    if raw_to is None:
        return refuse(Reason.NO_RECIPIENT)
    numbers = dedupe(raw_to.split())
    if not numbers:
        return refuse(Reason.NO_RECIPIENT, value="empty")
    if len(numbers) > limits.max_recipients:
        return refuse(Reason.TOO_MANY_RECIPIENTS)

    coding = 0
    if params.first("coding") not in (None, ""):
        parsed = parse_int(params.first("coding") or "", 0, 2)
        if parsed is None:
            return refuse(Reason.INVALID_FIELD, "Coding")
        coding = parsed
    charset = params.first("charset") or declared
    content = _content(raw_text or b"", coding, charset, limits)
    if isinstance(content, ApiError):
        return Rejection(REPLY, content)

    source = params.first("from")
    if source is not None and (not source or len(source) > 20 or not set(source) <= _SOURCE_CHARS):
        return refuse(Reason.INVALID_SOURCE, "from", source)

    minutes: dict[str, int | None] = {}
    for name, reason in (("deferred", Reason.INVALID_SCHEDULE), ("validity", Reason.INVALID_VALIDITY)):
        value = params.first(name)
        minutes[name] = None
        if value not in (None, ""):
            minutes[name] = parse_int(value or "", 0, 10**7)
            if minutes[name] is None:
                return refuse(reason, name, value or "")
    when = None
    if minutes["deferred"]:
        checked = schedule(now + 60 * (minutes["deferred"] or 0), now, limits, "deferred")
        if isinstance(checked, ApiError):
            return refuse(Reason.INVALID_SCHEDULE, "deferred")
        when = checked
    validity = None if minutes["validity"] is None else 60 * (minutes["validity"] or 0)

    priority = 0
    if params.first("priority") not in (None, ""):
        parsed_priority = parse_int(params.first("priority") or "", 0, 3)
        if parsed_priority is None:
            return refuse(Reason.INVALID_FIELD, "Priority")
        priority = parsed_priority

    report = _report(params, account.allow_private_callbacks)
    if isinstance(report, ApiError):
        return Rejection(REPLY, report)

    messages = []
    denied = []
    for raw in numbers:
        to = international_number(raw)
        if to is None:
            denied.append(raw)
            continue
        messages.append(
            OutboundMessage(
                to=to,
                content=content,
                source=source,
                schedule_at=when,
                validity_s=validity,
                priority=priority,
                report=report,
            )
        )
    if not messages:
        return refuse(Reason.INVALID_NUMBER, "to", " ".join(denied))
    refused = tuple(Refusal(raw, ApiError(Reason.INVALID_NUMBER, field="to", value=raw)) for raw in denied)
    return SendRequest(REPLY, account, tuple(messages), refused)


def _content(raw: bytes, coding: int, charset: str | None, limits: Limits) -> Content | ApiError:
    if coding == 1:  # 8-bit binary: the bytes as they are
        if octets_too_long(raw, 4, limits):
            return ApiError(Reason.TEXT_TOO_LONG, field="text")
        return Octets(raw, 4)
    default = "utf-16-be" if coding == 2 else "utf-8"
    codec = codec_for(charset) if charset else default
    if codec is None:
        return ApiError(Reason.BAD_ENCODING, field="charset", value=charset or "")
    text = decode_bytes(raw, (codec,))
    if text is None:
        return ApiError(Reason.BAD_ENCODING, field="text")
    if text_too_long(text, limits):
        return ApiError(Reason.TEXT_TOO_LONG, field="text")
    return Text(text, 8 if coding == 2 else None)


def _report(params: Params, allow_private: bool) -> ReportChannel | ApiError:
    raw_mask = params.first("dlr-mask")
    mask = 0
    if raw_mask not in (None, ""):
        parsed = parse_int(raw_mask or "", 0, 31)
        if parsed is None:
            return ApiError(Reason.INVALID_FIELD, field="DLR-Mask", value=raw_mask or "")
        mask = parsed
    url = params.first("dlr-url") or ""
    if url and callback_url_problem(url, allow_private=allow_private) is not None:
        return ApiError(Reason.INVALID_CALLBACK_URL, field="DLR-URL", value=url)
    if not mask or not url:
        return NoReport()
    return PushChannel(url, ReportFormat.KANNEL, method="GET", mask=mask)


# --- render ---------------------------------------------------------------------------------

_NOT_ROUTABLE = "Not routable. Do not try again."
_TEMPORAL = "Temporal failure, try again later."
_DENIED = "Number(s) has/have been denied by white- and/or black-lists."
_FIXED: dict[Reason, tuple[int, str]] = {
    Reason.MISSING_CREDENTIALS: (403, "Authorization failed for sendsms"),
    Reason.INVALID_CREDENTIALS: (403, "Authorization failed for sendsms"),
    Reason.IP_NOT_ALLOWED: (403, "Authorization failed for sendsms"),
    Reason.ACCOUNT_SUSPENDED: (403, "Authorization failed for sendsms"),
    Reason.API_NOT_ENABLED: (403, "Authorization failed for sendsms"),
    Reason.INVALID_NUMBER: (400, _DENIED),
    Reason.OPTED_OUT: (400, _DENIED),
    Reason.NO_ROUTE: (403, _NOT_ROUTABLE),
    Reason.TOO_MANY_RECIPIENTS: (400, "Too many receivers, rejected"),
    Reason.BAD_ENCODING: (400, "Charset or body misformed, rejected"),
    Reason.BODY_TOO_LARGE: (400, "Charset or body misformed, rejected"),
    Reason.TEXT_TOO_LONG: (400, "Text field misformed, rejected"),
    Reason.EMPTY_CONTENT: (400, "Text field misformed, rejected"),
    Reason.INVALID_SCHEDULE: (400, "Deferred field misformed, rejected"),
    Reason.INVALID_VALIDITY: (400, "Validity field misformed, rejected"),
    Reason.INVALID_SOURCE: (400, "Sender field misformed, rejected"),
    Reason.INVALID_CALLBACK_URL: (400, "DLR-URL field misformed, rejected"),
    Reason.SIGNATURE_REQUIRED: (403, _NOT_ROUTABLE),
    Reason.CONTENT_REJECTED: (403, _NOT_ROUTABLE),
    Reason.OUTSIDE_SEND_WINDOW: (403, _NOT_ROUTABLE),
    Reason.INSUFFICIENT_BALANCE: (403, _NOT_ROUTABLE),
    Reason.THROTTLED: (503, _TEMPORAL),
    Reason.UNAVAILABLE: (503, _TEMPORAL),
    Reason.MALFORMED_BODY: (400, "Unsupported content-type, rejected"),
    Reason.NOT_FOUND: (404, "Unknown request."),
    Reason.METHOD_NOT_ALLOWED: (404, "Unknown request."),
}
# Refusals the gateway decided (not the client's syntax): the real reason rides in a header.
_GATEWAY_REASONS = frozenset(
    {
        Reason.NO_ROUTE,
        Reason.SIGNATURE_REQUIRED,
        Reason.CONTENT_REJECTED,
        Reason.OUTSIDE_SEND_WINDOW,
        Reason.INSUFFICIENT_BALANCE,
        Reason.OPTED_OUT,
    }
)


def error_text(error: ApiError) -> tuple[int, str]:
    if error.reason is Reason.NO_RECIPIENT:
        text = "Empty receiver number not allowed, rejected" if error.value == "empty" else None
        return 400, text or "Missing receiver number, rejected"
    if error.reason is Reason.INVALID_FIELD:
        return 400, f"{error.field or 'Text'} field misformed, rejected"
    return _FIXED.get(error.reason, (500, "Sending failed."))


def render_kannel(reply: Reply, outcome: Outcome, limits: Limits) -> HttpResponse:
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html"),)
    if isinstance(outcome, ApiError):
        status, text = error_text(outcome)
        if outcome.reason in _GATEWAY_REASONS:
            headers += (("X-Smppgw-Reason", outcome.reason.code),)
        return HttpResponse(status, headers, text.encode("utf-8"))
    if not isinstance(outcome, SendOutcome):
        raise TypeError(f"a Kannel reply cannot show {type(outcome).__name__}")
    if not outcome.accepted:  # nothing taken: answer as the first refusal (adapters send that instead)
        first = outcome.refused[0].error if outcome.refused else ApiError(Reason.UNAVAILABLE)
        return render_kannel(reply, first, limits)
    if len(outcome.accepted) == 1 and not outcome.refused and not limits.kannel_immediate_reply:
        return HttpResponse(202, headers, b"0: Accepted for delivery")
    text = "Sent."
    if outcome.refused:
        text += " Denied receivers are:" + "".join(f" {r.to}" for r in outcome.refused)
    return HttpResponse(202, headers, text.encode("utf-8"))
