"""Protocol faults from a scenario's [[fault]] timeline (through the admin API, and given to
`smppgw serve --scenario`), from an account's `faults` table in the configuration, and per bind
type, as real smpplib clients see them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_twisted
from conftest import DEFAULT_CONFIG, config_text
from polling import wait_until
from smpp_helpers import client, submit_and_wait
from test_crash_recovery import ROOT, write_config
from test_reload import _listening as listening
from test_reload import own_config, post_reload, wait_for
from test_rig_scenario import api
from twisted.internet.threads import deferToThread

from smppgw import config as cfg
from smppgw.rig.scenario import parse_scenario

SWITCHING = """
name = "demo-throttled-for-a-while"

[[fault]]
at_s = 0.6
account = "demo"
throttled_percent = 100

[[fault]]
at_s = 2.0
account = "demo"
clear = true
"""


@pytest_twisted.ensureDeferred
async def test_scenario_switches_a_fault_on_and_off(gateway):
    def faults():
        return api(gateway, "GET", "/api/accounts/demo/faults")[1]

    def run():
        c = client(gateway.smpp_port)
        status, body = api(gateway, "POST", "/api/scenario", {"toml": SWITCHING})
        assert status == 201, body
        before = submit_and_wait(c, "13800005555").status
        # The timeline's two instants, awaited on what the gateway shows rather than on the wall clock.
        wait_until(lambda: faults()["faults"], 5, what="the fault at 0.6 s in force")
        during = [submit_and_wait(c, "13800005555").status for _ in range(3)]
        shown = faults()
        running = api(gateway, "GET", "/api/scenario")[1]["scenario"]
        wait_until(lambda: faults()["faults"] is None, 5, what="the fault cleared at 2 s")
        after = submit_and_wait(c, "13800005555").status
        cleared = faults()
        c.unbind()
        c.disconnect()
        return before, during, shown, running, after, cleared

    before, during, shown, running, after, cleared = await deferToThread(run)
    assert running["name"] == "demo-throttled-for-a-while" and running["fault_events"] == 2, running
    assert before == 0
    assert during == [0x58] * 3
    assert shown["faults"]["throttled_percent"] == 100
    assert after == 0 and cleared["faults"] is None


PER_BIND_TYPE = """
[[fault]]
at_s = 0
account = "demo"
bind_type = "transmitter"
msgqful_percent = 100
"""


@pytest_twisted.ensureDeferred
async def test_fault_per_bind_type_and_stopping_the_scenario_restores_the_faults_before(gateway):
    def run():
        tx = client(gateway.smpp_port, mode="tx")
        trx = client(gateway.smpp_port)
        api(gateway, "POST", "/api/accounts/demo/faults", {"syserr_percent": 100})
        assert api(gateway, "POST", "/api/scenario", {"toml": PER_BIND_TYPE})[0] == 201
        wait_until(
            lambda: api(gateway, "GET", "/api/accounts/demo/faults")[1]["bind_types"], 5, what="the scenario's fault"
        )
        during = submit_and_wait(tx, "13800005555").status, submit_and_wait(trx, "13800005555").status
        shown = api(gateway, "GET", "/api/accounts/demo/faults")[1]
        assert api(gateway, "DELETE", "/api/scenario")[0] == 200
        after = submit_and_wait(tx, "13800005555").status, submit_and_wait(trx, "13800005555").status
        restored = api(gateway, "GET", "/api/accounts/demo/faults")[1]
        for c in (tx, trx):
            c.unbind()
            c.disconnect()
        return during, shown, after, restored

    during, shown, after, restored = await deferToThread(run)
    # The transmitter's own fault wins over the account's; the transceiver keeps the account's.
    assert during == (0x14, 0x08)
    assert shown["bind_types"]["transmitter"]["msgqful_percent"] == 100
    assert after == (0x08, 0x08) and restored["bind_types"] == {}


def test_scenario_fault_errors_name_the_entry_and_key():
    with pytest.raises(ValueError, match=r"s\.toml: fault\[0\]\.account: must name an account"):
        parse_scenario("[[fault]]\nat_s = 1\nthrottled_percent = 5\n", "s.toml")
    with pytest.raises(ValueError, match=r"s\.toml: fault\[1\]\.clear: must be true or false"):
        parse_scenario(
            '[[fault]]\nat_s = 1\naccount = "demo"\n[[fault]]\nat_s = 2\naccount = "demo"\nclear = 1\n', "s.toml"
        )
    with pytest.raises(ValueError, match=r"fault\[0\]\.syserr_percent: a fault with clear = true takes only"):
        parse_scenario('[[fault]]\nat_s = 1\naccount = "demo"\nclear = true\nsyserr_percent = 1\n', "s.toml")


@pytest_twisted.ensureDeferred
async def test_scenario_fault_settings_are_validated_when_started(gateway):
    def run():
        bad_value = api(
            gateway,
            "POST",
            "/api/scenario",
            {"toml": '[[fault]]\nat_s = 1\naccount = "demo"\nthrottled_percent = 150\n'},
        )
        bad_account = api(gateway, "POST", "/api/scenario", {"toml": '[[fault]]\nat_s = 1\naccount = "nobody"\n'})
        bad_bind = api(
            gateway, "POST", "/api/scenario", {"toml": '[[fault]]\nat_s = 1\naccount = "demo"\nbind_type = "tx"\n'}
        )
        return bad_value, bad_account, bad_bind

    bad_value, bad_account, bad_bind = await deferToThread(run)
    assert bad_value[0] == 400 and "scenario: fault[0].throttled_percent: must be at most 100" in bad_value[1]["error"]
    assert bad_account[0] == 400 and "fault[0].account: no account 'nobody'" in bad_account[1]["error"]
    assert bad_bind[0] == 400 and "fault[0].bind_type: must be one of transmitter" in bad_bind[1]["error"]


def test_scenario_given_at_start_switches_a_fault_off(tmp_path: Path):
    """`smppgw serve --scenario FILE`: demo's submits are throttled from the start until t = 3 s."""
    config, smpp_port, _ = write_config(tmp_path)
    scenario = tmp_path / "throttled-start.toml"
    scenario.write_text(
        '[[fault]]\nat_s = 0\naccount = "demo"\nthrottled_percent = 100\n\n'
        '[[fault]]\nat_s = 3\naccount = "demo"\nclear = true\n',
        encoding="utf-8",
    )
    log = tmp_path / "gateway.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smppgw", "serve", "--config", str(config), "--scenario", str(scenario)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        wait_for(lambda: listening(smpp_port), log)
        c = client(smpp_port)
        statuses = [submit_and_wait(c, "13800005555").status]
        deadline = time.monotonic() + 15
        while statuses[-1] != 0 and time.monotonic() < deadline:
            time.sleep(0.2)
            statuses.append(submit_and_wait(c, "13800005555").status)
        c.unbind()
        c.disconnect()
    finally:
        proc.terminate()
        proc.wait(10)
    assert statuses[0] == 0x58, log.read_text()
    assert statuses[-1] == 0 and set(statuses[:-1]) == {0x58}


