"""Prepaid wallets and the append-only ledger their every balance change produces.

A wallet holds either money (unit "li", 0.001 CNY) or a message-count package (unit "msg").
Operations return the LedgerEntry to persist, or a Refused value for business outcomes the caller
must handle (no funds, duplicate bank reference, refund beyond the charge).  Malformed arguments
(empty ids, floats, zero amounts) are programming errors and raise ValueError; in the compiled
build a float where an int is declared is refused at the call, with a TypeError.
Wallets are mutable and belong to the reactor thread: nothing here locks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal, TypeGuard

__all__ = [
    "MESSAGES",
    "MONEY",
    "UNITS",
    "EntryKind",
    "Journal",
    "LedgerEntry",
    "LedgerMismatch",
    "MismatchKind",
    "RefusalReason",
    "Refused",
    "Wallet",
    "WalletState",
    "Wallets",
    "WalletsSnapshot",
    "check_ledger",
]

MONEY = "li"  # balances in 厘 (0.001 CNY)
MESSAGES = "msg"  # balances in messages (segments) of a prepaid package
UNITS = frozenset({MONEY, MESSAGES})


class EntryKind(StrEnum):
    TOPUP = "topup"
    CHARGE = "charge"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    PACKAGE = "package"  # a message-count package credited


RefusalReason = Literal[
    "insufficient_funds",  # the debit would take the balance below zero
    "duplicate_reference",  # this top-up reference was already credited (to any account)
    "duplicate_charge",  # this message id was already charged and not yet settled
    "not_charged",  # refund for a message this wallet has no open charge for
    "exceeds_charge",  # refund larger than what is left of the charge
    "unknown_account",
]


@dataclass(slots=True)
class Refused:
    reason: RefusalReason
    detail: str = ""


@dataclass(slots=True, init=False)
class LedgerEntry:
    entry_id: int
    account: str
    kind: EntryKind
    amount: int  # signed: + credit, - debit, in `unit`
    unit: str  # "li" for money, "msg" for package accounts
    balance_after: int
    at: float
    message_id: str | None
    reference: str | None  # bank/payment reference for top-ups, reason for adjustments and refunds
    operator: str | None

    # Written out, not generated: one per message charged (smppgw/compiled.py).
    def __init__(  # noqa: PLR0917 (the fields in order, as the generated one takes them)
        self,
        entry_id: int,
        account: str,
        kind: EntryKind,
        amount: int,
        unit: str,
        balance_after: int,
        at: float,
        message_id: str | None,
        reference: str | None,
        operator: str | None,
    ) -> None:
        self.entry_id = entry_id
        self.account = account
        self.kind = kind
        self.amount = amount
        self.unit = unit
        self.balance_after = balance_after
        self.at = at
        self.message_id = message_id
        self.reference = reference
        self.operator = operator


class Journal:
    """What all wallets share: the entry-id counter and the top-up references already credited.

    References are global so one bank transfer is never credited twice, even to two accounts.
    """

    __slots__ = ("_next_entry_id", "_references")

    def __init__(self, next_entry_id: int = 1, references: Iterable[str] = ()) -> None:
        if not _is_int(next_entry_id) or next_entry_id < 1:
            raise ValueError(f"next_entry_id must be a positive integer, got {next_entry_id!r}")
        self._next_entry_id = next_entry_id
        self._references = set(references)

    @property
    def next_entry_id(self) -> int:
        return self._next_entry_id

    @property
    def references(self) -> frozenset[str]:
        return frozenset(self._references)

    def is_credited(self, reference: str) -> bool:
        return reference in self._references

    def _credit(self, reference: str) -> None:
        self._references.add(reference)

    def _take_id(self) -> int:
        entry_id = self._next_entry_id
        self._next_entry_id += 1
        return entry_id


@dataclass(frozen=True, slots=True)
class WalletState:
    """A wallet as stored: enough to rebuild it after a restart."""

    account: str
    unit: str
    balance: int
    # Charges still refundable, by message id: a receipt after a restart can still refund them.
    open_charges: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class WalletsSnapshot:
    wallets: tuple[WalletState, ...]
    references: frozenset[str]
    next_entry_id: int


class Wallet:
    """One account's balance.  Every change goes through a method that returns its LedgerEntry."""

    __slots__ = ("_balance", "_journal", "_open", "account", "unit")

    def __init__(
        self,
        account: str,
        unit: str = MONEY,
        balance: int = 0,
        *,
        open_charges: Mapping[str, int] | None = None,
        journal: Journal | None = None,
    ) -> None:
        if not account:
            raise ValueError("wallet needs an account name")
        if unit not in UNITS:
            raise ValueError(f"wallet unit must be one of {sorted(UNITS)}, got {unit!r}")
        if not _is_int(balance) or balance < 0:
            raise ValueError(f"wallet balance must be a non-negative integer, got {balance!r}")
        self.account = account
        self.unit = unit
        self._balance = balance
        self._journal = journal if journal is not None else Journal()
        self._open: dict[str, int] = {}
        for message_id, remaining in (open_charges or {}).items():
            if not message_id or not _is_int(remaining) or remaining < 0:
                raise ValueError(f"bad open charge {message_id!r}: {remaining!r}")
            self._open[message_id] = remaining

    def __repr__(self) -> str:
        return f"Wallet({self.account!r}, {self.unit!r}, balance={self._balance})"

    @property
    def balance(self) -> int:
        return self._balance

    def refundable(self, message_id: str) -> int | None:
        """What is left to refund of this message's charge, or None if it has no open charge here."""
        return self._open.get(message_id)

    def charge(self, message_id: str, segments: int, price: int, now: float) -> LedgerEntry | Refused:
        """Debit a submitted message: segments * price 厘, or `segments` messages on a package account.

        Refused("insufficient_funds") leaves the wallet untouched; the balance never goes negative.
        """
        _require_text(message_id, "message_id")
        if not _is_int(segments) or segments < 1:
            raise ValueError(f"segments must be a positive integer, got {segments!r}")
        if not _is_int(price) or price < 0:
            raise ValueError(f"price must be a non-negative integer of 厘, got {price!r}")
        if message_id in self._open:
            return Refused("duplicate_charge", f"message {message_id} is already charged")
        cost = segments if self.unit == MESSAGES else segments * price
        if cost > self._balance:
            return Refused("insufficient_funds", f"needs {cost} {self.unit}, balance {self._balance}")
        self._open[message_id] = cost
        return self._post(EntryKind.CHARGE, -cost, now, message_id=message_id)

    def refund(self, message_id: str, amount: int, now: float, *, reason: str | None = None) -> LedgerEntry | Refused:
        """Give back `amount` (in the wallet's unit) of a message's open charge, e.g. after an UNDELIV receipt.

        Refunds are capped by what the charge has left, so a duplicate receipt cannot refund twice.
        """
        _require_text(message_id, "message_id")
        if not _is_int(amount) or amount <= 0:
            raise ValueError(f"refund amount must be a positive integer, got {amount!r}")
        remaining = self._open.get(message_id)
        if remaining is None:
            return Refused("not_charged", f"no open charge for message {message_id}")
        if amount > remaining:
            return Refused("exceeds_charge", f"refund {amount} > {remaining} left of the charge")
        self._open[message_id] = remaining - amount
        return self._post(EntryKind.REFUND, amount, now, message_id=message_id, reference=reason)

    def settle(self, message_id: str) -> bool:
        """Forget a message's open charge once its outcome is final; later refunds for it are refused.

        Returns whether there was one.  Call it for every final message so open charges do not pile up.
        """
        return self._open.pop(message_id, None) is not None

    def topup(self, amount: int, reference: str, operator: str | None, now: float) -> LedgerEntry | Refused:
        """Credit a payment (or a message package on a "msg" wallet), once per reference across all wallets."""
        if not _is_int(amount) or amount <= 0:
            raise ValueError(f"top-up amount must be a positive integer, got {amount!r}")
        _require_text(reference, "reference")
        if self._journal.is_credited(reference):
            return Refused("duplicate_reference", f"reference {reference!r} was already credited")
        self._journal._credit(reference)
        kind = EntryKind.PACKAGE if self.unit == MESSAGES else EntryKind.TOPUP
        return self._post(kind, amount, now, reference=reference, operator=operator)

    def adjust(self, amount: int, reason: str, operator: str, now: float) -> LedgerEntry | Refused:
        """A manual correction, signed; must name why and who.  It cannot take the balance below zero."""
        if not _is_int(amount) or amount == 0:
            raise ValueError(f"adjustment must be a non-zero integer, got {amount!r}")
        _require_text(reason, "reason")
        _require_text(operator, "operator")
        if self._balance + amount < 0:
            return Refused("insufficient_funds", f"would leave {self._balance + amount} {self.unit}")
        return self._post(EntryKind.ADJUSTMENT, amount, now, reference=reason, operator=operator)

    def resync(self, balance: int) -> None:
        """Take the balance an authoritative store reports (a cluster's database, which other
        nodes debit and credit too); the ledger entries were written there."""
        if not _is_int(balance) or balance < 0:
            raise ValueError(f"wallet balance must be a non-negative integer, got {balance!r}")
        self._balance = balance

    def adopt_charge(self, message_id: str, remaining: int) -> None:
        """Take over the open charge of a message another node charged (it stopped before the outcome)."""
        _require_text(message_id, "message_id")
        if not _is_int(remaining) or remaining < 0:
            raise ValueError(f"bad open charge {message_id!r}: {remaining!r}")
        self._open[message_id] = remaining

    def state(self) -> WalletState:
        return WalletState(self.account, self.unit, self._balance, MappingProxyType(dict(self._open)))

    def _post(
        self,
        kind: EntryKind,
        amount: int,
        now: float,
        *,
        message_id: str | None = None,
        reference: str | None = None,
        operator: str | None = None,
    ) -> LedgerEntry:
        self._balance += amount
        return LedgerEntry(
            entry_id=self._journal._take_id(),
            account=self.account,
            kind=kind,
            amount=amount,
            unit=self.unit,
            balance_after=self._balance,
            at=now,
            message_id=message_id,
            reference=reference,
            operator=operator,
        )


