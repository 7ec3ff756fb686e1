"""Stale binds, as real SMSCs keep them: a client that drops its connection without an unbind
leaves its bind registered on the SMSC until that bind times out, and a new bind of the same
account and type is answered ESME_RALYBND until then.  Pure: time is an argument."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class StaleBind:
    account: str
    bind_type: str  # "transmitter", "receiver" or "transceiver"
    peer: str  # host:port of the connection that dropped
    dropped_at: float
    until: float  # when the old bind times out


class StaleBinds:
    """The binds that dropped without unbind and have not timed out yet, per account and bind type."""

    def __init__(self) -> None:
        self._stale: dict[tuple[str, str], StaleBind] = {}

    def dropped(self, account: str, bind_type: str, peer: str, now: float, timeout: float) -> StaleBind:
        """A bound connection was lost: its bind stays registered for ``timeout`` seconds (a later
        drop of the same account and type only ever extends the time)."""
        stale = StaleBind(account, bind_type, peer, now, now + timeout)
        before = self._stale.get((account, bind_type))
        if before is None or before.until < stale.until:
            self._stale[account, bind_type] = stale
        return self._stale[account, bind_type]

    def blocking(self, account: str, bind_type: str, now: float) -> StaleBind | None:
        """The stale bind a new bind of this account and type runs into, or None once it timed out."""
        stale = self._stale.get((account, bind_type))
        if stale is None:
            return None
        if now >= stale.until:
            del self._stale[account, bind_type]
            return None
        return stale

    def clear(self, account: str) -> None:
        """Forget the account's stale binds (its faults were cleared)."""
        for key in [key for key in self._stale if key[0] == account]:
            del self._stale[key]

    def of(self, account: str, now: float) -> list[StaleBind]:
        return [s for (a, _), s in sorted(self._stale.items()) if a == account and now < s.until]
