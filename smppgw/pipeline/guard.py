"""Failed-bind throttling and the connection limits of the SMPP listeners.

A password guesser is stopped per (account, source address): after ``limit`` failed binds within
``window`` seconds that pair is locked for ``lockout`` seconds, and every bind it tries meanwhile is
refused, even with the right password.  Other addresses of the same account keep working, so an
attacker cannot lock a partner out of its own servers.  Times are passed in (the reactor's clock).
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..protocol.constants import CommandStatus

S = CommandStatus

# Bind answers that mean "wrong credentials"; an address or bind-type refusal guesses nothing.
FAILED_BIND = frozenset({S.ESME_RINVPASWD, S.ESME_RINVSYSID})
_MAX_TRACKED = 100_000  # pairs remembered before stale ones are swept: memory stays bounded


@dataclass(frozen=True, slots=True)
class Lockout:
    account: str
    address: str
    until: float


class BindGuard:
    def __init__(
        self,
        limit: int,
        window: float,
        lockout: float,
        on_lock: Callable[[Lockout], None] | None = None,
        on_lift: Callable[[str, str | None], None] | None = None,
    ) -> None:
        self.limit = limit
        self.window = window
        self.lockout = lockout
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._locked: dict[tuple[str, str], float] = {}
        # Several nodes share lockouts through their store: told of each one started and lifted here.
        self.on_lock = on_lock
        self.on_lift = on_lift

    def locked(self, account: str, address: str, now: float) -> bool:
        until = self._locked.get((account, address))
        if until is None:
            return False
        if now < until:
            return True
        del self._locked[(account, address)]
        return False

    def record(self, account: str, address: str, status: int, now: float) -> Lockout | None:
        """Note a bind's answer; returns the lockout it started, if any."""
        key = (account, address)
        if status == S.ESME_ROK:
            self._failures.pop(key, None)
            return None
        if status not in FAILED_BIND or self.lockout <= 0:
            return None
        if len(self._failures) >= _MAX_TRACKED:
            self._sweep(now)
        times = self._failures.setdefault(key, deque())
        times.append(now)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < self.limit:
            return None
        del self._failures[key]
        self._locked[key] = now + self.lockout
        lockout = Lockout(account, address, now + self.lockout)
        if self.on_lock is not None:
            self.on_lock(lockout)
        return lockout

    def lockouts(self, now: float) -> list[Lockout]:
        for key in [k for k, until in self._locked.items() if until <= now]:
            del self._locked[key]
        return [Lockout(a, h, until) for (a, h), until in sorted(self._locked.items())]

    def lift(self, account: str, address: str | None = None) -> int:
        """Lift the lockouts of ``account`` (from one address, or all); returns how many were lifted."""
        keys = [k for k in self._locked if k[0] == account and (address is None or k[1] == address)]
        for key in keys:
            del self._locked[key]
            self._failures.pop(key, None)
        if self.on_lift is not None:
            self.on_lift(account, address)
        return len(keys)

    def adopt(self, locked: Mapping[tuple[str, str], float]) -> None:
        """The lockouts in force on every node (a cluster's store): they replace this node's."""
        self._locked = dict(locked)

    def _sweep(self, now: float) -> None:
        for key in [k for k, times in self._failures.items() if not times or times[-1] <= now - self.window]:
            del self._failures[key]


class ConnectionLimits:
    """How many connections are open, in total and by source address."""

    def __init__(self, max_total: int, max_per_address: int) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.total = 0
        self._by_address: Counter[str] = Counter()

    def admit(self, address: str) -> str | None:
        """Count a new connection, or say why it is refused (and count nothing)."""
        if self.total >= self.max_total:
            return f"max_connections ({self.max_total}) reached"
        if self._by_address[address] >= self.max_per_address:
            return f"max_connections_per_address ({self.max_per_address}) reached for {address}"
        self.total += 1
        self._by_address[address] += 1
        return None

    def release(self, address: str) -> None:
        self.total -= 1
        self._by_address[address] -= 1
        if self._by_address[address] <= 0:
            del self._by_address[address]
