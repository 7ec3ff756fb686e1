"""Record and replay: a smpplib session recorded on one gateway, replayed by ``smppgw replay``
against a fresh one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest_twisted
from conftest import start_gateway
from smpp_helpers import client, submit_and_wait
from test_rig_scenario import TOKEN, api
from twisted.internet.threads import deferToThread

ROOT = Path(__file__).resolve().parents[2]


def session_ids(gw) -> set[int]:
    return {s["id"] for s in api(gw, "GET", "/api/sessions")[1]["sessions"]}


def fetch_recording(gw, session_id: int) -> str:
    """The export once the gateway has seen the connection close."""
    deadline = time.monotonic() + 5
    while api(gw, "GET", f"/api/sessions/{session_id}/scorecard")[1]["open"] and time.monotonic() < deadline:
        time.sleep(0.05)
    req = urllib.request.Request(
        f"{gw.admin_url}/api/sessions/{session_id}/recording", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read().decode()


def replay(path: Path, port: int, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smppgw", "replay", str(path), "--port", str(port), "--password", "demo1234", *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


@pytest_twisted.ensureDeferred
async def test_record_and_replay_at_10x(gateway, tmp_path):
    fresh = await start_gateway(tmp_path / "fresh")

    def record():
        assert api(gateway, "POST", "/api/accounts/demo/record")[1]["recording"] is True
        before = session_ids(gateway)
        c = client(gateway.smpp_port)
        (session_id,) = session_ids(gateway) - before
        statuses = [submit_and_wait(c, "13800138000").status]
        time.sleep(0.3)
        statuses.append(submit_and_wait(c, "12").status)  # not a phone number: refused
        statuses.append(submit_and_wait(c, "13900139001", registered_delivery=1).status)
        c.unbind()
        c.disconnect()
        return statuses, fetch_recording(gateway, session_id)

    statuses, text = await deferToThread(record)
    assert statuses[0] == 0 and statuses[1] != 0
    header, *rows = [json.loads(line) for line in text.splitlines()]
    assert header["account"] == "demo" and header["pdus"] == len(rows) >= 8
    assert "13800138000" not in text and b"13800138000".hex() not in text
    assert b"13800008000".hex() in text  # masked, still routable
    assert b"demo1234".hex() not in text  # the bind password is not exported
    path = tmp_path / "session.jsonl"
    path.write_text(text)

    def run_replays():
        same = replay(path, fresh.smpp_port, "--speed", "10")
        api(fresh, "POST", "/api/accounts/demo/faults", {"throttled_percent": 100})
        throttled = replay(path, fresh.smpp_port, "--speed", "10", "--json")
        return same, throttled

    started = time.monotonic()
    same, throttled = await deferToThread(run_replays)
    await fresh.service.stopService()
    assert same.returncode == 0, same.stdout + same.stderr
    assert "5 requests" in same.stdout and "0 difference(s)" in same.stdout  # bind, 3 submits, unbind
    assert time.monotonic() - started < 10
    assert throttled.returncode == 1, throttled.stdout + throttled.stderr
    differences = json.loads(throttled.stdout)["differences"]
    assert [(d["command"], d["got"]) for d in differences] == [("submit_sm", "ESME_RTHROTTLED")] * 3


@pytest_twisted.ensureDeferred
async def test_replay_refuses_what_is_not_a_recording(gateway, tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"t": 0}\n')
    done = await deferToThread(replay, path, gateway.smpp_port)
    assert done.returncode == 2 and "not an smppgw recording" in done.stderr
    unknown = await deferToThread(api, gateway, "GET", "/api/sessions/1/recording")
    assert unknown[0] == 404
