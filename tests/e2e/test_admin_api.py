"""The admin HTTP API against a real running gateway: HTTP over loopback with twisted.web's Agent,
SMPP binds with smpplib in a thread (never blocking the reactor)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from io import BytesIO
from typing import Any

import pytest
import pytest_twisted
import smpplib.client
import smpplib.consts
import smpplib.exceptions
from conftest import DEFAULT_CONFIG, RunningGateway
from polling import until
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.web.client import Agent, FileBodyProducer, readBody
from twisted.web.http_headers import Headers

from smppgw.admin.shapes import receipt_status
from smppgw.config import ConfigError, parse
from smppgw.config.accounts import FieldError, account_from_json, account_to_json
from smppgw.model import Message, MessageState

TOKEN = "demo-admin-token"  # the demo fixture's


async def call(
    gw: RunningGateway, method: str, path: str, body: Any = None, *, token: str | None = TOKEN, raw: bytes | None = None
) -> tuple[int, Any]:
    headers = Headers()
    if token is not None:
        headers.addRawHeader(b"authorization", f"Bearer {token}".encode())
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    producer = None if data is None else FileBodyProducer(BytesIO(data))
    response = await Agent(reactor).request(method.encode(), (gw.admin_url + path).encode(), headers, producer)
    payload = await readBody(response)
    assert response.headers.getRawHeaders(b"content-type") == [b"application/json; charset=utf-8"]
    return response.code, json.loads(payload)


def smpp_bind(port: int, system_id: str, password: str) -> int:
    """Bind as a transmitter and unbind; the bind_resp status (0 = bound)."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=5)
    client.connect()
    try:
        client.bind_transmitter(system_id=system_id, password=password)
    except smpplib.exceptions.PDUError as err:
        return int(err.args[1])
    finally:
        if client.state != smpplib.consts.SMPP_CLIENT_STATE_OPEN:
            client.unbind()
        client.disconnect()
    return 0


def smpp_submit(port: int, destination: str) -> str:
    """Submit one message as demo, asking for a receipt; the message_id."""
    client = smpplib.client.Client("127.0.0.1", port, timeout=5)
    client.connect()
    try:
        client.bind_transmitter(system_id="demo", password="demo1234")
        client.send_message(
            source_addr="10690000",
            destination_addr=destination,
            short_message=b"Your code is 123456",
            registered_delivery=1,
        )
        resp = client.read_pdu()
        assert resp.status == 0, resp.status
        client.unbind()
        message_id = resp.message_id
        return message_id.decode() if isinstance(message_id, bytes) else str(message_id)
    finally:
        client.disconnect()


# ---- authorisation and paths ----------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_every_call_needs_the_bearer_token(gateway: RunningGateway) -> None:
    for token in (None, "wrong-token", TOKEN + "x", ""):
        status, body = await call(gateway, "GET", "/api/accounts", token=token)
        assert status == 401
        assert "error" in body and TOKEN not in json.dumps(body)
    # Even a path that does not exist says 401 first: nothing is learnt without the token.
    assert (await call(gateway, "GET", "/api/nothing", token=None))[0] == 401
    # The token in another scheme is not accepted either.
    headers = Headers({b"authorization": [f"Basic {TOKEN}".encode()]})
    response = await Agent(reactor).request(b"GET", (gateway.admin_url + "/api/accounts").encode(), headers)
    await readBody(response)
    assert response.code == 401


@pytest_twisted.ensureDeferred
async def test_unknown_paths_and_methods_answer_json(gateway: RunningGateway) -> None:
    status, body = await call(gateway, "GET", "/api/nothing")
    assert status == 404 and body["error"]
    assert (await call(gateway, "GET", "/nothing.html"))[0] == 404  # "/" itself is the web console
    status, body = await call(gateway, "POST", "/api/carriers", {})
    assert status == 405 and "GET" in body["error"]


