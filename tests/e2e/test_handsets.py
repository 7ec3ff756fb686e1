"""The handset's view over real sockets: smpplib sends a long UCS2 message by UDH, one by SAR TLVs
and a broken one; GET /api/handsets/{number}, ``smppgw handset`` and the console page show them."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import smpplib.consts
import smpplib.gsm
from cmpp_socket_client import logged_in
from conftest import RunningGateway
from http_clients import call, http_port
from polling import until
from smpp_helpers import client, submit_and_wait
from twisted.internet.threads import deferToThread

from smppgw.cli.admin_commands import add_admin_commands

TOKEN = "demo-admin-token"
NUMBER = "13800138123"
UDH_TEXT = (
    "【演示】尊敬的客户，您本月的话费账单已经生成，请登录网上营业厅查看详情。如有疑问请拨打客服热线，感谢您的支持！" * 2
)
SAR_TEXT = (
    "您好，这是一条用SAR参数分段发送的长短信，手机应当把它拼成一条完整的消息显示出来，不应出现乱码或者缺段的情况。"
)


def get(gw: RunningGateway, path: str) -> Any:
    req = urllib.request.Request(gw.admin_url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(req, timeout=10) as response:
        return json.loads(response.read())


def run_cli(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="smppgw")
    add_admin_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def send_all(gw: RunningGateway) -> None:
    c = client(gw.smpp_port)
    try:
        # smpplib's own split: 8-bit reference UDH, 67 UCS2 characters a part.
        parts, coding, esm_class = smpplib.gsm.make_parts(UDH_TEXT)
        assert coding == smpplib.consts.SMPP_ENCODING_ISO10646 and len(parts) == 2
        for part in parts:
            resp = submit_and_wait(c, NUMBER, part, data_coding=coding, esm_class=esm_class)
            assert resp.status == 0
        # SAR TLVs, the text in two halves.
        octets = SAR_TEXT.encode("utf-16-be")
        halves = [octets[: len(octets) // 2], octets[len(octets) // 2 :]]
        for seq, half in enumerate(halves, 1):
            resp = submit_and_wait(
                c, NUMBER, half, data_coding=8, sar_msg_ref_num=4242, sar_total_segments=2, sar_segment_seqnum=seq
            )
            assert resp.status == 0
        # Broken: parts 1 and 3 of 3 (part 2 never sent), by UDH reference 0x77.
        for seq in (1, 3):
            udh = bytes([5, 0, 3, 0x77, 3, seq])
            resp = submit_and_wait(c, NUMBER, udh + f"第{seq}段".encode("utf-16-be"), data_coding=8, esm_class=0x40)
            assert resp.status == 0
    finally:
        c.unbind()
        c.disconnect()


@pytest_twisted.ensureDeferred
async def test_long_messages_by_udh_and_sar_and_a_broken_one(
    gateway: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    await deferToThread(send_all, gateway)
    inbox = await deferToThread(get, gateway, f"/api/handsets/{NUMBER}")
    assert inbox["number"] == NUMBER and inbox["msisdn"] == "86" + NUMBER
    udh, by_sar, broken = inbox["messages"]
    assert udh["text"] == UDH_TEXT and udh["method"] == "udh8" and udh["parts_received"] == [1, 2]
    assert udh["signature"] == "【演示】" and udh["signature_at"] == "start"
    assert udh["coding"] == "UCS2" and not udh["broken"] and udh["accounts"] == ["demo"]
    assert by_sar["text"] == SAR_TEXT and by_sar["method"] == "sar" and by_sar["reference"] == 4242
    assert not by_sar["broken"] and by_sar["signature"] is None
    assert broken["broken"] and not broken["complete"] and broken["text"] == "第1段第3段"
    assert broken["problems"] == [{"cause": "missing_part", "detail": "part 2 of 3 has not arrived"}]
    assert inbox["broken"] == 1
    # The same number as a client may write it.
    again = await deferToThread(get, gateway, "/api/handsets/%2B86%20138-0013-8123")
    assert [m["text"] for m in again["messages"]] == [m["text"] for m in inbox["messages"]]

    argv = ["handset", NUMBER, "--url", gateway.admin_url, "--token", TOKEN]
    assert await deferToThread(run_cli, argv) == 0
    out = capsys.readouterr().out
    assert f"{NUMBER} (86{NUMBER}): 3 message(s), 1 broken" in out
    assert UDH_TEXT in out and SAR_TEXT in out
    assert "BROKEN missing_part: part 2 of 3 has not arrived" in out
    assert "signature 【演示】 at the start" in out


@pytest_twisted.ensureDeferred
async def test_a_number_that_is_not_a_mobile_number_is_refused(gateway: RunningGateway) -> None:
    def ask() -> tuple[int, Any]:
        req = urllib.request.Request(
            gateway.admin_url + "/api/handsets/12ab", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        try:
            urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())
        return 200, None

    status, body = await deferToThread(ask)
    assert status == 400 and body["field"] == "number" and "not a mobile number" in body["error"]


@pytest_twisted.ensureDeferred
async def test_a_number_with_nothing_has_an_empty_inbox(gateway: RunningGateway) -> None:
    inbox = await deferToThread(get, gateway, "/api/handsets/13900139000")
    assert inbox["messages"] == [] and inbox["broken"] == 0


@pytest_twisted.ensureDeferred
async def test_the_console_has_a_handsets_page_on_the_api(gateway: RunningGateway) -> None:
    def page(path: str) -> str:
        with urllib.request.urlopen(gateway.admin_url + path, timeout=5) as response:
            return str(response.read().decode())

    html = await deferToThread(page, "/")
    script = await deferToThread(page, "/console.js")
    assert 'data-view="handsets"' in html and 'id="handset-inbox"' in html
    assert "/api/handsets/${encodeURIComponent(number)}" in script
    listed = await deferToThread(get, gateway, "/api/handsets")
    assert listed["handsets"] == [] and listed["bounds"] == {
        "per_number": 200,
        "max_parts": 20000,
        "max_bytes": 16777216,
    }


@pytest_twisted.ensureDeferred
async def test_the_readme_example_runs_as_written(gateway: RunningGateway) -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### The handset's view") :]
    code = section[section.index("```python\n") + 10 :]
    code = code[: code.index("```")].replace("2775", str(gateway.smpp_port)).replace("8775", str(gateway.admin_port))
    out = io.StringIO()

    def run() -> None:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})

    await deferToThread(run)
    assert out.getvalue().splitlines() == ["True [1, 2] 【演示】 []"]


@pytest_twisted.ensureDeferred
async def test_a_long_message_sent_over_http_is_in_the_inbox(gateway: RunningGateway) -> None:
    base = f"http://127.0.0.1:{await http_port(gateway)}"
    text = "【演示】通过HTTP接口发送的长短信也会出现在手机的收件箱里，" * 4
    headers = {"Authorization": "Bearer demo-api-secret", "Content-Type": "application/json"}
    body = json.dumps({"to": "13800138456", "text": text}).encode()
    answer = await deferToThread(call, f"{base}/v1/messages", body, headers)
    assert answer.status == 202, answer.text

    def shown() -> list[Any]:
        messages: list[Any] = get(gateway, "/api/handsets/13800138456")["messages"]
        return messages

    await until(lambda: bool(gateway.service.handsets.received("8613800138456")), timeout=10)
    [message] = await deferToThread(shown)
    assert message["text"] == text and not message["broken"] and message["signature"] == "【演示】"


@pytest_twisted.ensureDeferred
async def test_a_long_message_sent_over_cmpp_is_in_the_inbox(gateway: RunningGateway) -> None:
    text = "您好，这是一条通过CMPP发送的长短信。" * 8
    body = text.encode("utf-16-be")
    chunks = [body[i : i + 134] for i in range(0, len(body), 134)]

    def run() -> None:
        c = logged_in(gateway.cmpp_port)
        for n, chunk in enumerate(chunks, 1):
            resp = c.submit(
                msg_src="900001",
                dest_terminal_ids=("13800138789",),
                msg_fmt=8,
                tp_udhi=1,
                pk_total=len(chunks),
                pk_number=n,
                content=bytes((5, 0, 3, 0x42, len(chunks), n)) + chunk,
            )
            assert resp.result == 0
        c.terminate()

    await deferToThread(run)
    await until(lambda: len(gateway.service.handsets.received("8613800138789")) == len(chunks), timeout=10)
    [message] = (await deferToThread(get, gateway, "/api/handsets/13800138789"))["messages"]
    assert message["text"] == text and message["method"] == "udh8" and not message["broken"]
