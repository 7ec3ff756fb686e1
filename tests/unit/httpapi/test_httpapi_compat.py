"""Jasmin's HTTP/REST API and Kannel's sendsms: the same texts and codes their clients expect."""

from __future__ import annotations

import base64
import json

import pytest
from httpapi_fakes import LIMITS, LOOKUP, NOW, get, post

from smppgw.httpapi import fronts
from smppgw.httpapi.errors import ApiError, Reason, error_for_status
from smppgw.httpapi.requests import (
    BalanceRequest,
    Dialect,
    NoReport,
    Octets,
    Op,
    PingRequest,
    PushChannel,
    RateRequest,
    Refusal,
    Rejection,
    Reply,
    ReportFormat,
    SendRequest,
    Text,
)
from smppgw.httpapi.results import Accepted, Balance, Pong, RateQuote, SendOutcome
from smppgw.httpapi.wire import HttpRequest

JASMIN = Reply(Dialect.JASMIN, Op.SEND)
KANNEL = Reply(Dialect.KANNEL, Op.SEND)
AUTH = [("username", "demo"), ("password", "demo-pass")]


def parse(request: HttpRequest):  # type: ignore[no-untyped-def]
    return fronts.parse(request, NOW, LOOKUP, LIMITS)


def answer(request: HttpRequest) -> tuple[int, bytes]:
    parsed = parse(request)
    assert isinstance(parsed, Rejection), parsed
    response = fronts.render(parsed.reply, parsed.error, LIMITS)
    return response.status, response.body


def one(message_id: str = "07033084-5cfd-4812-90a4-e4d24ffb6e3d") -> SendOutcome:
    return SendOutcome(0, (Accepted("8613800138000", message_id),), Balance("li", 1000))


# --- Jasmin /send -----------------------------------------------------------------------------


def test_jasmin_send_success_and_pong() -> None:
    response = fronts.render(JASMIN, one(), LIMITS)
    assert (response.status, response.body) == (200, b'Success "07033084-5cfd-4812-90a4-e4d24ffb6e3d"')
    assert response.header("Content-Type") == "text/plain"
    ping = parse(get("/ping"))
    assert isinstance(ping, PingRequest)
    assert fronts.render(ping.reply, Pong(), LIMITS).body == b"Jasmin/PONG"


def test_jasmin_send_parses_with_its_defaults() -> None:
    parsed = parse(
        get("/send", [*AUTH, ("to", "+8613800138000"), ("content", "你好"), ("dlr-url", "http://127.0.0.1/dlr")])
    )
    assert isinstance(parsed, SendRequest)
    message = parsed.messages[0]
    assert message.to == "8613800138000"
    assert message.content == Text("你好")  # no coding: the gateway picks UCS-2, not GSM garbage
    assert message.report == PushChannel("http://127.0.0.1/dlr", ReportFormat.JASMIN, method="POST", level=1)
    coded = parse(post("/send", [*AUTH, ("to", "8613800138000"), ("coding", "8"), ("hex-content", "4f60597d")]))
    assert isinstance(coded, SendRequest) and coded.messages[0].content == Octets("你好".encode("utf-16-be"), 8)
    no_dlr = parse(get("/send", [*AUTH, ("to", "8613800138000"), ("content", "hi")]))
    assert isinstance(no_dlr, SendRequest) and no_dlr.messages[0].report == NoReport()


def test_jasmin_json_body() -> None:
    base = {"username": "demo", "password": "demo-pass", "to": "8613800138000", "content": "hi"}
    parsed = parse(post("/send", body=json.dumps(base).encode(), content_type="application/json"))
    assert isinstance(parsed, SendRequest)
    listed = json.dumps({**base, "priority": [1]}).encode()
    assert answer(post("/send", body=listed, content_type="application/json")) == (
        400,
        b'Error "Argument [priority] has an invalid value: [[1]]."',
    )


