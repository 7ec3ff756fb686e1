"""An operator suspends and reinstates an account, through the admin API and the CLI: the
account's sessions are unbound, its binds refused, and the status survives a restart."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import pytest_twisted
from smpp_helpers import client, submit_and_wait
from test_cli_admin import conn, run_cli
from test_e2e_compliance import api, bind_status
from twisted.internet.threads import deferToThread

from smppgw.protocol.constants import CommandStatus as S

NUMBER = "13900008888"


@pytest_twisted.ensureDeferred
async def test_suspend_unbinds_refuses_binds_and_survives_a_restart(gateway_factory: Any) -> None:
    gw = await gateway_factory()

    listener = await deferToThread(client, gw.smpp_port, mode="rx")
    code, account = await api(gw, "POST", "/api/accounts/demo/suspend", {"operator": "alice", "reason": "unpaid"})
    assert code == 200 and account["status"] == "suspended" and "reinstate" in account["binds_refused"]

    def read_unbind() -> tuple[str, float, int]:
        started = time.monotonic()
        listener._socket.settimeout(3)
        pdu = listener.read_pdu()
        return pdu.command, time.monotonic() - started, bind_status(gw.smpp_port)

    command, elapsed, rebind = await deferToThread(read_unbind)
    assert command == "unbind" and elapsed < 1.0
    assert rebind == S.ESME_RBINDFAIL
    assert (await api(gw, "POST", "/api/accounts/nobody/suspend"))[0] == 404
    # Suspending twice is harmless: still suspended, one answer.
    assert (await api(gw, "POST", "/api/accounts/demo/suspend"))[1]["status"] == "suspended"

    await gw.service.stopService()
    gw2 = await gateway_factory()
    assert (await api(gw2, "GET", "/api/accounts/demo"))[1]["status"] == "suspended"
    assert await deferToThread(bind_status, gw2.smpp_port) == S.ESME_RBINDFAIL

    assert (await api(gw2, "POST", "/api/accounts/demo/reinstate", {"operator": "alice"}))[0] == 200
    resp = await deferToThread(lambda: submit_and_wait(client(gw2.smpp_port), NUMBER, text=b"hello"))
    assert resp.status == 0


@pytest_twisted.ensureDeferred
async def test_cli_account_suspend_and_reinstate(gateway_factory: Any, capsys: pytest.CaptureFixture[str]) -> None:
    gw = await gateway_factory()
    args = ["--operator", "bob", *conn(gw)]
    assert await deferToThread(run_cli, ["account", "suspend", "demo", "--reason", "test day over", *args]) == 0
    assert "suspended" in capsys.readouterr().out
    assert await deferToThread(bind_status, gw.smpp_port) == S.ESME_RBINDFAIL
    assert await deferToThread(run_cli, ["account", "reinstate", "demo", "--json", *args]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "active"
    assert await deferToThread(bind_status, gw.smpp_port) == 0
    assert await deferToThread(run_cli, ["account", "suspend", "nobody", *args]) != 0
    assert "no account" in capsys.readouterr().err