# ---- accounts -------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_account_list_and_detail_show_the_demo_balance(gateway: RunningGateway) -> None:
    status, body = await call(gateway, "GET", "/api/accounts")
    assert status == 200
    accounts = {a["system_id"]: a for a in body["accounts"]}
    assert set(accounts) == {"demo", "demo2", "brand"}
    demo = accounts["demo"]
    assert demo == {
        "system_id": "demo",
        "status": "active",
        "balance": 1000000,
        "unit": "li",
        "rate_plan": "standard",
        "source_addrs": ["10690000"],
        "bound": 0,
    }
    status, detail = await call(gateway, "GET", "/api/accounts/demo")
    assert status == 200
    assert detail["balance"] == 1000000 and detail["origin"] == "config"
    assert detail["settings"]["max_binds"] == 8
    assert "password" not in detail["settings"] and "demo1234" not in json.dumps(detail)
    status, body = await call(gateway, "GET", "/api/accounts/nobody")
    assert status == 404 and "nobody" in body["error"]


@pytest_twisted.ensureDeferred
async def test_created_account_binds_with_its_password_and_keeps_it_hashed(gateway: RunningGateway) -> None:
    new = {"system_id": "acme", "password": "s3cretpw", "balance": 5000, "source_addrs": ["10690099"]}
    status, body = await call(gateway, "POST", "/api/accounts", new)
    assert status == 201, body
    assert body["system_id"] == "acme" and body["balance"] == 5000 and body["origin"] == "api"
    assert body["source_addrs"] == ["10690099"]

    assert await deferToThread(smpp_bind, gateway.smpp_port, "acme", "s3cretpw") == 0
    assert await deferToThread(smpp_bind, gateway.smpp_port, "acme", "wrong") == smpplib.consts.SMPP_ESME_RINVPASWD

    status, body = await call(gateway, "POST", "/api/accounts", {**new, "password": "other"})
    assert status == 409 and body["field"] == "system_id"
    status, body = await call(gateway, "POST", "/api/accounts", {"system_id": "demo", "password": "x"})
    assert status == 409

    with sqlite3.connect(gateway.store_path) as db:
        (settings,) = db.execute("SELECT settings FROM accounts WHERE system_id = 'acme'").fetchone()
    assert "s3cretpw" not in settings
    assert json.loads(settings)["password"].startswith("pbkdf2_sha256$")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"password": "pw"}, "system_id"),
        ({"system_id": "acme"}, "password"),
        ({"system_id": "acme", "password": "nine-char"}, "password"),
        ({"system_id": "a-name-far-too-long", "password": "pw"}, "system_id"),
        ({"system_id": "acme", "password": "pw", "max_binds": "four"}, "max_binds"),
        ({"system_id": "acme", "password": "pw", "source_addrs": ["1069-00"]}, "source_addrs"),
        ({"system_id": "acme", "password": "pw", "rate_plan": "gold"}, "rate_plan"),
        ({"system_id": "acme", "password": "pw", "balance": -1}, "initial_balance"),
        ({"system_id": "acme", "password": "pw", "colour": "red"}, "colour"),
        ({"system_id": "acme", "password": "pw", "ip_allowlist": ["not-an-ip"]}, "ip_allowlist"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_create_names_the_bad_field(gateway: RunningGateway, fields: dict[str, Any], field: str) -> None:
    status, body = await call(gateway, "POST", "/api/accounts", fields)
    assert status == 400
    assert body["field"] == field
    assert (await call(gateway, "GET", "/api/accounts/acme"))[0] == 404


@pytest_twisted.ensureDeferred
async def test_bad_json_is_a_400(gateway: RunningGateway) -> None:
    status, body = await call(gateway, "POST", "/api/accounts", raw=b"{not json")
    assert status == 400 and "JSON" in body["error"]
    status, body = await call(gateway, "POST", "/api/accounts", raw=b"[1, 2]")
    assert status == 400


@pytest_twisted.ensureDeferred
async def test_api_account_survives_a_restart(any_store_gateway_factory: Any) -> None:
    gateway_factory = any_store_gateway_factory
    first = await gateway_factory()
    new = {"system_id": "acme", "password": "s3cretpw", "balance": 7000, "max_binds": 2, "rate_plan": "wholesale"}
    assert (await call(first, "POST", "/api/accounts", new))[0] == 201
    assert (await call(first, "POST", "/api/accounts/acme/topups", {"amount": 500, "reference": "r-1"}))[0] == 201
    await first.service.stopService()

    second = await gateway_factory()
    status, body = await call(second, "GET", "/api/accounts/acme")
    assert status == 200
    assert body["balance"] == 7500 and body["rate_plan"] == "wholesale" and body["settings"]["max_binds"] == 2
    assert await deferToThread(smpp_bind, second.smpp_port, "acme", "s3cretpw") == 0
    # Its opening balance was credited once, not again at the restart.
    status, ledger = await call(second, "GET", "/api/accounts/acme/ledger")
    assert [e["amount"] for e in ledger["entries"]] == [7000, 500]


# ---- money ----------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_topup_credits_once_per_reference(any_store_gateway_factory: Any) -> None:
    gateway = await any_store_gateway_factory()
    status, body = await call(
        gateway, "POST", "/api/accounts/demo/topups", {"amount": 25000, "reference": "BANK-0001", "operator": "li.na"}
    )
    assert status == 201, body
    assert body["balance"] == 1025000
    assert body["entry"]["amount"] == 25000 and body["entry"]["kind"] == "topup"
    assert body["entry"]["operator"] == "li.na"
    assert (await call(gateway, "GET", "/api/accounts/demo"))[1]["balance"] == 1025000

    again = {"amount": 25000, "reference": "BANK-0001"}
    status, body = await call(gateway, "POST", "/api/accounts/demo/topups", again)
    assert status == 409 and body["field"] == "reference"
    status, body = await call(gateway, "POST", "/api/accounts/demo2/topups", again)
    assert status == 409
    assert (await call(gateway, "GET", "/api/accounts/demo"))[1]["balance"] == 1025000
    assert (await call(gateway, "GET", "/api/accounts/demo2"))[1]["balance"] == 1000000


@pytest_twisted.ensureDeferred
async def test_topup_validates_its_fields(gateway: RunningGateway) -> None:
    for amount in (0, -5, 1.5, "100", True, None, 10**13):
        status, body = await call(gateway, "POST", "/api/accounts/demo/topups", {"amount": amount, "reference": "x"})
        assert (status, body["field"]) == (400, "amount"), amount
    status, body = await call(gateway, "POST", "/api/accounts/demo/topups", {"amount": 5})
    assert (status, body["field"]) == (400, "reference")
    status, _ = await call(gateway, "POST", "/api/accounts/nobody/topups", {"amount": 5, "reference": "y"})
    assert status == 404
    assert (await call(gateway, "GET", "/api/accounts/demo"))[1]["balance"] == 1000000


@pytest_twisted.ensureDeferred
async def test_ledger_starts_with_the_opening_balance(any_store_gateway_factory: Any) -> None:
    gateway = await any_store_gateway_factory()
    status, body = await call(gateway, "GET", "/api/accounts/demo/ledger")
    assert status == 200
    (entry,) = body["entries"]
    assert entry["kind"] == "topup" and entry["amount"] == 1000000 and entry["balance_after"] == 1000000
    assert entry["reference"] == "initial-balance:demo"
    assert entry["at"].endswith("+08:00")
    assert (await call(gateway, "GET", "/api/accounts/nobody/ledger"))[0] == 404


# ---- messages, MO, carriers -------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_message_lookup(any_store_gateway_factory: Any) -> None:
    gateway = await any_store_gateway_factory()
    status, body = await call(gateway, "GET", "/api/messages/doesnotexist")
    assert status == 404 and body["error"]

    message_id = await deferToThread(smpp_submit, gateway.smpp_port, "13800138000")

    async def final() -> Any:
        body = (await call(gateway, "GET", f"/api/messages/{message_id}"))[1]
        return body if body["final_at"] else None

    body = await until(final, what="a final state")
    assert body["message_id"] == message_id and body["account"] == "demo"
    assert body["msisdn"] == "8613800138000" and body["carrier"] == body["home_carrier"] == "CMCC"
    assert body["segments"] == 1 and body["price"] == 45 and body["charge"] == 45
    assert body["state"] in {"DELIVRD", "UNDELIV", "REJECTD", "EXPIRED"}
    # A transmitter cannot take receipts: it waits for the client.
    assert body["receipt"] == "queued"
    assert body["submitted_at"].endswith("+08:00")


@pytest_twisted.ensureDeferred
async def test_mo_goes_to_the_owner_of_the_service_number(gateway: RunningGateway) -> None:
    status, body = await call(gateway, "POST", "/api/mo", {"from": "13800138000", "to": "106900001234", "text": "TD"})
    assert status == 202, body
    assert body["account"] == "demo" and isinstance(body["delivery_id"], int)
    assert gateway.service.deliveries.backlog("demo") == 1

    status, body = await call(gateway, "POST", "/api/mo", {"from": "13800138000", "to": "10699999", "text": "hi"})
    assert (status, body["field"]) == (404, "to")
    status, body = await call(gateway, "POST", "/api/mo", {"from": "13800138000", "to": "10690000"})
    assert (status, body["field"]) == (400, "text")
    status, body = await call(gateway, "POST", "/api/mo", {"from": "not a number", "to": "10690000", "text": "x"})
    assert (status, body["field"]) == (400, "from")


@pytest_twisted.ensureDeferred
async def test_carrier_outage_is_switched_and_shown(gateway: RunningGateway) -> None:
    status, body = await call(gateway, "GET", "/api/carriers")
    assert status == 200
    carriers = {c["code"]: c for c in body["carriers"]}
    assert set(carriers) == {"CMCC", "CUCC", "CTCC", "CBN", "INTL"}
    assert carriers["CMCC"]["name"] == "China Mobile" and carriers["CMCC"]["up"] is True
    assert carriers["CMCC"]["queue_depth"] == 0 and "dispatched" in carriers["CMCC"]["stats"]

    status, body = await call(gateway, "POST", "/api/carriers/CMCC/outage", {"down": True})
    assert status == 200 and body["up"] is False
    carriers = {c["code"]: c for c in (await call(gateway, "GET", "/api/carriers"))[1]["carriers"]}
    assert carriers["CMCC"]["up"] is False and carriers["CUCC"]["up"] is True

    status, body = await call(gateway, "POST", "/api/carriers/CMCC/outage", {"down": "yes"})
    assert (status, body["field"]) == (400, "down")
    assert (await call(gateway, "POST", "/api/carriers/VODA/outage", {"down": True}))[0] == 404

    assert (await call(gateway, "POST", "/api/carriers/CMCC/outage", {"down": False}))[1]["up"] is True


# ---- account JSON, without a gateway ------------------------------------------------------------


def test_account_json_round_trips() -> None:
    account = account_from_json(
        {
            "system_id": "acme",
            "password": "pw",
            "balance": 100,
            "bind_types": ["transmitter"],
            "ip_allowlist": ["10.0.0.0/8"],
            "not_after": "2030-01-01T00:00:00+08:00",
            "throughput": 50,
            "billing_unit": "msg",
        }
    )
    assert account.initial_balance == 100 and account.throughput == 50.0
    assert account_from_json(account_to_json(account)) == account


def test_account_json_errors_name_the_field_and_config_errors_keep_their_form() -> None:
    with pytest.raises(FieldError) as caught:
        account_from_json({"system_id": "acme", "password": "pw", "status": "closed"})
    assert caught.value.field == "status" and "active, suspended" in str(caught.value)
    with pytest.raises(FieldError, match="not both"):
        account_from_json({"system_id": "acme", "password": "pw", "balance": 1, "initial_balance": 2})

    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace("max_binds = 8", 'max_binds = "four"', 1)
    with pytest.raises(ConfigError, match=r"^gateway.toml:\d+: accounts.demo.max_binds: must be a whole number, got "):
        parse(text, DEFAULT_CONFIG)


def test_receipt_status_follows_the_message() -> None:
    base = Message(
        message_id="1", account="demo", source_addr="10690000", source_ton=0, source_npi=1,
        destination_addr="13800138000", dest_ton=0, dest_npi=1, msisdn="8613800138000", carrier="CMCC",
        home_carrier="CMCC", segments=1, price=45, charge=45, data_coding=0, esm_class=0, body=b"x",
        registered_delivery=1, submitted_at=0.0, validity_until=None,
    )  # fmt: skip

    assert receipt_status(replace(base, registered_delivery=0), False) == "none"
    assert receipt_status(base, False) == "pending"
    final = replace(base, state=MessageState.DELIVERED, final_at=1.0)
    assert receipt_status(final, True) == "queued"
    assert receipt_status(final, False) == "delivered"
    assert receipt_status(replace(final, registered_delivery=2), False) == "none"  # failure-only
    assert receipt_status(replace(final, state=MessageState.DELETED), False) == "none"
