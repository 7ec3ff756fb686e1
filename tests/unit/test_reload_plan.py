"""A reload's plan: what a new configuration changes against the running one, worked out from values
alone (no service, no reactor, no store)."""

from __future__ import annotations

from pathlib import Path

from smppgw.app.parts import build_parts, load_content_rules
from smppgw.app.reload import ReloadPlan, plan_reload
from smppgw.config import GatewayConfig, parse

SOURCE = Path("gateway.toml")

BASE = """
[smpp]
listen = "tcp:2775:interface=127.0.0.1"

[admin]
token = "t0ken"

[rate_plans.standard]
CMCC = 50

[carriers.CMCC]
submit_latency_ms = 20

[accounts.acme]
password = "secret-1"
initial_balance = 1000

[accounts.beta]
password = "secret-2"
"""


def config(text: str) -> GatewayConfig:
    return parse(text, SOURCE)


def plan(old: GatewayConfig, new: GatewayConfig, *, shared: bool = False) -> ReloadPlan:
    """The plan against a gateway running ``old`` as it was loaded."""
    running_parts = build_parts(old)
    return plan_reload(
        old,
        new,
        build_parts(new),
        load_content_rules(new),
        accounts=dict(old.accounts),
        carriers=dict(running_parts.profiles),
        shared=shared,
    )


def test_the_same_file_changes_nothing() -> None:
    old = config(BASE)
    result = plan(old, config(BASE))
    assert result.accounts_added == result.accounts_updated == ()
    assert result.accounts_kept == ()
    assert dict(result.carriers_added) == dict(result.carriers_updated) == {}
    assert not result.rate_plans_changed
    assert result.restart_needed == ()
    assert result.config == old


def test_accounts_added_changed_and_gone_from_the_file() -> None:
    new_text = BASE.replace('password = "secret-2"', 'password = "secret-3"').replace(
        "[accounts.acme]", '[accounts.zeta]\npassword = "z-secret"\n\n[accounts.acme]'
    )
    new_text = new_text.replace('[accounts.acme]\npassword = "secret-1"\ninitial_balance = 1000\n', "")
    result = plan(config(BASE), config(new_text))
    assert [a.system_id for a in result.accounts_added] == ["zeta"]
    assert [a.system_id for a in result.accounts_updated] == ["beta"]
    assert result.accounts_updated[0].password == "secret-3"
    # An account gone from the file is kept until a restart: it may hold money.
    assert result.accounts_kept == ("acme",)
    report = result.report()
    assert (report.accounts_added, report.accounts_updated, report.accounts_kept) == (("zeta",), ("beta",), ("acme",))


def test_an_account_made_through_the_admin_api_is_not_added_again() -> None:
    old = config(BASE)
    new = config(BASE + '\n[accounts.api]\npassword = "from-api"\n')
    result = plan_reload(
        old,
        new,
        build_parts(new),
        None,
        accounts={**old.accounts, "api": new.accounts["api"]},
        carriers=dict(build_parts(old).profiles),
    )
    assert result.accounts_added == ()


def test_carriers_added_and_changed_and_tariffs_changed() -> None:
    new_text = BASE.replace("submit_latency_ms = 20", "submit_latency_ms = 40").replace(
        "CMCC = 50", "CMCC = 60\nCUCC = 45"
    )
    new_text += "\n[carriers.CUCC]\n"
    result = plan(config(BASE), config(new_text))
    assert list(result.carriers_added) == ["CUCC"]
    assert list(result.carriers_updated) == ["CMCC"]
    assert result.carriers_updated["CMCC"].submit_latency == 0.04
    assert result.rate_plans_changed
    assert result.parts.prices.price("standard", "CMCC", 0.0) == 60


def test_restart_only_settings_are_reported_and_keep_their_running_values() -> None:
    old = config(BASE)
    new = config("seed = 7\n" + BASE.replace("tcp:2775:", "tcp:2776:"))
    result = plan(old, new)
    assert result.restart_needed == ("listen", "seed")
    assert result.config.listen == old.listen
    assert result.config.seed == old.seed
    assert result.seed == 7  # a carrier added by this reload draws from the new file's seed


def test_another_nodes_file_asks_for_no_restart() -> None:
    new = config(BASE.replace("tcp:2775:", "tcp:2776:"))
    result = plan(config(BASE), new, shared=True)
    assert result.restart_needed == ()
    assert result.config.listen == "tcp:2775:interface=127.0.0.1"


def test_the_refund_policy_follows_the_new_file() -> None:
    new = config(BASE + '\n[billing]\nrefund_states = ["UNDELIV"]\n')
    assert plan(config(BASE), config(BASE)).refunds.refund_states == {"UNDELIV", "REJECTD"}
    assert plan(config(BASE), new).refunds.refund_states == {"UNDELIV"}
