"""The customer HTTP interface end to end: real HTTP over loopback against a running gateway, as a
legacy sms.aspx client, curl, a Jasmin or Kannel user and a v1 JSON client see it, with receipts
pulled or pushed to a receiver served by the test."""

from __future__ import annotations

import json
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from urllib.parse import quote_from_bytes, urlencode

import pytest
import pytest_twisted
from http_clients import Receiver, call, http_port
from polling import until
from twisted.internet.threads import deferToThread
from twisted.logger import globalLogPublisher

from smppgw.cli import main as cli_main
from smppgw.httpapi.callbacks import SIGNATURE_HEADER, signature_valid

FAST = """
[[scenario]]
pattern = "8888"                 # test numbers: DELIVRD after 50 ms
state = "DELIVRD"
delay_s = 0.05
"""
PRICE = 45  # CMCC, standard plan
LEGACY = {"userid": "1001", "account": "demo", "password": "demo1234"}


def fast(text: str) -> str:
    text = text.replace('[[scenario]]\npattern = "0000"', FAST.strip() + '\n\n[[scenario]]\npattern = "0000"', 1)
    # Webhooks retried after 1 s, so a receiver that was down gets its receipt within the test.
    return re.sub(r"(?m)^webhook_backoff = .*$", "webhook_backoff = [1]", text)


def with_mo_pull(text: str) -> str:
    return fast(text).replace(
        'legacy_userid = "1001"\n',
        'legacy_userid = "1001"\nmo_pull = true                   # MO for callApi.aspx\n',
        1,
    )


def legacy_xml(body: str) -> dict[str, str]:
    """What a legacy client reads: the prolog first (substring parsers look for index > 0), then the fields."""
    assert body.startswith("<?xml") and body.index("<returnstatus>") > 0
    root = ET.fromstring(body.encode("utf-8"))
    return {child.tag: (child.text or "") for child in root}


@pytest_twisted.ensureDeferred
async def test_legacy_client_sends_checks_balance_and_pulls_each_report_once(gateway_factory):
    gw = await gateway_factory(fast)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    wallet = gw.service.wallets["demo"]
    before = wallet.balance
    numbers = ["13800008888", "13900008888"]

    def send_and_balance():
        # As RedMapleSmsUtil does it: action in the query, the rest as a form body.
        form = urlencode({**LEGACY, "mobile": ",".join(numbers), "content": "【演示】您的验证码是1234"}).encode()
        sent = call(f"{base}/sms.aspx?action=send", form, {"Content-Type": "application/x-www-form-urlencoded"})
        overage = call(f"{base}/sms.aspx?" + urlencode({"action": "overage", **LEGACY}))
        return sent, overage

    sent, overage = await deferToThread(send_and_balance)
    assert sent.status == 200 and overage.status == 200
    reply = legacy_xml(sent.text)
    assert reply["returnstatus"] == "Success" and reply["message"] == "ok"
    assert reply["successCounts"] == "2"
    task_id = int(reply["taskID"])  # a long, as Java clients parse it
    assert 0 < task_id < 2**63
    assert wallet.balance == before - 2 * PRICE
    assert int(reply["remainpoint"]) == wallet.balance // PRICE
    balance = legacy_xml(overage.text)
    assert balance["returnstatus"] == "Sucess" and balance["message"] == ""
    assert int(balance["overage"]) == wallet.balance // PRICE

    def pull():
        return call(f"{base}/statusApi.aspx?" + urlencode({"action": "query", **LEGACY}))

    boxes: list[dict[str, str]] = []

    async def pulled_all() -> bool:
        answer = await deferToThread(pull)
        root = ET.fromstring(answer.body)
        boxes.extend({c.tag: c.text or "" for c in box} for box in root.findall("statusbox"))
        return len(boxes) >= 2

    await until(pulled_all, timeout=15)
    assert sorted(b["mobile"] for b in boxes) == numbers
    assert {b["taskid"] for b in boxes} == {str(task_id)}
    assert {b["status"] for b in boxes} == {"10"}
    assert {b["errorcode"] for b in boxes} == {"DELIVRD"}
    again = await deferToThread(pull)  # each report is returned once
    assert ET.fromstring(again.body).findall("statusbox") == []
    await until(lambda: gw.service.store.load().deliveries == [], timeout=5)
    code = await deferToThread(cli_main, ["ledger", "check", "--store", gw.store_arg])
    assert code == 0


