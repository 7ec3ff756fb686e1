"""The narrow interface every store implements (SQLite, PostgreSQL), and the records it reads back.

Writes are a list of typed writes (``smppgw.writes``) applied in order in one transaction; reads
are few and off the hot path, and return the frozen records below (each built from its row in
``store.rows``).  All money is integers.  ``Store`` is what a single node needs; ``ClusterStore``
adds what several nodes sharing one PostgreSQL database coordinate through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..billing.ledger import LedgerEntry
from ..model import AccountStatus, Decision, Delivery, Held, Message
from ..writes import Write


@dataclass(frozen=True, slots=True)
class StoredAccount:
    system_id: str
    balance: int
    unit: str
    status: AccountStatus
    settings: str  # JSON of an account created through the admin API; "" for configured accounts
    created_at: float


@dataclass(frozen=True, slots=True)
class StoredDecision:
    """One decision compliance took on a message (or on a submit refused at once: message_id is the
    refusal's own id)."""

    decision_id: int
    message_id: str
    account: str
    at: float
    decision: Decision
    category: str
    term: str
    detail: str


@dataclass(frozen=True, slots=True)
class Incident:
    """A case of prohibited content, kept for reporting to the authorities."""

    incident_id: int
    account: str
    at: float
    message_id: str
    category: str
    legal_category: int | None
    term: str
    action: Decision
    source_ip: str
    destination: str
    text: str


@dataclass(frozen=True, slots=True)
class Optout:
    account: str  # "*" for the global list
    msisdn: str
    source: str
    at: float


@dataclass(frozen=True, slots=True)
class Pledge:
    """A customer's signed security pledge (信息安全承诺书)."""

    account: str
    signed_on: str
    reference: str
    operator: str
    recorded_at: float


@dataclass(frozen=True, slots=True)
class NodeStatus:
    """A node that registered in a cluster store, as the database's clock sees it."""

    node_id: str
    heartbeat_age_s: float
    alive: bool


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
    # Report channels of messages sent over the customer HTTP interface (message id -> route).
    report_routes: dict[str, str] = field(default_factory=dict)
    # A cluster store: the generation of each shared part (opt-outs, pledges, ...) as loaded, read
    # before them, so a change another node makes while this one starts is seen as a change.
    generations: dict[str, int] = field(default_factory=dict)


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


@dataclass(slots=True)
class ClusterView:
    """What a heartbeat reads: every account as stored, live binds per account (this node's,
    all nodes'), the lockouts in force, and the open messages adopted from dead nodes."""

    accounts: dict[str, StoredAccount] = field(default_factory=dict)
    binds: dict[str, tuple[int, int]] = field(default_factory=dict)
    lockouts: dict[tuple[str, str], float] = field(default_factory=dict)
    adopted: list[Message] = field(default_factory=list)
    generations: dict[str, int] = field(default_factory=dict)
    outages: dict[str, tuple[bool, int]] = field(default_factory=dict)  # carrier -> (down, generation)


@dataclass(frozen=True, slots=True)
class SharedConfig:
    """The configuration the last reload on any node applied: its generation, its text and the
    files it names (path as written -> contents)."""

    generation: int
    text: str
    files: dict[str, bytes]


class Store(Protocol):
    """What a node calls on its store.  ``apply`` runs on the committer's thread; the reads serve
    start-up, the admin API and the CLI (never the hot path)."""

    def load(self) -> Recovered:
        """What a restart needs; also where a cluster store registers the node and draws its id blocks."""

    def apply(self, writes: Sequence[Write]) -> None:
        """Apply the writes in order, atomically (one transaction).  Runs on the writer thread."""

    def get_message(self, message_id: str) -> Message | None: ...

    def messages(self, *, account: str | None = None, limit: int = 100) -> list[Message]:
        """The newest messages first."""

    def search_messages(
        self,
        *,
        account: str | None = None,
        destination: str | None = None,
        since: float | None = None,
        until: float | None = None,
        limit: int = 100,
    ) -> list[Message]:
        """Newest first; ``destination`` matches the end of the number (as operators type it)."""

    def ledger(self, account: str | None = None) -> list[LedgerEntry]:
        """Entries in the order they were written (entry id)."""

    def balances(self) -> dict[str, int]: ...

    def held(self) -> list[Held]:
        """Messages held back (review, the other parts, a refusal by receipt), oldest first."""

    def decisions(self, message_id: str) -> list[StoredDecision]:
        """The decisions on one message (or refusal id), in the order they were taken."""

    def decision_list(self, account: str | None, since: float | None, limit: int) -> list[StoredDecision]:
        """The newest decisions first, refused submits included."""

    def next_decision_id(self) -> int:
        """Above every stored decision id (a cluster store: the start of a block of this node's own)."""

    def incidents(self, account: str | None = None) -> list[Incident]: ...

    def next_incident_id(self) -> int: ...

    def optouts(self) -> list[Optout]:
        """Every opt-out, by account (``*``: the global list), then time."""

    def pledges(self) -> dict[str, Pledge]:
        """The recorded pledge of each account that signed one."""

    def close(self) -> None: ...


@runtime_checkable
class GroupStore(Store, Protocol):
    """A store that commits several writes at once and may refuse some (PostgreSQL: the database
    holds the balances several nodes debit)."""

    def apply_groups(self, groups: Sequence[Sequence[Write]]) -> GroupResult:
        """Apply each group of writes, or refuse it whole; the rest commit in one transaction."""


class ClusterStore(GroupStore, Protocol):
    """A store several nodes share: liveness, binds, lockouts, the delivery outbox, shared
    configuration and carrier outages.  The writer-thread methods (``register_node``,
    ``heartbeat``, ``claim``, ``unclaim``, ``leave``) run through the committer's thread; the rest
    use the reader connection."""

    node_id: str
    url: str
    # Replaced whole by the reactor, read by the writer thread: accounts bound to receive here.
    receiving: frozenset[str]
    # Deliveries this node stored already claimed for itself (the reactor takes them out).
    claimed: set[int]

    def register_node(self) -> None: ...

    def heartbeat(self, node_timeout: float, now: float) -> ClusterView: ...

    def claim(self, accounts: Sequence[str], node_timeout: float, limit: int = 1000) -> list[Delivery]: ...

    def unclaim(self, account: str) -> None: ...

    def leave(self) -> None: ...

    def reserve_bind(self, account: str, bind_type: str, limit: int, node_timeout: float) -> bool: ...

    def release_bind(self, account: str) -> None: ...

    def lock_out(self, account: str, address: str, until: float) -> None: ...

    def lift_lockouts(self, account: str, address: str | None) -> None: ...

    def share_config(self, text: str, files: Mapping[str, bytes]) -> int: ...

    def shared_config(self) -> SharedConfig | None: ...

    def set_outage(self, carrier: str, down: bool) -> int: ...

    def outages(self) -> tuple[int, dict[str, tuple[bool, int]]]: ...

    def receipt_queued(self, message_id: str) -> bool: ...

    def nodes(self, node_timeout: float) -> list[NodeStatus]: ...

    def cluster_binds(self, node_timeout: float) -> dict[str, int]: ...
