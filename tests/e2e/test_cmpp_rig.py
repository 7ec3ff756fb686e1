"""The test rig on CMPP sessions: an account's faults, a scenario's faults and carrier throttles,
and the per-session scorecard, as a real socket client of the CMPP listener sees them."""

from __future__ import annotations

import time

import pytest_twisted
from cmpp_socket_client import logged_in, submit
from test_cli_admin import conn, run_cli
from test_rig_scenario import api
from twisted.internet.threads import deferToThread

from smppgw.cmpp import packets as pk
from smppgw.cmpp.constants import Result
from smppgw.config.rig import SettingError, faults_from_dict

DEMO_SRC = "900001"


def cmpp_session_ids(gw) -> list[int]:
    return [s["id"] for s in api(gw, "GET", "/api/sessions")[1]["sessions"] if s["protocol"] == "cmpp"]


def ended_scorecard(gw, session_id: int) -> dict:
    deadline = time.monotonic() + 5
    while True:
        status, card = api(gw, "GET", f"/api/sessions/{session_id}/scorecard")
        assert status == 200, card
        if not card["open"] or time.monotonic() > deadline:
            return card
        time.sleep(0.05)


@pytest_twisted.ensureDeferred
async def test_an_accounts_faults_answer_cmpp_submits_with_the_chosen_result_uncharged(gateway):
    before = gateway.service.wallets["demo"].balance

    def run():
        c = logged_in(gateway.cmpp_port)
        out = {}
        for name, faults in (
            ("chosen", {"cmpp_result_percent": 100, "cmpp_result": 13}),
            ("throttled", {"throttled_percent": 100}),
            ("syserr", {"syserr_percent": 100}),
        ):
            assert api(gateway, "POST", "/api/accounts/demo/faults", faults)[0] == 200
            out[name] = [c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",)).result for _ in range(3)]
        assert api(gateway, "DELETE", "/api/accounts/demo/faults")[0] == 200
        out["cleared"] = [c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",)).result]
        c.terminate()
        return out

    out = await deferToThread(run)
    assert out == {"chosen": [13] * 3, "throttled": [8] * 3, "syserr": [107] * 3, "cleared": [0]}
    assert before - gateway.service.wallets["demo"].balance == 45  # only the last one was charged


@pytest_twisted.ensureDeferred
async def test_delayed_and_dropped_submit_resp_and_the_gateway_ending_the_session(gateway):
    def run():
        api(gateway, "POST", "/api/accounts/demo/faults", {"resp_delay_s": 1.0})
        c = logged_in(gateway.cmpp_port)
        started = time.monotonic()
        delayed = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",), registered_delivery=0)
        waited = time.monotonic() - started
        api(gateway, "POST", "/api/accounts/demo/faults", {"drop_resp_percent": 100})
        seq = c.send_submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138001",), registered_delivery=1)
        try:
            c.wait_for(pk.SubmitResp, seq, timeout=1.5)
            dropped = False
        except AssertionError:
            dropped = True
        [report] = c.reports(1)  # accepted all the same: its report comes, under a Msg_Id never sent
        c.close()
        api(gateway, "POST", "/api/accounts/demo/faults", {"unbind_after_s": 0.3})
        t = logged_in(gateway.cmpp_port)
        terminate = t.wait_for(pk.Terminate, timeout=5)
        t.send(pk.TerminateResp(sequence_id=terminate.sequence_id))
        t.close()
        api(gateway, "POST", "/api/accounts/demo/faults", {"cmpp_drop_after_s": 0.3})
        d = logged_in(gateway.cmpp_port)
        gone = d.read_packet(5) is None and d.closed
        api(gateway, "DELETE", "/api/accounts/demo/faults")
        return delayed, waited, dropped, report, gone

    delayed, waited, dropped, report, gone = await deferToThread(run)
    assert delayed.result == 0 and waited >= 0.9
    assert dropped and report.stat == "DELIVRD" and report.dest_terminal_id == "13800138001"
    assert gone


def test_cmpp_fault_keys_are_validated_by_name():
    assert faults_from_dict({"cmpp_result_percent": 50, "cmpp_result": 9}, "f").cmpp_result == 9
    for settings, key in (
        ({"cmpp_result_percent": 50}, "cmpp_result"),
        ({"cmpp_result": 300}, "cmpp_result"),
        ({"cmpp_result": 1.5}, "cmpp_result"),
        ({"cmpp_result_percent": 101, "cmpp_result": 9}, "cmpp_result_percent"),
        ({"cmpp_drop_after_s": -1}, "cmpp_drop_after_s"),
    ):
        try:
            faults_from_dict(settings, "f")
        except SettingError as err:
            assert err.key == key, settings
        else:
            raise AssertionError(f"{settings} accepted")


SCENARIO = """
name = "cmpp-evening"

[[event]]
at_s = 0
carrier = "CMCC"
throttle_above = 1

[[fault]]
at_s = 0
account = "demo2"
cmpp_result_percent = 100
cmpp_result = 9
"""


@pytest_twisted.ensureDeferred
async def test_a_scenario_throttles_a_carrier_and_sets_faults_on_cmpp_sessions(gateway):
    def run():
        status, body = api(gateway, "POST", "/api/scenario", {"toml": SCENARIO})
        assert status == 201, body
        time.sleep(0.2)  # the scenario's events at 0 s run on the gateway's next turn
        demo = logged_in(gateway.cmpp_port)
        mobile = [demo.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",)).result for _ in range(4)]
        telecom = demo.submit(msg_src=DEMO_SRC, dest_terminal_ids=("18900138000",)).result
        demo2 = logged_in(gateway.cmpp_port, account="demo2")
        faulted = demo2.submit(msg_src="900002", dest_terminal_ids=("13800138000",)).result
        api(gateway, "DELETE", "/api/scenario")
        after = demo2.submit(msg_src="900002", dest_terminal_ids=("13800138000",)).result
        demo.terminate()
        demo2.terminate()
        return mobile, telecom, faulted, after

    mobile, telecom, faulted, after = await deferToThread(run)
    assert mobile.count(Result.FLOW_CONTROL) >= 2 and mobile[0] == 0  # 1 msg/s to China Mobile
    assert telecom == 0  # China Telecom is not throttled
    assert faulted == 9 and after == 0  # the scenario's fault ends with it


@pytest_twisted.ensureDeferred
async def test_the_scorecard_grades_cmpp_sessions_in_cmpp_terms(gateway, capsys):
    def run():
        before = set(cmpp_session_ids(gateway))
        good = logged_in(gateway.cmpp_port)
        good.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",), registered_delivery=0)
        (good_id,) = set(cmpp_session_ids(gateway)) - before
        listed = run_cli(["session", "list", *conn(gateway)])
        good.terminate()
        bad = logged_in(gateway.cmpp_port)
        (bad_id,) = set(cmpp_session_ids(gateway)) - before - {good_id}
        api(gateway, "POST", "/api/accounts/demo/faults", {"throttled_percent": 100})
        seqs = bad.send_together(
            [submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",), registered_delivery=0) for _ in range(40)]
        )  # 40 in one write, the window is 16, and every one is throttled
        results = [bad.wait_for(pk.SubmitResp, s).result for s in seqs]
        for _ in range(20):  # and it keeps sending, ignoring Result 8
            bad.wait_for(pk.SubmitResp, bad.send_submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",)))
        live = api(gateway, "GET", f"/api/sessions/{bad_id}/scorecard")[1]
        bad.close()  # without TERMINATE
        api(gateway, "DELETE", "/api/accounts/demo/faults")
        good_card = ended_scorecard(gateway, good_id)
        printed = run_cli(["session", "scorecard", str(good_id), *conn(gateway)])
        return good_id, bad_id, results, live, good_card, ended_scorecard(gateway, bad_id), listed + printed

    good_id, bad_id, results, live, good, bad, codes = await deferToThread(run)
    out = capsys.readouterr().out
    assert codes == 0
    [row] = [line.split() for line in out.splitlines() if line.split()[-1:] == [str(good_id)]]
    assert row[:2] == ["demo", "cmpp"]  # session list: ACCOUNT BIND ... ID
    assert f"session {good_id} (demo from 127.0.0.1:" in out and "clean, terminated by the client" in out
    assert isinstance(good_id, int) and isinstance(bad_id, int)
    assert set(results) == {Result.FLOW_CONTROL}
    assert live["open"] and live["protocol"] == "cmpp" and live["account"] == "demo"
    assert good["clean"] and good["ending"] == "terminated by the client", good
    assert good["counts"]["submits"] == 1 and good["rules"]["window"] == 16
    faults = "\n".join(bad["faults"])
    assert bad["counts"]["window_overruns"] >= 1 and "beyond a window of 16" in faults
    assert bad["counts"]["throttled"] == 60 and "ignored throttling" in faults and "Result 8" in faults
    assert "TERMINATE etiquette: closed without TERMINATE" in faults