@pytest_twisted.ensureDeferred
async def test_legacy_client_pulls_mo_from_call_api(gateway_factory):
    gw = await gateway_factory(with_mo_pull)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    await gw.service.gateway.mobile_originated("13800138000", "1069000012", "收到，谢谢", time.time())

    def pull():
        return call(f"{base}/callApi.aspx?" + urlencode({"action": "query", **LEGACY}))

    first = await deferToThread(pull)
    boxes = ET.fromstring(first.body).findall("callbox")
    assert len(boxes) == 1
    fields = {c.tag: c.text or "" for c in boxes[0]}
    assert fields["mobile"] == "13800138000"
    assert fields["content"] == "收到，谢谢"
    second = await deferToThread(pull)
    assert ET.fromstring(second.body).findall("callbox") == []


@pytest_twisted.ensureDeferred
async def test_curl_posts_gbk_form_data_to_sms_gbk(gateway_factory):
    gw = await gateway_factory(fast)
    port = await http_port(gw)
    text = "【演示】欢迎使用短信服务"
    form = "&".join(
        f"{k}={quote_from_bytes(v.encode('gbk'), safe='')}"
        for k, v in {"action": "send", **LEGACY, "mobile": "13800008888", "content": text}.items()
    )

    def run() -> bytes:
        out = subprocess.run(
            [
                "curl",
                "-s",
                "--data-binary",
                form,
                "-H",
                "Content-Type: application/x-www-form-urlencoded",
                f"http://127.0.0.1:{port}//smsGBK.aspx",
            ],
            capture_output=True,
            check=True,
            timeout=30,
        )
        return out.stdout

    body = await deferToThread(run)
    assert b'encoding="gb2312"' in body
    # Read as the Java clients do (InputStreamReader(..., "GBK")), then parsed.
    text_reply = body.decode("gbk")
    reply = {c.tag: c.text or "" for c in ET.fromstring(text_reply.split("?>", 1)[1])}
    assert reply["returnstatus"] == "Success", text_reply
    # Committed as accepted before the reply, submitted right after it.
    messages = await until(lambda: gw.service.store.messages(account="demo", limit=1), what="the message stored")
    assert messages[0].destination_addr == "13800008888"
    assert messages[0].body.decode("utf-16-be") == text


@pytest_twisted.ensureDeferred
async def test_jasmin_send_gets_its_receipt_at_the_dlr_url(gateway_factory):
    gw = await gateway_factory(fast)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    receiver = Receiver(reply=(200, b"ACK/Jasmin"))
    url = receiver.listen() + "/dlr"
    try:
        query = urlencode(
            {
                "username": "demo",
                "password": "demo1234",
                "to": "13800008888",
                "content": "hello",
                "dlr-url": url,
                "dlr-level": "2",
            }
        )
        answer = await deferToThread(call, f"{base}/send?{query}")
        assert answer.status == 200, answer.text
        match = re.fullmatch(r'Success "(.+)"', answer.text)
        assert match is not None
        message_id = match.group(1)
        await receiver.wait_for(1)
        hit = receiver.hits[0]
        assert hit.method == "POST"
        fields = hit.form()
        assert fields["id"] == message_id and fields["message_status"] == "DELIVRD" and fields["level"] == "2"
        stored = gw.service.store.get_message(message_id)  # the same message the admin views show
        assert stored is not None and stored.carrier == "CMCC"
        await until(lambda: gw.service.store.load().deliveries == [], timeout=5)
    finally:
        await receiver.close()


