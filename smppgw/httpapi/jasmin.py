"""Jasmin's HTTP API (`/send`, `/balance`, `/rate`, `/ping`) and REST API (`/secure/...`).

Validation follows Jasmin's `UrlArgsValidator` and `send.py` in order and wording, so its clients
see the same `Error "..."` texts and status codes.  Deliberate deviations: text without `coding`
goes out as the gateway chooses (UCS-2 for Chinese) rather than as GSM-mangled bytes; `to` holds
one number; sendbatch answers each recipient's message id (or error) at once.
"""

from __future__ import annotations

import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..protocol.smpptime import parse_smpp_time
from .accounts import ApiAccount, CredentialLookup, Front, Limits, authenticate
from .errors import ApiError, Reason
from .fields import international_number, octets_too_long, schedule, text_too_long, well_formed_text
from .requests import (
    ApiRequest,
    BalanceRequest,
    BatchCallbacks,
    Content,
    Dialect,
    NoReport,
    Octets,
    Op,
    OutboundMessage,
    PingRequest,
    PushChannel,
    RateRequest,
    Refusal,
    Rejection,
    Reply,
    ReportChannel,
    ReportFormat,
    SendRequest,
    Text,
)
from .results import Balance, Outcome, Pong, RateQuote, SendOutcome
from .urlpolicy import callback_url_problem
from .wire import (
    HttpRequest,
    HttpResponse,
    JsonBodyError,
    basic_credentials,
    load_json,
    media_type,
    normalise_path,
    split_form,
)

# Jasmin keeps arguments as bytes; values from a JSON body may be other JSON types.
Args = dict[bytes, list[object]]


@dataclass(frozen=True, slots=True)
class _Field:
    optional: bool
    pattern: re.Pattern[bytes] | None = None


_CREDENTIAL = re.compile(rb"^.{1,16}$")
# send.py's table, in its order: the order decides which error a bad request sees first.
SEND_FIELDS: dict[bytes, _Field] = {
    b"to": _Field(False, re.compile(rb"^\+{0,1}\d+$")),
    b"from": _Field(True),
    b"coding": _Field(True, re.compile(rb"^(0|1|2|3|4|5|6|7|8|9|10|13|14){1}$")),
    b"username": _Field(False, _CREDENTIAL),
    b"password": _Field(False, _CREDENTIAL),
    b"priority": _Field(True, re.compile(rb"^[0-3]$")),
    b"sdt": _Field(True, re.compile(rb"^\d{2}\d{2}\d{2}\d{2}\d{2}\d{2}\d{1}\d{2}(\+|-|R)$")),
    b"validity-period": _Field(True, re.compile(rb"^\d+$")),
    b"dlr": _Field(False, re.compile(rb"^(yes|no)$")),
    b"dlr-url": _Field(True, re.compile(rb"^(http|https)\://.*$")),
    b"dlr-level": _Field(True, re.compile(rb"^[1-3]$")),
    b"dlr-method": _Field(True, re.compile(rb"^(get|post)$", re.IGNORECASE)),
    b"tags": _Field(True, re.compile(rb"^([-a-zA-Z0-9,])*$")),
    b"content": _Field(True),
    b"hex-content": _Field(True),
    b"custom_tlvs": _Field(True),
}
RATE_FIELDS: dict[bytes, _Field] = {
    b"to": SEND_FIELDS[b"to"],
    b"from": _Field(True),
    b"coding": SEND_FIELDS[b"coding"],
    b"username": _Field(False, _CREDENTIAL),
    b"password": _Field(False, _CREDENTIAL),
    b"content": _Field(True),
    b"hex-content": _Field(True),
    b"tags": SEND_FIELDS[b"tags"],
}
BALANCE_FIELDS: dict[bytes, _Field] = {
    b"username": _Field(False, _CREDENTIAL),
    b"password": _Field(False, _CREDENTIAL),
}

