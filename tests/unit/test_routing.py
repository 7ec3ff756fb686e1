"""Destination routing: number formats, longest-prefix carriers, portability, failover, fixtures."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smppgw.routing.loader import load_ported_csv
from smppgw.routing.numbers import InvalidNumber, mask_msisdn, normalise_msisdn
from smppgw.routing.router import NoRoute, RouteDecision, Router
from smppgw.routing.table import RouteEntry, RouteTable

ROUTES = Path(__file__).resolve().parents[2] / "fixtures" / "routes"


@pytest.fixture(scope="module")
def table() -> RouteTable:
    return RouteTable.merge(
        RouteTable.from_csv(ROUTES / "china-number-plan.csv", country_code="86"),
        RouteTable.from_csv(ROUTES / "international.csv"),
    )


def up(*carriers: str) -> Callable[[str], bool]:
    alive = frozenset(carriers)
    return lambda carrier: carrier in alive


ALL_UP = up("CMCC", "CUCC", "CTCC", "CBN", "INTL")


def decision(router: Router, destination: str, is_up: Callable[[str], bool] = ALL_UP) -> RouteDecision:
    result = router.route(destination, is_up)
    assert isinstance(result, RouteDecision), result
    return result


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "13800138000",
        "+8613800138000",
        "8613800138000",
        "008613800138000",
        "+86 138-0013-8000",
        " 138 0013 8000 ",
        "138.0013.8000",
        "(+86) 138 0013 8000",
        "+86 (0)138 0013 8000",
        "013800138000",
        "1795113800138000",
        "0086-138-0013-8000",
    ],
)
def test_every_written_form_normalises_to_e164(written: str) -> None:
    assert normalise_msisdn(written) == "8613800138000"


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("+85291234567", "85291234567"),
        ("0085291234567", "85291234567"),
        ("+1 (415) 555-2671", "14155552671"),
        ("+44 20 7946 0958", "442079460958"),
    ],
)
def test_international_numbers_keep_their_country_code(written: str, e164: str) -> None:
    assert normalise_msisdn(written) == e164


@pytest.mark.parametrize(
    ("written", "reason"),
    [
        ("", "empty"),
        ("  - ", "empty"),
        ("+", "empty"),
        ("1380013800a", "not_digits"),
        ("hello", "not_digits"),
        ("138\uff100013800", "not_digits"),  # full-width zero
        ("+86+13800138000", "not_digits"),
        ("1440123456789", "iot"),
        ("+861410123456789", "iot"),
        ("1460123456789", "iot"),
        ("1480123456789", "iot"),
        ("1400123456789", "iot"),  # reserved IoT space is still IoT-length
        ("1380013800", "length"),
        ("138001380001", "length"),
        ("23800138000", "not_mobile"),
        ("+123", "length"),
        ("+1234567890123456", "length"),
    ],
)
def test_garbage_is_refused_with_a_reason(written: str, reason: str) -> None:
    with pytest.raises(InvalidNumber) as caught:
        normalise_msisdn(written)
    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


mainland = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(mainland, st.sampled_from(["{}", "+86{}", "86{}", "0086{}", "0{}", "17951{}", "+86 {}"]))
def test_normalise_is_idempotent_on_its_own_output(national: str, form: str) -> None:
    once = normalise_msisdn(form.format(national))
    assert once == "86" + national
    assert normalise_msisdn(once) == once
    assert normalise_msisdn("+" + once) == once


# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13800138000", "138****8000"),
        ("8613800138000", "86138****8000"),
        ("+8613800138000", "+86138****8000"),
        ("008613800138000", "0086138****8000"),
        ("+86 138-0013-8000", "+86138****8000"),
        ("+85291234567", "+852****4567"),
        ("8600000000000", "860******0000"),  # 86 before no mobile number is not a country code
        ("10086", "****6"),
        ("1234", "****"),
        ("", ""),
        ("call 13800138000", "*" * len("call13800138000")),
    ],
)
def test_mask_hides_the_middle(raw: str, masked: str) -> None:
    assert mask_msisdn(raw) == masked


@given(mainland, st.sampled_from(["", "86", "+86", "0086"]))
def test_mask_never_shows_the_middle_digits(national: str, cc: str) -> None:
    masked = mask_msisdn(cc + national)
    assert masked == cc + national[:3] + "****" + national[-4:]


@given(st.text(alphabet="0123456789+-() ", max_size=25))
def test_mask_shows_at_most_seven_digits_of_anything(raw: str) -> None:
    masked = mask_msisdn(raw)
    digits = re.sub(r"\D", "", raw)
    cc = re.match(r"\+86|0086|86(?=1\d{2}\*)", masked)
    # A country code is shown on top of its 3 + 4 digits; any other digits count.
    shown = re.sub(r"\D", "", masked[cc.end() :] if cc else masked)
    assert len(shown) <= 7
    # Digits shown are never the majority of an unrecognised short string.
    if len(digits) < 11:
        assert len(shown) <= max(0, len(digits) - 4)


# --- route table -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "carrier", "kind"),
    [
        ("13800138000", "CMCC", "mobile"),
        ("15912345678", "CMCC", "mobile"),
        ("19712345678", "CMCC", "mobile"),
        ("14712345678", "CMCC", "data-only"),
        ("16512345678", "CMCC", "MVNO"),
        ("13012345678", "CUCC", "mobile"),
        ("18612345678", "CUCC", "mobile"),
        ("19612345678", "CUCC", "mobile"),
        ("14512345678", "CUCC", "data-only"),
        ("17112345678", "CUCC", "MVNO"),
        ("13312345678", "CTCC", "mobile"),
        ("18912345678", "CTCC", "mobile"),
        ("19912345678", "CTCC", "mobile"),
        ("14912345678", "CTCC", "data-only"),
        ("16212345678", "CTCC", "MVNO"),
        ("19212345678", "CBN", "mobile"),
    ],
)
def test_every_carrier_of_the_plan_routes(table: RouteTable, number: str, carrier: str, kind: str) -> None:
    router = Router(table, {}, {})
    routed = decision(router, number)
    assert (routed.carrier, routed.home_carrier, routed.kind) == (carrier, carrier, kind)
    assert routed.msisdn == "86" + number
    assert not routed.ported and routed.failover_from is None and not routed.all_down


@pytest.mark.parametrize(
    ("number", "carrier", "kind"),
    [
        ("13412345678", "CMCC", "mobile"),
        ("13482345678", "CMCC", "mobile"),
        ("13492345678", "CTCC", "satellite"),
        ("17002345678", "CTCC", "MVNO"),
        ("17032345678", "CMCC", "MVNO"),
        ("17042345678", "CUCC", "MVNO"),
        ("17092345678", "CUCC", "MVNO"),
        ("17400345678", "CTCC", "satellite"),
        ("17405345678", "CTCC", "satellite"),
    ],
)
def test_longer_prefixes_beat_shorter_ones(table: RouteTable, number: str, carrier: str, kind: str) -> None:
    entry = table.lookup("86" + number)
    assert entry is not None
    assert (entry.carrier, entry.kind) == (carrier, kind)


def test_longest_prefix_wins_regardless_of_insertion_order() -> None:
    entries = [RouteEntry("1", "A", "mobile"), RouteEntry("123", "C", "mobile"), RouteEntry("12", "B", "mobile")]
    for ordered in (entries, entries[::-1]):
        table = RouteTable(ordered)
        assert [table.lookup(n) for n in ("19", "129", "1239", "2")] == [
            entries[0],
            entries[2],
            entries[1],
            None,
        ]


@pytest.mark.parametrize(
    "number",
    ["15412345678", "16112345678", "16412345678", "19412345678", "17406345678", "17490345678", "17912345678"],
)
def test_unassigned_blocks_have_no_route(table: RouteTable, number: str) -> None:
    assert Router(table, {}, {}).route(number, ALL_UP) == NoRoute("no_route")


def test_iot_and_invalid_numbers_are_refused(table: RouteTable) -> None:
    router = Router(table, {}, {})
    assert router.route("1440123456789", ALL_UP) == NoRoute("iot")
    assert router.route("14401234567", ALL_UP) == NoRoute("iot")  # 11 digits in an IoT block
    assert router.route("garbage", ALL_UP) == NoRoute("invalid_number:not_digits")
    assert router.route("", ALL_UP) == NoRoute("invalid_number:empty")
    assert router.route("1380013800", ALL_UP) == NoRoute("invalid_number:length")


def test_reject_kinds_is_configurable(table: RouteTable) -> None:
    router = Router(table, {}, {}, reject_kinds=frozenset({"IoT", "satellite"}))
    assert router.route("17400345678", ALL_UP) == NoRoute("satellite")
    assert decision(router, "13800138000").carrier == "CMCC"


def test_international_numbers_route_to_intl(table: RouteTable) -> None:
    router = Router(table, {}, {})
    for written, e164 in [
        ("+85291234567", "85291234567"),
        ("+85361234567", "85361234567"),
        ("+886912345678", "886912345678"),
        ("+14155552671", "14155552671"),
        ("+447911123456", "447911123456"),
        ("+6591234567", "6591234567"),
    ]:
        routed = decision(router, written)
        assert (routed.msisdn, routed.carrier, routed.kind) == (e164, "INTL", "international")
    assert router.route("+4915123456789", ALL_UP) == NoRoute("no_route")


def test_merge_lets_the_later_table_override(table: RouteTable) -> None:
    override = RouteTable([RouteEntry("86138", "CTCC", "mobile", "lab override")])
    merged = RouteTable.merge(table, override)
    assert merged.lookup("8613800138000") == RouteEntry("86138", "CTCC", "mobile", "lab override")
    assert table.lookup("8613800138000") == RouteEntry("86138", "CMCC", "mobile", "")
    assert len(merged) == len(table)


def test_duplicate_prefixes_in_one_table_are_rejected() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        RouteTable([RouteEntry("86138", "CMCC", "mobile"), RouteEntry("86138", "CUCC", "mobile")])


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("prefix,carrier,type,notes\n138,CMCC,mobile,\n13x,CMCC,mobile,\n", 3, "digits"),
        ("prefix,carrier,type,notes\n\n138,,mobile,\n", 3, "empty"),
        ("prefix,carrier,notes\n138,CMCC,\n", 1, "type"),
        ("prefix,carrier,type,notes\n138,CMCC,mobile,\n# comment\n138,CUCC,mobile,\n", 4, "line 2"),
        ("prefix,carrier,type,notes\n138,CMCC,mobile,x,extra\n", 2, "fields"),
    ],
)
def test_bad_csv_rows_name_file_and_line(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = tmp_path / "routes.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as caught:
        RouteTable.from_csv(path, country_code="86")
    assert f"routes.csv:{line}:" in str(caught.value)


def test_csv_notes_may_be_quoted_and_omitted(tmp_path: Path) -> None:
    path = tmp_path / "routes.csv"
    path.write_text('prefix,carrier,type,notes\n138,CMCC,mobile,"a, b"\n139,CMCC,mobile\n', encoding="utf-8")
    table = RouteTable.from_csv(path, country_code="86")
    assert table.lookup("8613800138000") == RouteEntry("86138", "CMCC", "mobile", "a, b")
    assert table.lookup("8613900139000") == RouteEntry("86139", "CMCC", "mobile", "")


# --- portability and failover ----------------------------------------------------------------


def test_ported_number_goes_to_its_current_carrier(table: RouteTable) -> None:
    router = Router(table, {"8613812345678": "CUCC"}, {})
    routed = decision(router, "+86 138 1234 5678")
    assert (routed.carrier, routed.home_carrier, routed.ported) == ("CUCC", "CMCC", True)
    neighbour = decision(router, "13812345679")
    assert (neighbour.carrier, neighbour.ported) == ("CMCC", False)


def test_ported_table_accepts_national_keys(table: RouteTable) -> None:
    router = Router(table, {"18612345679": "CTCC"}, {})
    assert decision(router, "8618612345679").carrier == "CTCC"


def test_failover_picks_first_secondary_that_is_up(table: RouteTable) -> None:
    router = Router(table, {}, {"CMCC": ["CUCC", "CTCC"]})
    routed = decision(router, "13800138000", up("CTCC"))
    assert (routed.carrier, routed.failover_from, routed.home_carrier) == ("CTCC", "CMCC", "CMCC")
    assert not routed.all_down
    routed = decision(router, "13800138000", up("CUCC", "CTCC"))
    assert routed.carrier == "CUCC"


def test_failover_starts_from_the_ported_carrier(table: RouteTable) -> None:
    router = Router(table, {"8613812345678": "CUCC"}, {"CUCC": ["CTCC"], "CMCC": ["CBN"]})
    routed = decision(router, "13812345678", up("CMCC", "CTCC", "CBN"))
    assert (routed.carrier, routed.failover_from, routed.ported) == ("CTCC", "CUCC", True)


def test_all_down_is_flagged_with_the_primary_carrier(table: RouteTable) -> None:
    router = Router(table, {}, {"CMCC": ["CUCC", "CTCC"]})
    routed = decision(router, "13800138000", up())
    assert (routed.carrier, routed.failover_from, routed.all_down) == ("CMCC", None, True)
    no_secondaries = decision(Router(table, {}, {}), "18612345678", up("CMCC"))
    assert (no_secondaries.carrier, no_secondaries.all_down) == ("CUCC", True)


def test_router_does_not_follow_later_changes_to_its_inputs(table: RouteTable) -> None:
    ported = {"8613812345678": "CUCC"}
    failover = {"CMCC": ["CUCC"]}
    router = Router(table, ported, failover)
    ported["8613812345678"] = "CTCC"
    failover["CMCC"].append("CTCC")
    assert decision(router, "13812345678").carrier == "CUCC"
    assert decision(router, "13800138000", up("CTCC")).all_down


# --- fixture files ---------------------------------------------------------------------------


def test_real_fixture_files_load(table: RouteTable) -> None:
    carriers = {entry.carrier for entry in table}
    assert carriers == {"CMCC", "CUCC", "CTCC", "CBN", "INTL"}
    assert len(table) == 82 + 6  # plan rows + international rows
    ported = load_ported_csv(ROUTES / "ported.csv")
    assert ported == {"8613812345678": "CUCC", "8618612345679": "CTCC"}
    router = Router(table, ported, {})
    for msisdn, carrier in ported.items():
        routed = decision(router, msisdn)
        assert routed.ported and routed.carrier == carrier and routed.home_carrier != carrier


def test_bad_ported_rows_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "ported.csv"
    path.write_text("msisdn,carrier\n13812345678,CUCC\nnot-a-number,CTCC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ported\.csv:3: bad msisdn \(not_digits\)"):
        load_ported_csv(path)
    path.write_text("msisdn,carrier\n13812345678,CUCC\n+8613812345678,CTCC\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ported\.csv:3: .*line 2"):
        load_ported_csv(path)
    path.write_text("number,carrier\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"ported\.csv:1:"):
        load_ported_csv(path)