@pytest_twisted.ensureDeferred
async def test_kannel_sendsms_gets_its_receipts_by_dlr_mask(gateway_factory):
    gw = await gateway_factory(fast)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    receiver = Receiver()
    url = receiver.listen() + "/kannel?type=%d&to=%P&from=%p&id=%I"
    try:
        query = urlencode(
            {
                "username": "demo",
                "password": "demo1234",
                "to": "13800008888",
                "text": "hello kannel",
                "from": "1069000077",
                "dlr-mask": "9",
                "dlr-url": url,
            }
        )
        answer = await deferToThread(call, f"{base}/cgi-bin/sendsms?{query}")
        assert (answer.status, answer.text) == (202, "0: Accepted for delivery")
        await receiver.wait_for(2)  # bit 8 (the carrier took it), then bit 1 (delivered)
        hits = [h.form() for h in receiver.hits]
        assert {h.method for h in receiver.hits} == {"GET"}
        assert sorted(h["type"] for h in hits) == ["1", "8"]
        assert {h["to"] for h in hits} == {"13800008888"}
        assert {h["from"] for h in hits} == {"1069000077"}
    finally:
        await receiver.close()


@pytest_twisted.ensureDeferred
async def test_a_receiver_that_is_down_gets_the_receipt_once_it_is_up(gateway_factory):
    gw = await gateway_factory(fast)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    receiver = Receiver(reply=(200, b"ACK/Jasmin"), replies=[(503, b"down"), (200, b"<html>ACK/Jasmin</html>")])
    url = receiver.listen() + "/dlr"
    try:
        query = urlencode(
            {
                "username": "demo",
                "password": "demo1234",
                "to": "13900008888",
                "content": "retry me",
                "dlr-url": url,
                "dlr-level": "2",
            }
        )
        answer = await deferToThread(call, f"{base}/send?{query}")
        assert answer.status == 200
        await receiver.wait_for(3)  # 503, then an HTML-wrapped ack (not Jasmin's), then ACK/Jasmin
        assert {h.form()["message_status"] for h in receiver.hits} == {"DELIVRD"}
        await until(lambda: gw.service.store.load().deliveries == [], timeout=5)
    finally:
        await receiver.close()
    assert len(receiver.hits) == 3


@pytest_twisted.ensureDeferred
async def test_v1_send_with_a_signed_webhook_and_client_reference(gateway_factory):
    gw = await gateway_factory(fast)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    receiver = Receiver()
    url = receiver.listen() + "/hook"
    headers = {"Authorization": "Bearer demo-api-secret", "Content-Type": "application/json"}
    try:
        body = {"to": ["13800008888", "12345"], "text": "【演示】hi", "callback_url": url, "client_ref": "order-7"}
        answer = await deferToThread(call, f"{base}/v1/messages", json.dumps(body).encode(), headers)
        assert answer.status == 202, answer.text
        sent = json.loads(answer.body)
        assert sent["accepted"] == 1 and sent["rejected"] == 1
        message_id = next(m["message_id"] for m in sent["messages"] if "message_id" in m)
        await receiver.wait_for(2)  # the refused number's failed report, and the receipt
        events = {}
        for hit in receiver.hits:
            assert signature_valid("demo-api-secret", hit.headers[SIGNATURE_HEADER.lower()], hit.body, time.time())
            assert not signature_valid("another-secret", hit.headers[SIGNATURE_HEADER.lower()], hit.body, time.time())
            body = json.loads(hit.body)
            for event in body if isinstance(body, list) else [body]:
                events[event["to"]] = event
        report = events["13800008888"]
        assert report["message_id"] == message_id and report["status"] == "DELIVRD"
        assert report["client_ref"] == "order-7"
        refused = events["12345"]
        assert refused["status"] == "REJECTD" and refused["gateway_code"].startswith("GW:")
        status = await deferToThread(call, f"{base}/v1/messages/{message_id}", None, headers)
        assert status.status == 200 and json.loads(status.body)["state"] == "DELIVRD"
    finally:
        await receiver.close()