HTTP_PATHS = {"/send": Op.SEND, "/balance": Op.BALANCE, "/rate": Op.RATE, "/ping": Op.PING}
REST_PATHS = {
    "/secure/send": (Op.SEND, "POST"),
    "/secure/sendbatch": (Op.BATCH, "POST"),
    "/secure/balance": (Op.BALANCE, "GET"),
    "/secure/rate": (Op.RATE, "GET"),
    "/secure/ping": (Op.PING, "GET"),
}


def _text(value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bool):
        return b"True" if value else b"False"
    if isinstance(value, int | float | str):
        return str(value).encode("utf-8", "surrogateescape")
    return b""


def _shown(value: bytes) -> str:
    """A value as Jasmin echoes it (raw bytes), kept reversible through `surrogateescape`."""
    return value.decode("utf-8", "surrogateescape")


def _bad(field: bytes, value: object, reason: Reason = Reason.INVALID_FIELD) -> ApiError:
    return ApiError(reason, field=field.decode("latin-1"), value=_shown(_text(value)))


def validate(args: Args, fields: dict[bytes, _Field]) -> ApiError | None:
    """Jasmin's `UrlArgsValidator.validate`, step for step."""
    if not args:
        return ApiError(Reason.MALFORMED_BODY)
    checked = False
    for arg in args:
        if arg not in fields:
            return ApiError(Reason.UNKNOWN_FIELD, field=_shown(arg))
        if checked:
            continue
        checked = True  # Jasmin re-checks every field for each argument; once gives the same answer
        for name, spec in fields.items():
            if name in args:
                value = args[name][0]
                if isinstance(value, dict | list):
                    # Jasmin lets a JSON list or object through unchecked and then fails on it; only
                    # custom_tlvs may be one here.
                    if name == b"custom_tlvs":
                        continue
                    return _invalid(name, json.dumps(value))
                if spec.pattern is not None and spec.pattern.match(_text(value)) is None:
                    return _invalid(name, value)
            elif not spec.optional:
                reason = Reason.MISSING_CREDENTIALS if name in (b"username", b"password") else Reason.INVALID_FIELD
                if name == b"to":
                    reason = Reason.NO_RECIPIENT
                return ApiError(reason, field=name.decode(), detail="missing")
    return None


def _invalid(name: bytes, value: object) -> ApiError:
    reason = {
        b"to": Reason.INVALID_NUMBER,
        b"sdt": Reason.INVALID_SCHEDULE,
        b"validity-period": Reason.INVALID_VALIDITY,
        b"dlr-url": Reason.INVALID_CALLBACK_URL,
    }.get(name, Reason.INVALID_FIELD)
    if name in (b"username", b"password"):
        reason = Reason.INVALID_FIELD
    return _bad(name, value, reason)


def _form_args(request: HttpRequest) -> Args | ApiError:
    """Twisted's `request.args`: query and form body merged, names case-sensitive."""
    args: Args = {}
    pairs = split_form(request.query)
    kind, _ = media_type(request.header("Content-Type"))
    if request.method.upper() == "POST" and kind == "application/x-www-form-urlencoded":
        pairs += split_form(request.body)
    for name, value in pairs:
        args.setdefault(name, []).append(value)
    if kind == "application/json" and request.body:
        decoded = _json_object(request.body)
        if decoded is None:
            return ApiError(Reason.MALFORMED_BODY)
        for key, value in decoded.items():
            args[key.encode("utf-8", "surrogateescape")] = [value]
    return args


def _json_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = load_json(body)
    except JsonBodyError:
        return None
    return value if isinstance(value, dict) else None


# --- requests -------------------------------------------------------------------------------


def jasmin_reply(path: str) -> Reply | None:
    key = normalise_path(path)
    if key in HTTP_PATHS:
        return Reply(Dialect.JASMIN, HTTP_PATHS[key])
    if key in REST_PATHS:
        return Reply(Dialect.JASMIN_REST, REST_PATHS[key][0])
    return None


