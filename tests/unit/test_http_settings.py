"""The customer HTTP interface's settings: ``[http_api]`` and ``[accounts.ID.http]``, each mistake
named by file, line and key, and the money a batch needs checked as a whole (pipeline.quote)."""

from __future__ import annotations

from pathlib import Path

import pytest
from core_fakes import NOW, NUMBER, SERVICE_NUMBER, build

from smppgw.config import ConfigError, load, parse
from smppgw.pipeline.gateway import Rejected
from smppgw.pipeline.quote import Quote, covers, quote
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus

SOURCE = Path("gateway.toml")
BASE = """
[admin]
token = "t0ken"

[rate_plans.standard]
CMCC = 50

[accounts.acme]
password = "secret-1"
"""
HTTP = """
[accounts.acme.http]
fronts = ["legacy", "v1"]
api_secret = "s3cret"
legacy_userid = "1001"
"""


def test_without_an_http_api_table_the_listener_is_off_and_accounts_have_no_fronts() -> None:
    config = parse(BASE, SOURCE)
    assert config.http_api.listen == ""
    assert config.accounts["acme"].http.fronts == ()


def test_an_http_api_table_listens_on_loopback_8776_by_default() -> None:
    config = parse(BASE + "\n[http_api]\nmax_recipients = 100\n" + HTTP, SOURCE)
    assert config.http_api.listen == "tcp:8776:interface=127.0.0.1"
    assert config.http_api.max_recipients == 100
    http = config.accounts["acme"].http
    assert (http.fronts, http.api_secret, http.legacy_userid) == (("legacy", "v1"), "s3cret", "1001")
    assert not http.allow_loopback_callbacks


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        (('["legacy", "v1"]', '["legacy", "soap"]'), r"gateway\.toml:\d+: accounts\.acme\.http\.fronts"),
        (('"1001"', '"abc"'), r"gateway\.toml:\d+: accounts\.acme\.http\.legacy_userid"),
        (('api_secret = "s3cret"', 'api_secret = "s"\nreport_url = "ftp://x"'), r"accounts\.acme\.http\.report_url"),
        (('api_secret = "s3cret"', 'api_secret = "s"\nwebhooks = 1'), r"accounts\.acme\.http\.webhooks: unknown key"),
    ],
)
def test_a_bad_account_http_setting_is_named_by_file_line_and_key(edit: tuple[str, str], where: str) -> None:
    with pytest.raises(ConfigError, match=where):
        parse(BASE + HTTP.replace(*edit), SOURCE)


def test_a_bad_backoff_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"http_api\.webhook_backoff"):
        parse(BASE + "\n[http_api]\nwebhook_backoff = [0]\n", SOURCE)


def test_the_demo_configuration_opens_every_front_to_the_demo_accounts() -> None:
    root = Path(__file__).resolve().parents[2]
    config = load(root / "fixtures" / "gateway.toml")
    assert config.http_api.listen == "tcp:8776:interface=127.0.0.1"
    secrets = {name: a.http.api_secret for name, a in config.accounts.items()}
    assert secrets == {"demo": "demo-api-secret", "demo2": "demo2-api-secret", "brand": "brand-api-secret"}
    assert all(set(a.http.fronts) == {"legacy", "jasmin", "kannel", "v1"} for a in config.accounts.values())
    assert all(a.http.allow_loopback_callbacks for a in config.accounts.values())


def _pdu(text: bytes, to: str = NUMBER) -> p.SubmitSm:
    return p.SubmitSm(source_addr=SERVICE_NUMBER, destination_addr=to, short_message=text)


def test_a_quote_is_what_the_submit_then_charges() -> None:
    core = build()
    quoted = quote(core.gateway, "acme", _pdu(b"a" * 200), NOW)
    assert quoted == Quote("CMCC", 2, 45, 90)
    assert core.balance() == 1000  # quoting charges nothing
    core.submit(b"a" * 200)
    assert core.balance() == 1000 - quoted.cost


def test_a_number_without_a_route_is_refused_by_the_quote() -> None:
    core = build()
    quoted = quote(core.gateway, "acme", _pdu(b"hi", to="12"), NOW)
    assert isinstance(quoted, Rejected) and quoted.status == CommandStatus.ESME_RINVDSTADR


def test_a_batch_is_covered_only_when_the_balance_pays_for_all_of_it() -> None:
    one = Quote("CMCC", 1, 45, 45)
    assert covers(90, [one, one])
    assert not covers(89, [one, one])
    assert covers(0, [])
