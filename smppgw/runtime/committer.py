"""Group commit: writes that arrive while a transaction is in flight (or within a short wait)
are committed together, on one dedicated database thread, so durability does not cost throughput."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorFromThreads, IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from ..store.ports import CommitRefusedError, GroupResult, GroupStore, Store
from ..writes import Write

_T = TypeVar("_T")


class GroupCommitter:
    log = Logger()

    def __init__(
        self,
        store: Store,
        reactor: IReactorTime,
        threads: IReactorFromThreads,
        *,
        interval: float = 0.002,
        max_batch: int = 2000,
        on_result: Callable[[GroupResult], None] | None = None,
    ) -> None:
        self.store = store
        self._reactor = reactor
        self._interval = interval
        self._max_batch = max_batch
        self._pool = ThreadPool(1, 1, "smppgw-store")
        self._threads = threads
        self._ops: list[Write] = []
        # Each waiter with how many groups it waits for (None: one write, failed when refused).
        self._waiters: list[tuple[Deferred[Any], int | None]] = []
        self._sizes: list[int] = []  # ops of each group, for a store that refuses some
        self._flying: list[Write] = []  # the batch being committed
        # A cluster store commits the writes of a batch or refuses some; on_result sees each outcome.
        self._grouped = store if isinstance(store, GroupStore) else None
        self.on_result = on_result
        self._timer: IDelayedCall | None = None
        self._in_flight: Deferred[None] | None = None
        self.commits = 0
        self.ops_committed = 0

    def start(self) -> None:
        self._pool.start()

    def write(self, writes: Sequence[Write]) -> Deferred[None]:
        """Queue writes; the Deferred fires once they are committed (or fails if the commit failed)."""
        self._ops.extend(writes)
        d: Deferred[None] = Deferred()
        self._waiters.append((d, None))
        self._sizes.append(len(writes))
        self._kick()
        return d

    def write_groups(self, groups: Sequence[Sequence[Write]]) -> Deferred[dict[int, str]]:
        """Queue the writes of several submits with one waiter (a socket read's worth): it fires
        once they are committed, with the groups a cluster store refused (index -> reason)."""
        d: Deferred[dict[int, str]] = Deferred()
        ops, sizes = self._ops, self._sizes
        for group in groups:
            ops.extend(group)
            sizes.append(len(group))
        self._waiters.append((d, len(groups)))
        self._kick()
        return d

    def _kick(self) -> None:
        if self._in_flight is None:
            if len(self._ops) >= self._max_batch or self._interval <= 0:
                self._cancel_timer()
                self._flush()
            elif self._timer is None:
                self._timer = self._reactor.callLater(self._interval, self._flush)

    def write_later(self, writes: Sequence[Write]) -> None:
        """Queue writes nobody waits for (e.g. deletions of delivered receipts)."""
        self.write(writes).addErrback(self._log_failure)

    def _log_failure(self, failure: Failure) -> None:
        self.log.failure("background write failed", failure)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _flush(self) -> None:
        self._timer = None
        if self._in_flight is not None:
            return
        ops, waiters, sizes = self._ops, self._waiters, self._sizes
        if not ops:  # only flush() waiters: everything before them is already committed
            self._waiters, self._sizes = [], []
            for w, span in waiters:
                w.callback(None if span is None else {})
            return
        self._ops, self._waiters, self._sizes = [], [], []
        d: Deferred[GroupResult | None] = deferToThreadPool(self._threads, self._pool, self._apply, ops, sizes)
        self._in_flight = d  # type: ignore[assignment]
        self._flying = ops

        def done(result: Failure | GroupResult | None) -> None:
            self._in_flight = None
            self._flying = []
            if isinstance(result, Failure):
                self.log.failure("commit of {n} ops failed", result, n=len(ops))
                for w, _ in waiters:
                    w.errback(result)
            else:
                self.commits += 1
                self.ops_committed += len(ops)
                refused = result.refused if result is not None else {}
                group = 0
                for w, span in waiters:
                    if span is None:
                        if group in refused:
                            w.errback(CommitRefusedError(refused[group]))
                        else:
                            w.callback(None)
                        group += 1
                    else:
                        mine = {i - group: refused[i] for i in range(group, group + span) if i in refused}
                        w.callback(mine)
                        group += span
                if result is not None and self.on_result is not None:
                    self.on_result(result)
            if self._ops or self._waiters:
                self._flush()

        d.addBoth(done)

    def _apply(self, ops: list[Write], sizes: list[int]) -> GroupResult | None:
        """On the database thread: the batch, as one list or (cluster store) as its writes."""
        if self._grouped is None:
            self.store.apply(ops)
            return None
        groups: list[Sequence[Write]] = []
        start = 0
        for size in sizes:
            groups.append(ops[start : start + size])
            start += size
        return self._grouped.apply_groups(groups)

    def uncommitted(self) -> Iterator[Write]:
        """Writes made but not committed yet: the batch in flight, then those queued."""
        yield from self._flying
        yield from self._ops

    def run_on_store_thread(self, fn: Callable[..., _T], *args: object) -> Deferred[_T]:
        """Run ``fn(*args)`` on the database thread, between commits (cluster upkeep)."""
        d: Deferred[_T] = deferToThreadPool(self._threads, self._pool, fn, *args)
        return d

    def flush(self) -> Deferred[None]:
        """A Deferred that fires when everything queued so far is committed."""
        if not self._ops and self._in_flight is None:
            d: Deferred[None] = Deferred()
            d.callback(None)
            return d
        return self.write([])

    def stop(self) -> None:
        self._cancel_timer()
        self._pool.stop()
