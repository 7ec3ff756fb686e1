"""The pure decisions behind the faults real carriers have: stale binds, the congestion_state
figure, per-bind outcome draws, and the settings that switch them on (named by key and line)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smppgw.carriers.model import bind_rng
from smppgw.config import ConfigError, parse
from smppgw.config.accounts import account_from_json, account_settings, account_to_json
from smppgw.config.rig import OutbindTarget, SettingError, faults_from_dict, faults_to_dict, outbind_from_dict
from smppgw.rig.congestion import Load, bucket_tokens_at, congestion_state
from smppgw.rig.draws import BindDraws
from smppgw.rig.outbind_plan import OutbindPlan
from smppgw.rig.stale import StaleBinds

# ---- stale binds ------------------------------------------------------------------------------


def test_a_dropped_bind_blocks_its_account_and_type_until_it_times_out() -> None:
    stale = StaleBinds()
    stale.dropped("acme", "transmitter", "10.0.0.1:4000", now=100.0, timeout=30.0)
    assert stale.blocking("acme", "transmitter", 129.9) is not None
    assert stale.blocking("acme", "receiver", 110.0) is None
    assert stale.blocking("other", "transmitter", 110.0) is None
    assert stale.blocking("acme", "transmitter", 130.0) is None  # timed out: gone for good
    assert stale.of("acme", 100.0) == []


def test_a_second_drop_only_extends_the_time() -> None:
    stale = StaleBinds()
    stale.dropped("acme", "transceiver", "a:1", now=0.0, timeout=60.0)
    kept = stale.dropped("acme", "transceiver", "a:2", now=10.0, timeout=5.0)
    assert (kept.peer, kept.until) == ("a:1", 60.0)
    assert stale.dropped("acme", "transceiver", "a:3", now=58.0, timeout=5.0).until == 63.0
    stale.clear("acme")
    assert stale.blocking("acme", "transceiver", 59.0) is None


# ---- congestion_state ---------------------------------------------------------------------------


def test_congestion_is_the_highest_share_of_window_throughput_and_carrier_queue() -> None:
    assert congestion_state(Load(unanswered=1, window=10, bucket_rate=0.0, bucket_tokens=0.0)) == 0
    assert congestion_state(Load(unanswered=6, window=10, bucket_rate=0.0, bucket_tokens=0.0)) == 50
    assert congestion_state(Load(unanswered=40, window=10, bucket_rate=0.0, bucket_tokens=0.0)) == 100
    assert congestion_state(Load(unanswered=1, window=10, bucket_rate=100.0, bucket_tokens=25.0)) == 75
    assert congestion_state(Load(1, 10, 0.0, 0.0, queues=((300, 1000), (10, 1000)))) == 30
    assert congestion_state(Load(1, 10, 0.0, 0.0, queues=((1, 0),))) == 100  # a queue of no size, in use


def test_a_bucket_refills_at_its_rate_up_to_one_second_of_it() -> None:
    assert bucket_tokens_at(100.0, 10.0, last=5.0, now=5.5) == 60.0
    assert bucket_tokens_at(100.0, 10.0, last=5.0, now=9.0) == 100.0
    assert bucket_tokens_at(100.0, 10.0, last=5.0, now=4.0) == 10.0  # a clock that went back adds nothing


# ---- per-bind draws ---------------------------------------------------------------------------


def _draws_in(order: list[str]) -> dict[str, list[float]]:
    draws = BindDraws(seed=7)
    conns = {"a": object(), "b": object()}
    for name in ("a", "b"):
        draws.bound(conns[name], "acme", "transmitter")
    got: dict[str, list[float]] = {"a": [], "b": []}
    for seq, who in enumerate(order, start=1):
        draws.request(conns[who], seq, drawn_per_bind=True)
        draws.answered(conns[who], seq, f"m{seq}")
        rng = draws.rng_for(f"m{seq}")
        assert rng is not None
        got[who].append(rng.random())
    return got


def test_a_binds_draws_depend_on_its_own_pdus_only() -> None:
    assert _draws_in(["a", "b", "a", "b", "a", "b"]) == _draws_in(["a", "a", "a", "b", "b", "b"])


def test_refused_pdus_take_their_count_and_other_messages_use_the_carriers_generator() -> None:
    draws = BindDraws(seed=7)
    conn = object()
    assert draws.bound(conn, "acme", "transceiver") == "acme/transceiver/1"
    draws.request(conn, 1, drawn_per_bind=True)
    draws.refused(conn, 1)  # throttled, say
    draws.request(conn, 2, drawn_per_bind=True)
    draws.answered(conn, 2, "m2")
    assert draws.draw_of("m2") == ("acme/transceiver/1", 2)
    rng = draws.rng_for("m2")
    assert rng is not None and rng.random() == bind_rng(7, "acme/transceiver/1", 2).random()
    assert draws.rng_for("m2") is None  # drawn once
    draws.request(conn, 3, drawn_per_bind=False)
    draws.answered(conn, 3, "m3")
    assert draws.rng_for("m3") is None
    draws.ended(conn)
    assert draws.bound(object(), "acme", "transceiver") == "acme/transceiver/2"


def test_the_seed_and_the_bind_change_the_draw() -> None:
    first = bind_rng(1, "acme/transmitter/1", 1).random()
    assert first == bind_rng(1, "acme/transmitter/1", 1).random()
    assert first != bind_rng(2, "acme/transmitter/1", 1).random()
    assert first != bind_rng(1, "acme/transmitter/2", 1).random()
    assert first != bind_rng(1, "acme/transmitter/1", 2).random()


# ---- settings ------------------------------------------------------------------------------


def test_the_fault_switches_read_back_and_refuse_what_is_not_a_flag() -> None:
    faults = faults_from_dict(
        {"stale_binds": True, "stale_bind_timeout_s": 5, "congestion_state": True, "per_bind_outcomes": True}, "faults"
    )
    assert (faults.stale_binds, faults.stale_bind_timeout_s, faults.congestion_state) == (True, 5.0, True)
    assert faults_from_dict(faults_to_dict(faults), "faults") == faults
    with pytest.raises(SettingError, match=r"faults\.congestion_state: must be true or false"):
        faults_from_dict({"congestion_state": 1}, "faults")
    with pytest.raises(SettingError, match=r"faults\.stale_bind_timeout_s: must be a number >= 0"):
        faults_from_dict({"stale_bind_timeout_s": -1}, "faults")


def test_an_outbind_target_is_validated_key_by_key() -> None:
    target = outbind_from_dict({"address": "127.0.0.1:2776", "system_id": "gw", "password": "pw"}, "outbind")
    assert target == OutbindTarget("127.0.0.1", 2776, "gw", "pw")
    for bad, key in (
        ({"system_id": "gw"}, "address"),
        ({"address": "nowhere"}, "address"),
        ({"address": "h:70000"}, "address"),
        ({"address": "h:1", "password": "much-too-long"}, "password"),
        ({"address": "h:1", "retry_min_s": 0}, "retry_min_s"),
        ({"address": "h:1", "retry_min_s": 5, "retry_max_s": 2}, "retry_max_s"),
        ({"address": "h:1", "port": 2}, "port"),
    ):
        with pytest.raises(SettingError, match=rf"outbind\.{key}"):
            outbind_from_dict(bad, "outbind")


CONFIG = """
[admin]
token = "t0ken"

