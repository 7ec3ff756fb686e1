"""Binds and lockouts counted over every node of a cluster, through the shared store.

Built before the account book and the bind guard, whose hooks these are: an account's ``max_binds``
holds over all nodes, and a lockout started or lifted on one node holds on all of them.  The calls
run on the reactor thread over the store's reader connection (a bind needs its answer now).
"""

from __future__ import annotations

import psycopg
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ..config import ClusterConfig
from ..pipeline.accounts import BIND_TYPE_OF
from ..pipeline.guard import Lockout
from ..store.ports import ClusterStore
from .sync import LockChange, merge_lockouts


class SharedBinds:
    log = Logger()

    def __init__(self, store: ClusterStore, config: ClusterConfig, clock: IReactorTime) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        # Lockouts started (until) and lifted (None) here lately.
        self._lock_changes: list[LockChange] = []

    def bind_gate(self, account: str, bind_command: int, limit: int) -> bool:
        """May ``account`` bind once more, counting the binds of every live node?"""
        try:
            return self.store.reserve_bind(
                account, BIND_TYPE_OF.get(bind_command, "?"), limit, self.config.node_timeout
            )
        except psycopg.Error as err:
            self.log.warn(
                "cluster: bind of {account} refused, the store cannot count it: {err}", account=account, err=err
            )
            return False

    def bind_released(self, account: str) -> None:
        try:
            self.store.release_bind(account)
        except psycopg.Error as err:  # the row expires with this node's heartbeat anyway
            self.log.warn("cluster: unbind of {account} not recorded: {err}", account=account, err=err)

    def locked_out(self, lockout: Lockout) -> None:
        self._lock_changes.append((self.clock.seconds(), lockout.account, lockout.address, lockout.until))
        try:
            self.store.lock_out(lockout.account, lockout.address, lockout.until)
        except psycopg.Error as err:
            self.log.warn(
                "cluster: lockout of {account} kept on this node only: {err}", account=lockout.account, err=err
            )

    def lifted(self, account: str, address: str | None) -> None:
        self._lock_changes.append((self.clock.seconds(), account, address, None))
        try:
            self.store.lift_lockouts(account, address)
        except psycopg.Error as err:
            self.log.warn("cluster: lockout of {account} not lifted in the store: {err}", account=account, err=err)

    def lockouts(self, stored: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
        """The lockouts in force: the stored ones, with this node's changes of the last two heartbeats
        (a heartbeat's read may have started before them)."""
        now = self.clock.seconds()
        self._lock_changes = [c for c in self._lock_changes if c[0] > now - 2 * self.config.heartbeat_interval]
        return merge_lockouts(stored, self._lock_changes)