class Wallets:
    """All accounts' wallets sharing one Journal (entry ids, credited top-up references)."""

    __slots__ = ("_journal", "_wallets")

    def __init__(self, next_entry_id: int = 1, references: Iterable[str] = ()) -> None:
        self._journal = Journal(next_entry_id, references)
        self._wallets: dict[str, Wallet] = {}

    @classmethod
    def restore(cls, wallets: Iterable[WalletState], references: Iterable[str], next_entry_id: int) -> Wallets:
        """Rebuild after a restart from stored balances, credited references and the next entry id."""
        restored = cls(next_entry_id, references)
        for state in wallets:
            restored.open(state.account, state.unit, state.balance, open_charges=state.open_charges)
        return restored

    def snapshot(self) -> WalletsSnapshot:
        return WalletsSnapshot(
            wallets=tuple(wallet.state() for wallet in self._wallets.values()),
            references=self._journal.references,
            next_entry_id=self._journal.next_entry_id,
        )

    def open(
        self, account: str, unit: str = MONEY, balance: int = 0, *, open_charges: Mapping[str, int] | None = None
    ) -> Wallet:
        """Create an account's wallet.  A new account should start at 0 and be funded by topup()."""
        if account in self._wallets:
            raise ValueError(f"account {account!r} already has a wallet")
        wallet = Wallet(account, unit, balance, open_charges=open_charges, journal=self._journal)
        self._wallets[account] = wallet
        return wallet

    @property
    def next_entry_id(self) -> int:
        return self._journal.next_entry_id

    @property
    def references(self) -> frozenset[str]:
        return self._journal.references

    def get(self, account: str) -> Wallet | None:
        return self._wallets.get(account)

    def __getitem__(self, account: str) -> Wallet:
        return self._wallets[account]

    def __contains__(self, account: object) -> bool:
        return account in self._wallets

    def __iter__(self) -> Iterator[Wallet]:
        return iter(self._wallets.values())

    def __len__(self) -> int:
        return len(self._wallets)

    def balances(self) -> dict[str, int]:
        return {account: wallet.balance for account, wallet in self._wallets.items()}

    def charge(self, account: str, message_id: str, segments: int, price: int, now: float) -> LedgerEntry | Refused:
        wallet = self._wallets.get(account)
        return _unknown(account) if wallet is None else wallet.charge(message_id, segments, price, now)

    def refund(
        self, account: str, message_id: str, amount: int, now: float, *, reason: str | None = None
    ) -> LedgerEntry | Refused:
        wallet = self._wallets.get(account)
        return _unknown(account) if wallet is None else wallet.refund(message_id, amount, now, reason=reason)

    def topup(
        self, account: str, amount: int, reference: str, operator: str | None, now: float
    ) -> LedgerEntry | Refused:
        wallet = self._wallets.get(account)
        return _unknown(account) if wallet is None else wallet.topup(amount, reference, operator, now)

    def adjust(self, account: str, amount: int, reason: str, operator: str, now: float) -> LedgerEntry | Refused:
        wallet = self._wallets.get(account)
        return _unknown(account) if wallet is None else wallet.adjust(amount, reason, operator, now)