@pytest.mark.parametrize(
    ("pairs", "status", "text"),
    [
        ([], 400, "Mandatory argument [to] is not found."),
        ([("to", "8613800138000"), ("content", "x")], 400, "Mandatory argument [username] is not found."),
        ([*AUTH, ("content", "x")], 400, "Mandatory argument [to] is not found."),
        (
            [*AUTH[:1], ("password", "bad"), ("to", "8613800138000"), ("content", "x")],
            403,
            "Authentication failure for username:demo",
        ),
        (
            [("username", "strict"), ("password", "pw"), ("to", "8613800138000"), ("content", "x")],
            400,
            "Authorization failed for user [strict] (IP not allowed).",
        ),
        (
            [("username", "gone"), ("password", "pw"), ("to", "8613800138000"), ("content", "x")],
            400,
            "Authorization failed for user [gone] (Account suspended).",
        ),
        (
            [("username", "smpponly"), ("password", "pw"), ("to", "8613800138000"), ("content", "x")],
            400,
            "Authorization failed for user [smpponly] (Cannot send MT messages).",
        ),
        ([*AUTH, ("to", "abc"), ("content", "x")], 400, "Argument [to] has an invalid value: [abc]."),
        ([*AUTH, ("to", "8613800138000")], 400, "content or hex-content not present."),
        (
            [*AUTH, ("to", "8613800138000"), ("content", "x"), ("hex-content", "41")],
            400,
            "content and hex-content cannot be used both in same request.",
        ),
        ([*AUTH, ("to", "8613800138000"), ("hex-content", "zz")], 400, "Invalid hex-content data: 'zz'"),
        (
            [*AUTH, ("to", "8613800138000"), ("content", "长" * 70 * 260)],
            400,
            "Argument [content] has an invalid value: [...].",
        ),
        (
            [*AUTH, ("to", "8613800138000"), ("content", "x"), ("sdt", "soon")],
            400,
            "Argument [sdt] has an invalid value: [soon].",
        ),
        (
            [*AUTH, ("to", "8613800138000"), ("content", "x"), ("priority", "9")],
            400,
            "Argument [priority] has an invalid value: [9].",
        ),
        (
            [*AUTH, ("to", "8613800138000"), ("content", "x"), ("dlr-url", "ftp://x")],
            400,
            "Argument [dlr-url] has an invalid value: [ftp://x].",
        ),
        ([("foo", "1"), *AUTH], 400, "Argument [foo] is unknown."),
    ],
)
def test_jasmin_send_refusals(pairs: list[tuple[str, str]], status: int, text: str) -> None:
    assert answer(get("/send", pairs)) == (status, f'Error "{text}"'.encode())


def test_jasmin_private_dlr_url_needs_the_account_setting() -> None:
    pairs = [
        ("username", "strict"),
        ("password", "pw"),
        ("to", "8613800138000"),
        ("content", "x"),
        ("dlr-url", "http://10.1.2.3/d"),
    ]
    status, body = answer(get("/send", pairs, peer="10.0.0.1"))
    assert (status, body) == (400, b'Error "Argument [dlr-url] has an invalid value: [http://10.1.2.3/d]."')


@pytest.mark.parametrize(
    ("status_code", "http", "text"),
    [
        (0x0B, 412, "No route found"),
        (0x401, 403, "Content rejected: signature"),
        (0x404, 403, "Content rejected: send window"),
        (0x405, 403, "Content rejected: opted out"),
        (0x400, 403, "Cannot charge submit_sm, check RouterPB log file for details"),
        (0x58, 403, "User throughput exceeded"),
        (0x08, 500, "Cannot send submit_sm, check SMPPClientManagerPB log file for details"),
    ],
)
def test_jasmin_gateway_refusals(status_code: int, http: int, text: str) -> None:
    response = fronts.render(JASMIN, error_for_status(status_code), LIMITS)
    assert (response.status, response.body) == (http, f'Error "{text}"'.encode())
    blocked = fronts.render(JASMIN, ApiError(Reason.CONTENT_REJECTED, detail="gambling"), LIMITS)
    assert blocked.body == b'Error "Content rejected: gambling"'


def test_jasmin_balance_and_rate() -> None:
    balance = parse(get("/balance", AUTH))
    assert isinstance(balance, BalanceRequest)
    assert fronts.render(balance.reply, Balance("li", 100000), LIMITS).body == b'{"balance": 100.0, "sms_count": "ND"}'
    assert answer(get("/balance")) == (
        400,
        b'Error "Mandatory arguments not found, please refer to the HTTPAPI specifications."',
    )
    rate = parse(get("/rate", [*AUTH, ("to", "8613800138000"), ("content", "hi")]))
    assert isinstance(rate, RateRequest) and rate.to == "8613800138000"
    quote = fronts.render(rate.reply, RateQuote("8613800138000", 2, 2800), LIMITS)
    assert quote.body == b'{"submit_sm_count": 2, "unit_rate": 2.8}'


# --- Jasmin REST ------------------------------------------------------------------------------


