"""Account settings as a partner sees them over SMPP: throughput, address allowlist, contract
term, bind limits, message-count packages, failover, receipts resent, replace_sm."""

from __future__ import annotations

import pytest
import pytest_twisted
import smpplib.exceptions
from polling import until
from smpp_helpers import Raw, client, read_receipts, receipt_fields, submit_and_wait
from twisted.internet.threads import deferToThread

from smppgw import config as cfg
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S

DEMO2 = "[accounts.demo2]\n"


def drop_key(text: str, key: str, after: str) -> str:
    """Remove ``key = ...`` from the table that starts at ``after`` (so a test can set it again)."""
    start = text.index(after)
    end = text.index("\n[", start + 1) if "\n[" in text[start + 1 :] else len(text)
    block = "\n".join(line for line in text[start:end].split("\n") if not line.startswith(key + " ="))
    return text[:start] + block + text[end:]


def demo2_settings(**settings: str):
    def edit(text: str) -> str:
        for key in settings:
            text = drop_key(text, key, DEMO2)
        return text.replace(DEMO2, DEMO2 + "".join(f"{k} = {v}\n" for k, v in settings.items()), 1)

    return edit


def bind_status(port: int, system_id: str, password: str) -> int:
    raw = Raw(port)
    status = raw.bind(system_id, password).command_status
    raw.close()
    return status


@pytest_twisted.ensureDeferred
async def test_throughput_limit_answers_throttled(gateway_factory):
    gw = await gateway_factory(demo2_settings(throughput="5"))

    def run():
        c = client(gw.smpp_port, "demo2", "demo5678")
        statuses = [submit_and_wait(c, "13900128888", source_addr="10690001").status for _ in range(12)]
        c.unbind()
        return statuses

    statuses = await deferToThread(run)
    assert statuses[:5] == [0] * 5  # one second's worth passes at once
    assert S.ESME_RTHROTTLED in statuses[5:]


@pytest_twisted.ensureDeferred
async def test_ip_allowlist_contract_term_and_bind_limit(gateway_factory):
    gw = await gateway_factory(demo2_settings(ip_allowlist='["10.1.2.0/24"]'))
    assert await deferToThread(bind_status, gw.smpp_port, "demo2", "demo5678") == S.ESME_RBINDFAIL
    await gw.service.stopService()

    gw = await gateway_factory(demo2_settings(not_after='"2020-01-01T00:00:00+08:00"'))
    assert await deferToThread(bind_status, gw.smpp_port, "demo2", "demo5678") == S.ESME_RBINDFAIL
    await gw.service.stopService()

    gw = await gateway_factory(demo2_settings(max_binds="2"))

    def three_binds():
        first, second = Raw(gw.smpp_port), Raw(gw.smpp_port)
        statuses = [first.bind("demo2", "demo5678").command_status, second.bind("demo2", "demo5678").command_status]
        statuses.append(bind_status(gw.smpp_port, "demo2", "demo5678"))
        first.send(p.Unbind(sequence_number=2))
        first.read()
        first.closed()
        statuses.append(bind_status(gw.smpp_port, "demo2", "demo5678"))  # a freed place is taken again
        return statuses

    assert await deferToThread(three_binds) == [S.ESME_ROK, S.ESME_ROK, S.ESME_RBINDFAIL, S.ESME_ROK]


@pytest_twisted.ensureDeferred
async def test_message_count_package_draws_one_per_segment(gateway_factory):
    gw = await gateway_factory(demo2_settings(billing_unit='"msg"', initial_balance="3"))

    def run():
        c = client(gw.smpp_port, "demo2", "demo5678")
        one = submit_and_wait(c, "13900128888", source_addr="10690001").status
        two_parts = submit_and_wait(c, "13900128888", text=b"", source_addr="10690001", message_payload=b"x" * 200)
        refused = submit_and_wait(c, "13900128888", source_addr="10690001").status
        c.unbind()
        return one, two_parts.status, refused

    assert await deferToThread(run) == (0, 0, S.SMPPGW_RNOBALANCE)
    assert gw.service.wallets["demo2"].balance == 0


@pytest_twisted.ensureDeferred
async def test_carrier_outage_fails_over_to_the_secondary(gateway):
    gateway.service.carriers["CMCC"].set_down(True)

    def run():
        c = client(gateway.smpp_port)
        resp = submit_and_wait(c, "13900128888")
        c.unbind()
        return resp.message_id.decode()

    message_id = await deferToThread(run)
    message = gateway.service.gateway.find(message_id)
    assert message.home_carrier == "CMCC" and message.carrier == "CUCC"


