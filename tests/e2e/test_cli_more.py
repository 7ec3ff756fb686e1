"""Every CLI subcommand not covered in test_cli_admin, against a running gateway, human and --json;
and the access log naming the operator of each change."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from conftest import DEFAULT_CONFIG, RunningGateway
from smpp_helpers import client, submit_and_wait
from test_cli_admin import conn, run_cli
from twisted.internet.threads import deferToThread
from twisted.logger import globalLogPublisher

from smppgw.cli import main


async def submitted(gw: RunningGateway, destination: str = "13800138009") -> str:
    def go() -> str:
        c = client(gw.smpp_port)
        try:
            resp = submit_and_wait(c, destination)
            assert resp.status == 0
            return str(resp.message_id.decode())
        finally:
            c.unbind()
            c.disconnect()

    return await deferToThread(go)


@pytest_twisted.ensureDeferred
async def test_account_ledger(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert await deferToThread(run_cli, ["account", "ledger", "demo", *conn(gateway)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["ENTRY", "AT", "KIND"] and "initial-balance:demo" in lines[1]
    assert await deferToThread(run_cli, ["account", "ledger", "demo", "--json", *conn(gateway)]) == 0
    assert json.loads(capsys.readouterr().out)["entries"][0]["amount"] == 1_000_000
    assert await deferToThread(run_cli, ["account", "ledger", "nobody", *conn(gateway)]) == 1


@pytest_twisted.ensureDeferred
async def test_message_show_search_and_history(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    message_id = await submitted(gateway)
    assert await deferToThread(run_cli, ["message", "show", message_id, *conn(gateway)]) == 0
    assert "CMCC" in capsys.readouterr().out

    assert await deferToThread(run_cli, ["message", "search", "--destination", "8009", "--json", *conn(gateway)]) == 0
    found = json.loads(capsys.readouterr().out)["messages"]
    assert [m["message_id"] for m in found] == [message_id]
    assert await deferToThread(run_cli, ["message", "search", "--account", "demo2", *conn(gateway)]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == []  # header only
    assert await deferToThread(run_cli, ["message", "search", "--since", "yesterday", *conn(gateway)]) == 1
    assert "since" in capsys.readouterr().err

    assert await deferToThread(run_cli, ["message", "history", message_id, *conn(gateway)]) == 0
    out = capsys.readouterr().out
    assert "routed to CMCC" in out and "charge" in out and "-45 li" in out
    assert await deferToThread(run_cli, ["message", "history", message_id, "--json", *conn(gateway)]) == 0
    steps = [e["step"] for e in json.loads(capsys.readouterr().out)["events"]]
    assert steps[:3] == ["submit", "route", "charge"] and steps[-1] == "receipt"


@pytest_twisted.ensureDeferred
async def test_session_list(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    c = await deferToThread(client, gateway.smpp_port, "demo2", "demo5678", "rx")
    try:
        assert await deferToThread(run_cli, ["session", "list", *conn(gateway)]) == 0
        rows = capsys.readouterr().out.splitlines()
        assert rows[1].split()[:2] == ["demo2", "receiver"]
        assert await deferToThread(run_cli, ["session", "list", "--json", *conn(gateway)]) == 0
        (session,) = json.loads(capsys.readouterr().out)["sessions"]
        assert session["peer"].startswith("127.0.0.1:") and session["window_in_use"] == 0
    finally:
        await deferToThread(c.unbind)
        c.disconnect()


@pytest_twisted.ensureDeferred
async def test_reload_command(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    # The test gateway was started from an edited copy: the demo file differs only in what needs a restart.
    assert await deferToThread(run_cli, ["reload", *conn(gateway)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"reloaded {DEFAULT_CONFIG}") and "needs a restart: listen" in out
    assert await deferToThread(run_cli, ["reload", "--json", *conn(gateway)]) == 0
    assert json.loads(capsys.readouterr().out)["reloaded"] is True


def test_config_check(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["config", "check"]) == 0
    assert "demo, demo2" in capsys.readouterr().out
    assert main(["config", "check", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["carriers"] == ["CBN", "CMCC", "CTCC", "CUCC", "INTL"]
    moved = tmp_path / "gateway.toml"  # the route files are relative to the configuration: not found here
    moved.write_text(DEFAULT_CONFIG.read_text(), encoding="utf-8")
    assert main(["config", "check", "--config", str(moved)]) == 1
    assert re.search(r"gateway\.toml:\d+: routing\.number_plan: file not found", capsys.readouterr().err)


@pytest_twisted.ensureDeferred
async def test_ledger_check_on_the_store_of_a_running_gateway(
    gateway: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    await submitted(gateway)
    await gateway.service.committer.flush()
    assert main(["ledger", "check", "--store", str(gateway.store_path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is True and result["entries"] >= 3
    assert main(["ledger", "check", "--store", str(gateway.store_path / "missing")]) == 2


@pytest_twisted.ensureDeferred
async def test_access_log_names_the_operator_of_a_topup(
    gateway: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    events: list[dict[str, Any]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        argv = ["account", "topup", "demo", "1000", "--reference", "R-1", "--operator", "alice", *conn(gateway)]
        assert await deferToThread(run_cli, argv) == 0
        assert await deferToThread(run_cli, ["account", "list", "--url", gateway.admin_url, "--token", "x"]) == 1
    finally:
        globalLogPublisher.removeObserver(events.append)
    access = [e for e in events if e.get("admin_access")]
    assert [(e["operator"], e["method"], e["path"], e["status"]) for e in access] == [
        ("alice", "POST", "/api/accounts/demo/topups", 201),
        (access[1]["operator"], "GET", "/api/accounts", 401),
    ]
    assert access[0]["peer"] == "127.0.0.1"
    assert gateway.service.store.ledger("demo")[-1].operator == "alice"