def _basic(user: str = "demo", password: str = "demo-pass") -> tuple[tuple[str, str], ...]:
    return (("Authorization", "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()),)


def test_rest_send_and_errors() -> None:
    body = json.dumps({"to": "8613800138000", "content": "hi", "dlr_url": "http://127.0.0.1/d"}).encode()
    parsed = parse(post("/secure/send", body=body, content_type="application/json", headers=_basic()))
    assert isinstance(parsed, SendRequest)
    assert isinstance(parsed.messages[0].report, PushChannel)  # dlr_url: REST turns _ into -
    assert fronts.render(parsed.reply, one("abc"), LIMITS).body == b'{"data": "Success \\"abc\\""}'
    assert answer(post("/secure/send", body=body, content_type="application/json"))[0] == 401
    wrong = answer(post("/secure/send", body=body, content_type="application/json", headers=_basic(password="x")))
    assert wrong == (403, b'{"message": "Error \\"Authentication failure for username:demo\\""}')
    assert answer(post("/secure/send", body=b"{nope", content_type="application/json", headers=_basic()))[0] == 412


def test_rest_sendbatch_answers_each_recipient() -> None:
    body = json.dumps(
        {
            "globals": {"content": "hi"},
            "messages": [{"to": ["8613800138000", "8613900139000"]}, {"to": "bad"}, {"content": "no to"}],
            "batch_config": {"callback_url": "http://127.0.0.1/ok", "schedule_at": "60s"},
        }
    ).encode()
    parsed = parse(post("/secure/sendbatch", body=body, content_type="application/json", headers=_basic()))
    assert isinstance(parsed, SendRequest)
    assert [m.to for m in parsed.messages] == ["8613800138000", "8613900139000"]
    assert [m.schedule_at for m in parsed.messages] == [NOW + 60, NOW + 60]
    assert [r.to for r in parsed.refused] == ["bad"]
    outcome = SendOutcome(
        42, (Accepted("8613800138000", "a"), Accepted("8613900139000", "b")), Balance("li", 0), parsed.refused, 60
    )
    data = json.loads(fronts.render(parsed.reply, outcome, LIMITS).body)["data"]
    assert data["batchId"] == "42" and data["messageCount"] == 2 and data["scheduled"] == "60s"
    assert data["messages"][2] == {"to": "bad", "error": 'Error "Argument [to] has an invalid value: [bad]."'}


# --- Kannel -----------------------------------------------------------------------------------


def test_kannel_accepted_and_sent_replies() -> None:
    response = fronts.render(KANNEL, one(), LIMITS)
    assert (response.status, response.body) == (202, b"0: Accepted for delivery")
    several = SendOutcome(
        1,
        (Accepted("8613800138000", "a"), Accepted("8613900139000", "b")),
        Balance("li", 0),
        (Refusal("12x", ApiError(Reason.INVALID_NUMBER)),),
    )
    assert fronts.render(KANNEL, several, LIMITS).body == b"Sent. Denied receivers are: 12x"


def test_kannel_get_form_with_space_separated_receivers_and_dlr() -> None:
    pairs = [
        ("user", "demo"),
        ("pass", "demo-pass"),
        ("to", "8613800138000 +8613900139000"),
        ("text", "你好"),
        ("dlr-mask", "31"),
        ("dlr-url", "http://127.0.0.1/dlr?id=%I&type=%d"),
    ]
    parsed = parse(get("/cgi-bin/sendsms", pairs))
    assert isinstance(parsed, SendRequest)
    assert [m.to for m in parsed.messages] == ["8613800138000", "8613900139000"]
    assert parsed.messages[0].report == PushChannel(
        "http://127.0.0.1/dlr?id=%I&type=%d", ReportFormat.KANNEL, method="GET", mask=31
    )


def test_kannel_ucs2_charset_and_post_headers() -> None:
    pairs = [*AUTH, ("to", "8613800138000"), ("coding", "2"), ("charset", "UTF-16BE")]
    request = get("/cgi-bin/sendsms", pairs)
    request = HttpRequest("GET", request.path, query=request.query + b"&text=%4F%60%59%7D", peer="127.0.0.1")
    parsed = parse(request)
    assert isinstance(parsed, SendRequest) and parsed.messages[0].content == Text("你好", 8)
    headers = (("X-Kannel-Username", "demo"), ("X-Kannel-Password", "demo-pass"), ("X-Kannel-To", "8613800138000"))
    posted = parse(
        post("/cgi-bin/sendsms", body="你好".encode(), content_type="text/plain; charset=utf-8", headers=headers)
    )
    assert isinstance(posted, SendRequest) and posted.messages[0].content == Text("你好")


@pytest.mark.parametrize(
    ("pairs", "status", "text"),
    [
        ([("to", "8613800138000"), ("text", "x")], 403, "Authorization failed for sendsms"),
        ([("user", "demo"), ("pass", "bad"), ("to", "8613800138000")], 403, "Authorization failed for sendsms"),
        ([("user", "strict"), ("pass", "pw"), ("to", "8613800138000")], 403, "Authorization failed for sendsms"),
        ([("user", "gone"), ("pass", "pw"), ("to", "8613800138000")], 403, "Authorization failed for sendsms"),
        ([("user", "smpponly"), ("pass", "pw"), ("to", "8613800138000")], 403, "Authorization failed for sendsms"),
        ([*AUTH, ("text", "x")], 400, "Missing receiver number, rejected"),
        ([*AUTH, ("to", " "), ("text", "x")], 400, "Empty receiver number not allowed, rejected"),
        ([*AUTH, ("to", "abc"), ("text", "x")], 400, "Number(s) has/have been denied by white- and/or black-lists."),
        (
            [*AUTH, ("to", " ".join(f"86138{i:08d}" for i in range(1001))), ("text", "x")],
            400,
            "Too many receivers, rejected",
        ),
        (
            [*AUTH, ("to", "8613800138000"), ("text", "x"), ("charset", "klingon")],
            400,
            "Charset or body misformed, rejected",
        ),
        ([*AUTH, ("to", "8613800138000"), ("text", "长" * 70 * 260)], 400, "Text field misformed, rejected"),
        (
            [*AUTH, ("to", "8613800138000"), ("text", "x"), ("deferred", "later")],
            400,
            "Deferred field misformed, rejected",
        ),
        (
            [*AUTH, ("to", "8613800138000"), ("text", "x"), ("validity", "-1")],
            400,
            "Validity field misformed, rejected",
        ),
        (
            [*AUTH, ("to", "8613800138000"), ("text", "x"), ("from", "bad sender!")],
            400,
            "Sender field misformed, rejected",
        ),
        (
            [*AUTH, ("to", "8613800138000"), ("text", "x"), ("dlr-mask", "99")],
            400,
            "DLR-Mask field misformed, rejected",
        ),
        (
            [*AUTH, ("to", "8613800138000"), ("text", "x"), ("dlr-url", "gopher://x")],
            400,
            "DLR-URL field misformed, rejected",
        ),
    ],
)
def test_kannel_refusals(pairs: list[tuple[str, str]], status: int, text: str) -> None:
    assert answer(get("/cgi-bin/sendsms", pairs)) == (status, text.encode())


@pytest.mark.parametrize(
    ("status_code", "http", "text"),
    [
        (0x401, 403, "Not routable. Do not try again."),
        (0x400, 403, "Not routable. Do not try again."),
        (0x0B, 403, "Not routable. Do not try again."),
        (0x405, 400, "Number(s) has/have been denied by white- and/or black-lists."),
        (0x58, 503, "Temporal failure, try again later."),
        (0x14, 503, "Temporal failure, try again later."),
    ],
)
def test_kannel_gateway_refusals_carry_the_reason_header(status_code: int, http: int, text: str) -> None:
    response = fronts.render(KANNEL, error_for_status(status_code), LIMITS)
    assert (response.status, response.body) == (http, text.encode())
    if http == 403:
        assert response.header("X-Smppgw-Reason") == error_for_status(status_code).reason.code


def test_kannel_unknown_request_and_content_type() -> None:
    assert answer(get("/cgi-bin/nosuch")) == (404, b"Unknown request.")
    status, body = answer(post("/cgi-bin/sendsms", body=b"<x/>", content_type="application/xml"))
    assert (status, body) == (400, b"Unsupported content-type, rejected")


def test_kannel_allows_empty_text() -> None:
    parsed = parse(get("/cgi-bin/sendsms", [*AUTH, ("to", "8613800138000")]))
    assert isinstance(parsed, SendRequest) and parsed.messages[0].content == Text("")


def test_a_send_with_nothing_accepted_renders_its_first_refusal() -> None:
    nothing = SendOutcome(0, (), Balance("li", 0), (Refusal("8613800138000", error_for_status(0x405)),))
    assert fronts.render(JASMIN, nothing, LIMITS).body == b'Error "Content rejected: opted out"'
    assert fronts.render(KANNEL, nothing, LIMITS).status == 400
    rest = fronts.render(Reply(Dialect.JASMIN_REST, Op.SEND), SendOutcome(0, (), Balance("li", 0)), LIMITS)
    assert rest.status == 500


def test_rate_number_is_normalised() -> None:
    rate = parse(get("/rate", [*AUTH, ("to", "+8613800138000\n")]))
    assert isinstance(rate, RateRequest) and rate.to == "8613800138000"
