"""The store contract: the same writes and reads against every store a gateway can run on — SQLite
on a file, SQLite in memory, and PostgreSQL (a throwaway cluster; skipped, naming the package,
where PostgreSQL is not installed).

Where the stores differ on purpose, the ``Subject`` of each says how, and the tests check that:
PostgreSQL keeps undelivered receipts and MO in a shared outbox that nodes claim from (SQLite hands
them back at ``load``), draws ledger entry ids itself, and refuses a top-up reference credited
before instead of raising.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from smppgw.billing.ledger import EntryKind, LedgerEntry
from smppgw.model import (
    AccountStatus,
    Decision,
    Delivery,
    DeliveryKind,
    GroupKey,
    HeldForReview,
    HeldPart,
    HeldReject,
    Message,
    MessageState,
)
from smppgw.store.ports import Incident, Optout, Pledge, Store, StoredAccount, StoredDecision
from smppgw.store.postgres import PostgresStore
from smppgw.store.sqlite import SqliteStore
from smppgw.writes import (
    AccountCreated,
    AccountSettingsSet,
    AccountStatusSet,
    DecisionRecorded,
    DeliveryDone,
    DeliveryStored,
    HeldAdded,
    HeldDone,
    IncidentRecorded,
    LedgerAppended,
    MessageAccepted,
    MessageReplaced,
    MessageSettled,
    OptoutAdded,
    OptoutRemoved,
    PledgeRecorded,
    ReportRouteSet,
)

NODE = "node-a"
NODE_TIMEOUT = 30.0
T0 = 1_767_000_000.25  # a time a float holds exactly, as every store must give it back


@dataclass
class Subject:
    """One store under test, and what its contract says where stores differ."""

    name: str
    open: Callable[[], Any]  # a store on the same data (a restart, where the data outlives the store)
    durable: bool  # a store opened again finds what the last one wrote
    outbox: bool  # undelivered receipts and MO wait to be claimed, not handed back by load()
    draws_entry_ids: bool  # the store numbers ledger entries itself
    integrity_error: type[Exception]  # what a write that breaks a unique key raises
    refuses_credited_reference: bool  # a reference credited before: refused quietly (else it raises)


def _postgres_integrity_error() -> type[Exception]:
    import psycopg  # noqa: PLC0415 (only where PostgreSQL runs)

    return psycopg.IntegrityError


@pytest.fixture(params=["sqlite-file", "sqlite-memory", "postgresql"])
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    sqlite = {
        "outbox": False,
        "draws_entry_ids": False,
        "integrity_error": sqlite3.IntegrityError,
        "refuses_credited_reference": False,
    }
    if request.param == "sqlite-file":
        path = tmp_path / "state" / "smppgw.db"
        return Subject("sqlite-file", lambda: SqliteStore(path), durable=True, **sqlite)
    if request.param == "sqlite-memory":
        memory = SqliteStore(":memory:")
        return Subject("sqlite-memory", lambda: memory, durable=False, **sqlite)
    url: str = request.getfixturevalue("pg_url")
    return Subject(
        "postgresql",
        lambda: PostgresStore(url, NODE),
        durable=True,
        outbox=True,
        draws_entry_ids=True,
        integrity_error=_postgres_integrity_error(),
        refuses_credited_reference=True,
    )


@pytest.fixture
def store(subject: Subject) -> Iterator[Store]:
    opened = subject.open()
    opened.load()  # as a node starts: a cluster store registers the node here
    yield opened
    opened.close()


def restart(subject: Subject, store: Store) -> tuple[Store, Any]:
    """The store as a restarted node finds it: opened again where the data outlives the store."""
    if not subject.durable:
        return store, store.load()
    store.close()
    again = subject.open()
    return again, again.load()


def undelivered(subject: Subject, store: Any, accounts: Sequence[str]) -> list[Delivery]:
    """The receipts and MO still owed: handed back at load, or claimed from the shared outbox."""
    if subject.outbox:
        claimed: list[Delivery] = store.claim(list(accounts), NODE_TIMEOUT)
        return claimed
    found: list[Delivery] = store.load().deliveries
    return [d for d in found if d.account in accounts]


# ---- what the tests write -------------------------------------------------------------------


def account(system_id: str = "acme", *, unit: str = "li", settings: str = "") -> AccountCreated:
    return AccountCreated(system_id, 0, unit, AccountStatus.ACTIVE, settings, T0)


def message(seq: int, *, account: str = "acme", destination: str = "13900008888", at: float = T0) -> Message:
    return Message(
        message_id=f"{seq:015x}",
        account=account,
        source_addr="10690001",
        source_ton=0,
        source_npi=1,
        destination_addr=destination,
        dest_ton=1,
        dest_npi=1,
        msisdn="86" + destination[-11:],
        carrier="cmcc",
        home_carrier="cmcc",
        segments=2,
        price=45,
        charge=90,
        data_coding=8,
        esm_class=0x40,
        body=b"\x05\x00\x03\x2a\x02\x01" + "验证码 314159".encode("utf-16-be"),
        registered_delivery=1,
        submitted_at=at,
        validity_until=at + 86_400.5,
        seq=seq,
    )


def entry(
    entry_id: int,
    kind: EntryKind,
    amount: int,
    balance_after: int,
    *,
    account: str = "acme",
    message_id: str | None = None,
    reference: str | None = None,
    at: float = T0,
) -> LedgerAppended:
    operator = "ops" if kind is EntryKind.TOPUP else None
    return LedgerAppended(
        LedgerEntry(entry_id, account, kind, amount, "li", balance_after, at, message_id, reference, operator)
    )


def receipt(delivery_id: int, of: Message) -> Delivery:
    return Delivery(
        delivery_id=delivery_id,
        account=of.account,
        kind=DeliveryKind.RECEIPT,
        message_id=of.message_id,
        source_addr=of.destination_addr,
        source_ton=1,
        source_npi=1,
        destination_addr=of.source_addr,
        dest_ton=0,
        dest_npi=1,
        esm_class=0x04,
        data_coding=0,
        body=f"id:{of.message_id} sub:001 dlvrd:001 stat:DELIVRD err:000".encode(),
        state=int(MessageState.DELIVERED),
        err=0,
        created_at=T0 + 3.5,
    )


def final_receipt(delivery_id: int, settled: Message, body: bytes = b"stat:UNDELIV err:001") -> Delivery:
    """The receipt the core makes for a settled message: from its recipient to its sender, in the
    message's final state and err, made at its final time."""
    assert settled.final_at is not None
    return Delivery(delivery_id, settled.account, DeliveryKind.RECEIPT, settled.message_id,
                    settled.destination_addr, settled.dest_ton, settled.dest_npi,
                    settled.source_addr, settled.source_ton, settled.source_npi,
                    0x04, 0, body, int(settled.state), settled.err, settled.final_at)  # fmt: skip