@pytest_twisted.ensureDeferred
async def test_v1_idempotency_key_replays_and_charges_once(gateway_factory):
    gw = await gateway_factory(fast)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    wallet = gw.service.wallets["demo"]
    before = wallet.balance
    headers = {"Authorization": "Bearer demo-api-secret", "Idempotency-Key": "k-1"}
    body = json.dumps({"to": "13800008888", "text": "【演示】once"}).encode()

    def run():
        first = call(f"{base}/v1/messages", body, headers)
        second = call(f"{base}/v1/messages", body, headers)
        other = call(f"{base}/v1/messages", json.dumps({"to": "13800008888", "text": "changed"}).encode(), headers)
        return first, second, other

    first, second, other = await deferToThread(run)
    assert first.status == 202 and second.status == 202
    assert json.loads(first.body) == json.loads(second.body)
    assert other.status == 409 and json.loads(other.body)["error"]["code"] == "idempotency_conflict"
    assert wallet.balance == before - PRICE


@pytest_twisted.ensureDeferred
async def test_a_batch_the_balance_does_not_cover_is_refused_whole(gateway_factory):
    def poor(text: str) -> str:
        return fast(text).replace(
            'message_id_format = "decimal"\ninitial_balance = 1000000',
            'message_id_format = "decimal"\ninitial_balance = 50',
        )

    gw = await gateway_factory(poor)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    creds = {"userid": "1002", "account": "demo2", "password": "demo5678"}
    query = urlencode({"action": "send", **creds, "mobile": "13800008888,13900008888", "content": "【演示】x"})
    answer = await deferToThread(call, f"{base}/sms.aspx?{query}")
    reply = legacy_xml(answer.text)
    assert reply["returnstatus"] == "Faild"
    assert reply["message"] == "对不起，您当前要发送的量大于您当前余额"
    assert gw.service.wallets["demo2"].balance == 50  # nothing half-sent
    assert gw.service.store.messages(account="demo2") == []


@pytest.mark.parametrize(
    ("path", "status", "expected"),
    [
        # legacy: HTTP 200 and XML even for errors
        (
            "/sms.aspx?action=send&userid=1001&account=demo&password=wrong&mobile=13800008888&content=x",
            200,
            "用户名或密码错误",
        ),
        (
            "/sms.aspx?action=send&userid=1001&account=demo&password=demo1234&mobile=12&content=x",
            200,
            "手机号码格式错误",
        ),
        (
            "/sms.aspx?action=send&userid=1001&account=demo&password=demo1234&mobile=13800008888&content=",
            200,
            "短信内容不能为空",
        ),
        ("/sms.aspx?action=dance&userid=1001&account=demo&password=demo1234", 200, "参数错误"),
        # Jasmin
        ("/send?username=demo&password=demo1234&content=x", 400, 'Error "Mandatory argument [to] is not found."'),
        (
            "/send?username=demo&password=nope&to=13800008888&content=x",
            403,
            'Error "Authentication failure for username:demo"',
        ),
        ("/ping", 200, "Jasmin/PONG"),
        # Kannel
        ("/cgi-bin/sendsms?username=demo&password=nope&to=13800008888&text=x", 403, "Authorization failed for sendsms"),
        ("/cgi-bin/sendsms?username=demo&password=demo1234&text=x", 400, "Missing receiver number, rejected"),
        # v1
        ("/v1/balance", 401, '"missing_credentials"'),
        ("/nowhere", 404, ""),
    ],
)
@pytest_twisted.ensureDeferred
async def test_bad_input_gets_each_fronts_own_answer(gateway_factory, path, status, expected):
    gw = await gateway_factory()
    base = f"http://127.0.0.1:{await http_port(gw)}"
    before = gw.service.wallets["demo"].balance
    answer = await deferToThread(call, base + path)
    assert answer.status == status
    assert expected in answer.body.decode("utf-8")
    assert gw.service.wallets["demo"].balance == before
    assert gw.service.store.messages(account="demo") == []


def paced(text: str) -> str:
    """The demo account limited to 5 messages/s (its bucket holds 5)."""
    text = fast(text)
    return text.replace(
        "max_binds = 8\nthroughput = 0                   # messages/s; 0 = unlimited",
        "max_binds = 8\nthroughput = 5",
        1,
    )


