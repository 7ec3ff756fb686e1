"""``smppgw serve --workers 2`` as a user runs it: real processes, real smpplib clients over
loopback, the admin API through the supervisor's front, the ledger check over the workers' stores."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import smpplib.client
from conftest import FIXTURES, config_text
from polling import wait_until
from smpp_helpers import Raw, client, read_receipts, receipt_fields, submit_and_wait

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.workers.front import Answer, choose, join_metrics, plan
from smppgw.workers.handoff import first_bind
from smppgw.workers.placement import owner_of

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "demo-admin-token"
ACCOUNTS = {"demo": ("demo1234", "10690000"), "demo2": ("demo5678", "10690001")}


class Workers:
    """A supervisor process and what it printed (read by a thread)."""

    def __init__(self, tmp: Path, count: int = 2) -> None:
        self.config = tmp / "gateway.toml"
        self.tmp = tmp
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "smppgw", "serve", "--config", str(self.config), "--workers", str(count)]
        self.proc = subprocess.Popen(argv, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        ready = self.wait_for(r"(\d+) workers, SMPP on 127\.0\.0\.1:(\d+), .*\(port (\d+)\)")
        self.smpp_port, self.admin_port = int(ready.group(2)), int(ready.group(3))
        self.tls_port = int(self.wait_for(r"workers, .*TLS on (\d+)").group(1))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.append(raw.decode("utf-8", "replace"))

    def wait_for(self, pattern: str, after: int = 0, timeout: float = 30.0) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            for line in self.lines[after:]:
                if (match := re.search(pattern, line)) is not None:
                    return match
            if self.proc.poll() is not None:
                raise AssertionError(f"exited without {pattern!r}:\n{''.join(self.lines)}")
            return None

        return wait_until(found, timeout, what=repr(pattern), detail=lambda: "".join(self.lines))

    def worker_pids(self) -> dict[int, int]:
        pids = {}
        for line in self.lines:
            if (found := re.search(r"smppgw worker (\d+): admin on .*, pid (\d+)", line)) is not None:
                pids[int(found.group(1))] = int(found.group(2))
        return pids

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.admin_port}{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)

    def ledger_check(self) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        argv = [sys.executable, "-m", "smppgw", "ledger", "check", "--config", str(self.config)]
        return subprocess.run(argv, cwd=self.tmp, env=env, capture_output=True, text=True, timeout=30, check=False)


def start_workers(tmp: Path) -> Workers:
    shutil.copytree(FIXTURES / "routes", tmp / "routes")
    shutil.copytree(FIXTURES / "content", tmp / "content")

    def edit(text: str) -> str:
        text = re.sub(r"(?m)^loss_percent = .*$", "loss_percent = 0", text)  # a lost message would only expire
        text = re.sub(r"(?m)^default_validity_s = .*$", "default_validity_s = 4", text)
        text = re.sub(r"(?m)^max_binds = .*$", "max_binds = 500", text)  # room for the burst of binds
        text = re.sub(r"(?m)^max_connections_per_address = .*$", "max_connections_per_address = 1000", text)
        return re.sub(r"(?m)^receipt_retry_interval = .*$", "receipt_retry_interval = 1", text)

    (tmp / "gateway.toml").write_text(config_text(tmp / "state" / "smppgw.db", overrides=edit), "utf-8")
    return Workers(tmp)


def _stopped(running: Workers) -> None:
    if running.proc.poll() is None:
        running.proc.kill()
        running.proc.wait()


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """One gateway of two workers for the tests that leave it running (starting one takes seconds)."""
    running = start_workers(tmp_path_factory.mktemp("workers"))
    yield running
    _stopped(running)


@pytest.fixture
def own_workers(tmp_path: Path) -> Iterator[Workers]:
    running = start_workers(tmp_path)
    yield running
    _stopped(running)


def bind(w: Workers, system_id: str, mode: str = "trx") -> Any:
    return client(w.smpp_port, system_id, ACCOUNTS[system_id][0], mode)


def test_demo_accounts_are_owned_by_different_workers() -> None:
    assert owner_of("demo", 2) == 0
    assert owner_of("demo2", 2) == 1
    assert {owner_of(f"acct{i}", 3) for i in range(30)} == {0, 1, 2}


def test_binds_of_both_accounts_on_many_connections_all_work(workers: Workers) -> None:
    ids: dict[str, list[str]] = {"demo": [], "demo2": []}
    for i in range(40):
        system_id = "demo" if i % 2 else "demo2"
        c = bind(workers, system_id)
        resp = submit_and_wait(c, f"1380013{i:04d}5", source_addr=ACCOUNTS[system_id][1])
        assert resp.status == 0
        ids[system_id].append(resp.message_id.decode())
        c.unbind()
        c.disconnect()
    # Each account is served only by its owner, whichever worker accepted the connection.
    binds = [re.search(r"^w(\d) .*bind BindTransceiver (\w+) from", line) for line in workers.lines]
    served = {(int(m.group(1)), m.group(2)) for m in binds if m is not None}
    assert served == {(0, "demo"), (1, "demo2")}
    # The kernel spread the 40 connections over both workers: each worker adopted some from the other.
    adopted = {line[:2] for line in workers.lines if "adopted a connection" in line}
    assert adopted == {"w0", "w1"}
    # Message ids are unique across the workers, and each is found through the front.
    assert len(set(ids["demo"] + ids["demo2"])) == 40
    for system_id, message_ids in ids.items():
        for message_id in message_ids[:3]:
            code, body = workers.api("GET", f"/api/messages/{message_id}")
            assert (code, body["account"]) == (200, system_id)


def test_a_burst_of_binds_on_both_accounts_all_get_their_answer(workers: Workers) -> None:
    """Many connections bind at once: the hand-offs queue up for the owner, none is dropped."""
    conns = [Raw(workers.smpp_port) for _ in range(160)]
    for i, conn in enumerate(conns):
        system_id = "demo" if i % 2 else "demo2"
        conn.send(p.BindTransceiver(sequence_number=1, system_id=system_id, password=ACCOUNTS[system_id][0]))
    statuses = [conn.read().command_status for conn in conns]
    for conn in conns:
        conn.send(p.Unbind(sequence_number=2))
        conn.close()
    assert statuses == [0] * 160


def test_receipts_reach_a_receiver_bound_on_another_connection(workers: Workers) -> None:
    for system_id in ("demo", "demo2"):
        receivers = [bind(workers, system_id, "rx") for _ in range(2)]
        tx = bind(workers, system_id, "tx")
        sent = set()
        for i in range(10):
            resp = submit_and_wait(tx, f"1390013{i:04d}7", source_addr=ACCOUNTS[system_id][1], registered_delivery=1)
            assert resp.status == 0
            sent.add(resp.message_id.decode())
        got: list[Any] = []
        deadline = time.monotonic() + 20
        while len(got) < 10 and time.monotonic() < deadline:
            for rx in receivers:
                got += read_receipts(rx, 1, timeout=0.3)
        assert {receipt_fields(r)["id"] for r in got} == sent
        for c in (*receivers, tx):
            c.unbind()
            c.disconnect()


def test_tls_binds_of_another_workers_account_are_relayed_to_it(workers: Workers) -> None:
    context = ssl.create_default_context(cafile=str(workers.tmp / "state" / "tls" / "smppgw.crt"))
    context.check_hostname = False
    for i in range(12):
        system_id = "demo" if i % 2 else "demo2"
        c = smpplib.client.Client("127.0.0.1", workers.tls_port, timeout=10, ssl_context=context)
        c.connect()
        c.bind_transceiver(system_id=system_id, password=ACCOUNTS[system_id][0])
        resp = submit_and_wait(c, f"1350013{i:04d}5", source_addr=ACCOUNTS[system_id][1], registered_delivery=1)
        assert resp.status == 0
        (receipt,) = read_receipts(c, 1, timeout=10)
        assert receipt_fields(receipt)["id"] == resp.message_id.decode()
        c.unbind()
        c.disconnect()
    relayed = [line for line in workers.lines if "relays over TLS" in line]
    assert relayed, "no TLS connection landed on the other worker in 12 tries"
    # The owner's session sees the client's address, not the relay's socket.
    assert all("from 127.0.0.1:" in line for line in relayed)


def test_topup_through_the_front_reaches_the_owner(workers: Workers) -> None:
    code, before = workers.api("GET", "/api/accounts/demo2")
    assert code == 200
    code, body = workers.api("POST", "/api/accounts/demo2/topups", {"amount": 12345, "reference": "BANK-W-1"})
    assert (code, body["balance"]) == (201, before["balance"] + 12345)
    assert workers.api("POST", "/api/accounts/demo2/topups", {"amount": 1, "reference": "BANK-W-1"})[0] == 409
    # The session of demo2 is charged by the same wallet: 13800138xxx is China Mobile, 45 li.
    c = bind(workers, "demo2")
    assert submit_and_wait(c, "13800138005", source_addr="10690001").status == 0
    c.unbind()
    c.disconnect()
    code, after = workers.api("GET", "/api/accounts/demo2")
    assert after["balance"] == before["balance"] + 12345 - 45
    code, listed = workers.api("GET", "/api/accounts")
    assert sorted(a["system_id"] for a in listed["accounts"]) == ["brand", "demo", "demo2"]
    assert workers.api("GET", "/api/accounts/nobody")[0] == 404


def test_a_killed_worker_is_restarted_nothing_acknowledged_is_lost_and_the_ledgers_check(
    own_workers: Workers,
) -> None:
    workers = own_workers
    tx = bind(workers, "demo2", "tx")
    sent = set()
    for i in range(20):
        # 0003: no receipt for 10 s (here the 4 s validity ends first): all still to come when the worker dies.
        resp = submit_and_wait(tx, f"1370013{i:03d}0003", source_addr="10690001", registered_delivery=1)
        assert resp.status == 0
        sent.add(resp.message_id.decode())
    owner = owner_of("demo2", 2)
    before = len(workers.lines)
    os.kill(workers.worker_pids()[owner], signal.SIGKILL)
    workers.wait_for(rf"smppgw: worker {owner} ended", after=before)
    # Bound while the owner is down: the connection waits (in its listening socket, or handed over
    # by the other worker) until the new owner serves it.
    rx = bind(workers, "demo2", "rx")
    workers.wait_for(rf"smppgw worker {owner}: admin on", after=before)
    got = read_receipts(rx, 20, timeout=30)
    assert {receipt_fields(r)["id"] for r in got} == sent
    assert {receipt_fields(r)["stat"] for r in got} == {"EXPIRED"}
    rx.unbind()
    rx.disconnect()

    # Then a load on both accounts (so on both workers), a clean stop, and the ledger of each store.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "smppgw", "bench", "--port", str(workers.smpp_port), "--json", "--progress", "0"]
    argv += ["-n", "400", "-c", "4", "-w", "20", "--receipt-timeout", "15"]
    argv += ["--account", "demo:demo1234:10690000", "--account", "demo2:demo5678:10690001"]
    run = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=90, check=False)
    report = json.loads(run.stdout)
    assert report["status"] == {"ESME_ROK": 400}, report
    assert report["receipts_missing"] == 0, report
    assert workers.stop() == 0
    check = workers.ledger_check()
    assert check.returncode == 0, check.stdout + check.stderr
    assert "in 2 stores" in check.stdout
    # A restart with another number of workers would place the accounts elsewhere: refused.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "smppgw", "serve", "--config", str(workers.config)]
    refused = subprocess.run(argv, cwd=workers.tmp, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode == 2
    assert "written by 2 workers: start with --workers 2" in refused.stderr


def test_first_bind_reads_the_system_id_of_a_bind_only() -> None:
    frame = codec.encode(p.BindTransmitter(sequence_number=1, system_id="demo2", password="x"))
    assert first_bind(frame[:10]) is None
    assert first_bind(frame) == "demo2"
    assert first_bind(frame + b"more") == "demo2"
    assert first_bind(codec.encode(p.EnquireLink(sequence_number=1))) is False
    assert first_bind(b"\xff\xff\xff\xff\x00\x00\x00\x09") is False


def test_front_plans() -> None:
    assert plan("POST", ["accounts", "demo2", "topups"], {}, {}, 2).workers == (1,)
    assert plan("POST", ["accounts"], {}, {"system_id": "demo2"}, 2).workers == (1,)
    assert plan("GET", ["messages"], {"account": ["demo"]}, {}, 2).workers == (0,)
    assert plan("GET", ["messages"], {}, {}, 2).how == "join"
    assert plan("GET", ["messages", "1000000000001"], {}, {}, 2).how == "found"
    assert plan("POST", ["carriers", "CMCC", "outage"], {}, {"down": True}, 2) == plan("POST", ["reload"], {}, {}, 2)
    assert plan("POST", ["reload"], {}, {}, 2).workers is None


def test_join_metrics_labels_each_worker_and_keeps_families_together() -> None:
    text = '# HELP a_total A\n# TYPE a_total counter\na_total{x="1"} 1.0\n# HELP b B\n# TYPE b gauge\nb 2.0\n'
    joined = join_metrics([text, text.replace("1.0", "5.0")])
    assert joined.splitlines() == [
        "# HELP a_total A",
        "# TYPE a_total counter",
        'a_total{worker="0",x="1"} 1.0',
        'a_total{worker="1",x="1"} 5.0',
        "# HELP b B",
        "# TYPE b gauge",
        'b{worker="0"} 2.0',
        'b{worker="1"} 2.0',
    ]


def test_reload_reaches_every_worker_and_each_keeps_its_own_accounts(workers: Workers) -> None:
    code, report = workers.api("POST", "/api/reload")
    assert code == 200, report
    assert report["accounts_added"] == []
    code, listed = workers.api("GET", "/api/accounts")
    assert sorted(a["system_id"] for a in listed["accounts"]) == ["brand", "demo", "demo2"]


def test_workers_stop_when_their_supervisor_is_killed(own_workers: Workers) -> None:
    pids = own_workers.worker_pids()
    assert len(pids) == 2
    own_workers.proc.kill()
    own_workers.proc.wait()

    def alive() -> set[int]:
        return {pid for pid in pids.values() if Path(f"/proc/{pid}").exists() and not _zombie(pid)}

    wait_until(lambda: not alive(), 15, what="no worker outliving its supervisor", detail=lambda: f"alive: {alive()}")


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def test_joined_lists_newest_first_up_to_the_limit_and_csv_with_one_header() -> None:
    older = {"messages": [{"message_id": "1", "submitted_at": "2026-11-28T07:00:01+08:00"}]}
    newer = {"messages": [{"message_id": "2", "submitted_at": "2026-11-28T07:00:02+08:00"}]}
    chosen = plan("GET", ["messages"], {"limit": ["1"]}, {}, 2)
    answers = [Answer(200, b"application/json", json.dumps(v).encode()) for v in (older, newer)]
    assert json.loads(choose(chosen, answers).body) == newer
    csv = [Answer(200, b"text/csv; charset=utf-8", b"a,b\n" + row) for row in (b"1,2\n", b"3,4\n")]
    assert choose(plan("GET", ["incidents"], {}, {}, 2), csv).body == b"a,b\n1,2\n3,4\n"
    refused = Answer(404, b"application/json", b"{}")
    assert choose(plan("GET", ["messages", "9"], {}, {}, 2), [refused, answers[1]]) == answers[1]


def test_an_unknown_account_is_refused_by_its_owner_and_enquire_links_before_the_bind_are_answered(
    workers: Workers,
) -> None:
    for i in range(8):
        if i < 4:  # (a fifth failed bind would lock "nobody" out)
            conn = Raw(workers.smpp_port)
            assert conn.bind("nobody", "secret").command_status == 0x0F  # ESME_RINVSYSID
            conn.close()
        # A client that checks the link before binding still reaches the account's owner.
        system_id = "demo" if i % 2 else "demo2"
        conn = Raw(workers.smpp_port)
        conn.send(p.EnquireLink(sequence_number=7))
        answer = conn.read()
        assert (type(answer), answer.sequence_number, answer.command_status) == (p.EnquireLinkResp, 7, 0)
        assert conn.bind(system_id, ACCOUNTS[system_id][0]).command_status == 0
        conn.close()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        # A connection handed to another worker would lose the PROXY header's client address.
        (
            lambda text: re.sub(r"(?m)^proxy_protocol = false", "proxy_protocol = true", text, count=1),
            "smpp.proxy_protocol: --workers does not read PROXY headers",
        ),
        # Workers of one node would share its node id on the cluster's database.
        (
            lambda text: re.sub(r"(?m)^\[store\]$", '[store]\nurl = "postgresql://localhost/smppgw"', text, count=1),
            "store.url: --workers keeps each worker's accounts in its own SQLite file",
        ),
    ],
)
def test_workers_refuse_what_they_cannot_serve_naming_the_key(tmp_path: Path, edit: Any, message: str) -> None:
    shutil.copytree(FIXTURES / "routes", tmp_path / "routes")
    shutil.copytree(FIXTURES / "content", tmp_path / "content")
    (tmp_path / "gateway.toml").write_text(config_text(tmp_path / "state" / "smppgw.db", overrides=edit), "utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    argv = [sys.executable, "-m", "smppgw", "serve", "--workers", "2", "--config", str(tmp_path / "gateway.toml")]
    refused = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30, check=False)
    assert refused.returncode == 2
    assert message in refused.stderr