[accounts.acme]
password = "secret-1"
faults = {{ stale_binds = true, congestion_state = {congestion} }}
outbind = {{ address = "{address}", system_id = "gw", password = "pw" }}
"""


def test_the_configuration_names_the_key_and_line_of_a_bad_value() -> None:
    good = parse(CONFIG.format(congestion="true", address="127.0.0.1:2776"), Path("gateway.toml"))
    acme = good.accounts["acme"]
    assert acme.faults is not None and acme.faults.stale_binds and acme.faults.congestion_state
    assert acme.outbind == OutbindTarget("127.0.0.1", 2776, "gw", "pw")
    with pytest.raises(ConfigError, match=r"gateway\.toml:7: accounts\.acme\.faults\.congestion_state"):
        parse(CONFIG.format(congestion='"on"', address="127.0.0.1:2776"), Path("gateway.toml"))
    with pytest.raises(ConfigError, match=r"gateway\.toml:8: accounts\.acme\.outbind\.address"):
        parse(CONFIG.format(congestion="true", address="127.0.0.1"), Path("gateway.toml"))
    with pytest.raises(ConfigError, match=r"gateway\.toml:\d+: per_bind_outcomes: must be true or false"):
        parse('per_bind_outcomes = "yes"\n' + CONFIG.format(congestion="true", address="h:1"), Path("gateway.toml"))
    assert parse(
        "per_bind_outcomes = true\n" + CONFIG.format(congestion="true", address="h:1"), Path("g")
    ).per_bind_outcomes


def test_an_accounts_outbind_goes_through_json_and_its_password_stays_private() -> None:
    account = parse(CONFIG.format(congestion="false", address="h:1"), Path("g")).accounts["acme"]
    assert account_from_json(account_to_json(account)) == account
    assert "password" not in account_settings(account)["outbind"]


# ---- outbind plan ------------------------------------------------------------------------------


def test_outbind_connects_only_when_deliveries_wait_without_a_receiver_and_backs_off() -> None:
    plan = OutbindPlan(OutbindTarget("h", 1, retry_min_s=1.0, retry_max_s=5.0))
    assert not plan.should_connect(0.0, waiting=0, receivers=0)
    assert not plan.should_connect(0.0, waiting=3, receivers=1)
    assert plan.should_connect(0.0, waiting=3, receivers=0)
    waits = []
    for now in (0.0, 1.0, 3.0, 7.0, 12.0):
        plan.connecting()
        assert not plan.should_connect(now, 3, 0)  # one connection at a time
        waits.append(plan.closed(now))
    assert waits == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert not plan.should_connect(16.9, 3, 0) and plan.should_connect(17.0, 3, 0)
    plan.connecting()
    plan.client_bound()
    assert plan.closed(20.0) == 0.0 and plan.failures == 0  # a bind resets the wait
    assert plan.should_connect(20.0, 1, 0)
