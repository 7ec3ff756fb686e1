"""Content rules and compliance end to end, as a partner's SMPP client sees them: real smpplib clients
over loopback, the admin API over HTTP, the SQLite store on disk."""

from __future__ import annotations

import json
import re
import time
from io import BytesIO
from typing import Any

import pytest
import pytest_twisted
import smpplib.client
import smpplib.exceptions
from conftest import FIXTURES
from polling import until
from smpp_helpers import client, read_receipts, receipt_fields, submit_and_wait
from test_e2e_pipeline import with_fast_rule
from twisted.internet import reactor
from twisted.internet.task import deferLater
from twisted.internet.threads import deferToThread
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from smppgw.cli import main as cli_main
from smppgw.protocol.constants import CommandStatus as S
from smppgw.protocol.pdu import SubmitSm

TOKEN = "demo-admin-token"
NUMBER = "13900008888"  # China Mobile; the fast scenario rule delivers it in 50 ms


@pytest.fixture
def gateway_factory(any_store_gateway_factory: Any) -> Any:
    """Every test here on both stores: held messages, decisions, incidents, opt-outs and pledges."""
    return any_store_gateway_factory


async def http(gw: Any, method: str, path: str, body: Any = None) -> tuple[int, bytes, str]:
    headers = Headers({b"authorization": [f"Bearer {TOKEN}".encode()]})
    producer = None if body is None else FileBodyProducer(BytesIO(json.dumps(body).encode()))
    response = await Agent(reactor).request(method.encode(), (gw.admin_url + path).encode(), headers, producer)
    payload = await readBody(response)
    ctype = (response.headers.getRawHeaders(b"content-type") or [b""])[0].decode()
    return response.code, payload, ctype