def parse_jasmin(
    request: HttpRequest, now: float, accounts: CredentialLookup, limits: Limits
) -> ApiRequest | Rejection:
    key = normalise_path(request.path)
    if key in REST_PATHS:
        return _parse_rest(request, key, now, accounts, limits)
    reply = jasmin_reply(key)
    if reply is None:
        return Rejection(Reply(Dialect.JASMIN, Op.SEND), ApiError(Reason.NOT_FOUND))
    if request.method.upper() not in ("GET", "POST"):
        return Rejection(reply, ApiError(Reason.METHOD_NOT_ALLOWED))
    if reply.op is Op.PING:
        return PingRequest(reply)
    if len(request.body) > limits.max_body_bytes:
        return Rejection(reply, ApiError(Reason.BODY_TOO_LARGE))
    args = _form_args(request)
    if isinstance(args, ApiError):
        return Rejection(reply, args)
    built = _build(reply, args, _Ctx(request.peer, now, accounts, limits))
    if isinstance(built, ApiError):
        return Rejection(reply, built)
    return built


@dataclass(frozen=True, slots=True)
class _Ctx:
    peer: str
    now: float
    accounts: CredentialLookup
    limits: Limits


def _build(reply: Reply, args: Args, ctx: _Ctx) -> ApiRequest | ApiError:
    peer, accounts, limits = ctx.peer, ctx.accounts, ctx.limits
    if reply.op is Op.BALANCE:
        problem = validate(args, BALANCE_FIELDS)
        if problem is not None:
            return problem
        account = _sign_in(args, peer, accounts)
        return account if isinstance(account, ApiError) else BalanceRequest(reply, account)
    if reply.op is Op.RATE:
        args.setdefault(b"coding", [b"0"])
        problem = validate(args, RATE_FIELDS)
        if problem is not None:
            return problem
        account = _sign_in(args, peer, accounts)
        if isinstance(account, ApiError):
            return account
        content = _content(args, limits) if (b"content" in args or b"hex-content" in args) else Text("")
        if isinstance(content, ApiError):
            return content
        to = international_number(_text(args[b"to"][0]).decode())
        if to is None:
            return _bad(b"to", args[b"to"][0], Reason.INVALID_NUMBER)
        return RateRequest(reply, account, to, content)
    message = _message(args, ctx)
    if isinstance(message, ApiError):
        return message
    account, outbound = message
    return SendRequest(reply, account, (outbound,))


def with_send_defaults(args: Args) -> Args:
    """send.py's defaults: coding 0; dlr implied by dlr-url or dlr-level; level 1; method POST."""
    args.pop(b"custom_tlvs", None)  # carried by Jasmin to its SMPP client; the gateway sets its own
    args.setdefault(b"custom_tlvs", [[]])
    args.setdefault(b"coding", [b"0"])
    if b"dlr-url" in args or b"dlr-level" in args:
        args[b"dlr"] = [b"yes"]
    args.setdefault(b"dlr", [b"no"])
    if _text(args[b"dlr"][0]) == b"yes":
        args.setdefault(b"dlr-level", [1])
        args.setdefault(b"dlr-method", [b"POST"])
    if b"dlr-method" in args:
        args[b"dlr-method"] = [_text(args[b"dlr-method"][0]).upper()]
    return args