class MismatchKind(StrEnum):
    BALANCE = "balance"  # stored balance != opening + sum of the account's entries
    RUNNING_BALANCE = "running_balance"  # an entry's balance_after != previous balance_after + amount
    NEGATIVE_BALANCE = "negative_balance"
    DOUBLE_CHARGE = "double_charge"  # a message id charged more than once
    OVER_REFUND = "over_refund"  # refunds beyond the charge, without one, or to another account
    WRONG_SIGN = "wrong_sign"  # e.g. a positive charge or a negative refund
    MISSING_MESSAGE_ID = "missing_message_id"  # a charge or refund that names no message
    MIXED_UNITS = "mixed_units"  # one account with both "li" and "msg" entries
    DUPLICATE_ENTRY_ID = "duplicate_entry_id"
    DUPLICATE_REFERENCE = "duplicate_reference"  # one top-up reference credited twice
    UNKNOWN_ACCOUNT = "unknown_account"  # entries for an account with no stored balance


@dataclass(frozen=True, slots=True)
class LedgerMismatch:
    account: str
    entry_id: int | None  # None when the mismatch is about the account as a whole
    kind: MismatchKind
    detail: str


# Sign each kind's amount must have: credits positive, charges zero (free plan) or negative.
_SIGN_OK = {
    EntryKind.TOPUP: lambda amount: amount > 0,
    EntryKind.PACKAGE: lambda amount: amount > 0,
    EntryKind.REFUND: lambda amount: amount > 0,
    EntryKind.CHARGE: lambda amount: amount <= 0,
    EntryKind.ADJUSTMENT: lambda amount: amount != 0,
}


