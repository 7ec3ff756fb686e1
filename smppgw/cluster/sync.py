"""What a node makes of the other nodes' state, as plain functions of values (no store, no reactor)."""

from __future__ import annotations

# A lockout change made on this node: (when, account, address or None for all, until or None when lifted).
LockChange = tuple[float, str, str | None, float | None]


def merge_lockouts(stored: dict[tuple[str, str], float], changes: list[LockChange]) -> dict[tuple[str, str], float]:
    """The lockouts in force: the stored ones (account, address) -> until, with this node's recent
    ``changes`` (oldest first) laid over them, since the read may have started before them."""
    locked = dict(stored)
    for _, account, address, until in changes:
        if until is not None and address is not None:
            locked[(account, address)] = until
        else:
            for key in [k for k in locked if k[0] == account and (address is None or k[1] == address)]:
                del locked[key]
    return locked


def throughput_share(limit: float, here: int, total: int) -> float:
    """An account's messages/s on this node: its ``limit`` shared by the nodes in proportion to the
    binds each holds (``here`` of ``total``); the whole limit while the counts are not known."""
    if limit > 0 and here > 0 and total > 0:
        return limit * here / total
    return limit