@pytest_twisted.ensureDeferred
async def test_a_batch_is_accepted_whole_fed_at_the_accounts_pace_and_late_refusals_are_reports(gateway_factory):
    gw = await gateway_factory(paced)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    service = gw.service
    wallet = service.wallets["demo"]
    before = wallet.balance
    numbers = [f"138{n:04d}8888" for n in range(12)]

    def send():
        form = urlencode({**LEGACY, "mobile": ",".join(numbers), "content": "【演示】批量通知"}).encode()
        return call(f"{base}/sms.aspx?action=send", form, {"Content-Type": "application/x-www-form-urlencoded"})

    started = time.monotonic()
    sent = await deferToThread(send)
    reply = legacy_xml(sent.text)
    # Answered at once for all twelve, far quicker than 12 messages at 5/s could be submitted.
    assert reply["returnstatus"] == "Success" and reply["successCounts"] == "12", sent.text
    assert time.monotonic() - started < 1.5
    assert len(service.store.messages(account="demo", limit=50)) < 12
    # The reply's balance counts the whole batch as spent, submitted or not.
    assert int(reply["remainpoint"]) == (before - 12 * PRICE) // PRICE
    # Refused after acceptance: the account is suspended while the batch is still being fed (once
    # its first bucketful went: the reply can reach this test before the feeder's first turn).
    await until(lambda: service.http_feeder.fed > 0, timeout=5, what="the first messages fed")
    assert service.http_feeder.backlog() > 0
    service.gateway.suspend("demo", time.time(), "test: suspended mid-batch")
    await until(lambda: service.http_feeder.backlog() == 0, timeout=10, what="the batch fed")
    service.gateway.reinstate("demo", "test")
    charged = len(service.store.messages(account="demo", limit=50))
    assert 0 < charged < 12

    def pull():
        return call(f"{base}/statusApi.aspx?" + urlencode({"action": "query", **LEGACY}))

    boxes: list[dict[str, str]] = []

    async def pulled_all() -> bool:
        answer = await deferToThread(pull)
        root = ET.fromstring(answer.body)
        boxes.extend({c.tag: c.text or "" for c in box} for box in root.findall("statusbox"))
        return len(boxes) >= 12

    await until(pulled_all, timeout=15, what="twelve reports")
    assert sorted(b["mobile"] for b in boxes) == sorted(numbers)  # one report per recipient, none lost
    assert {b["taskid"] for b in boxes} == {reply["taskID"]}
    refused = [b for b in boxes if b["status"] == "20"]
    assert len(refused) == 12 - charged
    assert {b["errorcode"] for b in refused} == {"GW:0406"}
    assert {b["errorcode"] for b in boxes if b["status"] == "10"} == {"DELIVRD"}
    # Only what was submitted is charged.
    assert wallet.balance == before - charged * PRICE
    code = await deferToThread(cli_main, ["ledger", "check", "--store", gw.store_arg])
    assert code == 0


@pytest_twisted.ensureDeferred
async def test_no_password_or_secret_reaches_the_log(gateway_factory):
    gw = await gateway_factory(fast)
    base = f"http://127.0.0.1:{await http_port(gw)}"
    logged: list[str] = []

    def observe(event) -> None:
        logged.append(repr(event))

    globalLogPublisher.addObserver(observe)
    try:
        # Passwords in the query string, as legacy and Jasmin clients send them, and a v1 token.
        await deferToThread(call, f"{base}/sms.aspx?" + urlencode({"action": "overage", **LEGACY}))
        await deferToThread(call, f"{base}/send?username=demo&password=demo1234&to=13800008888&content=x")
        await deferToThread(call, f"{base}/v1/balance", None, {"Authorization": "Bearer demo-api-secret"})
        await deferToThread(call, f"{base}/sms.aspx?action=overage&account=demo&password=wrongpass")
    finally:
        globalLogPublisher.removeObserver(observe)
    assert logged  # the requests were logged, redacted
    for secret in ("demo1234", "demo-api-secret", "wrongpass"):
        assert not any(secret in line for line in logged), secret
