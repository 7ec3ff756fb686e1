"""When the gateway outbinds to an account's client (SMPP 3.4 section 4.1.7), as a pure plan:
time and what is waiting are arguments, the shell (smppgw.rig.outbind) does the connecting.

The gateway connects when deliveries (receipts, MO) wait for the account and no receiver of it is
bound, one connection at a time.  A connection that ends without the client binding on it (the
listener refused it, dropped it, or never sent bind_receiver) is a failure: the next try waits
``retry_min_s``, doubling up to ``retry_max_s``.  A bind resets the wait.
"""

from __future__ import annotations

from ..config.rig import OutbindTarget


class OutbindTargets:
    """The outbind target of each account that has one (from its configuration or the admin API)."""

    def __init__(self) -> None:
        self._targets: dict[str, OutbindTarget] = {}

    def set(self, account: str, target: OutbindTarget) -> None:
        self._targets[account] = target

    def clear(self, account: str) -> bool:
        return self._targets.pop(account, None) is not None

    def get(self, account: str) -> OutbindTarget | None:
        return self._targets.get(account)

    def items(self) -> list[tuple[str, OutbindTarget]]:
        return sorted(self._targets.items())


class OutbindPlan:
    """One account's outbind attempts."""

    def __init__(self, target: OutbindTarget) -> None:
        self.target = target
        self.failures = 0  # in a row
        self.next_try = 0.0
        self.open = False  # a connection of ours is being made or is up
        self.bound = False  # the client bound on it

    def should_connect(self, now: float, waiting: int, receivers: int) -> bool:
        return not self.open and waiting > 0 and receivers == 0 and now >= self.next_try

    def connecting(self) -> None:
        self.open = True
        self.bound = False

    def client_bound(self) -> None:
        self.bound = True
        self.failures = 0

    def closed(self, now: float) -> float:
        """The connection ended; returns how long until the next try may be made."""
        self.open = False
        if self.bound:
            self.next_try = now
            return 0.0
        self.failures += 1
        wait: float = min(self.target.retry_min_s * 2.0 ** (self.failures - 1), self.target.retry_max_s)
        self.next_try = now + wait
        return wait
