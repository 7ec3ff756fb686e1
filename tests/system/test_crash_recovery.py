"""kill -9 of a real gateway process at random moments of a load of submits on several binds of
two accounts, restarted each time: every message that got an OK response reaches its final
receipt, no receipt reaches another account, nothing is charged twice, and the ledger check passes.
The moments come from a seed printed on failure; ``SMPPGW_CRASH_SEED`` replays one."""

from __future__ import annotations

import os
import random
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
from gateway_env import gateway_env
from ports import free_port
from smpp_helpers import answer, client, receipt_fields

from smppgw.billing.ledger import check_ledger
from smppgw.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]


def write_config(tmp: Path) -> tuple[Path, int, Path]:
    shutil.copytree(FIXTURES / "routes", tmp / "routes")
    shutil.copytree(FIXTURES / "content", tmp / "content")
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
        # This checkout's code, whatever `pip install -e` points at (SMPPGW_TEST_INSTALLED=1: the installed one).
        env=gateway_env(),
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


ACCOUNTS = {"demo": ("demo1234", "10690000"), "demo2": ("demo5678", "10690001")}
# Submitting binds: two of demo, one of demo2; a receiver of each account takes receipts meanwhile.
SUBMITTERS = (("demo", 5), ("demo", 8), ("demo2", 6))
KILLS = 5


class Seen:
    """What the clients saw, by account, over all runs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[str, list[str]] = {a: [] for a in ACCOUNTS}
        self.receipts: dict[str, set[str]] = {a: set() for a in ACCOUNTS}


def submitter(port: int, account: str, offset: int, seen: Seen, stop: threading.Event) -> None:
    password, source = ACCOUNTS[account]
    try:
        c = client(port, account, password, mode="tx")
        sent = outstanding = 0
        while not stop.is_set():
            while outstanding < 20:
                number = f"13{offset}{sent % 10}000{sent % 7}{sent % 3}8{sent % 5}"[:11]
                c.send_message(
                    source_addr=source, destination_addr=number, short_message=b"crash", registered_delivery=1
                )
                sent += 1
                outstanding += 1
            pdu = c.read_pdu()
            if pdu.command == "submit_sm_resp":
                outstanding -= 1
                if pdu.status == 0:
                    with seen.lock:
                        seen.acked[account].append(pdu.message_id.decode())
    except (smpplib.exceptions.ConnectionError, OSError):
        return  # the server died under us, as intended


def receiver(port: int, account: str, seen: Seen, stop: threading.Event) -> None:
    try:
        c = client(port, account, ACCOUNTS[account][0], mode="rx")
        c._socket.settimeout(0.5)
        while not stop.is_set():
            try:
                pdu = c.read_pdu()
            except TimeoutError:
                continue
            if pdu.command == "deliver_sm":
                with seen.lock:
                    seen.receipts[account].add(receipt_fields(pdu)["id"])
                answer(c, pdu, "deliver_sm_resp")
            elif pdu.command == "enquire_link":
                answer(c, pdu, "enquire_link_resp")
    except (smpplib.exceptions.ConnectionError, OSError):
        return


def load_until_killed(port: int, proc: subprocess.Popen[bytes], after: float, seen: Seen) -> None:
    """Submit on several binds with receivers attached; SIGKILL the server ``after`` seconds in."""
    stop = threading.Event()
    threads = [threading.Thread(target=receiver, args=(port, a, seen, stop)) for a in ACCOUNTS]
    threads += [threading.Thread(target=submitter, args=(port, a, o, seen, stop)) for a, o in SUBMITTERS]
    for t in threads:
        t.start()
    time.sleep(after)
    proc.send_signal(signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join(timeout=30)


def test_kill_9_at_random_moments_loses_no_acknowledged_message(tmp_path: Path) -> None:
    seed = int(os.environ.get("SMPPGW_CRASH_SEED", time.time_ns() % 1_000_000))
    rng = random.Random(seed)
    config, port, store_path = write_config(tmp_path)
    log = tmp_path / "gateway.log"
    seen = Seen()
    moments = []
    for _ in range(KILLS):
        proc = start(config, port, log)
        moments.append(rng.uniform(0.3, 1.5))
        before = sum(len(v) for v in seen.acked.values())
        load_until_killed(port, proc, moments[-1], seen)
        assert proc.wait(timeout=10) == -signal.SIGKILL
        assert sum(len(v) for v in seen.acked.values()) > before, f"seed {seed}: nothing acknowledged"

    proc = start(config, port, log)
    try:
        stop = threading.Event()
        threads = [threading.Thread(target=receiver, args=(port, a, seen, stop)) for a in ACCOUNTS]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with seen.lock:
                if all(set(seen.acked[a]) <= seen.receipts[a] for a in ACCOUNTS):
                    break
            time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join(timeout=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)

    why = f"seed {seed}, kills at {[round(m, 2) for m in moments]} s"
    store = SqliteStore(store_path)
    try:
        for account in ACCOUNTS:
            missing = set(seen.acked[account]) - seen.receipts[account]
            assert not missing, f"{why}: {len(missing)} acknowledged {account} messages got no receipt"
            for message_id in seen.acked[account]:
                message = store.get_message(message_id)
                assert message is not None and message.is_final and message.account == account, why
            # Every receipt a receiver got is of its own account's messages (a submit whose response
            # the kill swallowed still gets its receipt, to the right account).
            for message_id in seen.receipts[account]:
                message = store.get_message(message_id)
                assert message is not None and message.account == account, f"{why}: {message_id} crossed accounts"
        entries = store.ledger()
        assert check_ledger(entries, store.balances()) == [], why
        charges = [e.message_id for e in entries if e.kind == "charge"]
        assert len(charges) == len(set(charges)), f"{why}: a message was charged twice"
    finally:
        store.close()
    acked = {a: len(v) for a, v in seen.acked.items()}
    print(f"\ncrash: {why}: {KILLS} kills survived, acknowledged {acked}, all with final receipts")
    text = log.read_text()
    assert "Traceback" not in text
    for password, _ in ACCOUNTS.values():
        assert password not in text  # passwords never reach the log
