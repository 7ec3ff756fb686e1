"""The narrow interface every store implements (SQLite now, PostgreSQL later).

Writes are a list of typed writes (``smppgw.writes``) applied in order in one transaction; reads
are few and off the hot path.  All money is integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..billing.ledger import LedgerEntry
from ..model import Delivery, Message
from ..writes import Write


@dataclass(frozen=True, slots=True)
class StoredAccount:
    system_id: str
    balance: int
    unit: str
    status: str
    settings: str  # JSON of an account created through the admin API; "" for configured accounts
    created_at: float


@dataclass(slots=True)
class Recovered:
    """What a restart needs: balances, open messages, undelivered deliveries, counters."""

    accounts: dict[str, StoredAccount] = field(default_factory=dict)
    open_messages: list[Message] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    topup_references: set[str] = field(default_factory=set)
    next_entry_id: int = 1
    next_message_seq: int = 1
    next_delivery_id: int = 1


@dataclass(slots=True)
class GroupResult:
    """What a cluster store's group commit did: the writes it refused (index -> reason, e.g.
    "insufficient_funds"), and the stored balances of the accounts it touched."""

    refused: dict[int, str] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)


class CommitRefusedError(Exception):
    """One write of a group commit was refused by the store (the others committed)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Store(Protocol):
    def load(self) -> Recovered: ...

    def apply(self, writes: Sequence[Write]) -> None:
        """Apply the writes in order, atomically (one transaction).  Runs on the writer thread."""

    def get_message(self, message_id: str) -> Message | None: ...

    def ledger(self, account: str | None = None) -> list[LedgerEntry]: ...

    def close(self) -> None: ...


class GroupStore(Store, Protocol):
    """A store that commits several writes at once and may refuse some (PostgreSQL: the database
    holds the balances several nodes debit)."""

    def apply_groups(self, groups: Sequence[Sequence[Write]]) -> GroupResult:
        """Apply each group of writes, or refuse it whole; the rest commit in one transaction."""
