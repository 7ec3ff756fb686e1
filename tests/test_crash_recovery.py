"""kill -9 of a real gateway process in the middle of a load of submits, then a restart: every
message that got an OK response reaches its final receipt, nothing is charged twice, and the
ledger check passes."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import smpplib.client
from conftest import FIXTURES, config_text
from smpp_helpers import client, read_receipts, receipt_fields

from smppgw.billing.ledger import check_ledger
from smppgw.store.sqlite import SqliteStore


ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(tmp: Path) -> tuple[Path, int, Path]:
    shutil.copytree(FIXTURES / "routes", tmp / "routes")
    store = tmp / "state" / "smppgw.db"
    smpp_port, admin_port = free_port(), free_port()

    def edit(text: str) -> str:
        text = text.replace(
            'listen = "tcp:0:interface=127.0.0.1"', f'listen = "tcp:{smpp_port}:interface=127.0.0.1"', 1
        )
        text = text.replace(
            'listen = "tcp:0:interface=127.0.0.1"', f'listen = "tcp:{admin_port}:interface=127.0.0.1"', 1
        )
        # No random losses: a lost message would only EXPIRE after its validity period.
        text = re.sub(r"(?m)^loss_percent = .*$", "loss_percent = 0", text)
        # EXPIRED outcomes come at the end of the validity period: keep it short.
        return re.sub(r"(?m)^default_validity_s = .*$", "default_validity_s = 4", text)

    path = tmp / "gateway.toml"
    path.write_text(config_text(store, overrides=edit), encoding="utf-8")
    return path, smpp_port, store


def start(config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "smppgw", "serve", "--config", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=config.parent,
        # This checkout's code, whatever `pip install -e` points at.
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError("gateway did not start:\n" + log.read_text())


def load_until_killed(port: int, proc: subprocess.Popen[bytes], kill_after: int, acked: list[str]) -> None:
    """Submit pipelined on two binds; SIGKILL the server once ``kill_after`` submits were acknowledged."""
    lock = threading.Lock()

    def worker(offset: int) -> None:
        try:
            c = client(port, mode="tx")
            sent = outstanding = 0
            while True:
                while outstanding < 20:
                    number = f"13{offset}{sent % 10}000{sent % 7}{sent % 3}8{sent % 5}"[:11]
                    c.send_message(
                        source_addr="10690000", destination_addr=number, short_message=b"crash", registered_delivery=1
                    )
                    sent += 1
                    outstanding += 1
                pdu = c.read_pdu()
                if pdu.command == "submit_sm_resp":
                    outstanding -= 1
                    if pdu.status == 0:
                        with lock:
                            acked.append(pdu.message_id.decode())
                            if len(acked) >= kill_after and proc.poll() is None:
                                proc.send_signal(signal.SIGKILL)
        except (smpplib.exceptions.ConnectionError, OSError):
            return  # the server died under us, as intended

    threads = [threading.Thread(target=worker, args=(i,)) for i in (5, 8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)


def test_kill_9_during_load_loses_no_acknowledged_message(tmp_path: Path) -> None:
    config, port, store_path = write_config(tmp_path)
    log = tmp_path / "gateway.log"
    acked: list[str] = []
    proc = start(config, port, log)
    load_until_killed(port, proc, kill_after=400, acked=acked)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    assert len(acked) >= 400

    proc = start(config, port, log)
    try:
        receiver = client(port, mode="rx")
        receipts = read_receipts(receiver, len(acked), timeout=60)
        receiver.unbind()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)

    got = [receipt_fields(r)["id"] for r in receipts]
    missing = set(acked) - set(got)
    assert not missing, f"{len(missing)} acknowledged messages got no receipt"
    store = SqliteStore(store_path)
    try:
        for message_id in acked:
            message = store.get_message(message_id)
            assert message is not None and message.is_final
        entries = store.ledger()
        assert check_ledger(entries, store.balances()) == []
        charges = [e.message_id for e in entries if e.kind == "charge"]
        assert len(charges) == len(set(charges))
    finally:
        store.close()
    assert "Traceback" not in log.read_text()
