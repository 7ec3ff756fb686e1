"""Protocol faults injected on an account's binds through the admin API, as a real smpplib
client sees them."""

from __future__ import annotations

import time

import pytest_twisted
import smpplib.exceptions
from smpp_helpers import client
from test_rig_scenario import api
from twisted.internet.threads import deferToThread


def send(c, destination: str = "13800005555"):
    return c.send_message(
        source_addr="10690000", dest_addr_ton=1, dest_addr_npi=1, destination_addr=destination, short_message=b"x"
    )


def next_answer(c, timeout: float = 5.0):
    """The next submit_sm_resp or generic_nack (answering anything else), or None on timeout."""
    c._socket.settimeout(timeout)
    try:
        while True:
            pdu = c.read_pdu()
            if pdu.command in ("submit_sm_resp", "generic_nack", "unbind"):
                return pdu
    except (TimeoutError, smpplib.exceptions.ConnectionError):
        return None


@pytest_twisted.ensureDeferred
async def test_error_shares_and_generic_nack_burst(gateway):
    def run():
        c = client(gateway.smpp_port)
        assert api(gateway, "POST", "/api/accounts/demo/faults", {"throttled_percent": 100})[0] == 200
        throttled = []
        for _ in range(5):
            send(c)
            throttled.append(next_answer(c).status)
        api(gateway, "POST", "/api/accounts/demo/faults", {"msgqful_percent": 50, "syserr_percent": 50})
        mixed = []
        for _ in range(20):
            send(c)
            mixed.append(next_answer(c).status)
        api(gateway, "POST", "/api/accounts/demo/faults", {"generic_nack_burst": 2})
        burst = []
        for _ in range(3):
            send(c)
            pdu = next_answer(c)
            burst.append((pdu.command, pdu.status))
        _, shown = api(gateway, "GET", "/api/accounts/demo/faults")
        assert api(gateway, "DELETE", "/api/accounts/demo/faults")[0] == 200
        send(c)
        clean = next_answer(c).status
        bad = api(gateway, "POST", "/api/accounts/demo/faults", {"throttled_percent": 150})
        c.unbind()
        c.disconnect()
        return throttled, mixed, burst, shown, clean, bad

    throttled, mixed, burst, shown, clean, bad = await deferToThread(run)
    assert throttled == [0x58] * 5
    assert set(mixed) == {0x14, 0x08}
    assert burst == [("generic_nack", 0x08), ("generic_nack", 0x08), ("submit_sm_resp", 0)]
    assert shown["faults"]["generic_nack_burst"] == 2
    assert clean == 0
    assert bad[0] == 400 and "faults.throttled_percent" in bad[1]["error"]


@pytest_twisted.ensureDeferred
async def test_delayed_and_dropped_submit_sm_resp(gateway):
    def run():
        c = client(gateway.smpp_port)
        api(gateway, "POST", "/api/accounts/demo/faults", {"resp_delay_s": 0.6})
        started = time.monotonic()
        send(c)
        delayed = next_answer(c)
        waited = time.monotonic() - started
        api(gateway, "POST", "/api/accounts/demo/faults", {"drop_resp_percent": 100})
        before = gateway.service.gateway.submitted
        send(c)
        dropped = next_answer(c, timeout=1.0)
        accepted = gateway.service.gateway.submitted - before
        c.disconnect()
        return delayed, waited, dropped, accepted

    delayed, waited, dropped, accepted = await deferToThread(run)
    assert delayed.status == 0 and waited >= 0.6
    assert dropped is None  # never answered ...
    assert accepted == 1  # ... though the gateway took the message


@pytest_twisted.ensureDeferred
async def test_gateway_initiated_unbind(gateway):
    def run():
        c = client(gateway.smpp_port)
        api(gateway, "POST", "/api/accounts/demo/faults", {"unbind_after_s": 0.2})
        pdu = next_answer(c, timeout=5)
        c.disconnect()
        return pdu

    pdu = await deferToThread(run)
    assert pdu is not None and pdu.command == "unbind"
