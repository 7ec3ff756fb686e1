"""The v1 JSON API: requests, replies and its error table."""

from __future__ import annotations

import base64
import json

import pytest
from httpapi_fakes import LIMITS, LOOKUP, NOW, post

from smppgw.httpapi import fronts
from smppgw.httpapi.accounts import Front
from smppgw.httpapi.errors import ApiError, Reason, error_for_status
from smppgw.httpapi.requests import (
    AccountChannel,
    AckRequest,
    BalanceRequest,
    ContentCheckRequest,
    Dialect,
    NoReport,
    Op,
    PullRequest,
    PushChannel,
    RateRequest,
    Refusal,
    Rejection,
    Reply,
    ReportFormat,
    SendRequest,
    StatusRequest,
    Text,
)
from smppgw.httpapi.results import (
    Accepted,
    Balance,
    ContentVerdict,
    EventPage,
    InboundEvent,
    MessageStatus,
    ReportEvent,
    SendOutcome,
)
from smppgw.httpapi.wire import HttpRequest

BEARER = (("Authorization", "Bearer demo-api-secret"),)
SEND = Reply(Dialect.V1, Op.SEND)


def parse(request: HttpRequest):  # type: ignore[no-untyped-def]
    return fronts.parse(request, NOW, LOOKUP, LIMITS)


def send(body: object, headers: tuple[tuple[str, str], ...] = BEARER, path: str = "/v1/messages"):  # type: ignore[no-untyped-def]
    return parse(post(path, body=json.dumps(body).encode(), content_type="application/json", headers=headers))


def refused(parsed: object) -> tuple[int, dict[str, object]]:
    assert isinstance(parsed, Rejection), parsed
    response = fronts.render(parsed.reply, parsed.error, LIMITS)
    return response.status, json.loads(response.body)["error"]


def test_send_one_with_everything() -> None:
    parsed = send(
        {
            "to": "+86 138 0013 8000",
            "text": "【签名】你好",
            "extno": "12",
            "schedule_at": "2025-12-01T01:00:00Z",
            "validity": 3600,
            "priority": 1,
            "client_ref": "order-7",
            "callback_url": "https://example.com/hook",
        },
        headers=(*BEARER, ("Idempotency-Key", "k-1")),
    )
    assert isinstance(parsed, SendRequest)
    (message,) = parsed.messages
    assert (message.to, message.content, message.source, message.extno) == (
        "13800138000",
        Text("【签名】你好"),
        "106900112",
        "12",
    )
    assert (message.schedule_at, message.validity_s, message.priority) == (NOW + 3600, 3600, 1)
    assert message.client_ref == "order-7"
    assert message.report == PushChannel("https://example.com/hook", ReportFormat.V1)
    assert parsed.idempotency is not None and parsed.idempotency.key == "k-1"


def test_idempotency_fingerprint_follows_the_body() -> None:
    first = send({"to": "13800138000", "text": "a"}, headers=(*BEARER, ("Idempotency-Key", "k")))
    again = send({"to": "13800138000", "text": "a"}, headers=(*BEARER, ("Idempotency-Key", "k")))
    other = send({"to": "13800138000", "text": "b"}, headers=(*BEARER, ("Idempotency-Key", "k")))
    assert isinstance(first, SendRequest) and isinstance(again, SendRequest) and isinstance(other, SendRequest)
    assert first.idempotency == again.idempotency != other.idempotency


def test_batch_merges_globals_and_keeps_each_client_ref() -> None:
    parsed = send(
        {
            "globals": {"text": "hi", "report": False},
            "messages": [{"to": "13800138000", "client_ref": "a"}, {"to": ["13900139000", "nope"], "client_ref": "b"}],
        },
        path="/v1/messages/batch",
    )
    assert isinstance(parsed, SendRequest) and parsed.reply.op is Op.BATCH
    assert [(m.to, m.client_ref) for m in parsed.messages] == [("13800138000", "a"), ("13900139000", "b")]
    assert all(m.report == NoReport() for m in parsed.messages)
    assert [(r.to, r.client_ref, r.error.reason) for r in parsed.refused] == [("nope", "b", Reason.INVALID_NUMBER)]


