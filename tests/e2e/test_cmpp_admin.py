"""CMPP in the operator's surfaces: the sessions list (a protocol field), the metrics, the CLI, and
accounts made through the admin API with an SP_Id and secret."""

from __future__ import annotations

import urllib.request

import pytest_twisted
from cmpp_socket_client import CmppClient, logged_in
from test_admin_api import call
from twisted.internet.threads import deferToThread

from smppgw.cmpp.constants import ConnectStatus
from smppgw.cmpp.msgid import MsgId
from smppgw.config.accounts import FieldError, account_from_json, account_to_json


@pytest_twisted.ensureDeferred
async def test_sessions_metrics_and_messages_show_cmpp(gateway):
    c = await deferToThread(logged_in, gateway.cmpp_port, "demo", 0x20)
    resp = await deferToThread(
        c.submit, msg_src="900001", dest_terminal_ids=("13800000003",), content=b"hi", registered_delivery=0
    )
    status, body = await call(gateway, "GET", "/api/sessions")
    assert status == 200
    [row] = [s for s in body["sessions"] if s["protocol"] == "cmpp"]
    assert (row["account"], row["sp_id"], row["interface_version"], row["client_version"]) == (
        "demo",
        "900001",
        "2.0",
        "0x20",
    )
    assert row["submits"] == 1 and row["window"] == 16 and row["since"]

    def scrape() -> str:
        with urllib.request.urlopen(gateway.admin_url + "/metrics", timeout=5) as response:
            return response.read().decode()

    metrics = await deferToThread(scrape)
    assert 'smppgw_cmpp_sessions{account="demo"} 1.0' in metrics
    assert 'smppgw_cmpp_sessions{account="demo2"} 0.0' in metrics
    # The message is stored under its Msg_Id's decimal form: the admin API finds it by that id.
    decimal = MsgId.from_int(resp.msg_id).decimal
    status, body = await call(gateway, "GET", f"/api/messages?id={decimal}")
    assert status == 200 and [m["message_id"] for m in body["messages"]] == [decimal]
    await deferToThread(c.terminate)


@pytest_twisted.ensureDeferred
async def test_an_account_made_through_the_api_logs_in_over_cmpp(gateway):
    new = {
        "system_id": "acme",
        "password": "s3cretpw",
        "balance": 5000,
        "source_addrs": ["10690099"],
        "cmpp": {"sp_id": "900099", "secret": "cmppsecret", "service_code": "10690099", "version": "2.0"},
    }
    status, body = await call(gateway, "POST", "/api/accounts", new)
    assert status == 201, body
    shown = body["settings"]["cmpp"]
    assert shown == {"sp_id": "900099", "service_code": "10690099", "version": "2.0"}  # never the secret
    taken = {**new, "system_id": "acme2", "cmpp": {**new["cmpp"], "sp_id": "900001"}}
    status, body = await call(gateway, "POST", "/api/accounts", taken)
    assert status == 409 and body["field"] == "cmpp"

    def connect(version: int, secret: str) -> int:
        c = CmppClient(gateway.cmpp_port, version=version)
        try:
            return c.connect("900099", secret).status
        finally:
            c.close()

    assert await deferToThread(connect, 0x20, "cmppsecret") == ConnectStatus.OK
    assert await deferToThread(connect, 0x20, "wrong") == ConnectStatus.AUTH_FAILED
    assert await deferToThread(connect, 0x30, "cmppsecret") == ConnectStatus.VERSION_TOO_HIGH


def test_the_cmpp_field_of_an_account_is_validated_by_name():
    account = account_from_json(
        {"system_id": "acme", "password": "pw", "cmpp": {"sp_id": "900099", "secret": "s", "service_code": "106"}}
    )
    assert account_from_json(account_to_json(account)) == account
    for cmpp, field in (
        ({"sp_id": "12", "secret": "s", "service_code": "106"}, "sp_id"),
        ({"sp_id": "900099", "service_code": "106"}, "secret"),
        ({"sp_id": "900099", "secret": "s", "service_code": "abc"}, "service_code"),
        ({"sp_id": "900099", "secret": "s", "service_code": "106", "version": "4.0"}, "version"),
        ({"sp_id": "900099", "secret": "s", "service_code": "106", "colour": "red"}, "colour"),
    ):
        try:
            account_from_json({"system_id": "acme", "password": "pw", "cmpp": cmpp})
        except FieldError as err:
            assert err.field == field, cmpp
        else:
            raise AssertionError(f"{cmpp} accepted")