def _message(args: Args, ctx: _Ctx) -> tuple[ApiAccount, OutboundMessage] | ApiError:
    peer, now, accounts, limits = ctx.peer, ctx.now, ctx.accounts, ctx.limits
    args = with_send_defaults(args)
    problem = validate(args, SEND_FIELDS)
    if problem is not None:
        return problem
    has_content, has_hex = b"content" in args, b"hex-content" in args
    if has_content and has_hex:
        return ApiError(Reason.INVALID_FIELD, field="content", detail="both")
    if not has_content and not has_hex:
        return ApiError(Reason.EMPTY_CONTENT, field="content")
    account = _sign_in(args, peer, accounts)
    if isinstance(account, ApiError):
        return account
    to = international_number(_text(args[b"to"][0]).decode())
    if to is None:
        return _bad(b"to", args[b"to"][0], Reason.INVALID_NUMBER)
    content = _content(args, limits)
    if isinstance(content, ApiError):
        return content
    if isinstance(content, Text) and not content.text:
        return ApiError(Reason.EMPTY_CONTENT, field="content")
    when: float | None = None
    if b"sdt" in args:
        try:
            parsed = parse_smpp_time(_text(args[b"sdt"][0]).decode(), now)
        except ValueError:
            parsed = -1.0
        checked = schedule(parsed, now, limits, "sdt") if parsed is not None and parsed >= 0 else None
        if parsed is None or parsed < 0 or isinstance(checked, ApiError):
            return _bad(b"sdt", args[b"sdt"][0], Reason.INVALID_SCHEDULE)
        when = checked
    validity = None
    if b"validity-period" in args:
        validity = int(_text(args[b"validity-period"][0])) * 60
        if validity > limits.max_schedule_ahead_s:
            return _bad(b"validity-period", args[b"validity-period"][0], Reason.INVALID_VALIDITY)
    report = _report(args, account)
    if isinstance(report, ApiError):
        return report
    source = _text(args[b"from"][0]).decode("utf-8", "replace") if b"from" in args else None
    priority = int(_text(args[b"priority"][0])) if b"priority" in args else 0
    return account, OutboundMessage(
        to=to,
        content=content,
        source=source,
        schedule_at=when,
        validity_s=validity,
        priority=priority,
        report=report,
    )


def _sign_in(args: Args, peer: str, accounts: CredentialLookup) -> ApiAccount | ApiError:
    username = _text(args[b"username"][0]).decode("utf-8", "replace")
    password = _text(args[b"password"][0]).decode("utf-8", "replace")
    return authenticate(accounts, Front.JASMIN, username, password, peer)


def _content(args: Args, limits: Limits) -> Content | ApiError:
    coding = int(_text(args.get(b"coding", [b"0"])[0]) or b"0")
    if b"hex-content" in args:
        raw = _text(args[b"hex-content"][0])
        try:
            octets = binascii.unhexlify(raw)
        except (binascii.Error, ValueError):
            return ApiError(Reason.BAD_ENCODING, field="hex-content", value=_shown(raw))
        if octets_too_long(octets, coding, limits):
            return ApiError(Reason.TEXT_TOO_LONG, field="content")
        return Octets(octets, coding)
    raw = _text(args[b"content"][0])
    if coding == 0:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return ApiError(Reason.BAD_ENCODING, field="content")
        if not well_formed_text(text):
            return ApiError(Reason.BAD_ENCODING, field="content")
        if text_too_long(text, limits):
            return ApiError(Reason.TEXT_TOO_LONG, field="content")
        return Text(text)
    # Any other coding: the bytes go as given (coding=8 means they already are UTF-16BE).
    if octets_too_long(raw, coding, limits):
        return ApiError(Reason.TEXT_TOO_LONG, field="content")
    return Octets(raw, coding)


def _report(args: Args, account: ApiAccount) -> ReportChannel | ApiError:
    if _text(args[b"dlr"][0]) != b"yes" or b"dlr-url" not in args:
        return NoReport()
    url = _text(args[b"dlr-url"][0]).decode("utf-8", "replace")
    if callback_url_problem(url, allow_private=account.allow_private_callbacks) is not None:
        return _bad(b"dlr-url", args[b"dlr-url"][0], Reason.INVALID_CALLBACK_URL)
    level = int(_text(args[b"dlr-level"][0]))
    method = _text(args[b"dlr-method"][0]).decode()
    return PushChannel(url, ReportFormat.JASMIN, method=method, level=level)


