"""Kannel (bearerbox + smsbox) as an SMPP client of the gateway: messages go in through smsbox's
sendsms HTTP interface, delivery reports come back to a DLR URL served by the test."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen

import pytest
import pytest_twisted
from interop import HttpCollector, kannel_config, need_program, wait_port
from polling import wait_until
from test_e2e_pipeline import with_fast_rule
from twisted.internet.threads import deferToThread


@pytest_twisted.ensureDeferred
async def test_kannel_sendsms_reaches_the_gateway_and_dlrs_come_back(gateway_factory, tmp_path: Path):
    bearerbox = need_program("bearerbox", "kannel")
    smsbox = need_program("smsbox", "kannel")
    gw = await gateway_factory(with_fast_rule)
    dlr = HttpCollector()
    conf, ports = kannel_config(tmp_path, gw.smpp_port)
    procs: list[subprocess.Popen[bytes]] = []

    def start(program: str) -> None:
        log = (tmp_path / f"{Path(program).name}.out").open("wb")
        procs.append(subprocess.Popen([program, str(conf)], stdout=log, stderr=subprocess.STDOUT))

    def sendsms(to: str, text: str, tag: str, **extra: str) -> str:
        dlr_url = f"http://127.0.0.1:{dlr.port}/dlr?tag={tag}&type=%d&smscid=%F&reply=%A"
        params = {
            "username": "rig",
            "password": "rigpass",
            "from": "10690000",
            "to": to,
            "text": text,
            "dlr-mask": "31",
            "dlr-url": dlr_url,
            **extra,
        }
        query = "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())
        with urlopen(f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms?{query}", timeout=10) as resp:
            body: str = resp.read().decode()
            return body

    def bound() -> bool:
        return any(s.account == "demo" for s in gw.service.factory.connections)

    def run() -> dict[str, object]:
        start(bearerbox)
        assert wait_port(ports["smsbox"], 15), "bearerbox did not open its smsbox port"
        start(smsbox)
        assert wait_port(ports["sendsms"], 15), "smsbox did not open its sendsms port"
        wait_until(bound, 15, what="Kannel bound to the gateway")
        answers = {
            "gsm": sendsms("13800008888", "hello from kannel", "gsm"),
            "undeliv": sendsms("13800000000", "to an empty number", "undeliv"),
            "ucs2": sendsms("13900008888", "【示例】您的验证码是123456", "ucs2", coding="2", charset="UTF-8"),
            "long": sendsms("13700008888", "long message " * 20, "long"),
        }

        def finals(seen: list[dict[str, str]]) -> set[str]:
            return {r["tag"] for r in seen if r.get("type") in ("1", "2")}

        seen = dlr.wait_for(lambda s: finals(s) >= set(answers), timeout=30)
        return {"answers": answers, "dlrs": seen}

    try:
        out = await deferToThread(run)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        dlr.close()
    answers = out["answers"]
    assert isinstance(answers, dict)
    for tag, body in answers.items():
        assert "Accepted" in body or "Sent" in body, (tag, body)
    dlrs = out["dlrs"]
    assert isinstance(dlrs, list)
    final = {r["tag"]: r for r in dlrs if r.get("type") in ("1", "2")}
    smsc_acks = {r["tag"] for r in dlrs if r.get("type") == "8"}
    assert final["gsm"]["type"] == "1" and "stat:DELIVRD" in final["gsm"]["reply"]
    assert final["undeliv"]["type"] == "2" and "stat:UNDELIV" in final["undeliv"]["reply"]
    assert final["ucs2"]["type"] == "1"
    assert final["long"]["type"] == "1"
    assert {"gsm", "undeliv"} <= smsc_acks  # submit_sm_resp seen by Kannel as an SMSC ack
    # Kannel's %F is the gateway's hex id, which msg-id-type 0x03 makes Kannel read as a number.
    (gsm,) = [m for m in _messages(gw) if m.destination_addr.endswith("13800008888")]
    assert int(final["gsm"]["smscid"]) == int(gsm.message_id, 16)
    # Kannel split the long text into UDH-concatenated parts, each one a message with its receipt.
    longs = [m for m in _messages(gw) if m.destination_addr.endswith("13700008888")]
    assert len(longs) >= 2 and all(m.esm_class & 0x40 for m in longs)
    ucs2 = [m for m in _messages(gw) if m.destination_addr.endswith("13900008888")]
    assert ucs2 and ucs2[0].data_coding == 8


def _messages(gw):  # every message the gateway has stored, oldest first
    con = sqlite3.connect(gw.store_path)
    try:
        ids = [row[0] for row in con.execute("SELECT message_id FROM messages ORDER BY seq")]
    finally:
        con.close()
    return [m for m in (gw.service.gateway.find(i) for i in ids) if m is not None]


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
