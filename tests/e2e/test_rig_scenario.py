"""Scenario timelines: timed carrier events started through the admin API or with the gateway,
reproducible by seed, seen by a real smpplib client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import pytest_twisted
from conftest import start_gateway
from polling import wait_until
from smpp_helpers import client, read_receipts, receipt_fields, submit_and_wait
from twisted.internet.threads import deferToThread

from smppgw.rig.scenario import p99_from_p95, parse_scenario

TOKEN = "demo-admin-token"

CHAOS = """
name = "mobile-chaos"
seed = {seed}

[[event]]
at_s = 0
carrier = "CMCC"
outcomes = {{ DELIVRD = 50, UNDELIV = 30, REJECTD = 20 }}
loss_percent = 20
receipt_median_ms = 30
receipt_p99_ms = 200
default_validity_s = 1
"""


def api(gw, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        gw.admin_url + path, data=data, method=method, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


NUMBERS = [f"138{i:04d}5{i % 7}{i % 3}{i % 5}" for i in range(40)]


def outcomes_of_run(gw, seed: int) -> list[str]:
    status, body = api(gw, "POST", "/api/scenario", {"toml": CHAOS.format(seed=seed)})
    assert status == 201, body
    c = client(gw.smpp_port)
    ids = []
    for number in NUMBERS:
        resp = submit_and_wait(c, number, registered_delivery=1)
        assert resp.status == 0
        ids.append(resp.message_id.decode())
    receipts = read_receipts(c, len(ids), timeout=20)
    c.unbind()
    c.disconnect()
    stat = {receipt_fields(r)["id"]: receipt_fields(r)["stat"] + "/" + receipt_fields(r)["err"] for r in receipts}
    return [stat.get(i, "none") for i in ids]


@pytest_twisted.ensureDeferred
async def test_same_seed_and_scenario_give_the_same_per_message_outcomes(tmp_path: Path):
    runs = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        gw = await start_gateway(tmp_path / name)
        try:
            runs.append(await deferToThread(outcomes_of_run, gw, seed))
        finally:
            await gw.service.stopService()
    first, again, other = runs
    assert "none" not in first
    # The scripted mix is in force (not the demo's 96 % DELIVRD), lost messages EXPIRE after 1 s.
    assert {o.split("/")[0] for o in first} >= {"DELIVRD", "UNDELIV", "REJECTD", "EXPIRED"}
    assert first == again
    assert first != other


TIMELINE = """
name = "unicom-throttles-telecom-down"

[[event]]
at_s = 0
carrier = "CUCC"
throttle_above = 5

[[event]]
at_s = 0
carrier = "CTCC"
down = true

[[event]]
at_s = 1.0
carrier = "CUCC"
recover = true

[[event]]
at_s = 1.0
carrier = "CTCC"
recover = true
"""


@pytest_twisted.ensureDeferred
async def test_timeline_throttles_a_carrier_takes_another_down_then_recovers(gateway):
    def run():
        status, body = api(gateway, "POST", "/api/scenario", {"toml": TIMELINE})
        assert status == 201, body
        c = client(gateway.smpp_port)
        telecom_down = submit_and_wait(c, "18900005555")  # China Telecom is down: fails over to Unicom
        throttled = [submit_and_wait(c, "13000005555").status for _ in range(20)]  # China Unicom
        # The events at 1 s: awaited on the scenario's own count, not on the wall clock.
        wait_until(lambda: api(gateway, "GET", "/api/scenario")[1]["scenario"]["applied"] == 4, 5, what="recovery")
        after = [submit_and_wait(c, "13000005555").status for _ in range(10)]
        telecom_up = submit_and_wait(c, "18900005555")
        _, state = api(gateway, "GET", "/api/scenario")
        c.unbind()
        c.disconnect()
        return telecom_down, throttled, after, telecom_up, state

    telecom_down, throttled, after, telecom_up, state = await deferToThread(run)
    assert throttled.count(0x58) >= 10 and throttled.count(0) >= 4  # a burst of 5 a second, then ESME_RTHROTTLED
    assert after == [0] * 10  # recovered
    find = gateway.service.gateway.find
    assert find(telecom_down.message_id.decode()).carrier == "CUCC"
    assert find(telecom_up.message_id.decode()).carrier == "CTCC"
    assert state["scenario"]["applied"] == 4


@pytest_twisted.ensureDeferred
async def test_scenario_errors_name_the_event_and_key_and_delete_restores(gateway):
    def run():
        bad_carrier = api(gateway, "POST", "/api/scenario", {"toml": '[[event]]\nat_s = 1\ncarrier = "XX"\n'})
        bad_value = api(
            gateway, "POST", "/api/scenario", {"toml": '[[event]]\nat_s = 1\ncarrier = "CMCC"\nloss_percent = 200\n'}
        )
        nothing = api(gateway, "DELETE", "/api/scenario")
        return bad_carrier, bad_value, nothing

    bad_carrier, bad_value, nothing = await deferToThread(run)
    assert bad_carrier[0] == 400 and "event[0].carrier" in bad_carrier[1]["error"]
    assert bad_value[0] == 400 and "event[0]" in bad_value[1]["error"] and "loss_percent" in bad_value[1]["error"]
    assert nothing[0] == 404


def test_parse_p95_and_unknown_keys():
    scenario = parse_scenario(
        '[[event]]\nat_s = 5\ncarrier = "cucc"\nreceipt_median_ms = 1000\nreceipt_p95_ms = 20000\n', "s.toml"
    )
    (event,) = scenario.events
    assert event.carrier == "CUCC" and event.overrides["receipt_p99_ms"] == pytest.approx(p99_from_p95(1000, 20000))
    assert p99_from_p95(1000, 20000) > 20000
    with pytest.raises(ValueError, match=r"s.toml: event\[0\].receipt_p95_ms: needs receipt_median_ms"):
        parse_scenario('[[event]]\nat_s = 5\ncarrier = "CUCC"\nreceipt_p95_ms = 20000\n', "s.toml")
    with pytest.raises(ValueError, match=r"s\.toml: events: unknown key"):
        parse_scenario("[[events]]\nat_s = 1\n", "s.toml")