# --- REST -----------------------------------------------------------------------------------


def _rest_args(body: dict[str, Any], username: str, password: str) -> Args:
    args: Args = {}
    for key, value in body.items():
        # REST converts _ to - (hex_content, dlr_url) for clients whose JSON tooling dislikes dashes.
        args[key.replace("_", "-").encode("utf-8", "surrogateescape")] = [value]
    args[b"username"] = [username.encode("utf-8", "surrogateescape")]
    args[b"password"] = [password.encode("utf-8", "surrogateescape")]
    return args


def _parse_rest(
    request: HttpRequest, key: str, now: float, accounts: CredentialLookup, limits: Limits
) -> ApiRequest | Rejection:
    op, method = REST_PATHS[key]
    reply = Reply(Dialect.JASMIN_REST, op)
    if request.method.upper() != method:
        return Rejection(reply, ApiError(Reason.METHOD_NOT_ALLOWED))
    if op is Op.PING:
        return PingRequest(reply)
    credentials = basic_credentials(request.header("Authorization"))
    if credentials is None:
        return Rejection(reply, ApiError(Reason.MISSING_CREDENTIALS))
    username, password = credentials
    if len(request.body) > limits.max_body_bytes:
        return Rejection(reply, ApiError(Reason.BODY_TOO_LARGE))
    body: dict[str, Any] = {}
    if request.body.strip():
        decoded = _json_object(request.body)
        if decoded is None:
            return Rejection(reply, ApiError(Reason.MALFORMED_BODY, detail="json"))
        body = decoded
    if op is Op.RATE:
        for name, value in split_form(request.query):
            body.setdefault(name.decode("utf-8", "replace"), value.decode("utf-8", "replace"))
    if key == "/secure/sendbatch":
        return _sendbatch(reply, body, (username, password), _Ctx(request.peer, now, accounts, limits))
    built = _build(reply, _rest_args(body, username, password), _Ctx(request.peer, now, accounts, limits))
    if isinstance(built, ApiError):
        return Rejection(reply, built)
    return built


def _schedule_at(value: object, now: float, limits: Limits) -> int | ApiError:
    """sendbatch's `schedule_at`: `YYYY-MM-DD hh:mm:ss` (local time) or `<n>s`; a countdown in s."""
    if value is None:
        return 0
    text = str(value)
    try:
        moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        match = re.fullmatch(r"(\d{1,9})s", text)
        if match is None:
            return ApiError(Reason.INVALID_SCHEDULE, field="schedule_at", value=text)
        countdown = int(match.group(1))
    else:
        at = moment.replace(tzinfo=timezone(timedelta(minutes=limits.utc_offset_minutes))).timestamp()
        if at < now:
            return ApiError(Reason.INVALID_SCHEDULE, field="schedule_at", value=text, detail="past")
        countdown = int(at - now)
    if countdown > limits.max_schedule_ahead_s:
        return ApiError(Reason.INVALID_SCHEDULE, field="schedule_at", value=text)
    return countdown