def settlement(settled: Message, receipt: Delivery | None = None) -> MessageSettled:
    assert settled.final_at is not None
    return MessageSettled(settled.message_id, settled.state, settled.final_at, settled.err, settled.code,
                          settled.refunded, settled.carrier, None, receipt)  # fmt: skip


def delivered(m: Message, at: float = T0 + 3) -> Message:
    return m.settled(MessageState.DELIVERED, at, 0, "DELIVRD", 0)


def funded(
    store: Store, system_id: str = "acme", amount: int = 10_000, reference: str = "BANK-1", entry_id: int = 1
) -> None:
    """A new account with its opening top-up."""
    opening = entry(entry_id, EntryKind.TOPUP, amount, amount, account=system_id, reference=reference)
    store.apply([account(system_id), opening])


def without_id(e: LedgerEntry) -> tuple[object, ...]:
    return (e.account, e.kind, e.amount, e.unit, e.balance_after, e.at, e.message_id, e.reference, e.operator)


# ---- load -------------------------------------------------------------------------------------


def test_an_empty_store_recovers_nothing(subject: Subject, store: Store) -> None:
    recovered = store.load()
    assert recovered.accounts == {}
    assert recovered.open_messages == []
    assert recovered.deliveries == []
    assert recovered.topup_references == set()
    assert min(recovered.next_entry_id, recovered.next_message_seq, recovered.next_delivery_id) >= 1
    assert store.balances() == {}
    assert store.ledger() == []
    assert store.messages() == []
    assert store.held() == []
    assert store.optouts() == []
    assert store.pledges() == {}
    assert store.incidents() == []
    assert store.decision_list(None, None, 10) == []
    assert store.next_decision_id() >= 1 and store.next_incident_id() >= 1


def test_a_restart_recovers_balances_open_messages_deliveries_counters_and_references(
    subject: Subject, store: Store
) -> None:
    first, second, done = message(7), message(8), message(9)
    store.apply(
        [
            account("acme"),
            AccountCreated("globex", 0, "msg", AccountStatus.ACTIVE, '{"system_id": "globex"}', T0 + 1),
            entry(1, EntryKind.TOPUP, 10_000, 10_000, reference="BANK-1"),
            entry(2, EntryKind.PACKAGE, 500, 500, account="globex", reference="PKG-1"),
            MessageAccepted(first),
            entry(3, EntryKind.CHARGE, -90, 9_910, message_id=first.message_id),
            MessageAccepted(second),
            entry(4, EntryKind.CHARGE, -90, 9_820, message_id=second.message_id),
            MessageAccepted(done),
            entry(5, EntryKind.CHARGE, -90, 9_730, message_id=done.message_id),
        ],
    )
    settled = delivered(done)
    store.apply(
        [
            DeliveryStored(replace(receipt(40, done), esm_class=0x20, state=int(MessageState.ENROUTE))),
            settlement(settled, final_receipt(41, settled)),
            AccountStatusSet("globex", AccountStatus.SUSPENDED),
            AccountSettingsSet("globex", '{"system_id": "globex", "max_binds": 2}'),
        ],
    )

    store, recovered = restart(subject, store)
    try:
        assert recovered.accounts == {
            "acme": StoredAccount("acme", 9_730, "li", AccountStatus.ACTIVE, "", T0),
            "globex": StoredAccount(
                "globex", 500, "msg", AccountStatus.SUSPENDED, '{"system_id": "globex", "max_binds": 2}', T0 + 1
            ),
        }
        assert recovered.accounts["globex"].status is AccountStatus.SUSPENDED
        assert recovered.open_messages == [first, second]  # in the order they were accepted
        assert recovered.topup_references == {"BANK-1", "PKG-1"}  # a package's reference too
        assert recovered.next_message_seq > done.seq
        assert recovered.next_delivery_id > 41
        if not subject.draws_entry_ids:
            assert recovered.next_entry_id == 6
        assert undelivered(subject, store, ["acme"]) == [
            replace(receipt(40, done), esm_class=0x20, state=int(MessageState.ENROUTE)),
            final_receipt(41, settled),
        ]
        assert store.balances() == {"acme": 9_730, "globex": 500}
    finally:
        store.close()


