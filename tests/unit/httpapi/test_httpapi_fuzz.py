"""Any bytes on any path: each parser answers a typed request or a typed refusal, never an exception,
and every refusal renders to a reply of its front."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_from_bytes

from httpapi_fakes import LIMITS, LOOKUP, NOW
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from smppgw.httpapi import fronts
from smppgw.httpapi.jasmin import parse_jasmin
from smppgw.httpapi.kannel import parse_kannel
from smppgw.httpapi.legacy import parse_legacy
from smppgw.httpapi.requests import (
    AckRequest,
    BalanceRequest,
    ContentCheckRequest,
    PingRequest,
    PullRequest,
    RateRequest,
    Rejection,
    SendRequest,
    StatusRequest,
)
from smppgw.httpapi.v1 import parse_v1
from smppgw.httpapi.wire import HttpRequest

TYPED = (
    SendRequest,
    BalanceRequest,
    RateRequest,
    PingRequest,
    ContentCheckRequest,
    PullRequest,
    AckRequest,
    StatusRequest,
    Rejection,
)
PATHS = [
    "/sms.aspx", "/SMSGBK.aspx", "//smsJson.aspx", "/v2sms.aspx", "/statusApi.aspx", "/callApi.aspx",
    "/v2statusApi.aspx", "/v2callApi.aspx", "/send", "/balance", "/rate", "/ping", "/secure/send",
    "/secure/sendbatch", "/secure/balance", "/secure/rate", "/cgi-bin/sendsms", "/v1/messages",
    "/v1/messages/batch", "/v1/messages/abc", "/v1/balance", "/v1/rate", "/v1/content-check", "/v1/reports",
    "/v1/reports/ack", "/v1/inbound", "/v1/inbound/ack", "/nowhere",
]  # fmt: skip
NAMES = [
    "action", "userid", "account", "password", "mobile", "content", "sendTime", "extno", "statusNum", "taskid",
    "timestamp", "sign", "rt", "username", "user", "pass", "to", "from", "coding", "hex-content", "text",
    "charset", "dlr", "dlr-url", "dlr-level", "dlr-method", "dlr-mask", "sdt", "validity-period", "validity",
    "deferred", "priority", "tags",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(["send", "overage", "checkkeyword", "query", "demo", "demo-pass", "1001", "13800138000",
                     "8613800138000 12", "0", "8", "2", "31", "yes", "http://127.0.0.1/d?x=%d", "UTF-16BE", "gbk",
                     "4f60", "2025-12-01 09:00:00", "251201090000000+", "json", ""]),
    st.text(max_size=30),
)  # fmt: skip
CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=gbk",
        "application/x-www-form-urlencoded; charset=nonsense",
        "application/json",
        "text/plain; charset=utf-16be",
        "application/octet-stream",
        "multipart/form-data",
    ]
)
AUTH = st.sampled_from(
    [
        "",
        "Bearer demo-api-secret",
        "Bearer x",
        "Basic " + base64.b64encode(b"demo:demo-pass").decode(),
        "Basic !!!",
        "Digest x",
    ]
)


def _form(pairs: list[tuple[str, str]], charset: str) -> bytes:
    return "&".join(
        quote_from_bytes(k.encode(charset, "replace")) + "=" + quote_from_bytes(v.encode(charset, "replace"))
        for k, v in pairs
    ).encode()


JSON_KEYS = st.sampled_from([*NAMES, "messages", "globals"])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20) | VALUES,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_KEYS, inner, max_size=5),
    max_leaves=12,
)


# Valid sign-ins per family, so that examples get past authentication into the field checks.
SIGN_INS = [
    [("action", "send"), ("userid", "1001"), ("account", "demo"), ("password", "demo-pass")],
    [("userid", "1001"), ("account", "demo"), ("password", "demo-pass")],
    [("username", "demo"), ("password", "demo-pass")],
    [("user", "demo"), ("pass", "demo-pass")],
    [],
]


@st.composite
def requests(draw: st.DrawFn) -> HttpRequest:
    pairs = draw(st.sampled_from(SIGN_INS)) + draw(st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=8))
    charset = draw(st.sampled_from(["utf-8", "gbk"]))
    body_kind = draw(st.sampled_from(["form", "json", "escapes", "bytes", "none"]))
    body = b""
    if body_kind == "form":
        body = _form(draw(st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=8)), charset)
    elif body_kind == "json":
        body = json.dumps(draw(json_values)).encode()
    elif body_kind == "escapes":  # JSON that decodes to lone surrogates, as keys and values
        name = draw(st.sampled_from(["to", "text", "content", "username", "\\ud800"]))
        body = ('{"' + name + '": "\\udc80x", "to": ["\\ud800"], "messages": [{"to": "1\\udfff"}]}').encode()
    elif body_kind == "bytes":
        body = draw(st.binary(max_size=200))
    query = draw(st.one_of(st.just(_form(pairs, charset)), st.binary(max_size=200)))
    headers = [("Content-Type", draw(CONTENT_TYPES))]
    auth = draw(AUTH)
    if auth:
        headers.append(("Authorization", auth))
    for name in draw(st.lists(st.sampled_from(["X-Kannel-To", "X-Kannel-Username", "Idempotency-Key"]), max_size=2)):
        headers.append((name, draw(st.text(max_size=20))))
    return HttpRequest(
        method=draw(st.sampled_from(["GET", "POST", "PUT", "HEAD", "get"])),
        path=draw(st.one_of(st.sampled_from(PATHS), st.text(max_size=30))),
        query=query,
        headers=tuple(headers),
        body=body,
        peer=draw(st.sampled_from(["127.0.0.1", "10.0.0.1", ""])),
    )


TEMPLATES = {
    "legacy": (
        ["/sms.aspx", "/smsGBK.aspx", "/smsJson.aspx", "/statusApi.aspx", "/callApi.aspx"],
        {"action": "send", "userid": "1001", "account": "demo", "password": "demo-pass",
         "mobile": "13800138000,13900139000", "content": "【签名】你好"},
    ),
    "jasmin": (
        ["/send", "/rate", "/balance"],
        {"username": "demo", "password": "demo-pass", "to": "8613800138000", "content": "hi"},
    ),
    "kannel": (
        ["/cgi-bin/sendsms"],
        {"user": "demo", "pass": "demo-pass", "to": "8613800138000 8613900139000", "text": "你好"},
    ),
}  # fmt: skip


@st.composite
def plausible(draw: st.DrawFn) -> HttpRequest:
    """A valid request of one front with a few fields replaced by anything: the deep paths."""
    family = draw(st.sampled_from([*TEMPLATES, "v1"]))
    method = draw(st.sampled_from(["GET", "POST"]))
    if family == "v1":
        fields: dict[str, object] = {"to": ["13800138000", "8613900139000"], "text": "【签名】你好"}
        for name in draw(
            st.lists(
                st.sampled_from(
                    [
                        *sorted(fields),
                        "extno",
                        "schedule_at",
                        "validity",
                        "priority",
                        "client_ref",
                        "callback_url",
                        "report",
                    ]
                ),
                max_size=3,
            )
        ):
            fields[name] = draw(json_values)
        path = draw(st.sampled_from(["/v1/messages", "/v1/messages/batch", "/v1/content-check"]))
        body_value: object = {"globals": {"text": "x"}, "messages": [fields]} if path.endswith("batch") else fields
        return HttpRequest(
            "POST",
            path,
            headers=(("Content-Type", "application/json"), ("Authorization", "Bearer demo-api-secret")),
            body=json.dumps(body_value).encode(),
        )
    paths, base = TEMPLATES[family]
    if family == "jasmin" and draw(st.booleans()):  # Jasmin's JSON body: values of any JSON type
        values: dict[str, object] = dict(base)
        for name in draw(st.lists(st.sampled_from(NAMES), max_size=3)):
            values[name] = draw(json_values)
        body = json.dumps(values).encode()
        return HttpRequest("POST", "/send", headers=(("Content-Type", "application/json"),), body=body)
    pairs = dict(base)
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=3)):
        pairs[name] = draw(VALUES)
    charset = draw(st.sampled_from(["utf-8", "gbk"]))
    encoded = _form(list(pairs.items()), charset)
    if method == "GET":
        return HttpRequest("GET", draw(st.sampled_from(paths)), query=encoded)
    return HttpRequest(
        "POST",
        draw(st.sampled_from(paths)),
        headers=(("Content-Type", "application/x-www-form-urlencoded"),),
        body=encoded,
    )


ANY = st.one_of(requests(), plausible())
FUZZ = settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(result: object) -> None:
    assert isinstance(result, TYPED), result
    if isinstance(result, SendRequest):
        assert all(m.to.isascii() and m.to.isdigit() for m in result.messages)
    if isinstance(result, Rejection):
        response = fronts.render(result.reply, result.error, LIMITS)
        assert 200 <= response.status < 600
        assert isinstance(response.body, bytes)


@FUZZ
@given(ANY)
def test_legacy_parser_never_raises(request: HttpRequest) -> None:
    _check(parse_legacy(request, NOW, LOOKUP, LIMITS))


@FUZZ
@given(ANY)
def test_compat_parsers_never_raise(request: HttpRequest) -> None:
    _check(parse_jasmin(request, NOW, LOOKUP, LIMITS))
    _check(parse_kannel(request, NOW, LOOKUP, LIMITS))


@FUZZ
@given(ANY)
def test_v1_parser_never_raises(request: HttpRequest) -> None:
    _check(parse_v1(request, NOW, LOOKUP, LIMITS))


@FUZZ
@given(ANY)
def test_dispatch_never_raises(request: HttpRequest) -> None:
    _check(fronts.parse(request, NOW, LOOKUP, LIMITS))