def _sendbatch(reply: Reply, body: dict[str, Any], credentials: tuple[str, str], ctx: _Ctx) -> SendRequest | Rejection:
    (username, password), peer, now, accounts, limits = credentials, ctx.peer, ctx.now, ctx.accounts, ctx.limits
    account = authenticate(accounts, Front.JASMIN, username, password, peer)
    if isinstance(account, ApiError):
        return Rejection(reply, account)
    config = body.get("batch_config") or {}
    messages = body.get("messages") or []
    globals_ = body.get("globals") or {}
    if not isinstance(config, dict) or not isinstance(messages, list) or not isinstance(globals_, dict):
        return Rejection(reply, ApiError(Reason.MALFORMED_BODY, detail="json"))
    countdown = _schedule_at(config.get("schedule_at"), now, limits)
    if isinstance(countdown, ApiError):
        return Rejection(reply, countdown)
    callbacks = BatchCallbacks(str(config.get("callback_url") or ""), str(config.get("errback_url") or ""))
    for url in (callbacks.callback_url, callbacks.errback_url):
        if url and callback_url_problem(url, allow_private=account.allow_private_callbacks) is not None:
            return Rejection(reply, ApiError(Reason.INVALID_CALLBACK_URL, field="callback_url", value=url))

    accepted: list[OutboundMessage] = []
    refused: list[Refusal] = []
    for item in messages:
        if not isinstance(item, dict):
            continue
        params: dict[str, Any] = {**globals_, **item}
        params = {k.replace("_", "-"): v for k, v in params.items()}
        # Jasmin skips a message without a destination or content.
        if "to" not in params or ("content" not in params and "hex-content" not in params):
            continue
        targets = params["to"] if isinstance(params["to"], list) else [params["to"]]
        for target in targets:
            if len(accepted) + len(refused) >= limits.max_recipients:
                return Rejection(reply, ApiError(Reason.TOO_MANY_RECIPIENTS, field="to"))
            one = {**params, "to": target}
            built = _message(_rest_args(one, username, password), ctx)
            if isinstance(built, ApiError):
                refused.append(Refusal(str(target), built))
                continue
            message = built[1]
            if countdown:
                message = _delayed(message, now + countdown)
            accepted.append(message)
    return SendRequest(
        reply,
        account,
        tuple(accepted),
        tuple(refused),
        batch_callbacks=callbacks if (callbacks.callback_url or callbacks.errback_url) else None,
        scheduled_in_s=countdown or None,
    )


def _delayed(message: OutboundMessage, at: float) -> OutboundMessage:
    return OutboundMessage(
        to=message.to,
        content=message.content,
        source=message.source,
        extno=message.extno,
        schedule_at=at if message.schedule_at is None else message.schedule_at,
        validity_s=message.validity_s,
        priority=message.priority,
        report=message.report,
        client_ref=message.client_ref,
    )


# --- render ---------------------------------------------------------------------------------


def _user(error: ApiError) -> str:
    return error.username


def _what(op: Op) -> str:
    return {Op.BALANCE: "Cannot check balance", Op.RATE: "Cannot check rate"}.get(op, "Cannot send MT messages")