async def api(gw: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    code, payload, _ = await http(gw, method, path, body)
    return code, json.loads(payload)


def ucs2(text: str) -> dict[str, Any]:
    return {"text": text.encode("utf-16-be"), "data_coding": 8}


def balance(gw: Any, account: str = "demo") -> int:
    return gw.service.wallets[account].balance


def bind_status(port: int, system_id: str = "demo", password: str = "demo1234") -> int:
    c = smpplib.client.Client("127.0.0.1", port, timeout=5)
    c.connect()
    try:
        c.bind_transmitter(system_id=system_id, password=password)
    except smpplib.exceptions.PDUError as err:
        return int(err.args[1])
    finally:
        c.disconnect()
    return 0


def with_content(extra: str = "", account_extra: str = "") -> Any:
    def edit(text: str) -> str:
        text = with_fast_rule(text)
        if extra:
            key = extra.split("=", 1)[0].strip()
            text = re.sub(rf"(?m)^{key} = .*$", extra, text, count=1)
        if account_extra:
            text = text.replace("[accounts.demo]\n", "[accounts.demo]\n" + account_extra + "\n", 1)
        return text

    return edit


@pytest_twisted.ensureDeferred
async def test_negative_controls_are_delivered_and_the_decision_is_recorded(gateway_factory):
    gw = await gateway_factory(with_content())
    texts = [
        "您的电子发票已开具",
        "您本月贷款还款日为15日",
        "【某某招聘】兼职岗位面试通知",
        "验证码123456，5分钟内有效",
    ]

    def run():
        c = client(gw.smpp_port)
        ids = [submit_and_wait(c, NUMBER, registered_delivery=1, **ucs2(t)) for t in texts]
        return ids, read_receipts(c, len(texts))

    resps, receipts = await deferToThread(run)
    assert [r.status for r in resps] == [0] * len(texts)
    assert sorted(receipt_fields(r)["stat"] for r in receipts) == ["DELIVRD"] * len(texts)
    code, shown = await api(gw, "GET", f"/api/messages/{resps[0].message_id.decode()}")
    assert code == 200
    assert shown["decisions"][0]["decision"] == "flagged" and shown["decisions"][0]["term"] == "发票"
    _, shown = await api(gw, "GET", f"/api/messages/{resps[3].message_id.decode()}")
    assert [d["decision"] for d in shown["decisions"]] == ["allowed"]


@pytest_twisted.ensureDeferred
async def test_rejects_by_status_whatever_the_spelling_or_coding_and_charges_nothing(gateway_factory):
    gw = await gateway_factory(with_content())
    before = balance(gw)
    cases = [
        ucs2("请联系我们代开发票"),
        ucs2("代 开 发 票，优惠"),  # spaces between the characters
        ucs2("代*開*發*票"),  # traditional forms and filler
        {"text": "ＦＡＫＥ ＩＮＶＯＩＣＥ here".encode("utf-16-be"), "data_coding": 8},  # full-width
        {"text": "专业代开发票".encode("gbk"), "data_coding": 15},  # GBK as Chinese clients send
        {"text": b"cheap Fake Invoice", "data_coding": 0},
    ]

    def run():
        c = client(gw.smpp_port)
        return [submit_and_wait(c, NUMBER, **case).status for case in cases]

    assert await deferToThread(run) == [S.SMPPGW_RCONTENT] * len(cases)
    assert balance(gw) == before
    assert gw.service.accounts.get("demo").status == "active"  # reject does not suspend


@pytest_twisted.ensureDeferred
async def test_reject_mode_receipt_accepts_then_rejectd_without_charge(gateway_factory, tmp_path):
    rules = (FIXTURES / "content" / "keywords.toml").read_text(encoding="utf-8")
    rules = rules.replace('[categories.invoice]\nlabel = "发票/假证"\n', '[categories.invoice]\nlabel = "发票/假证"\n'
                          'reject_mode = "receipt"\nerr_code = 42\n')  # fmt: skip
    (tmp_path / "rules.toml").write_text(rules, encoding="utf-8")

    def edit(text: str) -> str:
        path = str(tmp_path / "rules.toml")
        return with_fast_rule(text).replace('keywords = "content/keywords.toml"', f"keywords = {json.dumps(path)}")

    gw = await gateway_factory(edit)
    before = balance(gw)

    def run():
        c = client(gw.smpp_port)
        resp = submit_and_wait(c, NUMBER, registered_delivery=1, **ucs2("代开发票"))
        return resp, read_receipts(c, 1)

    resp, receipts = await deferToThread(run)
    assert resp.status == 0
    fields = receipt_fields(receipts[0])
    assert (fields["id"], fields["stat"], fields["err"]) == (resp.message_id.decode(), "REJECTD", "042")
    assert balance(gw) == before
    _, shown = await api(gw, "GET", f"/api/messages/{resp.message_id.decode()}")
    assert shown["charge"] == 0 and shown["state"] == "REJECTD"
    assert shown["decisions"][0]["decision"] == "rejected"


@pytest_twisted.ensureDeferred
async def test_review_queue_approve_delivers_reject_refunds_and_ledger_holds(gateway_factory):
    gw = await gateway_factory(with_content())
    before = balance(gw)

    def submit_two():
        c = client(gw.smpp_port)
        first = submit_and_wait(c, NUMBER, registered_delivery=1, **ucs2("博彩优惠活动"))
        second = submit_and_wait(c, NUMBER, registered_delivery=1, **ucs2("线下 赌 场 开业"))
        return c, first.message_id.decode(), second.message_id.decode(), first.status, second.status

    c, first, second, s1, s2 = await deferToThread(submit_two)
    assert (s1, s2) == (0, 0)
    assert balance(gw) == before - 2 * 45  # the charge is reserved while held
    code, queue = await api(gw, "GET", "/api/review")
    assert code == 200
    assert [item["message_id"] for item in queue["held"]] == [first, second]
    assert queue["held"][0]["term"] == "博彩" and queue["held"][0]["text"] == "博彩优惠活动"
    _, shown = await api(gw, "GET", f"/api/messages/{first}")
    assert shown["held"] == "review" and shown["decisions"][0]["decision"] == "held"
    # Nothing goes out while held.
    assert (await deferToThread(read_receipts, c, 1, 0.5)) == []

    assert (await api(gw, "POST", f"/api/review/{first}/approve", {"operator": "alice"}))[0] == 200
    assert (await api(gw, "POST", f"/api/review/{second}/reject", {"operator": "alice"}))[0] == 200
    assert (await api(gw, "POST", f"/api/review/{second}/reject"))[0] == 404  # no longer held
    receipts = {receipt_fields(r)["id"]: receipt_fields(r) for r in await deferToThread(read_receipts, c, 2)}
    assert receipts[first]["stat"] == "DELIVRD"
    assert (receipts[second]["stat"], receipts[second]["err"]) == ("REJECTD", "003")
    assert balance(gw) == before - 45
    _, shown = await api(gw, "GET", f"/api/messages/{second}")
    assert [d["decision"] for d in shown["decisions"]] == ["held", "rejected"] and shown["refunded"] == 45
    assert (await api(gw, "GET", "/api/review"))[1]["held"] == []
    await deferToThread(c.disconnect)
    await gw.service.committer.flush()
    assert await deferToThread(cli_main, ["ledger", "check", "--store", gw.store_arg]) == 0


@pytest_twisted.ensureDeferred
async def test_review_timeout_rejects_what_nobody_reviewed(gateway_factory):
    gw = await gateway_factory(with_content("review_timeout_s = 1"))
    before = balance(gw)

    def run():
        c = client(gw.smpp_port)
        resp = submit_and_wait(c, NUMBER, registered_delivery=1, **ucs2("博彩"))
        return resp, read_receipts(c, 1, timeout=10)

    resp, receipts = await deferToThread(run)
    assert resp.status == 0
    assert receipt_fields(receipts[0])["stat"] == "REJECTD"
    assert balance(gw) == before


@pytest_twisted.ensureDeferred
async def test_suspend_unbinds_at_once_refuses_binds_reports_and_reinstating_restores(gateway_factory):
    gw = await gateway_factory(with_content())

    def run():
        listener = client(gw.smpp_port, mode="rx")
        sender = client(gw.smpp_port, mode="tx")
        resp = submit_and_wait(sender, NUMBER, **ucs2("号召颠覆国家政权"))
        started = time.monotonic()
        listener._socket.settimeout(3)
        pdu = listener.read_pdu()
        return resp.status, pdu.command, time.monotonic() - started, bind_status(gw.smpp_port)

    status, command, elapsed, rebind = await deferToThread(run)
    assert status == S.SMPPGW_RCONTENT
    assert command == "unbind" and elapsed < 1.0
    assert rebind == S.ESME_RBINDFAIL
    code, account = await api(gw, "GET", "/api/accounts/demo")
    assert account["status"] == "suspended" and "reinstate" in account["binds_refused"]

    code, incidents = await api(gw, "GET", "/api/incidents")
    (incident,) = incidents["incidents"]
    assert (incident["account"], incident["term"], incident["action"]) == ("demo", "颠覆国家政权", "suspended")
    assert incident["legal_category"] == 2 and incident["source_ip"] == "127.0.0.1"
    assert incident["text"] == "号召颠覆国家政权" and incident["destination"] == NUMBER
    code, csv_body, ctype = await http(gw, "GET", "/api/incidents?format=csv")
    assert code == 200 and ctype.startswith("text/csv")
    lines = csv_body.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("incident_id,account,at") and "颠覆国家政权" in lines[1]

    assert (await api(gw, "POST", "/api/accounts/demo/reinstate"))[0] == 200

    def after():
        c = client(gw.smpp_port)
        return submit_and_wait(c, NUMBER, **ucs2("你好")).status

    assert await deferToThread(after) == 0


@pytest_twisted.ensureDeferred
async def test_mo_td_opts_out_and_the_next_message_is_refused_free(gateway_factory):
    gw = await gateway_factory(with_content())
    handset = "13900018888"
    code, _ = await api(gw, "POST", "/api/mo", {"from": handset, "to": "10690000", "text": "ＴＤ "})
    assert code == 202
    before = balance(gw)

    def run():
        c = client(gw.smpp_port)
        out = [submit_and_wait(c, handset, text=b"sale").status]
        out.append(submit_and_wait(c, "+86" + handset, text=b"sale").status)
        c2 = client(gw.smpp_port, "demo2", "demo5678")
        out.append(submit_and_wait(c2, handset, text=b"sale", source_addr="10690001").status)
        return out

    # Only demo's list: demo2 may still send to the handset.
    assert await deferToThread(run) == [S.SMPPGW_ROPTEDOUT, S.SMPPGW_ROPTEDOUT, 0]
    assert balance(gw) == before
    _, listed = await api(gw, "GET", "/api/optouts?account=demo")
    assert [(o["msisdn"], o["source"]) for o in listed["optouts"]] == [("86" + handset, "mo")]

    # A global list, imported, applies to every account; export as CSV.
    code, _ = await api(gw, "POST", "/api/optouts", {"account": "*", "numbers": ["13900028888"]})
    assert code == 200
    assert (await api(gw, "POST", "/api/optouts", {"account": "*", "numbers": ["12345"]}))[0] == 400

    def global_run():
        c2 = client(gw.smpp_port, "demo2", "demo5678")
        return submit_and_wait(c2, "13900028888", text=b"x", source_addr="10690001").status

    assert await deferToThread(global_run) == S.SMPPGW_ROPTEDOUT
    _, csv_body, _ = await http(gw, "GET", "/api/optouts?format=csv")
    assert "*,8613900028888,import" in csv_body.decode("utf-8-sig")


def udh_part(ref: int, total: int, seq: int, text: str) -> dict[str, Any]:
    return {
        "text": bytes([5, 0, 3, ref, total, seq]) + text.encode("utf-16-be"),
        "data_coding": 8,
        "esm_class": 0x40,
    }


@pytest_twisted.ensureDeferred
async def test_term_split_over_two_ucs2_parts_is_found_and_both_parts_rejected_and_refunded(gateway_factory):
    gw = await gateway_factory(with_content())
    before = balance(gw)

    def run():
        c = client(gw.smpp_port)
        a = submit_and_wait(c, NUMBER, registered_delivery=1, **udh_part(7, 2, 1, "本公司长期代开"))
        b = submit_and_wait(c, NUMBER, registered_delivery=1, **udh_part(7, 2, 2, "发票，欢迎来电"))
        ok1 = submit_and_wait(c, NUMBER, registered_delivery=1, **udh_part(8, 2, 1, "您好，"))
        ok2 = submit_and_wait(c, NUMBER, registered_delivery=1, **udh_part(8, 2, 2, "欢迎光临"))
        return [a, b, ok1, ok2], read_receipts(c, 4)

    resps, receipts = await deferToThread(run)
    assert [r.status for r in resps] == [0, 0, 0, 0]
    stats = {receipt_fields(r)["id"]: receipt_fields(r)["stat"] for r in receipts}
    ids = [r.message_id.decode() for r in resps]
    assert [stats[i] for i in ids] == ["REJECTD", "REJECTD", "DELIVRD", "DELIVRD"]
    assert balance(gw) == before - 2 * 45  # the rejected message is refunded, the clean one paid
    _, shown = await api(gw, "GET", f"/api/messages/{ids[0]}")
    assert [d["decision"] for d in shown["decisions"]] == ["held", "rejected"]


@pytest_twisted.ensureDeferred
async def test_brand_account_needs_its_signature(gateway_factory):
    gw = await gateway_factory(with_content())

    def run():
        c = client(gw.smpp_port, "brand", "brand123")
        send = {"source_addr": "10690002", "registered_delivery": 1}
        return [
            submit_and_wait(c, NUMBER, **send, **ucs2("您的订单已发货")).status,
            submit_and_wait(c, NUMBER, **send, **ucs2("【别家】您的订单已发货")).status,
            submit_and_wait(c, NUMBER, **send, **ucs2("【演示】您的订单已发货")).status,
            submit_and_wait(c, NUMBER, **send, **ucs2("您的订单已发货【演示】")).status,
        ]

    assert await deferToThread(run) == [S.SMPPGW_RNOSIGNATURE, S.SMPPGW_RNOSIGNATURE, 0, 0]


@pytest_twisted.ensureDeferred
async def test_pledge_required_account_binds_only_once_its_pledge_is_recorded(gateway_factory):
    gw = await gateway_factory(with_content(account_extra="pledge_required = true"))
    assert await deferToThread(bind_status, gw.smpp_port) == S.ESME_RBINDFAIL
    _, account = await api(gw, "GET", "/api/accounts/demo")
    assert "pledge" in account["binds_refused"]
    bad = await api(gw, "POST", "/api/accounts/demo/pledge", {"signed_on": "soon", "reference": "R", "operator": "x"})
    assert bad[0] == 400 and bad[1]["field"] == "signed_on"
    pledge = {"signed_on": "2026-01-05", "reference": "XAB-2026-007", "operator": "carol"}
    code, account = await api(gw, "POST", "/api/accounts/demo/pledge", pledge)
    assert code == 201 and account["binds_refused"] is None and account["pledge"]["reference"] == "XAB-2026-007"
    assert await deferToThread(bind_status, gw.smpp_port) == 0


@pytest_twisted.ensureDeferred
async def test_send_window_refuses_outside_it(gateway_factory):
    # A one-minute window twelve hours away from now (Beijing time) is certainly closed.
    local = time.gmtime(time.time() + 8 * 3600 + 12 * 3600)
    window = f"{local.tm_hour:02d}:{local.tm_min:02d}-{local.tm_hour:02d}:{(local.tm_min + 1) % 60:02d}"
    if local.tm_min == 59:
        window = f"{local.tm_hour:02d}:00-{local.tm_hour:02d}:59"
    gw = await gateway_factory(with_content(account_extra=f'send_window = "{window}"'))

    def run():
        return submit_and_wait(client(gw.smpp_port), NUMBER, text=b"promo").status

    assert await deferToThread(run) == S.SMPPGW_RQUIETHOURS
    _, listed = await api(gw, "GET", "/api/decisions?account=demo")
    assert [(d["decision"], d["category"]) for d in listed["decisions"]] == [("refused", "send_window")]
    assert re.fullmatch(
        r"\d\d:\d\d-\d\d:\d\d", (await api(gw, "GET", "/api/accounts/demo"))[1]["settings"]["send_window"]
    )


@pytest_twisted.ensureDeferred
async def test_held_message_survives_a_restart(gateway_factory):
    gw = await gateway_factory(with_content())

    def run():
        return submit_and_wait(client(gw.smpp_port), NUMBER, **ucs2("博彩")).message_id.decode()

    held = await deferToThread(run)
    await gw.service.committer.flush()
    await gw.service.stopService()
    gw2 = await gateway_factory(with_content())
    _, queue = await api(gw2, "GET", "/api/review")
    assert [item["message_id"] for item in queue["held"]] == [held]
    assert (await api(gw2, "POST", f"/api/review/{held}/approve"))[0] == 200
    await until(lambda: gw2.service.gateway.find(held).state.name == "DELIVERED")


@pytest_twisted.ensureDeferred
async def test_cli_review_reinstate_and_exports(gateway_factory, tmp_path, capsys):
    from test_cli_admin import run_cli  # noqa: PLC0415

    gw = await gateway_factory(with_content())
    conn = ["--url", gw.admin_url, "--token", TOKEN]

    def submit(text: str) -> Any:
        return submit_and_wait(client(gw.smpp_port), NUMBER, **ucs2(text))

    held = (await deferToThread(submit, "博彩")).message_id.decode()
    assert await deferToThread(run_cli, ["review", "list", *conn]) == 0
    assert held in capsys.readouterr().out
    assert await deferToThread(run_cli, ["review", "approve", held, "--operator", "bob", *conn]) == 0
    assert await deferToThread(run_cli, ["review", "reject", held, *conn]) != 0  # no longer held

    await deferToThread(submit, "颠覆国家政权")
    await until(lambda: gw.service.accounts.get("demo").status == "suspended")
    capsys.readouterr()
    assert await deferToThread(run_cli, ["incidents", "export", *conn]) == 0
    assert "颠覆国家政权" in capsys.readouterr().out.splitlines()[1]
    assert await deferToThread(run_cli, ["account", "reinstate", "demo", *conn]) == 0
    assert gw.service.accounts.get("demo").status == "active"

    numbers = tmp_path / "optouts.csv"
    numbers.write_text("msisdn\n13900038888\n+8613900048888\n", encoding="utf-8")
    assert await deferToThread(run_cli, ["optouts", "import", "demo", str(numbers), *conn]) == 0
    capsys.readouterr()
    assert await deferToThread(run_cli, ["optouts", "export", "--account", "demo", *conn]) == 0
    out = capsys.readouterr().out
    assert "demo,8613900038888,import" in out and "demo,8613900048888,import" in out


def test_bad_compliance_settings_name_the_key_and_line():
    import pytest  # noqa: PLC0415
    from conftest import DEFAULT_CONFIG  # noqa: PLC0415

    from smppgw.config import ConfigError, parse  # noqa: PLC0415

    base = DEFAULT_CONFIG.read_text(encoding="utf-8")
    cases = {
        'signatures = ["【演示】"]': ('signatures = ["[demo]"]', "accounts.brand.signatures"),
        "review_timeout_action": ('review_timeout_action = "maybe"', "content.review_timeout_action"),
        "send_window": ('send_window = "8am-10pm"', "accounts.demo.send_window"),
    }
    for marker, (line, key) in cases.items():
        if marker == "send_window":
            text = base.replace("[accounts.demo]\n", f"[accounts.demo]\n{line}\n")
        else:
            text = re.sub(rf"(?m)^{re.escape(marker)}.*$", line, base, count=1)
        with pytest.raises(ConfigError, match=rf"gateway.toml:\d+: {re.escape(key)}"):
            parse(text, DEFAULT_CONFIG)


@pytest_twisted.ensureDeferred
async def test_every_submit_refused_at_once_is_a_decision_with_its_own_id(gateway_factory):
    gw = await gateway_factory(with_content())
    handset = "13900018888"
    await api(gw, "POST", "/api/mo", {"from": handset, "to": "10690000", "text": "TD"})

    def run():
        c = client(gw.smpp_port)
        brand = client(gw.smpp_port, "brand", "brand123")
        return [
            submit_and_wait(c, handset, text=b"sale").status,
            submit_and_wait(c, NUMBER, **ucs2("代开发票")).status,
            submit_and_wait(brand, NUMBER, source_addr="10690002", **ucs2("您的订单已发货")).status,
            submit_and_wait(c, NUMBER, **ucs2("号召颠覆国家政权")).status,
        ]

    assert await deferToThread(run) == [S.SMPPGW_ROPTEDOUT, S.SMPPGW_RCONTENT, S.SMPPGW_RNOSIGNATURE, S.SMPPGW_RCONTENT]
    # A submit that reaches the gateway between the suspension and the unbind is refused too.
    late = SubmitSm(source_addr="10690000", destination_addr=NUMBER, short_message=b"hi")
    assert gw.service.gateway.submit("demo", late, time.time(), "127.0.0.1").status == S.SMPPGW_RSUSPENDED

    code, listed = await api(gw, "GET", "/api/decisions?account=demo")
    assert code == 200
    rows = [(d["decision"], d["category"]) for d in reversed(listed["decisions"])]
    assert rows == [
        ("opted_out", ""),
        ("rejected", "invoice"),
        ("suspended", "art15_national_security"),
        ("refused", "account"),
    ]
    assert all(d["message_id"].startswith("refused-") for d in listed["decisions"])
    assert len({d["message_id"] for d in listed["decisions"]}) == 4
    opted_out = listed["decisions"][-1]
    assert "0x00000405" in opted_out["detail"] and handset not in opted_out["detail"]  # masked
    assert "139****8888" in opted_out["detail"] and "127.0.0.1" in opted_out["detail"]

    code, shown = await api(gw, "GET", f"/api/messages/{opted_out['message_id']}")
    assert code == 200 and shown["state"] == "refused"
    assert [d["decision"] for d in shown["decisions"]] == ["opted_out"]

    suspended = listed["decisions"][1]
    _, incidents = await api(gw, "GET", "/api/incidents")
    assert [i["message_id"] for i in incidents["incidents"]] == [suspended["message_id"]]
    _, brand = await api(gw, "GET", "/api/decisions?account=brand")
    assert [(d["decision"], d["category"]) for d in brand["decisions"]] == [("rejected", "signature")]
    _, none_yet = await api(gw, "GET", f"/api/decisions?since={time.time() + 60}")
    assert none_yet["decisions"] == []
    assert (await api(gw, "GET", "/api/decisions?since=yesterday"))[0] == 400
    assert (await api(gw, "GET", "/api/messages/refused-999999"))[0] == 404


@pytest_twisted.ensureDeferred
async def test_send_window_defer_holds_the_message_until_the_window_opens(gateway_factory):
    # The window opens two minutes from now (Beijing time): whenever the submit lands in this
    # minute or the next, its next start is the same instant.
    opens = (time.time() // 60) * 60 + 120
    start = int((opens + 8 * 3600) // 60 % 1440)
    window = f"{start // 60:02d}:{start % 60:02d}-{(start + 1) % 1440 // 60:02d}:{(start + 1) % 60:02d}"
    gw = await gateway_factory(with_content(account_extra=f'send_window = "{window}"\noutside_window = "defer"'))
    before = balance(gw)

    def submit():
        c = client(gw.smpp_port)
        return c, submit_and_wait(c, NUMBER, text=b"promo", registered_delivery=1)

    c, resp = await deferToThread(submit)
    assert resp.status == 0
    message_id = resp.message_id.decode()
    assert balance(gw) == before - 45  # accepted and charged, as any message

    # Held: nothing goes to the carrier before the window opens.
    await deferLater(reactor, 0.5, lambda: None)
    _, shown = await api(gw, "GET", f"/api/messages/{message_id}")
    assert [d["decision"] for d in shown["decisions"]] == ["allowed", "deferred"]
    assert shown["final_at"] is None
    # Its dispatch is the gateway's next deadline, and the one timer is armed for it.
    gateway = gw.service.gateway
    assert gateway.core.next_deadline() == pytest.approx(opens, abs=0.01)
    (pending,) = [d for d in reactor.getDelayedCalls() if d.func == gateway.handle_timer]
    assert pending.getTime() == pytest.approx(opens, abs=0.01)

    # Bring the window's start forward to now: the message goes out and is delivered.
    pending.reset(0)

    def receipts():
        got = read_receipts(c, 1, timeout=10)
        c.disconnect()
        return got

    (receipt,) = await deferToThread(receipts)
    assert receipt_fields(receipt)["id"] == message_id
    assert receipt_fields(receipt)["stat"] == "DELIVRD"


@pytest_twisted.ensureDeferred
async def test_cli_account_pledge_lets_the_account_bind(gateway_factory, capsys):
    from test_cli_admin import run_cli  # noqa: PLC0415

    gw = await gateway_factory(with_content(account_extra="pledge_required = true"))
    conn = ["--url", gw.admin_url, "--token", TOKEN]
    assert await deferToThread(run_cli, ["account", "show", "demo", *conn]) == 0
    assert "binds_refused" in capsys.readouterr().out
    pledge = ["account", "pledge", "demo", "--reference", "XAB-2026-007", *conn, "--operator", "carol"]
    assert await deferToThread(run_cli, [*pledge, "--signed-on", "last week"]) != 0
    assert "signed_on" in capsys.readouterr().err
    assert await deferToThread(bind_status, gw.smpp_port) == S.ESME_RBINDFAIL

    assert await deferToThread(run_cli, [*pledge, "--signed-on", "2026-01-05"]) == 0
    out = capsys.readouterr().out
    assert "XAB-2026-007 signed 2026-01-05, recorded by carol" in out and "binds_refused" not in out
    assert await deferToThread(bind_status, gw.smpp_port) == 0
    _, account = await api(gw, "GET", "/api/accounts/demo")
    assert (account["pledge"]["reference"], account["pledge"]["operator"]) == ("XAB-2026-007", "carol")