def add_faults(account: str, table: str):
    def edit(text: str) -> str:
        return text + f"\n[accounts.{account}.faults]\n{table}\n"

    return edit


@pytest_twisted.ensureDeferred
async def test_account_faults_from_the_configuration_are_in_force_from_the_start(gateway_factory):
    gw = await gateway_factory(add_faults("demo2", 'bind_type = "transceiver"\nthrottled_percent = 100'))

    def run():
        demo2 = client(gw.smpp_port, "demo2", "demo5678")
        demo = client(gw.smpp_port)
        throttled = submit_and_wait(demo2, "13800005555", source_addr="10690001").status
        other = submit_and_wait(demo, "13800005555").status
        shown = api(gw, "GET", "/api/accounts/demo2/faults")[1]
        assert api(gw, "DELETE", "/api/accounts/demo2/faults")[0] == 200
        cleared = submit_and_wait(demo2, "13800005555", source_addr="10690001").status
        for c in (demo, demo2):
            c.unbind()
            c.disconnect()
        return throttled, other, shown, cleared

    throttled, other, shown, cleared = await deferToThread(run)
    assert throttled == 0x58 and other == 0 and cleared == 0
    assert shown["bind_types"]["transceiver"]["throttled_percent"] == 100


def test_account_faults_errors_name_file_line_and_key(tmp_path: Path):
    store = tmp_path / "state" / "smppgw.db"
    text = config_text(store, overrides=add_faults("demo", "resp_delay_s = 1\nthrottled_percent = 150"))
    line = text.splitlines().index("throttled_percent = 150") + 1
    with pytest.raises(cfg.ConfigError) as err:
        cfg.parse(text, DEFAULT_CONFIG)
    assert str(err.value) == f"gateway.toml:{line}: accounts.demo.faults.throttled_percent: must be at most 100"
    text = config_text(store, overrides=add_faults("demo", "slow_reader = true"))
    with pytest.raises(cfg.ConfigError, match=r"accounts\.demo\.faults\.slow_reader: unknown fault"):
        cfg.parse(text, DEFAULT_CONFIG)
    text = config_text(store, overrides=lambda t: t.replace("[accounts.demo]\n", "[accounts.demo]\nfaults = 5\n"))
    with pytest.raises(cfg.ConfigError, match=r"gateway.toml:\d+: accounts\.demo\.faults: must be a table"):
        cfg.parse(text, DEFAULT_CONFIG)