_TEXTS: dict[Reason, tuple[int, Callable[[ApiError, Op], str]]] = {
    Reason.MISSING_CREDENTIALS: (400, lambda e, _: f"Mandatory argument [{e.field or 'username'}] is not found."),
    Reason.INVALID_CREDENTIALS: (403, lambda e, _: f"Authentication failure for username:{_user(e)}"),
    Reason.IP_NOT_ALLOWED: (400, lambda e, _: f"Authorization failed for user [{_user(e)}] (IP not allowed)."),
    Reason.ACCOUNT_SUSPENDED: (400, lambda e, _: f"Authorization failed for user [{_user(e)}] (Account suspended)."),
    Reason.API_NOT_ENABLED: (400, lambda e, op: f"Authorization failed for user [{_user(e)}] ({_what(op)})."),
    Reason.NO_RECIPIENT: (400, lambda e, _: "Mandatory argument [to] is not found."),
    Reason.INVALID_NUMBER: (400, lambda e, _: f"Argument [to] has an invalid value: [{e.value}]."),
    Reason.NO_ROUTE: (412, lambda e, _: "No route found"),
    Reason.TOO_MANY_RECIPIENTS: (400, lambda e, _: "Argument [to] has an invalid value: [...]."),
    Reason.EMPTY_CONTENT: (400, lambda e, _: "content or hex-content not present."),
    Reason.TEXT_TOO_LONG: (400, lambda e, _: "Argument [content] has an invalid value: [...]."),
    Reason.INVALID_SCHEDULE: (400, lambda e, _: f"Argument [{e.field or 'sdt'}] has an invalid value: [{e.value}]."),
    Reason.INVALID_VALIDITY: (
        400,
        lambda e, _: f"Argument [{e.field or 'validity-period'}] has an invalid value: [{e.value}].",
    ),
    Reason.INVALID_SOURCE: (
        400,
        lambda e, _: f"Authorization failed for user [{_user(e)}] (Setting source address not authorized).",
    ),
    Reason.INVALID_CALLBACK_URL: (400, lambda e, _: f"Argument [dlr-url] has an invalid value: [{e.value}]."),
    Reason.SIGNATURE_REQUIRED: (403, lambda e, _: "Content rejected: signature"),
    Reason.CONTENT_REJECTED: (403, lambda e, _: f"Content rejected: {e.detail or 'content'}"),
    Reason.OUTSIDE_SEND_WINDOW: (403, lambda e, _: "Content rejected: send window"),
    Reason.OPTED_OUT: (403, lambda e, _: "Content rejected: opted out"),
    Reason.INSUFFICIENT_BALANCE: (403, lambda e, _: "Cannot charge submit_sm, check RouterPB log file for details"),
    Reason.THROTTLED: (403, lambda e, _: "User throughput exceeded"),
    Reason.UNAVAILABLE: (500, lambda e, _: "Cannot send submit_sm, check SMPPClientManagerPB log file for details"),
    Reason.UNKNOWN_FIELD: (400, lambda e, _: f"Argument [{e.field}] is unknown."),
    Reason.MALFORMED_BODY: (
        400,
        lambda e, _: "Mandatory arguments not found, please refer to the HTTPAPI specifications.",
    ),
    Reason.BODY_TOO_LARGE: (
        400,
        lambda e, _: "Mandatory arguments not found, please refer to the HTTPAPI specifications.",
    ),
}


def error_text(error: ApiError, op: Op) -> tuple[int, str]:
    """(HTTP status, the words inside `Error "..."`) for a refusal."""
    reason = error.reason
    if reason is Reason.BAD_ENCODING:
        if error.field == "hex-content":
            return 400, f"Invalid hex-content data: '{error.value}'"
        return 400, "Argument [content] has an invalid value: [...]."
    if reason is Reason.INVALID_FIELD:
        if error.detail == "both":
            return 400, "content and hex-content cannot be used both in same request."
        if error.detail == "missing":
            return 400, f"Mandatory argument [{error.field}] is not found."
        return 400, f"Argument [{error.field}] has an invalid value: [{error.value}]."
    status, text = _TEXTS.get(reason, _TEXTS[Reason.UNAVAILABLE])
    return status, text(error, op)


def _plain(status: int, text: str) -> HttpResponse:
    return HttpResponse(status, (("Content-Type", "text/plain"),), text.encode("utf-8", "surrogateescape"))


def _jsonbody(status: int, value: object) -> HttpResponse:
    return HttpResponse(status, (("Content-Type", "application/json"),), json.dumps(value).encode("utf-8"))


def balance_value(balance: Balance) -> tuple[float | int, int | str]:
    """Jasmin's (balance, sms_count): yuan and "ND" for money, the count twice for packages."""
    if balance.billing_unit == "msg":
        return balance.balance, balance.balance
    return balance.balance / 1000, "ND"


def rate_value(quote: RateQuote) -> dict[str, object]:
    unit_rate = 1.0 if quote.billing_unit == "msg" else quote.unit_price / 1000
    return {"submit_sm_count": quote.segments, "unit_rate": unit_rate}