def test_a_settled_message_is_no_longer_open(store: Store) -> None:
    m = message(1)
    funded(store)
    store.apply([MessageAccepted(m), entry(2, EntryKind.CHARGE, -90, 9_910, message_id=m.message_id)])
    assert store.load().open_messages == [m]
    store.apply(
        [
            MessageSettled(m.message_id, MessageState.UNDELIVERABLE, T0 + 9, 1, "UNDELIV", 90, "cucc"),
            entry(3, EntryKind.REFUND, 90, 10_000, message_id=m.message_id, at=T0 + 9),
        ],
    )
    assert store.load().open_messages == []
    found = store.get_message(m.message_id)
    assert found == replace(
        m, state=MessageState.UNDELIVERABLE, final_at=T0 + 9, err=1, code="UNDELIV", refunded=90, carrier="cucc"
    )
    assert found is not None and found.is_final


def test_a_delivered_receipt_is_gone(subject: Subject, store: Store) -> None:
    m = message(1)
    funded(store)
    store.apply([MessageAccepted(m), DeliveryStored(receipt(5, m)), DeliveryStored(receipt(6, m))])
    store.apply([DeliveryDone(5)])
    assert [d.delivery_id for d in undelivered(subject, store, ["acme"])] == [6]


def test_a_receipt_stored_and_acknowledged_in_one_batch_is_gone(subject: Subject, store: Store) -> None:
    m = message(1)
    funded(store)
    store.apply([MessageAccepted(m), DeliveryStored(receipt(5, m)), DeliveryDone(5)])
    assert undelivered(subject, store, ["acme"]) == []


def test_a_settlement_s_receipt_is_handed_back_whole_until_acknowledged(subject: Subject, store: Store) -> None:
    m = message(1)
    funded(store)
    store.apply([MessageAccepted(m)])
    settled = m.settled(MessageState.UNDELIVERABLE, T0 + 7.5, 1, "UNDELIV", 0)
    owed = final_receipt(5, settled)
    store.apply([settlement(settled, owed)])
    store, recovered = restart(subject, store)
    try:
        assert recovered.open_messages == []
        assert recovered.next_delivery_id > 5
        assert undelivered(subject, store, ["acme"]) == [owed]
        assert store.get_message(m.message_id) == settled
        store.apply([DeliveryDone(5)])
        store, recovered = restart(subject, store)
        assert undelivered(subject, store, ["acme"]) == []
        assert store.get_message(m.message_id) == settled  # acknowledging its receipt leaves the message as it was
    finally:
        store.close()


def test_a_message_s_intermediate_and_final_receipts_are_acknowledged_each_alone_or_together(
    subject: Subject, store: Store
) -> None:
    ms = [message(1), message(2), message(3)]
    funded(store)
    store.apply([MessageAccepted(m) for m in ms])
    ids = {m.message_id: (4 + 2 * i, 5 + 2 * i) for i, m in enumerate(ms)}  # intermediate, final
    for m in ms:
        enroute, final = ids[m.message_id]
        intermediate = replace(receipt(enroute, m), esm_class=0x20, state=int(MessageState.ENROUTE))
        store.apply([DeliveryStored(intermediate), settlement(delivered(m), final_receipt(final, delivered(m)))])
    store.apply([DeliveryDone(4)])  # an intermediate one alone
    store.apply([DeliveryDone(7)])  # a final one alone
    store.apply([DeliveryDone(5), DeliveryDone(6)])  # one of each at once
    assert undelivered(subject, store, ["acme"]) == [
        replace(receipt(8, ms[2]), esm_class=0x20, state=int(MessageState.ENROUTE)),
        final_receipt(9, delivered(ms[2])),
    ]


def test_replace_changes_what_a_waiting_message_will_send(store: Store) -> None:
    m = message(1)
    funded(store)
    store.apply([MessageAccepted(m)])
    store.apply([MessageReplaced(m.message_id, b"new text", 0, 0, None)])
    assert store.get_message(m.message_id) == replace(
        m, body=b"new text", data_coding=0, registered_delivery=0, validity_until=None
    )


# ---- messages and the ledger --------------------------------------------------------------------


def test_get_message_gives_back_exactly_what_was_written(store: Store) -> None:
    m = message(3)
    funded(store)
    store.apply([MessageAccepted(m)])
    found = store.get_message(m.message_id)
    assert found == m
    assert found is not None and found.state is MessageState.ENROUTE and isinstance(found.body, bytes)
    assert store.get_message("ffffffffffffff0") is None