def test_basic_auth_and_the_other_routes() -> None:
    basic = (("Authorization", "Basic " + base64.b64encode(b"demo:demo-pass").decode()),)
    assert isinstance(parse(HttpRequest("GET", "/v1/balance", headers=basic)), BalanceRequest)
    status = parse(HttpRequest("GET", "/v1/messages/abc-123", headers=BEARER))
    assert isinstance(status, StatusRequest) and status.message_id == "abc-123"
    rate = parse(HttpRequest("GET", "/v1/rate", query=b"to=13800138000&text=%E4%BD%A0", headers=BEARER))
    assert isinstance(rate, RateRequest) and rate.content == Text("你")
    check = send({"text": "博彩"}, path="/v1/content-check")
    assert isinstance(check, ContentCheckRequest)
    pull = parse(HttpRequest("GET", "/v1/inbound", query=b"limit=5", headers=BEARER))
    assert isinstance(pull, PullRequest) and (pull.limit, pull.reply.op) == (5, Op.INBOUND)
    ack = send({"cursor": "c1"}, path="/v1/reports/ack")
    assert isinstance(ack, AckRequest) and (ack.cursor, ack.inbound) == ("c1", False)
    default = send({"to": "13800138000", "text": "x"})
    assert isinstance(default, SendRequest) and default.messages[0].report == AccountChannel(Front.V1)


def test_send_reply_is_202_with_per_recipient_results() -> None:
    outcome = SendOutcome(
        9,
        (Accepted("13800138000", "m1", segments=1, price=45, client_ref="a"),),
        Balance("li", 9995),
        (Refusal("13900139000", error_for_status(0x405)),),
    )
    response = fronts.render(SEND, outcome, LIMITS)
    assert response.status == 202
    assert response.body == (
        b'{"task_id":"9","accepted":1,"rejected":1,"balance":9995,"unit":"li","messages":['
        b'{"to":"13800138000","message_id":"m1","segments":1,"price":45,"client_ref":"a"},'
        b'{"to":"13900139000","error":{"code":"opted_out","retryable":false,"smpp_status":"0x00000405"}}]}'
    )


def test_other_replies() -> None:
    balance = fronts.render(Reply(Dialect.V1, Op.BALANCE), Balance("li", 9995, topped_up=10000), LIMITS)
    assert balance.body == b'{"balance":9995,"topped_up":10000,"unit":"li"}'
    verdict = fronts.render(Reply(Dialect.V1, Op.CHECK), ContentVerdict(False, "gambling", ("博彩",)), LIMITS)
    assert json.loads(verdict.body) == {"allowed": False, "category": "gambling", "matches": ["博彩"]}
    report = ReportEvent("evt_1", "m1", "13800138000", status=0x405, stat="REJECTD", done_at=NOW, submitted_at=NOW)
    mo = InboundEvent("evt_2", "mo1", "13800138000", "106900112", "TD", NOW, extno="12", opt_out=True)
    page = json.loads(fronts.render(Reply(Dialect.V1, Op.REPORTS), EventPage((report,), (mo,), "c9"), LIMITS).body)
    assert page["cursor"] == "c9"
    assert page["events"][0]["gateway_code"] == "GW:0405" and page["events"][0]["type"] == "message.report"
    assert page["events"][1] == {
        "id": "evt_2", "type": "message.inbound", "message_id": "mo1", "client_ref": "", "task_id": "0",
        "to": "106900112", "from": "13800138000", "extno": "12", "text": "TD", "opt_out": True,
        "received_at": "2025-12-01T00:00:00Z",
    }  # fmt: skip
    status = MessageStatus("m1", "13800138000", "DELIVRD", True, done_at=NOW, submitted_at=NOW, err="000")
    body = json.loads(fronts.render(Reply(Dialect.V1, Op.STATUS), status, LIMITS).body)
    assert body["receipt"] == {"status": "DELIVRD", "err": "000", "carrier_code": "", "done_at": "2025-12-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("body", "headers", "status", "code", "field"),
    [
        ({"to": "13800138000", "text": "x"}, (), 401, "missing_credentials", None),
        ({"to": "13800138000", "text": "x"}, (("Authorization", "Bearer nope"),), 401, "invalid_credentials", None),
        ({"to": "13800138000", "text": "x"}, (("Authorization", "Bearer strict-secret"),), 403, "ip_not_allowed", None),
        ({"text": "x"}, BEARER, 400, "missing_field", "to"),
        ({"to": "13800138000"}, BEARER, 400, "missing_field", "text"),
        ({"to": "12", "text": "x"}, BEARER, 400, "invalid_number", "to"),
        ({"to": ["13800138000"] * 1001, "text": "x"}, BEARER, 413, "too_many_recipients", "to"),
        ({"to": "13800138000", "text": "长" * 70 * 260}, BEARER, 400, "text_too_long", "text"),
        ({"to": "13800138000", "text": "x", "schedule_at": "tomorrow"}, BEARER, 400, "invalid_schedule", "schedule_at"),
        ({"to": "13800138000", "text": "x", "validity": 0}, BEARER, 400, "invalid_schedule", "validity"),
        ({"to": "13800138000", "text": "x", "extno": "1a"}, BEARER, 400, "invalid_source", "extno"),
        (
            {"to": "13800138000", "text": "x", "callback_url": "file:///etc"},
            BEARER,
            400,
            "invalid_callback_url",
            "callback_url",
        ),
        ({"to": "13800138000", "text": "x", "colour": "red"}, BEARER, 400, "unknown_field", "colour"),
        ({"to": "13800138000", "text": "x", "priority": "high"}, BEARER, 400, "invalid_field", "priority"),
        ([1, 2], BEARER, 400, "invalid_body", None),
    ],
)
def test_send_refusals(
    body: object, headers: tuple[tuple[str, str], ...], status: int, code: str, field: str | None
) -> None:
    got_status, error = refused(send(body, headers=headers))
    assert (got_status, error["code"], error.get("field")) == (status, code, field)