def render_jasmin(reply: Reply, outcome: Outcome) -> HttpResponse:
    if reply.dialect is Dialect.JASMIN_REST:
        return _render_rest(reply, outcome)
    if isinstance(outcome, ApiError):
        if outcome.reason is Reason.NOT_FOUND:
            return HttpResponse(404, (("Content-Type", "text/html"),), b"No Such Resource")
        if outcome.reason is Reason.METHOD_NOT_ALLOWED:
            return HttpResponse(405, (("Content-Type", "text/html"),), b"Method Not Allowed")
        status, text = error_text(outcome, reply.op)
        return _plain(status, f'Error "{text}"')
    if isinstance(outcome, Pong):
        return _plain(200, "Jasmin/PONG")
    if isinstance(outcome, SendOutcome):
        if not outcome.accepted:  # nothing taken: answer as the first refusal (adapters send that instead)
            return render_jasmin(reply, _first_refusal(outcome))
        return _plain(200, f'Success "{outcome.accepted[0].message_id}"')
    if isinstance(outcome, Balance):
        balance, count = balance_value(outcome)
        return _jsonbody(200, {"balance": balance, "sms_count": count})
    if isinstance(outcome, RateQuote):
        return _jsonbody(200, rate_value(outcome))
    raise TypeError(f"a Jasmin {reply.op.value} reply cannot show {type(outcome).__name__}")


def _render_rest(reply: Reply, outcome: Outcome) -> HttpResponse:
    if isinstance(outcome, ApiError):
        reason = outcome.reason
        if reason is Reason.NOT_FOUND:
            return _jsonbody(404, {"title": "404 Not Found"})
        if reason is Reason.METHOD_NOT_ALLOWED:
            return _jsonbody(405, {"title": "405 Method Not Allowed"})
        if reason is Reason.MISSING_CREDENTIALS:
            return HttpResponse(
                401,
                (("Content-Type", "application/json"), ("WWW-Authenticate", 'Basic realm="smppgw"')),
                json.dumps({"title": "401 Unauthorized", "description": "Authentication required"}).encode(),
            )
        if reason is Reason.MALFORMED_BODY and outcome.detail == "json":
            return _jsonbody(412, {"title": "Cannot parse JSON data", "description": "Got unparseable json data"})
        if reason is Reason.INVALID_SCHEDULE and outcome.field == "schedule_at":
            title = (
                "Cannot schedule batch in past date" if outcome.detail == "past" else "Cannot parse scheduled_at value"
            )
            return _jsonbody(412, {"title": title, "description": f"Got: {outcome.value}"})
        status, text = error_text(outcome, reply.op)
        return _jsonbody(status, {"message": f'Error "{text}"'})
    if isinstance(outcome, Pong):
        return _jsonbody(200, {"data": "Jasmin/PONG"})
    if isinstance(outcome, Balance):
        balance, count = balance_value(outcome)
        return _jsonbody(200, {"data": {"balance": str(balance), "sms_count": count}})
    if isinstance(outcome, RateQuote):
        return _jsonbody(200, {"data": rate_value(outcome)})
    if isinstance(outcome, SendOutcome):
        if reply.op is Op.SEND:
            if not outcome.accepted:
                return _render_rest(reply, _first_refusal(outcome))
            return _jsonbody(200, {"data": f'Success "{outcome.accepted[0].message_id}"'})
        return _jsonbody(200, {"data": batch_data(outcome)})
    raise TypeError(f"a Jasmin REST {reply.op.value} reply cannot show {type(outcome).__name__}")


def _first_refusal(outcome: SendOutcome) -> ApiError:
    return outcome.refused[0].error if outcome.refused else ApiError(Reason.UNAVAILABLE)


def batch_data(outcome: SendOutcome) -> dict[str, object]:
    messages: list[dict[str, object]] = [{"to": a.to, "message_id": a.message_id} for a in outcome.accepted]
    messages += [{"to": r.to, "error": f'Error "{error_text(r.error, Op.SEND)[1]}"'} for r in outcome.refused]
    data: dict[str, object] = {
        "batchId": str(outcome.task_id),
        "messageCount": len(outcome.accepted),
        "messages": messages,
    }
    if outcome.scheduled_in_s:
        data["scheduled"] = f"{outcome.scheduled_in_s}s"
    return data