@pytest_twisted.ensureDeferred
async def test_fixture_scenarios_are_valid(gateway):
    """Every scenario shipped in fixtures/scenarios/ is accepted by the demo configuration."""
    scenarios = sorted((ROOT / "fixtures" / "scenarios").glob("*.toml"))
    assert scenarios
    for path in scenarios:
        run = gateway.service.rig.prepare(path.read_text(encoding="utf-8"), path.name)
        assert run.scenario.events or run.scenario.faults or run.scenario.receipts


@pytest_twisted.ensureDeferred
async def test_reload_applies_a_changed_faults_table_and_scorecard_thresholds(tmp_path: Path, gateway_factory):
    source = own_config(tmp_path)
    store = tmp_path / "state" / "smppgw.db"
    source.write_text(config_text(store), encoding="utf-8")
    gw = await gateway_factory(source=source)
    c = await deferToThread(client, gw.smpp_port)
    try:
        assert (await deferToThread(submit_and_wait, c, "13800005555")).status == 0
        edit = add_faults("demo", "msgqful_percent = 100")
        source.write_text(edit(config_text(store)).replace("window = 10 ", "window = 4 ", 1), encoding="utf-8")
        status, report = await deferToThread(post_reload, gw)
        assert status == 200, report
        assert report["accounts_updated"] == ["demo"] and "scorecard" not in report["restart_needed"]
        assert (await deferToThread(submit_and_wait, c, "13800005555")).status == 0x14  # the same bind
        assert gw.service.rig.scorecards.rules.window == 4
        source.write_text(config_text(store), encoding="utf-8")
        status, report = await deferToThread(post_reload, gw)
        assert status == 200, report
        assert (await deferToThread(submit_and_wait, c, "13800005555")).status == 0
    finally:
        await deferToThread(c.unbind)
        c.disconnect()


@pytest_twisted.ensureDeferred
async def test_account_created_through_the_api_with_faults_has_them_at_once(gateway):
    def run():
        new = {"system_id": "acme", "password": "pw123456", "balance": 5000, "source_addrs": ["10690099"]}
        bad = api(gateway, "POST", "/api/accounts", {**new, "faults": {"syserr_percent": 101}})
        status, body = api(gateway, "POST", "/api/accounts", {**new, "faults": {"syserr_percent": 100}})
        assert status == 201, body
        c = client(gateway.smpp_port, "acme", "pw123456")
        answer = submit_and_wait(c, "13800005555", source_addr="10690099").status
        shown = api(gateway, "GET", "/api/accounts/acme/faults")[1]
        c.unbind()
        c.disconnect()
        return bad, shown, answer

    bad, shown, answer = await deferToThread(run)
    assert bad[0] == 400 and bad[1]["field"] == "syserr_percent" and "at most 100" in bad[1]["error"]
    assert shown["faults"]["syserr_percent"] == 100
    assert answer == 0x08