def test_undecodable_body_and_routes() -> None:
    raw = post("/v1/messages", body=b'{"to":"1\xff"}', content_type="application/json", headers=BEARER)
    assert refused(parse(raw))[1]["code"] == "bad_encoding"
    assert refused(parse(HttpRequest("GET", "/v1/nothing", headers=BEARER)))[0] == 404
    wrong_method = parse(HttpRequest("DELETE", "/v1/balance", headers=BEARER))
    assert isinstance(wrong_method, Rejection)
    response = fronts.render(wrong_method.reply, wrong_method.error, LIMITS)
    assert (response.status, response.header("Allow")) == (405, "GET")


@pytest.mark.parametrize(
    ("status_code", "http", "code", "retryable"),
    [
        (0x0B, 422, "no_route", False),
        (0x401, 422, "signature_required", False),
        (0x402, 422, "content_rejected", False),
        (0x404, 422, "outside_send_window", False),
        (0x405, 422, "opted_out", False),
        (0x406, 403, "account_suspended", False),
        (0x400, 402, "insufficient_balance", False),
        (0x58, 429, "throttled", True),
        (0x08, 503, "unavailable", True),
    ],
)
def test_gateway_refusals(status_code: int, http: int, code: str, retryable: bool) -> None:
    response = fronts.render(SEND, error_for_status(status_code, retry_after=2), LIMITS)
    error = json.loads(response.body)["error"]
    assert (response.status, error["code"], error["retryable"]) == (http, code, retryable)
    assert error["smpp_status"] == f"0x{status_code:08X}"
    if code == "throttled":
        assert response.header("Retry-After") == "2"


def test_idempotency_conflict_and_suspended() -> None:
    conflict = fronts.render(SEND, ApiError(Reason.IDEMPOTENCY_CONFLICT), LIMITS)
    assert conflict.status == 409
    gone = (("Authorization", "Basic " + base64.b64encode(b"gone:pw").decode()),)
    assert refused(parse(HttpRequest("GET", "/v1/balance", headers=gone))) == (
        403,
        {"code": "account_suspended", "message": "the account is suspended", "retryable": False},
    )
    smpp_only = (("Authorization", "Basic " + base64.b64encode(b"smpponly:pw").decode()),)
    assert refused(parse(HttpRequest("GET", "/v1/balance", headers=smpp_only)))[1]["code"] == "api_not_enabled"


def test_pull_limit_is_checked() -> None:
    status, error = refused(parse(HttpRequest("GET", "/v1/reports", query=b"limit=0", headers=BEARER)))
    assert (status, error["field"]) == (400, "limit")