def check_ledger(
    entries: Iterable[LedgerEntry], balances: Mapping[str, int], *, opening: Mapping[str, int] | None = None
) -> list[LedgerMismatch]:
    """Audit a ledger against stored balances; an empty list means it adds up.

    Checks, per account in entry-id order: the stored balance equals opening (default 0) plus the sum of
    the entries; each balance_after equals the running balance (a break is reported once, then the
    chain continues from the recorded value); nothing went negative.  Across accounts: no message
    charged twice, no refund beyond its charge, no top-up reference credited twice, no repeated entry id.
    """
    opening = opening or {}
    mismatches: list[LedgerMismatch] = []
    running: dict[str, int] = {}
    totals: dict[str, int] = {}
    units: dict[str, str] = {}
    seen_ids: set[int] = set()
    charges: dict[str, tuple[str, int]] = {}  # message id -> (account, amount charged)
    refunded: dict[str, int] = {}
    references: dict[str, int] = {}

    def report(entry: LedgerEntry, kind: MismatchKind, detail: str) -> None:
        mismatches.append(LedgerMismatch(entry.account, entry.entry_id, kind, detail))

    for entry in sorted(entries, key=lambda e: e.entry_id):
        account = entry.account
        if entry.entry_id in seen_ids:
            report(entry, MismatchKind.DUPLICATE_ENTRY_ID, f"entry id {entry.entry_id} appears more than once")
        seen_ids.add(entry.entry_id)
        unit = units.setdefault(account, entry.unit)
        if entry.unit != unit:
            report(entry, MismatchKind.MIXED_UNITS, f"entry in {entry.unit!r}, account's earlier entries in {unit!r}")
        if not _SIGN_OK[entry.kind](entry.amount):
            report(entry, MismatchKind.WRONG_SIGN, f"{entry.kind} of {entry.amount}")
        before = running.get(account, opening.get(account, 0))
        expected = before + entry.amount
        if entry.balance_after != expected:
            report(
                entry,
                MismatchKind.RUNNING_BALANCE,
                f"balance_after {entry.balance_after}, expected {before} + {entry.amount} = {expected}",
            )
        if entry.balance_after < 0:
            report(entry, MismatchKind.NEGATIVE_BALANCE, f"balance_after {entry.balance_after}")
        running[account] = entry.balance_after
        totals[account] = totals.get(account, 0) + entry.amount

        if entry.kind in (EntryKind.CHARGE, EntryKind.REFUND) and not entry.message_id:
            report(entry, MismatchKind.MISSING_MESSAGE_ID, f"{entry.kind} names no message")
        elif entry.kind is EntryKind.CHARGE and entry.message_id:
            if entry.message_id in charges:
                report(entry, MismatchKind.DOUBLE_CHARGE, f"message {entry.message_id} charged again")
            else:
                charges[entry.message_id] = (account, -entry.amount)
        elif entry.kind is EntryKind.REFUND and entry.message_id:
            charged = charges.get(entry.message_id)
            if charged is None:
                report(entry, MismatchKind.OVER_REFUND, f"refund for message {entry.message_id}, never charged")
            elif charged[0] != account:
                report(entry, MismatchKind.OVER_REFUND, f"refund for a message charged to {charged[0]!r}")
            else:
                total = refunded.get(entry.message_id, 0) + entry.amount
                refunded[entry.message_id] = total
                if total > charged[1]:
                    report(entry, MismatchKind.OVER_REFUND, f"refunded {total} of a {charged[1]} charge")
        elif entry.kind in (EntryKind.TOPUP, EntryKind.PACKAGE) and entry.reference is not None:
            if entry.reference in references:
                report(
                    entry,
                    MismatchKind.DUPLICATE_REFERENCE,
                    f"reference {entry.reference!r} already credited by entry {references[entry.reference]}",
                )
            else:
                references[entry.reference] = entry.entry_id

    for account in sorted(totals.keys() - balances.keys()):
        mismatches.append(LedgerMismatch(account, None, MismatchKind.UNKNOWN_ACCOUNT, "entries but no stored balance"))
    for account, balance in sorted(balances.items()):
        start = opening.get(account, 0)
        expected = start + totals.get(account, 0)
        if balance != expected:
            mismatches.append(
                LedgerMismatch(
                    account,
                    None,
                    MismatchKind.BALANCE,
                    f"stored balance {balance}, opening {start} + entries {expected - start} = {expected}",
                )
            )
    return mismatches


def _unknown(account: str) -> Refused:
    return Refused("unknown_account", f"no wallet for account {account!r}")


def _require_text(value: object, name: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def _is_int(value: object) -> TypeGuard[int]:
    # bool is an int subclass; True is never an amount.
    return isinstance(value, int) and not isinstance(value, bool)
