"""A configuration's tariffs, carrier profiles and scenario rules come out of parse() typed, and the
parts built from it are checked against each other, each fault named by file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from smppgw.app.parts import build_parts
from smppgw.config import ConfigError, parse

SOURCE = Path("gateway.toml")

BASE = """
[admin]
token = "t0ken"

[[scenario]]
pattern = "0000"
state = "UNDELIV"

[rate_plans.standard]
CMCC = 50

[carriers.CMCC]
rules = [{ pattern = "1111", state = "REJECTD" }]

[accounts.acme]
password = "secret-1"
"""


def test_tariffs_and_profiles_are_typed_with_the_gateways_scenario_rules_first() -> None:
    config = parse(BASE, SOURCE)
    assert [(t.rate_plan, t.carrier, t.price) for t in config.rate_plans] == [("standard", "CMCC", 50)]
    assert [rule.pattern for rule in config.scenario] == ["0000"]
    assert [rule.pattern for rule in config.profiles["CMCC"].rules] == ["0000", "1111"]
    parts = build_parts(config)
    assert parts.prices.price("standard", "CMCC", 0.0) == 50
    assert list(parts.profiles) == ["CMCC"]


def test_a_fractional_price_is_refused_by_parse_naming_the_file_and_key() -> None:
    with pytest.raises(ConfigError, match=r"gateway\.toml: rate_plans\.standard\.CMCC"):
        parse(BASE.replace("CMCC = 50", "CMCC = 4.5"), SOURCE)


def test_a_bad_scenario_rule_is_refused_by_parse_naming_the_rule() -> None:
    with pytest.raises(ConfigError, match=r"gateway\.toml: scenario\[0\]"):
        parse(BASE.replace('state = "UNDELIV"', 'state = "NOPE"'), SOURCE)


def test_an_account_on_an_unknown_rate_plan_is_refused_when_the_parts_are_built() -> None:
    config = parse(BASE.replace('password = "secret-1"', 'password = "secret-1"\nrate_plan = "gold"'), SOURCE)
    with pytest.raises(ConfigError, match=r"gateway\.toml: accounts\.acme\.rate_plan: no rate plan 'gold'"):
        build_parts(config)


def test_an_outage_of_an_unknown_carrier_is_refused_when_the_parts_are_built() -> None:
    text = BASE.replace("[admin]", '[[outage]]\ncarrier = "CUCC"\nduration_s = 5\nstart_after_s = 1\n\n[admin]')
    with pytest.raises(ConfigError, match=r"gateway\.toml: outage\[0\]\.carrier: no carrier 'CUCC'"):
        build_parts(parse(text, SOURCE))
