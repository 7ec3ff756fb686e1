"""kill -9 of a real `smppgw serve` with webhooks pending: Jasmin-style sends whose dlr-url is down
when their receipts are due, the gateway killed, the receiver brought up, the gateway restarted —
every receipt arrives (none lost, none for another message), and the deliveries are gone after."""

from __future__ import annotations

import re
import shutil
import signal
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode

from conftest import FIXTURES, config_text
from ports import free_port
from test_crash_recovery import start

from smppgw.billing.ledger import check_ledger
from smppgw.store.sqlite import SqliteStore

FAST = """
[[scenario]]
pattern = "8888"
state = "DELIVRD"
delay_s = 0.05
"""


class Customer(BaseHTTPRequestHandler):
    """The customer's dlr-url: 503 while it is down, ``ACK/Jasmin`` once up."""

    up = False
    received: ClassVar[list[dict[str, str]]] = []
    attempts = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        fields = dict(parse_qsl(self.rfile.read(length).decode()))
        with self.lock:
            Customer.attempts += 1
            if Customer.up:
                Customer.received.append(fields)
        body = b"ACK/Jasmin" if Customer.up else b"down"
        self.send_response(200 if Customer.up else 503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def write_config(tmp: Path) -> tuple[Path, int, int, Path]:
    shutil.copytree(FIXTURES / "routes", tmp / "routes")
    shutil.copytree(FIXTURES / "content", tmp / "content")
    store = tmp / "state" / "smppgw.db"
    smpp_port, admin_port, http_port = free_port(), free_port(), free_port()

    def edit(text: str) -> str:
        for port in (smpp_port, admin_port):
            text = text.replace('listen = "tcp:0:interface=127.0.0.1"', f'listen = "tcp:{port}:interface=127.0.0.1"', 1)
        text = text.replace(
            '[http_api]\nlisten = "tcp:0:interface=127.0.0.1"',
            f'[http_api]\nlisten = "tcp:{http_port}:interface=127.0.0.1"',
        )
        text = re.sub(r"(?m)^webhook_backoff = .*$", "webhook_backoff = [1]", text)
        return text.replace('[[scenario]]\npattern = "0000"', FAST.strip() + '\n\n[[scenario]]\npattern = "0000"', 1)

    path = tmp / "gateway.toml"
    path.write_text(config_text(store, overrides=edit), encoding="utf-8")
    return path, smpp_port, http_port, store


def wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_kill_9_with_webhooks_pending_loses_none(tmp_path: Path) -> None:
    Customer.up, Customer.received, Customer.attempts = False, [], 0
    customer = ThreadingHTTPServer(("127.0.0.1", 0), Customer)
    threading.Thread(target=customer.serve_forever, daemon=True).start()
    dlr_url = f"http://127.0.0.1:{customer.server_address[1]}/dlr"
    config, smpp_port, http_port, store_path = write_config(tmp_path)
    log = tmp_path / "gateway.log"
    proc = start(config, smpp_port, log)
    sent: list[str] = []
    try:
        for n in range(6):
            query = urlencode(
                {
                    "username": "demo",
                    "password": "demo1234",
                    "to": f"138000{n}8888",
                    "content": f"crash {n}",
                    "dlr-url": dlr_url,
                    "dlr-level": "2",
                }
            )
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/send?{query}", timeout=10) as answer:
                body = answer.read().decode()
            match = re.fullmatch(r'Success "(.+)"', body)
            assert match is not None, body
            sent.append(match.group(1))
        # Every receipt tried at least once (refused: the receiver is down), then the gateway dies.
        wait(lambda: Customer.attempts >= len(sent), 20, "the first webhook attempts")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        Customer.up = True
        proc = start(config, smpp_port, log)
        wait(lambda: len({r["id"] for r in Customer.received}) >= len(sent), 30, "every receipt after the restart")
        assert {r["id"] for r in Customer.received} == set(sent)
        assert {r["message_status"] for r in Customer.received} == {"DELIVRD"}
        store = SqliteStore(store_path)
        try:
            wait(lambda: store.load().deliveries == [], 10, "the deliveries to be deleted")
            assert check_ledger(store.ledger(), store.balances()) == []
        finally:
            store.close()
    finally:
        proc.kill()
        proc.wait(timeout=10)
        customer.shutdown()
