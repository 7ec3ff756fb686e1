"""The v1 JSON API: send one or a batch, status, balance, rate, content check, report and MO pulls.

Every error is `{"error": {"code", "message", "retryable", ...}}` with the status of its row in the
bad-input table; money is in 厘 (`"unit": "li"`) as in the admin API.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from .accounts import ApiAccount, CredentialLookup, Front, Limits, admit, authenticate
from .errors import ApiError, Reason, gateway_code
from .fields import (
    ascii_digits,
    international_number,
    mainland_mobile,
    parse_int,
    parse_rfc3339,
    rfc3339,
    schedule,
    text_too_long,
    well_formed_text,
)
from .requests import (
    AccountChannel,
    AckRequest,
    ApiRequest,
    BalanceRequest,
    ContentCheckRequest,
    Dialect,
    Idempotency,
    NoReport,
    Op,
    OutboundMessage,
    PullRequest,
    PushChannel,
    RateRequest,
    Refusal,
    Rejection,
    Reply,
    ReportChannel,
    ReportFormat,
    SendRequest,
    StatusRequest,
    Text,
)
from .results import (
    Acked,
    Balance,
    ContentVerdict,
    EventPage,
    InboundEvent,
    MessageStatus,
    Outcome,
    RateQuote,
    ReportEvent,
    SendOutcome,
)
from .urlpolicy import callback_url_problem
from .wire import (
    HttpRequest,
    HttpResponse,
    JsonBodyError,
    basic_credentials,
    bearer_token,
    load_json,
    normalise_path,
    split_form,
)

MESSAGE_FIELDS = frozenset(
    {"to", "text", "extno", "schedule_at", "validity", "priority", "client_ref", "callback_url", "report"}
)
_MESSAGE_ID = re.compile(r"[0-9A-Za-z._:-]{1,64}")
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")
MAX_VALIDITY_S = 7 * 86_400

# path -> {method: op}
_ROUTES: dict[str, dict[str, Op]] = {
    "/v1/messages": {"POST": Op.SEND},
    "/v1/messages/batch": {"POST": Op.BATCH},
    "/v1/balance": {"GET": Op.BALANCE},
    "/v1/rate": {"GET": Op.RATE},
    "/v1/content-check": {"POST": Op.CHECK},
    "/v1/reports": {"GET": Op.REPORTS},
    "/v1/reports/ack": {"POST": Op.ACK},
    "/v1/inbound": {"GET": Op.INBOUND},
    "/v1/inbound/ack": {"POST": Op.ACK},
}


def _route(path: str, method: str) -> tuple[Op, str] | ApiError:
    """(op, message id for a status) of a path, or not_found / method_not_allowed."""
    key = normalise_path(path)
    if key.startswith("/v1/messages/") and key.count("/") == 3 and key != "/v1/messages/batch":
        message_id = key.rsplit("/", 1)[1]
        if not _MESSAGE_ID.fullmatch(message_id):
            return ApiError(Reason.NOT_FOUND)
        if method != "GET":
            return ApiError(Reason.METHOD_NOT_ALLOWED, detail="GET")
        return Op.STATUS, message_id
    methods = _ROUTES.get(key)
    if methods is None:
        return ApiError(Reason.NOT_FOUND)
    op = methods.get(method)
    if op is None:
        return ApiError(Reason.METHOD_NOT_ALLOWED, detail=", ".join(methods))
    return op, ""


def _sign_in(request: HttpRequest, accounts: CredentialLookup) -> ApiAccount | ApiError:
    authorization = request.header("Authorization")
    token = bearer_token(authorization)
    if token is not None:
        account = accounts.by_api_secret(token)
        if account is None:
            return ApiError(Reason.INVALID_CREDENTIALS)
        return admit(accounts, account, Front.V1, request.peer)
    basic = basic_credentials(authorization)
    if basic is not None:
        return authenticate(accounts, Front.V1, basic[0], basic[1], request.peer)
    if authorization:
        return ApiError(Reason.INVALID_CREDENTIALS)
    return ApiError(Reason.MISSING_CREDENTIALS)


def _body(request: HttpRequest) -> dict[str, Any] | ApiError:
    if not request.body.strip():
        return {}
    try:
        value = load_json(request.body)
    except JsonBodyError as problem:
        if problem.kind == "encoding":
            return ApiError(Reason.BAD_ENCODING)
        return ApiError(Reason.MALFORMED_BODY, detail="not JSON")
    if not isinstance(value, dict):
        return ApiError(Reason.MALFORMED_BODY, detail="not a JSON object")
    return value


def parse_v1(request: HttpRequest, now: float, accounts: CredentialLookup, limits: Limits) -> ApiRequest | Rejection:
    method = request.method.upper()
    routed = _route(request.path, method)
    if isinstance(routed, ApiError):
        return Rejection(Reply(Dialect.V1, Op.SEND), routed)
    op, message_id = routed
    reply = Reply(Dialect.V1, op)
    account = _sign_in(request, accounts)
    if isinstance(account, ApiError):
        return Rejection(reply, account)
    if len(request.body) > limits.max_body_bytes:
        return Rejection(reply, ApiError(Reason.BODY_TOO_LARGE, username=account.system_id))
    query = {
        name.decode("utf-8", "replace"): value.decode("utf-8", "replace") for name, value in split_form(request.query)
    }
    body = _body(request) if method == "POST" else {}
    if isinstance(body, ApiError):
        return Rejection(reply, body)

    result: ApiRequest | ApiError
    if op in (Op.SEND, Op.BATCH):
        result = _send(request, reply, account, body, now=now, limits=limits)
    elif op is Op.STATUS:
        result = StatusRequest(reply, account, message_id)
    elif op is Op.BALANCE:
        result = BalanceRequest(reply, account)
    elif op is Op.RATE:
        result = _rate(reply, account, query, limits)
    elif op is Op.CHECK:
        result = _check(reply, account, body, limits)
    elif op in (Op.REPORTS, Op.INBOUND):
        result = _pull(reply, account, query, limits)
    else:
        cursor = body.get("cursor")
        if not isinstance(cursor, str) or not cursor:
            result = ApiError(Reason.INVALID_FIELD, field="cursor")
        else:
            result = AckRequest(reply, account, cursor, inbound=normalise_path(request.path).startswith("/v1/inbound"))
    return Rejection(reply, result) if isinstance(result, ApiError) else result


def _idempotency(request: HttpRequest) -> Idempotency | ApiError | None:
    key = request.header("Idempotency-Key")
    if key is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(key):
        return ApiError(Reason.INVALID_FIELD, field="Idempotency-Key")
    digest = hashlib.sha256()
    for part in (request.method.upper().encode(), normalise_path(request.path).encode(), request.body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return Idempotency(key, digest.hexdigest())


def _number(raw: object) -> str | None:
    if not isinstance(raw, str):
        return None
    return mainland_mobile(raw) or international_number(raw)


def _send(
    request: HttpRequest, reply: Reply, account: ApiAccount, body: dict[str, Any], *, now: float, limits: Limits
) -> SendRequest | ApiError:
    idempotency = _idempotency(request)
    if isinstance(idempotency, ApiError):
        return idempotency
    if reply.op is Op.BATCH:
        unknown = sorted(set(body) - {"globals", "messages"})
        if unknown:
            return ApiError(Reason.UNKNOWN_FIELD, field=unknown[0])
        globals_ = body.get("globals", {})
        items = body.get("messages")
        if not isinstance(globals_, dict):
            return ApiError(Reason.INVALID_FIELD, field="globals")
        if not isinstance(items, list) or not items:
            return ApiError(Reason.NO_RECIPIENT, field="messages")
        specs: list[tuple[str, dict[str, Any]]] = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                return ApiError(Reason.INVALID_FIELD, field=f"messages[{index}]")
            specs.append((f"messages[{index}].", {**globals_, **item}))
    else:
        specs = [("", body)]

    messages: list[OutboundMessage] = []
    refused: list[Refusal] = []
    for prefix, spec in specs:
        built = _message(spec, prefix, account, now, limits)
        if isinstance(built, ApiError):
            return built
        targets, template = built
        for raw in targets:
            if len(messages) + len(refused) >= limits.max_recipients:
                return ApiError(Reason.TOO_MANY_RECIPIENTS, field=prefix + "to")
            to = _number(raw)
            if to is None:
                shown = raw if isinstance(raw, str) else json.dumps(raw)
                error = ApiError(Reason.INVALID_NUMBER, field=prefix + "to", value=shown)
                refused.append(Refusal(shown, error, template.client_ref))
                continue
            messages.append(_with_to(template, to))
    if not messages:
        return refused[0].error
    return SendRequest(reply, account, tuple(messages), tuple(refused), idempotency=idempotency)


def _with_to(template: OutboundMessage, to: str) -> OutboundMessage:
    return OutboundMessage(
        to=to,
        content=template.content,
        source=template.source,
        extno=template.extno,
        schedule_at=template.schedule_at,
        validity_s=template.validity_s,
        priority=template.priority,
        report=template.report,
        client_ref=template.client_ref,
    )


def _message(
    spec: dict[str, Any], prefix: str, account: ApiAccount, now: float, limits: Limits
) -> tuple[list[object], OutboundMessage] | ApiError:
    for name in spec:
        if name not in MESSAGE_FIELDS:
            return ApiError(Reason.UNKNOWN_FIELD, field=prefix + name)
    to = spec.get("to")
    targets: list[object] = to if isinstance(to, list) else [] if to is None else [to]
    if not targets or targets == [""]:
        return ApiError(Reason.NO_RECIPIENT, field=prefix + "to")
    text = spec.get("text")
    if text is None or text == "":
        return ApiError(Reason.EMPTY_CONTENT, field=prefix + "text")
    if not isinstance(text, str):
        return ApiError(Reason.INVALID_FIELD, field=prefix + "text")
    if not well_formed_text(text):
        return ApiError(Reason.BAD_ENCODING, field=prefix + "text")
    if text_too_long(text, limits):
        return ApiError(Reason.TEXT_TOO_LONG, field=prefix + "text")

    extno = spec.get("extno", "")
    if not isinstance(extno, str) or (extno and (not ascii_digits(extno) or len(extno) > limits.max_extno_digits)):
        return ApiError(Reason.INVALID_SOURCE, field=prefix + "extno")
    source = account.service_number + extno if account.service_number else None
    if source is not None and len(source) > limits.max_source_digits:
        return ApiError(Reason.INVALID_SOURCE, field=prefix + "extno")

    when = None
    if spec.get("schedule_at") is not None:
        raw_when = spec["schedule_at"]
        parsed = parse_rfc3339(raw_when) if isinstance(raw_when, str) else None
        checked = None if parsed is None else schedule(parsed, now, limits, prefix + "schedule_at")
        if parsed is None or isinstance(checked, ApiError):
            return ApiError(Reason.INVALID_SCHEDULE, field=prefix + "schedule_at")
        when = checked
    validity = spec.get("validity")
    if validity is not None and (
        not isinstance(validity, int) or isinstance(validity, bool) or not 1 <= validity <= MAX_VALIDITY_S
    ):
        return ApiError(Reason.INVALID_SCHEDULE, field=prefix + "validity")
    priority = spec.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 3:
        return ApiError(Reason.INVALID_FIELD, field=prefix + "priority")
    client_ref = spec.get("client_ref", "")
    if not isinstance(client_ref, str) or len(client_ref) > limits.max_client_ref or not well_formed_text(client_ref):
        return ApiError(Reason.INVALID_FIELD, field=prefix + "client_ref")
    report_flag = spec.get("report", True)
    if not isinstance(report_flag, bool):
        return ApiError(Reason.INVALID_FIELD, field=prefix + "report")
    url = spec.get("callback_url")
    report: ReportChannel = AccountChannel(Front.V1)
    if url is not None:
        if not isinstance(url, str) or callback_url_problem(url, allow_private=account.allow_private_callbacks):
            return ApiError(Reason.INVALID_CALLBACK_URL, field=prefix + "callback_url")
        report = PushChannel(url, ReportFormat.V1)
    if not report_flag:
        report = NoReport()
    template = OutboundMessage(
        to="",
        content=Text(text),
        source=source,
        extno=extno,
        schedule_at=when,
        validity_s=validity,
        priority=priority,
        report=report,
        client_ref=client_ref,
    )
    return targets, template


def _rate(reply: Reply, account: ApiAccount, query: dict[str, str], limits: Limits) -> RateRequest | ApiError:
    raw = query.get("to", "")
    if not raw:
        return ApiError(Reason.NO_RECIPIENT, field="to")
    to = _number(raw)
    if to is None:
        return ApiError(Reason.INVALID_NUMBER, field="to", value=raw)
    text = query.get("text", "")
    if text_too_long(text, limits):
        return ApiError(Reason.TEXT_TOO_LONG, field="text")
    return RateRequest(reply, account, to, Text(text))


def _check(reply: Reply, account: ApiAccount, body: dict[str, Any], limits: Limits) -> ContentCheckRequest | ApiError:
    unknown = sorted(set(body) - {"text"})
    if unknown:
        return ApiError(Reason.UNKNOWN_FIELD, field=unknown[0])
    text = body.get("text")
    if text is None or text == "":
        return ApiError(Reason.EMPTY_CONTENT, field="text")
    if not isinstance(text, str) or not well_formed_text(text):
        return ApiError(Reason.INVALID_FIELD, field="text")
    if text_too_long(text, limits):
        return ApiError(Reason.TEXT_TOO_LONG, field="text")
    return ContentCheckRequest(reply, account, text)


def _pull(reply: Reply, account: ApiAccount, query: dict[str, str], limits: Limits) -> PullRequest | ApiError:
    raw = query.get("limit")
    limit = limits.v1_pull_default
    if raw is not None:
        parsed = parse_int(raw, 1, limits.max_v1_pull)
        if parsed is None:
            return ApiError(Reason.INVALID_FIELD, field="limit", value=raw)
        limit = parsed
    return PullRequest(reply, account, limit)


# --- render ---------------------------------------------------------------------------------

STATUS: dict[Reason, int] = {
    Reason.MISSING_CREDENTIALS: 401,
    Reason.INVALID_CREDENTIALS: 401,
    Reason.IP_NOT_ALLOWED: 403,
    Reason.ACCOUNT_SUSPENDED: 403,
    Reason.API_NOT_ENABLED: 403,
    Reason.PULL_NOT_ALLOWED: 403,
    Reason.NO_RECIPIENT: 400,
    Reason.EMPTY_CONTENT: 400,
    Reason.INVALID_NUMBER: 400,
    Reason.NO_ROUTE: 422,
    Reason.TOO_MANY_RECIPIENTS: 413,
    Reason.BAD_ENCODING: 400,
    Reason.TEXT_TOO_LONG: 400,
    Reason.INVALID_SCHEDULE: 400,
    Reason.INVALID_VALIDITY: 400,
    Reason.INVALID_SOURCE: 400,
    Reason.INVALID_CALLBACK_URL: 400,
    Reason.SIGNATURE_REQUIRED: 422,
    Reason.CONTENT_REJECTED: 422,
    Reason.OUTSIDE_SEND_WINDOW: 422,
    Reason.OPTED_OUT: 422,
    Reason.INSUFFICIENT_BALANCE: 402,
    Reason.THROTTLED: 429,
    Reason.UNAVAILABLE: 503,
    Reason.IDEMPOTENCY_CONFLICT: 409,
    Reason.UNKNOWN_FIELD: 400,
    Reason.INVALID_FIELD: 400,
    Reason.MALFORMED_BODY: 400,
    Reason.BODY_TOO_LARGE: 413,
    Reason.NOT_FOUND: 404,
    Reason.METHOD_NOT_ALLOWED: 405,
}
MESSAGES: dict[Reason, str] = {
    Reason.MISSING_CREDENTIALS: "credentials are required (Authorization: Bearer <api secret>, or Basic)",
    Reason.INVALID_CREDENTIALS: "the credentials are not valid",
    Reason.IP_NOT_ALLOWED: "requests from this address are not allowed for this account",
    Reason.ACCOUNT_SUSPENDED: "the account is suspended",
    Reason.API_NOT_ENABLED: "the v1 API is not enabled for this account",
    Reason.PULL_NOT_ALLOWED: "this account's events are pushed, not pulled",
    Reason.NO_RECIPIENT: "a required field is missing",
    Reason.EMPTY_CONTENT: "a required field is missing",
    Reason.INVALID_NUMBER: "not a valid phone number",
    Reason.NO_ROUTE: "no route to this number",
    Reason.TOO_MANY_RECIPIENTS: "too many recipients in one request",
    Reason.BAD_ENCODING: "the body is not valid UTF-8 text",
    Reason.TEXT_TOO_LONG: "the text needs more parts than allowed",
    Reason.INVALID_SCHEDULE: "schedule_at or validity is not valid",
    Reason.INVALID_VALIDITY: "validity is not valid",
    Reason.INVALID_SOURCE: "extno is not valid for this account",
    Reason.INVALID_CALLBACK_URL: "callback_url must be an http(s) URL the gateway may call",
    Reason.SIGNATURE_REQUIRED: "the text needs a registered 【signature】 at its start",
    Reason.CONTENT_REJECTED: "the content is not allowed",
    Reason.OUTSIDE_SEND_WINDOW: "sending is not allowed at this time",
    Reason.OPTED_OUT: "the recipient has opted out",
    Reason.INSUFFICIENT_BALANCE: "the balance is too low for this request",
    Reason.THROTTLED: "too many requests; retry after the given time",
    Reason.UNAVAILABLE: "temporarily unavailable; retry later",
    Reason.IDEMPOTENCY_CONFLICT: "this Idempotency-Key was used with a different request",
    Reason.UNKNOWN_FIELD: "unknown field",
    Reason.INVALID_FIELD: "a field has a value of the wrong type or range",
    Reason.MALFORMED_BODY: "the body must be a JSON object",
    Reason.BODY_TOO_LARGE: "the body is too large",
    Reason.NOT_FOUND: "not found",
    Reason.METHOD_NOT_ALLOWED: "method not allowed",
}


def _json(status: int, value: object, extra: tuple[tuple[str, str], ...] = ()) -> HttpResponse:
    # "replace": a reply must go out even if a value slipped past the checks unencodable.
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "replace")
    return HttpResponse(status, (("Content-Type", "application/json; charset=utf-8"), *extra), data)


def error_body(error: ApiError) -> dict[str, object]:
    body: dict[str, object] = {
        "code": error.reason.code,
        "message": MESSAGES.get(error.reason, "error"),
        "retryable": error.retryable,
    }
    if error.field:
        body["field"] = error.field
    if error.smpp_status is not None:
        body["smpp_status"] = f"0x{error.smpp_status:08X}"
    if error.reason is Reason.CONTENT_REJECTED and error.detail:
        body["category"] = error.detail
    return body


def render_error(error: ApiError) -> HttpResponse:
    extra: tuple[tuple[str, str], ...] = ()
    if error.reason in (Reason.MISSING_CREDENTIALS, Reason.INVALID_CREDENTIALS):
        extra = (("WWW-Authenticate", 'Bearer realm="smppgw"'),)
    elif error.reason is Reason.THROTTLED and error.retry_after is not None:
        extra = (("Retry-After", str(error.retry_after)),)
    elif error.reason is Reason.METHOD_NOT_ALLOWED and error.detail:
        extra = (("Allow", error.detail),)
    return _json(STATUS.get(error.reason, 500), {"error": error_body(error)}, extra)


def _unit(billing_unit: str) -> str:
    return "msg" if billing_unit == "msg" else "li"


def report_event(event: ReportEvent) -> dict[str, object]:
    """The `message.report` event object (pulls and webhooks share it)."""
    return {
        "id": event.event_id,
        "type": "message.report",
        "message_id": event.message_id,
        "client_ref": event.client_ref,
        "task_id": str(event.task_id),
        "to": event.to,
        "from": event.source,
        "extno": event.extno,
        "status": event.stat,
        "final": event.final,
        "err": event.err,
        "carrier": event.carrier,
        "carrier_code": event.carrier_code,
        "gateway_code": gateway_code(event.status) if event.status else None,
        "segments": event.segments,
        "submitted_at": rfc3339(event.submitted_at),
        "done_at": rfc3339(event.done_at),
    }


def inbound_event(event: InboundEvent) -> dict[str, object]:
    return {
        "id": event.event_id,
        "type": "message.inbound",
        "message_id": event.message_id,
        "client_ref": event.client_ref,
        "task_id": str(event.task_id),
        "to": event.to,
        "from": event.msisdn,
        "extno": event.extno,
        "text": event.text,
        "opt_out": event.opt_out,
        "received_at": rfc3339(event.received_at),
    }


def _send_body(outcome: SendOutcome) -> dict[str, object]:
    messages: list[dict[str, object]] = []
    for item in outcome.accepted:
        entry: dict[str, object] = {
            "to": item.to,
            "message_id": item.message_id,
            "segments": item.segments,
            "price": item.price,
        }
        if item.client_ref:
            entry["client_ref"] = item.client_ref
        messages.append(entry)
    for refusal in outcome.refused:
        error: dict[str, object] = {"code": refusal.error.reason.code, "retryable": refusal.error.retryable}
        if refusal.error.smpp_status is not None:
            error["smpp_status"] = f"0x{refusal.error.smpp_status:08X}"
        entry = {"to": refusal.to, "error": error}
        if refusal.client_ref:
            entry["client_ref"] = refusal.client_ref
        messages.append(entry)
    return {
        "task_id": str(outcome.task_id),
        "accepted": len(outcome.accepted),
        "rejected": len(outcome.refused),
        "balance": outcome.balance.balance,
        "unit": _unit(outcome.balance.billing_unit),
        "messages": messages,
    }


def render_v1(reply: Reply, outcome: Outcome) -> HttpResponse:
    if isinstance(outcome, ApiError):
        return render_error(outcome)
    if isinstance(outcome, SendOutcome):
        return _json(202, _send_body(outcome))
    if isinstance(outcome, Balance):
        return _json(
            200, {"balance": outcome.balance, "topped_up": outcome.topped_up, "unit": _unit(outcome.billing_unit)}
        )
    if isinstance(outcome, RateQuote):
        return _json(
            200,
            {
                "to": outcome.to,
                "segments": outcome.segments,
                "unit_price": outcome.unit_price,
                "price": outcome.segments * outcome.unit_price,
                "carrier": outcome.carrier,
                "unit": _unit(outcome.billing_unit),
            },
        )
    if isinstance(outcome, ContentVerdict):
        return _json(
            200,
            {
                "allowed": outcome.allowed,
                "category": outcome.category or None,
                "matches": list(outcome.matches) if outcome.show_terms else [],
            },
        )
    if isinstance(outcome, EventPage):
        events = [report_event(e) for e in outcome.reports] + [inbound_event(e) for e in outcome.inbound]
        return _json(200, {"events": events, "cursor": outcome.cursor})
    if isinstance(outcome, MessageStatus):
        return _json(200, message_status(outcome))
    if isinstance(outcome, Acked):
        return _json(200, {"acked": outcome.count})
    raise TypeError(f"a v1 {reply.op.value} reply cannot show {type(outcome).__name__}")


def message_status(status: MessageStatus) -> dict[str, object]:
    receipt: dict[str, object] | None = None
    if status.done_at is not None:
        receipt = {
            "status": status.state,
            "err": status.err,
            "carrier_code": status.carrier_code,
            "done_at": rfc3339(status.done_at),
        }
    return {
        "message_id": status.message_id,
        "to": status.to,
        "state": status.state,
        "final": status.final,
        "carrier": status.carrier,
        "segments": status.segments,
        "price": status.price,
        "unit": "li",
        "task_id": str(status.task_id),
        "client_ref": status.client_ref,
        "submitted_at": rfc3339(status.submitted_at),
        "gateway_code": gateway_code(status.status) if status.status else None,
        "receipt": receipt,
    }
