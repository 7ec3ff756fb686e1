"""Managing an account's access to the customer HTTP interface (its fronts, its API secret) through
the admin API and the CLI, as the customer's HTTP clients then see it, across a reload and a restart."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import pytest_twisted
from http_clients import call as http_call
from http_clients import http_port
from test_admin_api import call
from test_cli_admin import conn, run_cli
from twisted.internet.threads import deferToThread
from twisted.logger import globalLogPublisher

LEGACY = {"userid": "1001", "account": "demo", "password": "demo1234"}


async def v1_balance(gw: Any, secret: str) -> int:
    base = f"http://127.0.0.1:{await http_port(gw)}"
    answer = await deferToThread(http_call, f"{base}/v1/balance", None, {"Authorization": f"Bearer {secret}"})
    return answer.status


async def legacy_overage(gw: Any) -> str:
    base = f"http://127.0.0.1:{await http_port(gw)}"
    answer = await deferToThread(http_call, f"{base}/sms.aspx?" + urlencode({"action": "overage", **LEGACY}))
    return answer.text


@pytest_twisted.ensureDeferred
async def test_the_admin_api_shows_http_access_without_the_secret(gateway_factory: Any) -> None:
    gw = await gateway_factory()
    status, body = await call(gw, "GET", "/api/accounts/demo/http")
    assert status == 200
    assert body["fronts"] == ["legacy", "jasmin", "kannel", "v1"]
    assert body["api_secret_set"] is True and "api_secret" not in body
    status, detail = await call(gw, "GET", "/api/accounts/demo")
    assert status == 200
    assert detail["settings"]["http"]["api_secret_set"] is True
    assert "demo-api-secret" not in json.dumps(detail)
    status, body = await call(gw, "POST", "/api/accounts/demo/http/fronts", {"fronts": ["legacy", "smpp"]})
    assert status == 400 and body["field"] == "fronts" and "'smpp'" in body["error"]
    status, body = await call(gw, "POST", "/api/accounts/demo/http/fronts", {"fronts": "v1"})
    assert status == 400
    status, _ = await call(gw, "GET", "/api/accounts/nobody/http")
    assert status == 404


@pytest_twisted.ensureDeferred
async def test_cli_new_secret_and_fronts_apply_at_once_and_outlive_a_reload_and_a_restart(
    gateway_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    gw = await gateway_factory()
    assert await v1_balance(gw, "demo-api-secret") == 200
    logged: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        logged.append(repr(event))

    globalLogPublisher.addObserver(observe)
    try:
        assert await deferToThread(run_cli, ["account", "new-secret", "demo", "--json", *conn(gw)]) == 0
    finally:
        globalLogPublisher.removeObserver(observe)
    answer = json.loads(capsys.readouterr().out)
    secret = answer["api_secret"]
    assert len(secret) >= 32
    assert not any(secret in line for line in logged)  # shown once, to the operator, never logged
    assert await v1_balance(gw, "demo-api-secret") == 401  # the old one is gone
    assert await v1_balance(gw, secret) == 200
    status, shown = await call(gw, "GET", "/api/accounts/demo/http")
    assert status == 200 and "api_secret" not in shown

    assert await deferToThread(run_cli, ["account", "http-fronts", "demo", "legacy", *conn(gw)]) == 0
    assert "fronts" in capsys.readouterr().out
    assert await v1_balance(gw, secret) == 403  # api_not_enabled
    assert "<returnstatus>Sucess</returnstatus>" in await legacy_overage(gw)

    await gw.service.reload()
    assert gw.service.accounts.get("demo").config.http.fronts == ("legacy",)
    assert await v1_balance(gw, secret) == 403

    await gw.service.stopService()
    again = await gateway_factory()
    assert again.service.accounts.get("demo").config.http.fronts == ("legacy",)
    assert again.service.accounts.get("demo").config.http.api_secret == secret
    assert await deferToThread(run_cli, ["account", "http-fronts", "demo", "legacy", "v1", *conn(again)]) == 0
    assert await v1_balance(again, secret) == 200
    assert await deferToThread(run_cli, ["account", "http-fronts", "demo", *conn(again)]) == 0
    assert "no HTTP access" in capsys.readouterr().out
    assert "用户名或密码错误" in await legacy_overage(again)  # a front not enabled answers as the table says
