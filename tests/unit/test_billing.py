"""Prepaid billing: tariffs with scheduled changes, wallets, the ledger audit, refund policy."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis_budget import examples

from smppgw.billing.ledger import (
    MESSAGES,
    EntryKind,
    LedgerEntry,
    MismatchKind,
    Refused,
    Wallet,
    Wallets,
    check_ledger,
)
from smppgw.billing.refunds import RefundPolicy
from smppgw.billing.tariff import PriceList, Tariff, tariffs_from_toml_table
from smppgw.compiled import compiled_modules
from smppgw.model import STAT_WORDS, MessageState

GATEWAY_TOML = """
[rate_plans.standard]
CMCC = 45          # 厘 per segment (0.045 CNY)
CUCC = 42
CTCC = 40
CBN = 38
INTL = 350
[[rate_plans.standard.changes]]
effective = "2027-01-01T00:00:00+08:00"
CMCC = 48

[rate_plans.wholesale]
CMCC = 30
[[rate_plans.wholesale.changes]]
effective = 2026-07-01T00:00:00Z
CMCC = 28
"""
PLAN = "[rate_plans.standard]\nCMCC = 45\n[[rate_plans.standard.changes]]\n"
CHANGE_AT = datetime.fromisoformat("2027-01-01T00:00:00+08:00").timestamp()


def entry(result: LedgerEntry | Refused) -> LedgerEntry:
    assert isinstance(result, LedgerEntry), result
    return result


def funded(balance: int = 1000) -> tuple[Wallets, list[LedgerEntry]]:
    wallets = Wallets()
    wallets.open("acme")
    return wallets, [entry(wallets.topup("acme", balance, "BANK-1", "ops", 1.0))]


# --- tariffs -----------------------------------------------------------------------------------------------


def test_toml_prices_and_a_scheduled_change() -> None:
    prices = PriceList(tariffs_from_toml_table(tomllib.loads(GATEWAY_TOML)["rate_plans"], "gateway.toml"))
    assert prices.plans() == {"standard", "wholesale"}
    assert prices.price("standard", "CMCC", CHANGE_AT - 1) == 45
    assert prices.price("standard", "CMCC", CHANGE_AT) == 48
    assert prices.price("standard", "CMCC", CHANGE_AT + 86400 * 365) == 48
    # Carriers the change does not name keep their price.
    assert prices.price("standard", "CUCC", CHANGE_AT + 1) == 42
    assert prices.price("standard", "INTL", 0) == 350
    # A TOML datetime works as well as a string.
    july = datetime.fromisoformat("2026-07-01T00:00:00+00:00").timestamp()
    assert prices.price("wholesale", "CMCC", july - 0.5) == 30
    assert prices.price("wholesale", "CMCC", july) == 28


def test_unpriced_plan_or_carrier_or_time_is_none() -> None:
    prices = PriceList([Tariff("promo", "CMCC", 20, 1000.0), Tariff("promo", "CMCC", 25, 2000.0)])
    assert prices.price("promo", "CMCC", 999.9) is None  # before the plan's first tariff starts
    assert prices.price("promo", "CMCC", 1500) == 20
    assert prices.price("promo", "CUCC", 1500) is None
    assert prices.price("standard", "CMCC", 1500) is None


@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 500)), min_size=1, max_size=30), st.integers(0, 10**6))
def test_price_is_the_latest_tariff_started(changes: list[tuple[int, int]], at: int) -> None:
    by_start = dict(changes)  # one price per start time
    prices = PriceList(Tariff("p", "CMCC", price, float(start)) for start, price in by_start.items())
    started = [start for start in by_start if start <= at]
    assert prices.price("p", "CMCC", at) == (by_start[max(started)] if started else None)


def test_two_prices_from_the_same_instant_are_refused() -> None:
    with pytest.raises(ValueError, match="two CMCC prices"):
        PriceList([Tariff("p", "CMCC", 20, 5.0), Tariff("p", "CMCC", 21, 5.0)])


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            "[rate_plans.standard]\nCMCC = 4.5",
            "gateway.toml: rate_plans.standard.CMCC must be a whole number of 厘 (0.001 CNY), got 4.5",
        ),
        (
            "[rate_plans.standard]\nCMCC = 45.0",
            "rate_plans.standard.CMCC must be a whole number of 厘 (0.001 CNY), got 45.0",
        ),
        (
            PLAN + 'effective = "2027-01-01T00:00:00+08:00"\nCUCC = 0.05',
            "rate_plans.standard.changes[0].CUCC must be a whole number of 厘",
        ),
        (
            '[rate_plans.standard]\nCMCC = "45"',
            "rate_plans.standard.CMCC must be a whole number of 厘 (0.001 CNY), got '45'",
        ),
        ("[rate_plans.standard]\nCMCC = true", "rate_plans.standard.CMCC must be a whole number"),
        ("[rate_plans.standard]\nCMCC = -1", "rate_plans.standard.CMCC must not be negative"),
        ("[rate_plans.standard]", "rate_plans.standard prices no carrier"),
        (
            PLAN + 'effective = "2027-01-01T00:00:00"\nCMCC = 48',
            "rate_plans.standard.changes[0].effective needs a UTC offset",
        ),
        (
            "[rate_plans.standard]\nCMCC = 45\n[[rate_plans.standard.changes]]\nCMCC = 48",
            "rate_plans.standard.changes[0].effective is missing",
        ),
        (
            PLAN + 'effective = "next year"\nCMCC = 48',
            "rate_plans.standard.changes[0].effective must be an ISO 8601 date-time",
        ),
        (
            PLAN + 'effective = "2027-01-01T00:00:00Z"',
            "rate_plans.standard.changes[0] changes no price",
        ),
        (
            "[rate_plans.standard]\nCMCC = 45\n"
            '[[rate_plans.standard.changes]]\neffective = "2027-01-01T00:00:00+08:00"\nCMCC = 48\n'
            '[[rate_plans.standard.changes]]\neffective = "2026-12-31T16:00:00Z"\nCMCC = 49',
            "rate_plans.standard.changes[1].effective repeats the time of rate_plans.standard.changes[0]",
        ),
    ],
)
def test_bad_price_tables_name_file_and_key(toml: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        tariffs_from_toml_table(tomllib.loads(toml)["rate_plans"], "gateway.toml")
    assert str(caught.value).startswith("gateway.toml: ")
    assert message in str(caught.value)


# --- wallets -----------------------------------------------------------------------------------------------


@given(st.integers(1, 20), st.integers(0, 500))
def test_charge_debits_segments_times_price(segments: int, price: int) -> None:
    wallets, _ = funded(10_000)
    charge = entry(wallets.charge("acme", "m1", segments, price, 2.0))
    assert charge.kind is EntryKind.CHARGE
    assert charge.amount == -segments * price
    assert wallets["acme"].balance == 10_000 - segments * price == charge.balance_after
    assert charge.message_id == "m1"


def test_insufficient_balance_refuses_and_changes_nothing() -> None:
    wallets, _ = funded(100)
    before = (wallets.balances(), wallets.next_entry_id)
    result = wallets.charge("acme", "m1", 3, 45, 2.0)  # 135 厘 > 100
    assert result == Refused("insufficient_funds", "needs 135 li, balance 100")
    assert (wallets.balances(), wallets.next_entry_id) == before
    assert wallets["acme"].refundable("m1") is None
    # Exactly the balance is fine, and leaves zero rather than going below.
    assert entry(wallets.charge("acme", "m2", 2, 50, 3.0)).balance_after == 0
    assert isinstance(wallets.charge("acme", "m3", 1, 1, 4.0), Refused)
    assert wallets["acme"].balance == 0


def test_package_accounts_draw_one_message_per_segment() -> None:
    wallets = Wallets()
    wallets.open("bulk", MESSAGES)
    credit = entry(wallets.topup("bulk", 10_000, "PKG-2025-001", "sales", 1.0))
    assert (credit.kind, credit.unit, credit.balance_after) == (EntryKind.PACKAGE, "msg", 10_000)
    charge = entry(wallets.charge("bulk", "m1", 3, 45, 2.0))  # price does not matter to a package
    assert (charge.amount, charge.unit, wallets["bulk"].balance) == (-3, "msg", 9_997)
    wallets.adjust("bulk", -9_996, "package expired", "ops", 3.0)
    assert wallets.charge("bulk", "m2", 2, 0, 4.0) == Refused("insufficient_funds", "needs 2 msg, balance 1")


def test_a_topup_reference_is_credited_once_across_accounts() -> None:
    wallets = Wallets()
    wallets.open("acme")
    wallets.open("globex")
    entry(wallets.topup("acme", 50_000, "ICBC-20250301-0042", "finance", 1.0))
    again = wallets.topup("globex", 50_000, "ICBC-20250301-0042", "finance", 2.0)
    assert isinstance(again, Refused)
    assert again.reason == "duplicate_reference"
    assert wallets.balances() == {"acme": 50_000, "globex": 0}
    # The same holds after a restart.
    restored = Wallets.restore(wallets.snapshot().wallets, wallets.references, wallets.next_entry_id)
    assert isinstance(restored.topup("acme", 50_000, "ICBC-20250301-0042", "finance", 3.0), Refused)


def test_entry_ids_increase_and_continue_after_restore() -> None:
    wallets = Wallets(next_entry_id=500)
    wallets.open("acme")
    wallets.open("globex")
    ids = [
        entry(wallets.topup("acme", 100, "r1", None, 1.0)).entry_id,
        entry(wallets.topup("globex", 100, "r2", None, 1.0)).entry_id,
        entry(wallets.charge("acme", "m1", 1, 40, 2.0)).entry_id,
    ]
    assert ids == [500, 501, 502]
    snap = wallets.snapshot()
    restored = Wallets.restore(snap.wallets, snap.references, snap.next_entry_id)
    assert restored.balances() == {"acme": 60, "globex": 100}
    # The open charge survives, so a receipt after the restart can still refund it.
    assert entry(restored.refund("acme", "m1", 40, 3.0)).entry_id == 503
    assert restored["acme"].balance == 100


def test_refunds_are_capped_by_the_charge_and_end_at_settle() -> None:
    wallets, _ = funded(1000)
    entry(wallets.charge("acme", "m1", 2, 45, 2.0))
    assert wallets.charge("acme", "m1", 2, 45, 2.5) == Refused("duplicate_charge", "message m1 is already charged")
    entry(wallets.refund("acme", "m1", 90, 3.0, reason="UNDELIV"))
    # A duplicate receipt cannot refund again.
    assert isinstance(wallets.refund("acme", "m1", 90, 4.0), Refused)
    assert wallets["acme"].balance == 1000
    assert wallets["acme"].settle("m1")
    assert wallets.refund("acme", "m1", 1, 5.0) == Refused("not_charged", "no open charge for message m1")
    assert wallets.refund("nobody", "m1", 1, 5.0) == Refused("unknown_account", "no wallet for account 'nobody'")


def test_adjustments_need_reason_and_operator_and_cannot_go_negative() -> None:
    wallets, _ = funded(100)
    assert isinstance(wallets.adjust("acme", -101, "chargeback", "ops", 2.0), Refused)
    adjusted = entry(wallets.adjust("acme", -100, "chargeback", "ops", 2.0))
    assert (adjusted.reference, adjusted.operator, adjusted.balance_after) == ("chargeback", "ops", 0)
    with pytest.raises(ValueError, match="operator"):
        wallets.adjust("acme", 5, "goodwill", "", 3.0)


def test_money_is_never_a_float() -> None:
    wallet = Wallet("acme", balance=100)
    # Compiled, the declared int is checked at the call (mypyc's TypeError); pure, the ledger's own
    # check names the argument.
    compiled = "billing.ledger" in compiled_modules()
    with pytest.raises(TypeError if compiled else ValueError, match="int object expected" if compiled else "price"):
        wallet.charge("m1", 1, 4.5, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError if compiled else ValueError, match="int object expected" if compiled else "top-up"):
        wallet.topup(10.0, "r1", None, 1.0)  # type: ignore[arg-type]
    assert wallet.balance == 100


# --- refunds -----------------------------------------------------------------------------------------------


def test_refund_policy() -> None:
    policy = RefundPolicy(frozenset({"UNDELIV", "rejectd"}))  # stat words as the configuration writes them
    assert policy.refund_for(MessageState.UNDELIVERABLE, 90) == 90
    assert policy.refund_for(MessageState.REJECTED, 45) == 45
    assert policy.refund_for(MessageState.DELIVERED, 90) == 0
    assert policy.refund_for(MessageState.EXPIRED, 90) == 0
    assert RefundPolicy(frozenset({"EXPIRED", "UNDELIV"})).refund_for(MessageState.EXPIRED, 3) == 3
    assert policy.refund_states == {"UNDELIV", "REJECTD"}
    with pytest.raises(ValueError, match="UNDELIVRD"):
        RefundPolicy(frozenset({"UNDELIVRD"}))  # a typo would silently never refund
    with pytest.raises(ValueError, match="ENROUTE"):
        RefundPolicy(frozenset({"ENROUTE"}))  # not final: the message may still be delivered


def test_receipt_flow_refunds_through_the_policy() -> None:
    policy = RefundPolicy(frozenset({"UNDELIV"}))
    wallets, _ = funded(1000)
    entry(wallets.charge("acme", "ok", 1, 45, 1.0))
    entry(wallets.charge("acme", "bad", 2, 45, 1.0))
    done = (("ok", MessageState.DELIVERED), ("bad", MessageState.UNDELIVERABLE), ("bad", MessageState.UNDELIVERABLE))
    for message_id, state in done:  # the last: a duplicate receipt
        wallet = wallets["acme"]
        refundable = wallet.refundable(message_id)
        amount = policy.refund_for(state, refundable or 0)
        if amount:
            entry(wallet.refund(message_id, amount, 2.0, reason=STAT_WORDS[state]))
        wallet.settle(message_id)
    assert wallets["acme"].balance == 1000 - 45


# --- ledger audit ------------------------------------------------------------------------------------------

ACCOUNTS = ("acme", "globex", "pkg")
operations = st.lists(
    st.one_of(
        st.tuples(st.just("topup"), st.sampled_from(ACCOUNTS), st.integers(1, 5000), st.integers(0, 30)),
        st.tuples(st.just("charge"), st.sampled_from(ACCOUNTS), st.integers(1, 6), st.integers(0, 60)),
        st.tuples(st.just("refund"), st.sampled_from(ACCOUNTS), st.integers(1, 400), st.integers(0, 30)),
        st.tuples(st.just("settle"), st.sampled_from(ACCOUNTS), st.integers(0, 0), st.integers(0, 30)),
        st.tuples(st.just("adjust"), st.sampled_from(ACCOUNTS), st.integers(-3000, 3000).filter(bool), st.just(0)),
    ),
    max_size=80,
)


def run(ops: list[tuple[str, str, int, int]]) -> tuple[Wallets, list[LedgerEntry]]:
    wallets = Wallets(next_entry_id=1)
    wallets.open("acme")
    wallets.open("globex")
    wallets.open("pkg", MESSAGES)
    entries: list[LedgerEntry] = []
    for step, (op, account, amount, n) in enumerate(ops):
        now = float(step)
        if op == "topup":
            result = wallets.topup(account, amount, f"ref-{n}", "ops", now)
        elif op == "charge":
            result = wallets.charge(account, f"msg-{step}", amount, 45, now)
        elif op == "refund":
            result = wallets.refund(account, f"msg-{n}", amount, now)
        elif op == "settle":
            wallets[account].settle(f"msg-{n}")
            continue
        else:
            result = wallets.adjust(account, amount, "correction", "ops", now)
        if isinstance(result, LedgerEntry):
            entries.append(result)
    return wallets, entries


@settings(max_examples=examples(150))
@given(operations)
def test_ledger_of_any_operation_sequence_adds_up(ops: list[tuple[str, str, int, int]]) -> None:
    wallets, entries = run(ops)
    assert check_ledger(entries, wallets.balances()) == []
    assert all(balance >= 0 for balance in wallets.balances().values())
    assert [e.entry_id for e in entries] == list(range(1, len(entries) + 1))


def test_check_ledger_detects_a_tampered_entry() -> None:
    wallets, entries = funded(1000)
    entries.append(entry(wallets.charge("acme", "m1", 2, 45, 2.0)))
    entries.append(entry(wallets.charge("acme", "m2", 1, 45, 3.0)))
    tampered = [*entries[:1], replace(entries[1], amount=-45), entries[2]]  # someone halved a charge
    found = check_ledger(tampered, wallets.balances())
    assert {(m.kind, m.entry_id) for m in found} == {(MismatchKind.RUNNING_BALANCE, 2), (MismatchKind.BALANCE, None)}


def test_check_ledger_detects_a_double_charge() -> None:
    wallets, entries = funded(1000)
    first = entry(wallets.charge("acme", "m1", 1, 45, 2.0))
    copy = replace(first, entry_id=99, balance_after=first.balance_after - 45)
    found = check_ledger([*entries, first, copy], {"acme": copy.balance_after})
    assert [(m.kind, m.entry_id) for m in found] == [(MismatchKind.DOUBLE_CHARGE, 99)]


def test_check_ledger_detects_a_wrong_balance() -> None:
    wallets, entries = funded(1000)
    entries.append(entry(wallets.charge("acme", "m1", 1, 45, 2.0)))
    assert check_ledger(entries, {"acme": 955}) == []
    found = check_ledger(entries, {"acme": 1000})
    assert [(m.account, m.kind) for m in found] == [("acme", MismatchKind.BALANCE)]
    assert check_ledger(entries, {})[0].kind is MismatchKind.UNKNOWN_ACCOUNT


def test_check_ledger_detects_over_refund_and_reused_reference() -> None:
    wallets, entries = funded(1000)
    charge = entry(wallets.charge("acme", "m1", 1, 45, 2.0))
    refund = LedgerEntry(3, "acme", EntryKind.REFUND, 90, "li", charge.balance_after + 90, 3.0, "m1", None, None)
    topup = replace(entries[0], entry_id=4, balance_after=refund.balance_after + 1000)
    found = check_ledger([*entries, charge, refund, topup], {"acme": topup.balance_after})
    assert [(m.kind, m.entry_id) for m in found] == [
        (MismatchKind.OVER_REFUND, 3),
        (MismatchKind.DUPLICATE_REFERENCE, 4),
    ]
