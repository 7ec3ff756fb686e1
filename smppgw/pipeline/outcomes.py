"""What the core's calls return, and what they leave for the shell to do.

A call returns its answer (``Accepted``, ``Rejected``, a ``Settlement``); what it also caused
(writes nobody waits for, messages settled on the way, accounts suspended) is left in the
``Effects`` the core and compliance share, and the shell takes it after each call, as h2's
``data_to_send()`` hands over bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..model import Delivery, Message
from ..writes import Write


@dataclass(slots=True)
class Rejected:
    """A submit refused in its response, with this command_status."""

    status: int
    reason: str


@dataclass(slots=True, init=False)
class Accepted:
    """A message accepted: answer OK once ``writes`` are committed, then release it."""

    message: Message
    writes: list[Write]

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(self, message: Message, writes: list[Write]) -> None:
        self.message = message
        self.writes = writes


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    message_id: str
    final_date: str
    state: int
    error_code: int


@dataclass(slots=True, init=False)
class Settlement:
    """A message in its final state: commit ``writes``, then deliver ``delivery`` (its receipt) if any."""

    message: Message
    writes: list[Write]
    delivery: Delivery | None

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(self, message: Message, writes: list[Write], delivery: Delivery | None) -> None:
        self.message = message
        self.writes = writes
        self.delivery = delivery


@dataclass(frozen=True, slots=True)
class Suspension:
    """An account suspended (prohibited content, an operator): its sessions are to be unbound."""

    account: str
    why: str


@dataclass(slots=True)
class Effects:
    """What the core left for the shell; ``take()`` empties it."""

    writes: list[Write] = field(default_factory=list)  # commit; nobody waits for them
    settlements: list[Settlement] = field(default_factory=list)
    suspended: list[Suspension] = field(default_factory=list)
    pending: bool = False  # anything above (a flag: checked after every call)

    def write(self, writes: list[Write]) -> None:
        self.writes += writes
        self.pending = True

    def settle(self, settlement: Settlement) -> None:
        self.settlements.append(settlement)
        self.pending = True

    def suspend(self, account: str, why: str) -> None:
        self.suspended.append(Suspension(account, why))
        self.pending = True

    def take(self) -> tuple[list[Write], list[Settlement], list[Suspension]]:
        taken = self.writes, self.settlements, self.suspended
        self.writes, self.settlements, self.suspended = [], [], []
        self.pending = False
        return taken
