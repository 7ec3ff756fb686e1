"""Receipt shapes that break clients, switched on an account through the admin API, as a real
smpplib client sees them."""

from __future__ import annotations

import pytest_twisted
import smpplib.exceptions
from smpp_helpers import answer, client, read_receipts, receipt_fields, submit_and_wait
from test_rig_scenario import api
from twisted.internet.threads import deferToThread

# Destinations with a fixed outcome after a fixed delay, so the order receipts are made in is known.
TIMED_RULES = """
[[scenario]]
pattern = "0011"
state = "DELIVRD"
delay_s = 0.1

[[scenario]]
pattern = "0012"
state = "DELIVRD"
delay_s = 0.4

[[scenario]]
pattern = "0013"
state = "DELIVRD"
delay_s = 0.7
"""


def with_timed_rules(text: str) -> str:
    return text + TIMED_RULES


def send_parts(c, destination: str, parts: int = 3) -> list[str]:
    """A long message as UDH parts (8-bit reference); the message ids of its parts in order."""
    ids = []
    for n in range(1, parts + 1):
        udh = bytes([5, 0, 3, 0x2A, parts, n])
        resp = submit_and_wait(c, destination, udh + b"part %d" % n, esm_class=0x40, registered_delivery=1)
        assert resp.status == 0
        ids.append(resp.message_id.decode())
    return ids


def raw_pdus(c, wanted: int, timeout: float = 5.0) -> list:
    """Every PDU that arrives until ``wanted`` deliveries came (answering each) or the time is up."""
    c._socket.settimeout(timeout)
    got = []
    try:
        while sum(pdu.command in ("deliver_sm", "data_sm") for pdu in got) < wanted:
            pdu = c.read_pdu()
            got.append(pdu)
            if pdu.command in ("deliver_sm", "data_sm"):
                answer(c, pdu, pdu.command + "_resp")
    except (TimeoutError, smpplib.exceptions.ConnectionError):
        pass
    return got


@pytest_twisted.ensureDeferred
async def test_receipts_for_only_the_last_or_first_part_with_carrier_codes(gateway):
    def run():
        c = client(gateway.smpp_port)
        status, shown = api(gateway, "POST", "/api/accounts/demo/receipts", {"parts": "last", "err": "carrier"})
        assert status == 200, shown
        last_ids = send_parts(c, "13800000000")  # always UNDELIV, carrier code MK:0001
        last = read_receipts(c, 2, timeout=4)
        api(gateway, "POST", "/api/accounts/demo/receipts", {"parts": "first"})
        first_ids = send_parts(c, "13800001000")
        first = read_receipts(c, 2, timeout=4)
        backlog = gateway.service.deliveries.backlog("demo")
        bad = api(gateway, "POST", "/api/accounts/demo/receipts", {"parts": "middle"})
        c.unbind()
        c.disconnect()
        return last_ids, last, first_ids, first, backlog, bad

    last_ids, last, first_ids, first, backlog, bad = await deferToThread(run)
    assert [receipt_fields(r)["id"] for r in last] == [last_ids[-1]]
    assert receipt_fields(last[0])["err"] == "MK:0001"  # the carrier's code, not 3 digits
    assert [receipt_fields(r)["id"] for r in first] == [first_ids[0]]
    assert backlog == 0  # the parts never told about are settled, not retried
    assert bad[0] == 400 and "receipts.parts" in bad[1]["error"]


@pytest_twisted.ensureDeferred
async def test_duplicate_receipts_as_data_sm(gateway):
    def run():
        c = client(gateway.smpp_port)
        api(gateway, "POST", "/api/accounts/demo/receipts", {"duplicates": 1, "pdu": "data_sm"})
        resp = submit_and_wait(c, "13800000000", registered_delivery=1)
        got = raw_pdus(c, 2)
        c.disconnect()
        return resp.message_id.decode(), got

    message_id, got = await deferToThread(run)
    data = [pdu for pdu in got if pdu.command == "data_sm"]
    assert len(data) == 2 and not [pdu for pdu in got if pdu.command == "deliver_sm"]
    assert data[0].sequence != data[1].sequence
    for pdu in data:
        assert pdu.receipted_message_id.rstrip(b"\0").decode() == message_id
        assert f"id:{message_id} ".encode() in pdu.message_payload


@pytest_twisted.ensureDeferred
async def test_receipts_out_of_order(gateway_factory):
    gw = await gateway_factory(with_timed_rules)

    def run():
        c = client(gw.smpp_port)
        api(gw, "POST", "/api/accounts/demo/receipts", {"out_of_order": 3})
        ids = [submit_and_wait(c, f"1380000{n}", registered_delivery=1).message_id.decode() for n in (11, 12, 13)]
        got = read_receipts(c, 3, timeout=5)
        c.disconnect()
        return ids, got

    ids, got = await deferToThread(run)
    # Made in the order 0011, 0012, 0013 (by their delays); sent newest first.
    assert [receipt_fields(r)["id"] for r in got] == ids[::-1]


@pytest_twisted.ensureDeferred
async def test_receipt_before_its_submit_sm_resp(gateway_factory):
    gw = await gateway_factory(with_timed_rules)

    def run():
        c = client(gw.smpp_port)
        api(gw, "POST", "/api/accounts/demo/receipts", {"before_resp": True})
        c.send_message(
            source_addr="10690000",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="13800000011",
            short_message=b"x",
            registered_delivery=1,
        )
        got = raw_pdus(c, 1)
        got += [c.read_pdu()]
        c.disconnect()
        return got

    got = await deferToThread(run)
    assert [pdu.command for pdu in got] == ["deliver_sm", "submit_sm_resp"]
    assert receipt_fields(got[0])["id"] == got[1].message_id.decode()


SCENARIO = """
name = "receipts-as-data-sm"

[[receipts]]
at_s = 0
account = "demo"
pdu = "data_sm"
"""


@pytest_twisted.ensureDeferred
async def test_receipt_shape_from_a_scenario_rule_until_it_stops(gateway):
    def run():
        c = client(gateway.smpp_port)
        bad = api(gateway, "POST", "/api/scenario", {"toml": SCENARIO.replace('"demo"', '"nobody"')})
        unknown = api(gateway, "POST", "/api/scenario", {"toml": SCENARIO.replace("pdu", "colour")})
        assert api(gateway, "POST", "/api/scenario", {"toml": SCENARIO})[0] == 201
        submit_and_wait(c, "13800000000", registered_delivery=1)
        during = [pdu.command for pdu in raw_pdus(c, 1)]
        assert api(gateway, "DELETE", "/api/scenario")[0] == 200
        submit_and_wait(c, "13800000000", registered_delivery=1)
        after = [pdu.command for pdu in raw_pdus(c, 1)]
        c.disconnect()
        return bad, unknown, during, after

    bad, unknown, during, after = await deferToThread(run)
    assert bad[0] == 400 and "receipts[0].account: no account 'nobody'" in bad[1]["error"]
    assert unknown[0] == 400 and "receipts[0].colour: unknown receipt shape" in unknown[1]["error"]
    assert during == ["data_sm"]
    assert after == ["deliver_sm"]