def test_message_lists_are_newest_first_and_filtered(store: Store) -> None:
    funded(store)
    funded(store, "globex", reference="BANK-2", entry_id=2)
    ms = [
        message(1, at=T0),
        message(2, account="globex", destination="13800001234", at=T0 + 10),
        message(3, destination="8613800001234", at=T0 + 20),
        message(4, at=T0 + 30),
    ]
    store.apply([MessageAccepted(m) for m in ms])
    assert [m.seq for m in store.messages()] == [4, 3, 2, 1]
    assert [m.seq for m in store.messages(account="acme", limit=2)] == [4, 3]
    assert [m.seq for m in store.search_messages(destination="13800001234")] == [3, 2]
    assert [m.seq for m in store.search_messages(account="acme", destination="1234")] == [3]
    assert [m.seq for m in store.search_messages(since=T0 + 10, until=T0 + 30)] == [3, 2]
    assert store.search_messages(account="nobody") == []


def test_the_ledger_of_an_account_is_in_order_and_exact_to_the_unit(subject: Subject, store: Store) -> None:
    funded(store, "acme", 1_000_001)
    funded(store, "globex", 7, reference="BANK-2", entry_id=2)
    writes = [
        entry(3, EntryKind.CHARGE, -45, 999_956, message_id="m1", at=T0 + 1),
        entry(4, EntryKind.CHARGE, -1, 6, account="globex", message_id="m2", at=T0 + 1),
        entry(5, EntryKind.REFUND, 45, 1_000_001, message_id="m1", at=T0 + 2),
        entry(6, EntryKind.ADJUSTMENT, -1_000_000, 1, reference="goodwill reversed", at=T0 + 3),
    ]
    store.apply(writes)
    entries = store.ledger("acme")
    assert [without_id(e) for e in entries] == [
        ("acme", EntryKind.TOPUP, 1_000_001, "li", 1_000_001, T0, None, "BANK-1", "ops"),
        ("acme", EntryKind.CHARGE, -45, "li", 999_956, T0 + 1, "m1", None, None),
        ("acme", EntryKind.REFUND, 45, "li", 1_000_001, T0 + 2, "m1", None, None),
        ("acme", EntryKind.ADJUSTMENT, -1_000_000, "li", 1, T0 + 3, None, "goodwill reversed", None),
    ]
    assert all(isinstance(e.kind, EntryKind) for e in entries)
    ids = [e.entry_id for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == 4
    if not subject.draws_entry_ids:
        assert ids == [1, 3, 5, 6]
    assert [e.amount for e in store.ledger("globex")] == [7, -1]
    assert len(store.ledger()) == 6
    assert store.balances() == {"acme": 1, "globex": 6}


def test_a_topup_reference_credited_twice_is_refused(subject: Subject, store: Store) -> None:
    funded(store, reference="BANK-7")
    again = [entry(2, EntryKind.TOPUP, 5_000, 15_000, reference="BANK-7", at=T0 + 1)]
    if subject.refuses_credited_reference:
        store.apply(again)  # refused: nothing written (a group commit reports it, see below)
        assert isinstance(store, PostgresStore)
        assert store.apply_groups([again]).refused == {0: "duplicate_reference"}
    else:
        with pytest.raises(subject.integrity_error):
            store.apply(again)
    assert store.balances() == {"acme": 10_000}
    assert [e.reference for e in store.ledger("acme")] == ["BANK-7"]
    assert store.load().topup_references == {"BANK-7"}


def test_a_failing_write_rolls_back_the_whole_batch(subject: Subject, store: Store) -> None:
    funded(store)
    m = message(1)
    batch = [
        MessageAccepted(m),
        entry(2, EntryKind.CHARGE, -90, 9_910, message_id=m.message_id),
        DecisionRecorded(m.message_id, "acme", T0, Decision.ALLOWED, "", "", ""),
        OptoutAdded("acme", "8613900008888", "STOP", T0),
        MessageAccepted(m),  # the same message again: its id is taken
    ]
    with pytest.raises(subject.integrity_error):
        store.apply(batch)
    assert store.get_message(m.message_id) is None
    assert store.balances() == {"acme": 10_000}
    assert len(store.ledger("acme")) == 1
    assert store.decisions(m.message_id) == []
    assert store.optouts() == []
    # And the store goes on: the same writes without the broken one commit.
    store.apply(batch[:-1])
    assert store.get_message(m.message_id) == m
    assert store.balances() == {"acme": 9_910}


# ---- compliance -------------------------------------------------------------------------------


def test_held_messages_of_the_three_kinds_read_back_exactly(store: Store) -> None:
    funded(store)
    group = GroupKey("acme", "SHOP", "13900008888", 42, 3)
    held = [
        HeldForReview("000000000000001", "acme", "000000000000001", "gambling", "博彩", T0, T0 + 3_600),
        HeldForReview("000000000000002", "acme", "000000000000001", "gambling", "博彩", T0, T0 + 3_600),
        HeldPart("000000000000003", "acme", group, 2, T0 + 1, T0 + 61.5),
        HeldReject("000000000000004", "acme", "CONTENT", 0x45, T0 + 2),
    ]
    store.apply([HeldAdded(h) for h in held])
    assert store.held() == held  # oldest first
    # Held again (a long message judged once all its parts are in): the new hold replaces the old.
    review = HeldForReview("000000000000003", "acme", "000000000000003", "fraud", "中奖", T0 + 5, T0 + 99)
    store.apply([HeldDone("000000000000001"), HeldAdded(review)])
    assert store.held() == [held[1], held[3], review]


def test_decisions_read_back_in_the_order_taken(store: Store) -> None:
    taken = [
        DecisionRecorded("m1", "acme", T0, Decision.HELD, "gambling", "博彩", "held for review"),
        DecisionRecorded("m2", "globex", T0 + 1, Decision.ALLOWED, "", "", ""),
        DecisionRecorded("m1", "acme", T0 + 2, Decision.APPROVED, "", "", "approved by alice"),
        DecisionRecorded("r17", "acme", T0 + 3, Decision.OPTED_OUT, "", "", "0x00000405: 139****8888"),
    ]
    store.apply(taken)
    on_m1 = store.decisions("m1")
    assert [(d.message_id, d.account, d.at, d.decision, d.category, d.term, d.detail) for d in on_m1] == [
        ("m1", "acme", T0, Decision.HELD, "gambling", "博彩", "held for review"),
        ("m1", "acme", T0 + 2, Decision.APPROVED, "", "", "approved by alice"),
    ]
    assert on_m1[0].decision is Decision.HELD
    newest = store.decision_list(None, None, 10)
    assert [d.message_id for d in newest] == ["r17", "m1", "m2", "m1"]
    ids = [d.decision_id for d in newest]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert store.decisions("r17") == [
        StoredDecision(ids[0], "r17", "acme", T0 + 3, Decision.OPTED_OUT, "", "", "0x00000405: 139****8888")
    ]
    assert [d.message_id for d in store.decision_list("acme", T0 + 1, 10)] == ["r17", "m1"]
    assert [d.message_id for d in store.decision_list(None, None, 2)] == ["r17", "m1"]
    assert store.next_decision_id() > ids[0]


def test_a_decision_written_with_its_message_reads_back_among_the_others(subject: Subject, store: Store) -> None:
    funded(store)
    m1, m2, m3 = message(1), message(2, account="globex", at=T0 + 2), message(3, at=T0 + 4)
    flagged = DecisionRecorded(m1.message_id, "acme", T0, Decision.FLAGGED, "ads", "促销", "ads: 促销")
    deferred = DecisionRecorded(m1.message_id, "acme", T0, Decision.DEFERRED, "", "", "outside the send window")
    refusal = DecisionRecorded("refused-9", "acme", T0 + 1, Decision.OPTED_OUT, "", "", "0x00000405")
    allowed = DecisionRecorded(m2.message_id, "globex", T0 + 2, Decision.ALLOWED, "", "", "")
    approved = DecisionRecorded(m1.message_id, "acme", T0 + 3, Decision.APPROVED, "", "", "approved by alice")
    store.apply([MessageAccepted(m1, None, flagged), deferred, refusal])
    store.apply([account("globex"), MessageAccepted(m2, None, allowed), approved, MessageAccepted(m3)])
    store, _ = restart(subject, store)
    try:

        def taken(ds: list[StoredDecision]) -> list[DecisionRecorded]:
            return [
                DecisionRecorded(d.message_id, d.account, d.at, d.decision, d.category, d.term, d.detail) for d in ds
            ]

        assert taken(store.decisions(m1.message_id)) == [flagged, deferred, approved]
        assert taken(store.decisions(m2.message_id)) == [allowed]
        assert store.decisions(m3.message_id) == []  # accepted without a decision (compliance off)
        newest = store.decision_list(None, None, 10)
        assert taken(newest) == [approved, allowed, refusal, deferred, flagged]
        ids = [d.decision_id for d in newest]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
        assert taken(store.decision_list("acme", None, 10)) == [approved, refusal, deferred, flagged]
        assert taken(store.decision_list(None, T0 + 1, 10)) == [approved, allowed, refusal]
        assert taken(store.decision_list(None, None, 2)) == [approved, allowed]
        assert store.next_decision_id() > ids[0]
        later = DecisionRecorded(m2.message_id, "globex", T0 + 5, Decision.REJECTED, "", "", "rejected by bob")
        store.apply([later])  # after a restart: ids still above the ones before
        assert taken(store.decisions(m2.message_id)) == [allowed, later]
        assert store.decision_list(None, None, 1)[0].decision_id > ids[0]
    finally:
        store.close()


def test_incidents_read_back(store: Store) -> None:
    first = IncidentRecorded(
        1, "acme", T0, "m1", "subversion", 105, "颠覆", Decision.SUSPENDED, "192.0.2.7", "13900008888", "号召颠覆"
    )
    second = IncidentRecorded(2, "globex", T0 + 1, "m2", "fraud", None, "中奖", Decision.REJECTED, "", "1380", "中奖")
    store.apply([first, second])
    assert store.incidents() == [
        Incident(
            1, "acme", T0, "m1", "subversion", 105, "颠覆", Decision.SUSPENDED, "192.0.2.7", "13900008888", "号召颠覆"
        ),
        Incident(2, "globex", T0 + 1, "m2", "fraud", None, "中奖", Decision.REJECTED, "", "1380", "中奖"),
    ]
    assert [i.incident_id for i in store.incidents("globex")] == [2]
    assert store.next_incident_id() > 2


def test_optouts_are_kept_once_and_removed(store: Store) -> None:
    store.apply(
        [
            OptoutAdded("acme", "8613900008888", "STOP", T0 + 1),
            OptoutAdded("*", "8613800001111", "import", T0),
            OptoutAdded("acme", "8613700002222", "import", T0),
            OptoutAdded("acme", "8613900008888", "import", T0 + 5),  # already out: the first stays
        ],
    )
    assert store.optouts() == [
        Optout("*", "8613800001111", "import", T0),
        Optout("acme", "8613700002222", "import", T0),
        Optout("acme", "8613900008888", "STOP", T0 + 1),
    ]
    store.apply([OptoutRemoved("acme", "8613700002222"), OptoutRemoved("acme", "8600000000000")])
    assert [(o.account, o.msisdn) for o in store.optouts()] == [("*", "8613800001111"), ("acme", "8613900008888")]


def test_the_latest_pledge_of_an_account_is_the_one_kept(store: Store) -> None:
    store.apply(
        [
            PledgeRecorded("acme", "2026-01-05", "PLEDGE-1", "alice", T0),
            PledgeRecorded("globex", "2026-02-01", "PLEDGE-9", "bob", T0 + 1),
            PledgeRecorded("acme", "2026-06-30", "PLEDGE-2", "carol", T0 + 2),
        ],
    )
    assert store.pledges() == {
        "acme": Pledge("acme", "2026-06-30", "PLEDGE-2", "carol", T0 + 2),
        "globex": Pledge("globex", "2026-02-01", "PLEDGE-9", "bob", T0 + 1),
    }


def test_compliance_records_outlive_a_restart(subject: Subject, store: Store) -> None:
    held = HeldPart("000000000000003", "acme", GroupKey("acme", "10690001", "13900008888", 7, 2), 1, T0, T0 + 60)
    store.apply(
        [
            HeldAdded(held),
            DecisionRecorded(held.message_id, "acme", T0, Decision.HELD, "", "", "part 1 of 2"),
            OptoutAdded("acme", "8613900008888", "STOP", T0),
            PledgeRecorded("acme", "2026-01-05", "PLEDGE-1", "alice", T0),
        ],
    )
    store, _ = restart(subject, store)
    try:
        assert store.held() == [held]
        assert [d.detail for d in store.decisions(held.message_id)] == ["part 1 of 2"]
        assert store.optouts() == [Optout("acme", "8613900008888", "STOP", T0)]
        assert list(store.pledges()) == ["acme"]
    finally:
        store.close()


def test_the_report_routes_of_undelivered_receipts_outlive_a_restart(subject: Subject, store: Store) -> None:
    """A message sent over HTTP keeps where its receipts go while it is open or its receipts are owed;
    once they are delivered its route is not reloaded."""
    waiting, done, open_ = message(1), message(2), message(3)
    funded(store)
    route = '{"k":"push","f":"jasmin","u":"http://example.com/dlr?x=1&y=回执"}'
    store.apply(
        [
            MessageAccepted(waiting),
            MessageAccepted(done),
            ReportRouteSet(waiting.message_id, "acme", route),
            ReportRouteSet(done.message_id, "acme", '{"k":"pull"}'),
            settlement(delivered(waiting), final_receipt(5, delivered(waiting))),
            settlement(delivered(done), final_receipt(6, delivered(done))),
        ]
    )
    store.apply([MessageAccepted(open_), ReportRouteSet(open_.message_id, "acme", '{"k":"none"}')])
    store.apply([DeliveryDone(6)])
    store, recovered = restart(subject, store)
    try:
        assert recovered.report_routes == {waiting.message_id: route, open_.message_id: '{"k":"none"}'}
    finally:
        store.close()


def test_routes_of_messages_accepted_but_not_submitted_are_recovered_until_rewritten(
    subject: Subject, store: Store
) -> None:
    """An HTTP batch's queued messages have no message row yet: their routes (text starting
    '{"q":') come back at load; once rewritten without the queue part (submitted), they do not."""
    funded(store)
    queued = '{"q":"00","a":"acme","ip":"","n":7,"c":45,"k":"pull"}'
    store.apply([ReportRouteSet("m-queued", "acme", queued), ReportRouteSet("m-fed", "acme", queued)])
    store.apply([ReportRouteSet("m-fed", "acme", '{"k":"pull"}')])
    store, recovered = restart(subject, store)
    try:
        assert recovered.report_routes == {"m-queued": queued}
    finally:
        store.close()


def test_an_sqlite_database_made_before_report_routes_opens_and_gains_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SqliteStore(path)
    funded(old)
    old.close()
    with sqlite3.connect(path) as db:  # as a database written before the table existed
        db.execute("DROP TABLE report_routes")
    again = SqliteStore(path)
    try:
        assert again.load().report_routes == {}
        m = message(1)
        again.apply([MessageAccepted(m), ReportRouteSet(m.message_id, "acme", "{}"), DeliveryStored(receipt(5, m))])
        assert again.load().report_routes == {m.message_id: "{}"}
        assert again.balances() == {"acme": 10_000}
    finally:
        again.close()


# ---- SQLite in memory -----------------------------------------------------------------------------


def test_an_sqlite_store_in_memory_is_one_database_of_its_own() -> None:
    """Its reader sees what its writer committed; another in-memory store shares nothing with it;
    closed, it is gone."""
    one, other = SqliteStore(":memory:"), SqliteStore(":memory:")
    try:
        funded(one)
        assert one.balances() == {"acme": 10_000}
        assert one.load().topup_references == {"BANK-1"}
        assert other.balances() == {}
        funded(other, "globex", 5, reference="BANK-1")  # another database: the reference is free there
        assert other.balances() == {"globex": 5}
        assert one.balances() == {"acme": 10_000}
    finally:
        one.close()
        other.close()
    again = SqliteStore(":memory:")
    try:
        assert again.load().accounts == {}
    finally:
        again.close()


# ---- one batch, in order --------------------------------------------------------------------------


def test_a_batch_applies_its_writes_in_the_order_given(store: Store) -> None:
    """A group commit joins what many callers wrote: a message accepted and settled in one batch,
    after another message's settlement, ends settled."""
    first, second = message(1), message(2)
    funded(store)
    store.apply([MessageAccepted(first)])
    store.apply(
        [
            MessageSettled(first.message_id, MessageState.DELIVERED, T0 + 1, 0, "DELIVRD", 0, "cmcc"),
            MessageAccepted(second),
            MessageSettled(second.message_id, MessageState.REJECTED, T0 + 1, 0x45, "CONTENT", 90, "cmcc"),
        ]
    )
    assert store.load().open_messages == []
    found = store.get_message(second.message_id)
    assert found is not None and found.state is MessageState.REJECTED and found.refunded == 90


def test_a_message_held_and_released_in_one_batch_is_not_held(store: Store) -> None:
    part = HeldPart("000000000000002", "acme", GroupKey("acme", "10690001", "13900008888", 7, 2), 2, T0, T0 + 60)
    store.apply([HeldAdded(HeldReject("000000000000001", "acme", "CONTENT", 0x45, T0))])
    store.apply([HeldDone("000000000000001"), HeldAdded(part), HeldDone(part.message_id)])
    assert store.held() == []


def test_a_held_part_judged_whole_and_held_for_review_in_one_batch_stays_held(store: Store) -> None:
    """The parts of a long message complete and go to review: each part's row is removed and added
    again, in that order, in one batch."""
    key = GroupKey("acme", "10690001", "13900008888", 8, 2)
    first, second = "000000000000003", "000000000000004"
    store.apply([HeldAdded(HeldPart(first, "acme", key, 1, T0, T0 + 60))])
    review = [HeldForReview(m, "acme", first, "gambling", "casino", T0 + 1, T0 + 1801) for m in (first, second)]
    store.apply([HeldDone(first), HeldDone(second), *(HeldAdded(h) for h in review)])
    assert sorted(store.held(), key=lambda h: h.message_id) == review


def test_a_message_accepted_and_replaced_in_one_batch_sends_the_new_text(store: Store) -> None:
    first, second = message(1), message(2)
    funded(store)
    store.apply([MessageAccepted(first)])
    store.apply(
        [
            MessageReplaced(first.message_id, b"first, new", 0, 0, None),
            MessageAccepted(second),
            MessageReplaced(second.message_id, b"second, new", 0, 1, None),
        ]
    )
    found = store.get_message(second.message_id)
    assert found == replace(second, body=b"second, new", data_coding=0, registered_delivery=1, validity_until=None)


def test_a_receipt_stored_and_acknowledged_after_another_acknowledgement_is_gone(
    subject: Subject, store: Store
) -> None:
    m = message(1)
    funded(store)
    store.apply([MessageAccepted(m), DeliveryStored(receipt(5, m))])
    store.apply(
        [DeliveryDone(5), DeliveryStored(receipt(6, m)), DeliveryDone(6),
         DeliveryStored(receipt(7, m))]
    )  # fmt: skip
    assert [d.delivery_id for d in undelivered(subject, store, ["acme"])] == [7]


def test_an_optout_added_and_removed_in_one_batch_is_gone_and_removed_then_added_stays(store: Store) -> None:
    store.apply([OptoutAdded("acme", "8613700002222", "import", T0)])
    store.apply(
        [
            OptoutRemoved("acme", "8613700002222"),
            OptoutAdded("acme", "8613900008888", "STOP", T0 + 1),
            OptoutRemoved("acme", "8613900008888"),
            OptoutAdded("acme", "8613700002222", "STOP", T0 + 2),
        ]
    )
    assert store.optouts() == [Optout("acme", "8613700002222", "STOP", T0 + 2)]


def test_an_empty_batch_changes_nothing(store: Store) -> None:
    funded(store)
    store.apply([])
    assert store.balances() == {"acme": 10_000}
    assert len(store.ledger()) == 1


# ---- big batches (a busy gateway's group commits) -------------------------------------------------

MANY = 40  # above PostgreSQL's COPY threshold (its store sends big batches' inserts by COPY)


def test_a_big_batch_of_messages_charges_settlements_and_receipts_reads_back_exactly(
    subject: Subject, store: Store
) -> None:
    funded(store, amount=100_000)
    ms = [message(seq) for seq in range(1, MANY + 1)]
    submit = [
        w
        for i, m in enumerate(ms)
        for w in (
            MessageAccepted(m),
            entry(2 + i, EntryKind.CHARGE, -90, 100_000 - 90 * (i + 1), message_id=m.message_id),
        )
    ]
    store.apply(submit)
    assert store.load().open_messages == ms
    assert store.balances() == {"acme": 100_000 - 90 * MANY}
    # The next batch: the first half settled with receipts, half of those acknowledged at once, and
    # new messages accepted and settled in the same batch.
    late = [message(seq) for seq in range(MANY + 1, 2 * MANY + 1)]
    settled = ms[: MANY // 2] + late
    final: list[Any] = [MessageAccepted(m) for m in late]
    receipts = []
    for i, m in enumerate(settled):
        receipts.append(final_receipt(1_000 + i, m.settled(MessageState.DELIVERED, T0 + 5, 0, "DELIVRD", 0)))
        final.append(MessageSettled(m.message_id, MessageState.DELIVERED, T0 + 5, 0, "DELIVRD", 0, "cmcc",
                                    None, receipts[-1]))  # fmt: skip
        if i % 2:
            final.append(DeliveryDone(1_000 + i))
    store.apply(final)
    assert store.load().open_messages == ms[MANY // 2 :]
    for m in settled:
        assert store.get_message(m.message_id) == replace(
            m, state=MessageState.DELIVERED, final_at=T0 + 5, code="DELIVRD", carrier="cmcc"
        )
    waiting = undelivered(subject, store, ["acme"])
    assert [d.delivery_id for d in waiting] == [1_000 + i for i in range(0, len(settled), 2)]
    assert waiting == receipts[::2]
    entries = store.ledger("acme")
    assert [e.balance_after for e in entries] == [100_000 - 90 * i for i in range(MANY + 1)]


def test_a_big_batch_of_accepting_decisions_and_others_reads_back_in_the_order_written(store: Store) -> None:
    """A busy gateway's group commit: every message with the decision it was accepted with, and
    decisions of their own (a refused submit's) in between; they read back numbered in that order."""
    funded(store, amount=100_000)
    batch: list[Any] = []
    expected: list[tuple[str, Decision, str]] = []
    for seq in range(1, MANY + 1):
        m = message(seq)
        allowed = DecisionRecorded(m.message_id, "acme", T0 + seq, Decision.ALLOWED, "", "", "")
        batch.append(MessageAccepted(m, None, allowed))
        expected.append((m.message_id, Decision.ALLOWED, ""))
        if seq % 4 == 0:
            refused = f"r{seq}"
            batch.append(DecisionRecorded(refused, "acme", T0 + seq, Decision.OPTED_OUT, "", "", f"refused {seq}"))
            expected.append((refused, Decision.OPTED_OUT, f"refused {seq}"))
    store.apply(batch)
    newest = store.decision_list("acme", None, 1_000)
    assert [(d.message_id, d.decision, d.detail) for d in reversed(newest)] == expected
    assert [d.decision_id for d in newest] == sorted((d.decision_id for d in newest), reverse=True)
    (one,) = store.decisions(message(3).message_id)
    assert (one.decision, one.at, one.account) == (Decision.ALLOWED, T0 + 3, "acme")


def test_a_big_batch_with_a_failing_write_rolls_back_whole(subject: Subject, store: Store) -> None:
    funded(store)
    ms = [message(seq) for seq in range(1, MANY + 1)]
    batch: list[Any] = [MessageAccepted(m) for m in ms] + [DeliveryStored(receipt(i, m)) for i, m in enumerate(ms)]
    with pytest.raises(subject.integrity_error):
        store.apply([*batch, MessageAccepted(ms[0])])
    assert store.messages() == []
    assert undelivered(subject, store, ["acme"]) == []
    store.apply(batch)
    assert len(store.messages(limit=1_000)) == MANY


def test_a_big_group_commit_refuses_only_the_writes_that_would_overdraw(store: Store) -> None:
    """PostgreSQL: the balance is the database's; a batch whose charges overdraw is redone, keeping
    each account's writes while its money lasts."""
    if not isinstance(store, PostgresStore):
        pytest.skip("group commits with refusals are the cluster store's")
    funded(store, amount=90 * 10)
    ms = [message(seq) for seq in range(1, MANY + 1)]
    groups = [
        [
            MessageAccepted(m),
            DeliveryStored(receipt(seq, m)),
            entry(0, EntryKind.CHARGE, -90, 0, message_id=m.message_id),
        ]
        for seq, m in enumerate(ms, start=1)
    ]
    result = store.apply_groups(groups)
    assert sorted(result.refused) == list(range(10, MANY))
    assert set(result.refused.values()) == {"insufficient_funds"}
    assert [m.seq for m in store.messages(limit=1_000)] == list(range(10, 0, -1))
    assert store.balances() == {"acme": 0}
    assert len(store.claim(["acme"], NODE_TIMEOUT)) == 10
