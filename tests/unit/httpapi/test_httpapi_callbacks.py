"""Pushed receipts and MO per channel, acknowledgements, the retry schedule and the URL guard."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from httpapi_fakes import LIMITS, NOW

from smppgw.httpapi.callbacks import (
    Verdict,
    batch_callback,
    expand,
    inbound_callback,
    kannel_bit,
    report_callback,
    signature,
    signature_valid,
    verdict,
)
from smppgw.httpapi.errors import ApiError, Reason
from smppgw.httpapi.requests import BatchCallbacks, PushChannel, ReportFormat
from smppgw.httpapi.results import InboundEvent, ReportEvent, ReportKind
from smppgw.httpapi.retry import RetryPolicy
from smppgw.httpapi.urlpolicy import callback_url_problem

RECEIPT = ReportEvent(
    "evt_1",
    "m-1",
    "8613800138000",
    stat="DELIVRD",
    source="106900112",
    carrier="CMCC",
    submitted_at=NOW - 60,
    done_at=NOW,
    text="hello world",
    smsc_id="c-9",
    client_ref="order 7",
)
ACK = ReportEvent(
    "evt_0", "m-1", "8613800138000", kind=ReportKind.SUBMIT_ACK, stat="ACCEPTD", final=False, carrier="CMCC"
)
REJECT = ReportEvent("evt_2", "m-2", "8613800138000", kind=ReportKind.REJECTED, stat="REJECTD", status=0x405)
MO = InboundEvent("evt_3", "mo-1", "8613800138000", "106900112", "TD 退订", NOW, extno="12", carrier="CMCC")


def push(event: ReportEvent, channel: PushChannel):  # type: ignore[no-untyped-def]
    return report_callback(event, channel, secret="demo-api-secret", now=NOW, limits=LIMITS)


def test_jasmin_level_1_and_level_2_receipts() -> None:
    level1 = PushChannel("http://h/dlr", ReportFormat.JASMIN, method="POST", level=1)
    call = push(ACK, level1)
    assert call is not None and call.method == "POST"
    assert parse_qs(call.body.decode()) == {
        "id": ["m-1"], "message_status": ["ESME_ROK"], "level": ["1"], "connector": ["CMCC"]
    }  # fmt: skip
    assert push(RECEIPT, level1) is None  # level 1 does not want receipts
    refused = push(REJECT, level1)
    assert refused is not None and parse_qs(refused.body.decode())["message_status"] == ["SMPPGW_ROPTEDOUT"]

    level2 = PushChannel("http://h/dlr?x=1", ReportFormat.JASMIN, method="GET", level=2)
    call = push(RECEIPT, level2)
    assert call is not None and call.method == "GET" and call.body == b""
    query = parse_qs(urlsplit(call.url).query)
    assert query["x"] == ["1"] and query["message_status"] == ["DELIVRD"] and query["id_smsc"] == ["c-9"]
    assert query["donedate"] == ["2512010800"] and query["dlvrd"] == ["1"] and query["text"] == ["hello world"]
    assert push(ACK, level2) is None
    rejected = push(REJECT, level2)
    assert rejected is not None and parse_qs(urlsplit(rejected.url).query)["message_status"] == ["REJECTD"]


def test_kannel_dlr_url_escapes_and_mask() -> None:
    channel = PushChannel(
        "http://h/dlr?id=%I&t=%d&to=%P&from=%p&a=%A&ref=%o&keep=%Z&pct=%%", ReportFormat.KANNEL, "GET", mask=1 | 16
    )
    call = push(RECEIPT, channel)
    assert call is not None and call.method == "GET"
    assert call.url.startswith("http://h/dlr?id=m-1&t=1&to=8613800138000&from=106900112&a=id%3Am-1%20sub%3A001")
    assert call.url.endswith("&ref=order%207&keep=%Z&pct=%")
    assert push(ACK, channel) is None  # bit 8 not in the mask
    assert push(REJECT, channel) is not None
    assert [kannel_bit(e) for e in (RECEIPT, ACK, REJECT)] == [1, 8, 16]
    assert kannel_bit(ReportEvent("e", "m", "1", stat="UNDELIV")) == 2
    assert kannel_bit(ReportEvent("e", "m", "1", stat="ENROUTE", final=False)) == 4


def test_expand_keeps_unknown_escapes() -> None:
    assert expand("a=%a&b=%q", {"a": "x y&z"}) == "a=x%20y%26z&b=%q"


def test_legacy_push_is_the_pull_xml_and_skips_non_final() -> None:
    channel = PushChannel("http://h/report", ReportFormat.LEGACY)
    call = push(RECEIPT, channel)
    assert call is not None
    assert call.body.startswith(b'<?xml version="1.0" encoding="utf-8" ?>\n<returnsms>\n <statusbox>')
    assert b"<status>10</status>" in call.body
    assert push(ACK, channel) is None


def test_v1_webhook_is_signed() -> None:
    call = push(RECEIPT, PushChannel("https://h/hook", ReportFormat.V1))
    assert call is not None
    headers = dict(call.headers)
    assert headers["X-Smppgw-Event-Id"] == "evt_1"
    assert json.loads(call.body)["client_ref"] == "order 7"
    assert headers["X-Smppgw-Signature"] == signature("demo-api-secret", int(NOW), call.body)
    assert signature_valid("demo-api-secret", headers["X-Smppgw-Signature"], call.body, NOW + 10)
    assert not signature_valid("demo-api-secret", headers["X-Smppgw-Signature"], call.body + b" ", NOW)
    assert not signature_valid("other", headers["X-Smppgw-Signature"], call.body, NOW)
    assert not signature_valid("demo-api-secret", headers["X-Smppgw-Signature"], call.body, NOW + 3600)


def test_mo_in_each_format() -> None:
    def mo(fmt: ReportFormat, url: str = "http://h/mo"):  # type: ignore[no-untyped-def]
        return inbound_callback(MO, url, fmt, secret="s", now=NOW, limits=LIMITS)

    jasmin = parse_qs(mo(ReportFormat.JASMIN).body.decode())
    assert jasmin["from"] == ["8613800138000"] and jasmin["content_utf8"] == ["TD 退订"]
    assert jasmin["binary"] == ["TD 退订".encode("utf-16-be").hex()]
    kannel = mo(ReportFormat.KANNEL, "http://h/mo?from=%p&to=%P&kw=%k&text=%a")
    assert kannel.url == "http://h/mo?from=8613800138000&to=106900112&kw=TD&text=TD%20%E9%80%80%E8%AE%A2"
    assert "<content>TD 退订</content>".encode() in mo(ReportFormat.LEGACY).body
    assert json.loads(mo(ReportFormat.V1).body)["type"] == "message.inbound"


def test_jasmin_batch_callbacks() -> None:
    config = BatchCallbacks("http://h/ok", "http://h/err")
    ok = batch_callback(config, "b1", "8613800138000", "m-1")
    assert ok is not None and parse_qs(urlsplit(ok.url).query) == {
        "batchId": ["b1"], "to": ["8613800138000"], "status": ["1"], "statusText": ['Success "m-1"']
    }  # fmt: skip
    err = batch_callback(config, "b1", "x", ApiError(Reason.INVALID_NUMBER, value="x"))
    assert err is not None and parse_qs(urlsplit(err.url).query)["statusText"] == [
        'Error "Argument [to] has an invalid value: [x]."'
    ]
    assert batch_callback(BatchCallbacks("http://h/ok"), "b1", "x", ApiError(Reason.NO_ROUTE)) is None


@pytest.mark.parametrize(
    ("fmt", "status", "body", "expected"),
    [
        (ReportFormat.V1, 204, b"", Verdict.ACKED),
        (ReportFormat.KANNEL, 200, b"whatever", Verdict.ACKED),
        (ReportFormat.JASMIN, 200, b"ACK/Jasmin\n", Verdict.ACKED),
        (ReportFormat.JASMIN, 200, b"<html>ACK/Jasmin</html>", Verdict.RETRY),
        (ReportFormat.JASMIN, 500, b"ACK/Jasmin", Verdict.RETRY),
        (ReportFormat.V1, 503, b"", Verdict.RETRY),
        (ReportFormat.V1, None, b"", Verdict.RETRY),
        (ReportFormat.V1, 404, b"", Verdict.STOP),
        (ReportFormat.JASMIN, 410, b"", Verdict.STOP),
    ],
)
def test_acknowledgement_rules(fmt: ReportFormat, status: int | None, body: bytes, expected: Verdict) -> None:
    assert verdict(fmt, status, body) is expected


def test_retry_schedule() -> None:
    policy = RetryPolicy()
    assert [policy.delay(n) for n in range(1, 11)] == [10, 30, 60, 120, 300, 600, 1800, 3600, 3600, 3600]
    assert policy.next_attempt(NOW, 1, NOW) == NOW + 10
    assert policy.next_attempt(NOW, 9, NOW + 86_000) is None  # past 24 h: parked
    with pytest.raises(ValueError, match="backoff"):
        RetryPolicy(backoff=())


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://example.com/hook", None),
        ("http://example.com:8080/x?y=1", None),
        ("ftp://example.com/", "only http and https callbacks"),
        ("http://127.0.0.1/x", "private or loopback address"),
        ("http://127.1/x", "private or loopback address"),
        ("http://2130706433/x", "private or loopback address"),
        ("http://0x7f.0.0.1/x", "private or loopback address"),
        ("http://10.0.0.5/x", "private or loopback address"),
        ("http://169.254.169.254/latest", "private or loopback address"),
        ("http://[::1]/x", "private or loopback address"),
        ("http://[::ffff:192.168.0.1]/x", "private or loopback address"),
        ("http://localhost:8000/x", "loopback address"),
        ("http://example.com:99999/", "not a URL"),
        ("http:///nohost", "no host"),
        ("", "not a URL"),
    ],
)
def test_callback_url_policy(url: str, problem: str | None) -> None:
    assert callback_url_problem(url, allow_private=False) == problem


def test_callback_url_policy_allows_private_when_the_account_does_and_checks_resolved_addresses() -> None:
    assert callback_url_problem("http://127.0.0.1/x", allow_private=True) is None
    assert callback_url_problem("http://hook.example/x", allow_private=False, resolved=["10.1.1.1"]) is not None
    assert callback_url_problem("http://hook.example/x", allow_private=False, resolved=["93.184.216.34"]) is None
