"""The ``smppgw`` admin commands against a running gateway (run in a thread: the client blocks)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence

import pytest
import pytest_twisted
from conftest import RunningGateway
from twisted.internet.threads import deferToThread

from smppgw.cli.admin_client import url_from_listen
from smppgw.cli.admin_commands import add_admin_commands
from smppgw.cli.render import format_amount
from smppgw.passwords import verify_password

TOKEN = "demo-admin-token"


def run_cli(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="smppgw")
    add_admin_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def conn(gw: RunningGateway) -> list[str]:
    return ["--url", gw.admin_url, "--token", TOKEN]


@pytest_twisted.ensureDeferred
async def test_account_show_json_is_the_api_answer(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    code = await deferToThread(run_cli, ["account", "show", "demo", "--json", *conn(gateway)])
    assert code == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["system_id"] == "demo" and shown["balance"] == 1000000


@pytest_twisted.ensureDeferred
async def test_account_show_human(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert await deferToThread(run_cli, ["account", "show", "demo", *conn(gateway)]) == 0
    out = capsys.readouterr().out
    assert "1000.000 CNY" in out and "10690000" in out


@pytest_twisted.ensureDeferred
async def test_account_topup_then_the_same_reference_is_refused(
    gateway: RunningGateway, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["account", "topup", "demo", "5000", "--reference", "BANK-42", "--operator", "ops", *conn(gateway)]
    assert await deferToThread(run_cli, argv) == 0
    assert "balance 1005.000 CNY" in capsys.readouterr().out
    assert gateway.service.wallets["demo"].balance == 1005000

    assert await deferToThread(run_cli, argv) == 1
    captured = capsys.readouterr()
    assert "409" in captured.err and "BANK-42" in captured.err
    assert gateway.service.wallets["demo"].balance == 1005000


@pytest_twisted.ensureDeferred
async def test_settings_come_from_the_environment(
    gateway: RunningGateway, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMPPGW_URL", gateway.admin_url)
    monkeypatch.setenv("SMPPGW_TOKEN", TOKEN)
    assert await deferToThread(run_cli, ["account", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["SYSTEM_ID", "STATUS", "BALANCE", "PLAN", "BOUND", "SOURCE_ADDRS"]
    assert any(line.split()[:3] == ["demo", "active", "1000.000"] for line in lines[1:])

    monkeypatch.setenv("SMPPGW_TOKEN", "wrong")
    assert await deferToThread(run_cli, ["account", "list"]) == 1
    assert "401" in capsys.readouterr().err


@pytest_twisted.ensureDeferred
async def test_carrier_down_and_up(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert await deferToThread(run_cli, ["carrier", "down", "CTCC", *conn(gateway)]) == 0
    assert not gateway.service.carriers["CTCC"].is_up
    assert "CTCC (China Telecom) is down" in capsys.readouterr().out
    assert await deferToThread(run_cli, ["carrier", "list", *conn(gateway)]) == 0
    assert any(line.split()[0] == "CTCC" and "DOWN" in line for line in capsys.readouterr().out.splitlines())
    assert await deferToThread(run_cli, ["carrier", "up", "CTCC", *conn(gateway)]) == 0
    assert gateway.service.carriers["CTCC"].is_up
    assert await deferToThread(run_cli, ["carrier", "down", "NOPE", *conn(gateway)]) == 1


@pytest_twisted.ensureDeferred
async def test_mo_send_and_unknown_message(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    assert await deferToThread(run_cli, ["mo", "send", "13800138000", "10690001", "hello", *conn(gateway)]) == 0
    assert "MO accepted for demo2" in capsys.readouterr().out
    assert await deferToThread(run_cli, ["message", "show", "ffff0000", *conn(gateway)]) == 1


@pytest_twisted.ensureDeferred
async def test_python_m_smppgw_account_show(gateway: RunningGateway) -> None:
    env = {**os.environ, "SMPPGW_URL": gateway.admin_url, "SMPPGW_TOKEN": TOKEN}
    argv = [sys.executable, "-m", "smppgw", "account", "show", "demo", "--json"]
    result = await deferToThread(subprocess.run, argv, capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["balance"] == 1000000


def test_unreachable_gateway_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # Port 9 (discard) on loopback: nothing listens there in a test environment.
    assert run_cli(["account", "list", "--url", "http://127.0.0.1:9", "--token", "t"]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_passwd_prints_a_hash_of_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["account", "passwd", "pw123456"]) == 0
    hashed = capsys.readouterr().out.strip()
    assert verify_password("pw123456", hashed) and not verify_password("pw12345", hashed)


def test_url_from_listen() -> None:
    assert url_from_listen("tcp:8775:interface=127.0.0.1") == "http://127.0.0.1:8775"
    assert url_from_listen("tcp:port=9000") == "http://127.0.0.1:9000"
    assert url_from_listen("tcp:8775:interface=0.0.0.0") == "http://127.0.0.1:8775"
    assert url_from_listen("tcp6:8775:interface=\\:\\:1") == "http://[::1]:8775"
    with pytest.raises(ValueError, match="unix"):
        url_from_listen("unix:/var/run/smppgw.sock")


def test_format_amount() -> None:
    assert format_amount(1000000, "li") == "1000.000 CNY"
    assert format_amount(45, "li") == "0.045 CNY"
    assert format_amount(-1500, "li") == "-1.500 CNY"
    assert format_amount(20, "msg") == "20 msg"


@pytest_twisted.ensureDeferred
async def test_account_create(gateway: RunningGateway, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["account", "create", "acme", "--password", "pw123456", "--balance", "2500", "--source-addr", "10690077"]
    assert await deferToThread(run_cli, [*argv, *conn(gateway)]) == 0
    assert "created account acme" in capsys.readouterr().out
    assert gateway.service.wallets["acme"].balance == 2500
    assert gateway.service.gateway.account_for_service_number("106900770001") == "acme"
    assert await deferToThread(run_cli, [*argv, *conn(gateway)]) == 1  # exists already