@pytest_twisted.ensureDeferred
async def test_refused_receipt_is_resent(gateway_factory):
    gw = await gateway_factory(lambda t: t.replace("receipt_retry_interval = 10", "receipt_retry_interval = 0.2"))

    def run():
        c = client(gw.smpp_port)
        message_id = submit_and_wait(c, "13800000000", registered_delivery=1).message_id.decode()
        c._socket.settimeout(5)
        first = c.read_pdu()
        while first.command != "deliver_sm":
            first = c.read_pdu()
        refuse = smpplib.smpp.make_pdu("deliver_sm_resp", client=c, status=S.ESME_RX_T_APPN)
        refuse.sequence = first.sequence
        c.send_pdu(refuse)
        again = read_receipts(c, 1, timeout=5)
        c.unbind()
        return message_id, first, again

    message_id, first, again = await deferToThread(run)
    assert receipt_fields(first)["id"] == message_id
    assert [receipt_fields(r)["id"] for r in again] == [message_id]
    await until(lambda: gw.service.deliveries.backlog("demo") == 0)


@pytest_twisted.ensureDeferred
async def test_replace_sm_changes_a_waiting_message(gateway):
    def run():
        raw = Raw(gateway.smpp_port)  # smpplib cannot build replace_sm: our own codec on a raw socket
        raw.bind()
        raw.send(p.SubmitSm(sequence_number=2, source_addr="10690000", destination_addr="13900000003",
                            short_message=b"first text"))  # fmt: skip
        message_id = raw.read().message_id  # DELIVRD after 10 s: still waiting at the carrier
        raw.send(p.ReplaceSm(sequence_number=3, message_id=message_id, source_addr="10690000", short_message=b"second"))
        resp = raw.read()
        raw.send(p.ReplaceSm(sequence_number=4, message_id="nope", source_addr="10690000", short_message=b"x"))
        unknown = raw.read()
        return message_id, resp.command_status, unknown.command_status

    message_id, status, unknown = await deferToThread(run)
    assert status == 0 and unknown == S.ESME_RINVMSGID
    assert gateway.service.gateway.find(message_id).body == b"second"


@pytest_twisted.ensureDeferred
async def test_intermediate_notification_when_asked(gateway):
    def run():
        c = client(gateway.smpp_port)
        submit_and_wait(c, "13800000000", registered_delivery=0x11)
        got = read_receipts(c, 2, timeout=10)
        c.unbind()
        return got

    got = await deferToThread(run)
    assert [receipt_fields(r)["stat"] for r in got] == ["ENROUTE", "UNDELIV"]
    assert got[0].esm_class & 0x20 and got[1].esm_class & 0x04


def test_config_errors_name_file_line_and_key(tmp_path):
    text = (cfg.default_config_path()).read_text(encoding="utf-8").replace("max_binds = 8", "max_binds = 0", 1)
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, cfg.default_config_path())
    message = str(err.value)
    assert message.startswith("gateway.toml:")
    assert "accounts.demo.max_binds" in message
    line = int(message.split(":")[1])
    assert "max_binds = 0" in text.splitlines()[line - 1]


@pytest_twisted.ensureDeferred
async def test_scheduled_outage_fails_over_then_ends(gateway_factory):
    gw = await gateway_factory(lambda t: t + '\n[[outage]]\ncarrier = "CMCC"\nstart_after_s = 0\nduration_s = 0.5\n')
    await until(lambda: not gw.service.carriers["CMCC"].is_up)

    def one():
        c = client(gw.smpp_port)
        message_id = submit_and_wait(c, "13900128888").message_id.decode()
        c.unbind()
        return message_id

    during = gw.service.gateway.find(await deferToThread(one))
    await until(lambda: gw.service.carriers["CMCC"].is_up)
    after = gw.service.gateway.find(await deferToThread(one))
    assert (during.carrier, after.carrier) == ("CUCC", "CMCC")


def test_outage_needs_a_known_carrier_and_one_start():
    base = cfg.default_config_path().read_text(encoding="utf-8")
    with pytest.raises(cfg.ConfigError, match=r"outage\[0\]\.start"):
        cfg.parse(base + '\n[[outage]]\ncarrier = "CMCC"\nduration_s = 5\n', cfg.default_config_path())
