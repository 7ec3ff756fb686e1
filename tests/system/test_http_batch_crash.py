"""kill -9 of a real `smppgw serve` in the middle of feeding an accepted HTTP batch: the account
is paced at 2 messages/s, a 10-number sms.aspx send is answered at once, the gateway is killed
with some of it submitted, and restarted — every recipient is submitted exactly once, charged
once, and gets its report (pulled from statusApi.aspx) under the task id of the reply."""

from __future__ import annotations

import signal
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urlencode

from test_crash_recovery import start
from test_http_webhooks_crash import wait, write_config

from smppgw.billing.ledger import check_ledger
from smppgw.store.sqlite import SqliteStore

LEGACY = {"userid": "1001", "account": "demo", "password": "demo1234"}
PRICE = 45
INITIAL = 1_000_000


def legacy(port: int, path: str, fields: dict[str, str]) -> ET.Element:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/{path}?{urlencode(fields)}", timeout=10) as answer:
        return ET.fromstring(answer.read())


def stored(store_path: Path) -> list[str]:
    store = SqliteStore(store_path)
    try:
        return [m.destination_addr for m in store.messages(account="demo", limit=100)]
    finally:
        store.close()


def test_kill_9_while_a_batch_is_fed_loses_and_repeats_none(tmp_path: Path) -> None:
    config, smpp_port, http_port, store_path = write_config(tmp_path)
    text = config.read_text(encoding="utf-8")
    unlimited = "max_binds = 8\nthroughput = 0                   # messages/s; 0 = unlimited"
    paced = text.replace(unlimited, "max_binds = 8\nthroughput = 2", 1)
    assert paced != text
    config.write_text(paced, encoding="utf-8")
    log = tmp_path / "gateway.log"
    numbers = [f"139{n:04d}8888" for n in range(10)]
    proc = start(config, smpp_port, log)
    try:
        reply = legacy(
            http_port, "sms.aspx", {"action": "send", **LEGACY, "mobile": ",".join(numbers), "content": "【演示】通知"}
        )
        assert reply.findtext("returnstatus") == "Success"
        assert reply.findtext("successCounts") == "10"
        task_id = reply.findtext("taskID")
        wait(lambda: len(stored(store_path)) >= 3, 20, "part of the batch submitted")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert len(stored(store_path)) < 10  # killed mid-batch
        proc = start(config, smpp_port, log)
        wait(lambda: len(stored(store_path)) >= 10, 30, "the rest of the batch after the restart")
        assert sorted(stored(store_path)) == sorted(numbers)  # each exactly once
        boxes: list[dict[str, str]] = []

        def pulled() -> bool:
            root = legacy(http_port, "statusApi.aspx", {"action": "query", **LEGACY})
            boxes.extend({c.tag: c.text or "" for c in box} for box in root.findall("statusbox"))
            return len(boxes) >= 10

        wait(pulled, 30, "every report")
        assert sorted(b["mobile"] for b in boxes) == sorted(numbers)
        assert {b["taskid"] for b in boxes} == {task_id}
        assert {b["status"] for b in boxes} == {"10"}
        store = SqliteStore(store_path)
        try:
            assert store.balances()["demo"] == INITIAL - 10 * PRICE
            assert check_ledger(store.ledger(), store.balances()) == []
        finally:
            store.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)
