"""Group commit: writes that arrive while a transaction is in flight (or within a short wait)
are committed together, so durability does not cost throughput: a large group on one dedicated
database thread, a small one on the reactor thread, where a hand-off would cost more than it."""

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
    """Commits queued writes in groups.  A group small enough (``inline_max`` writes, a store that is
    not a cluster's) is committed on the reactor thread at the end of the reactor turn that queued it:
    on a quiet link the two thread switches of a hand-off cost more than the commit.  A larger one goes
    to the database thread, and the reactor goes on reading meanwhile.  Writes that may wait
    (``write_with_next``) start no commit of their own unless ``lazy_interval`` passes without one."""

    log = Logger()

    def __init__(
        self,
        store: Store,
        reactor: IReactorTime,
        threads: IReactorFromThreads,
        *,
        interval: float = 0.002,
        max_batch: int = 2000,
        inline_max: int = 64,
        lazy_interval: float = 0.05,
        on_result: Callable[[GroupResult], None] | None = None,
    ) -> None:
        self.store = store
        self._reactor = reactor
        self._interval = interval
        self._max_batch = max_batch
        # A cluster store shares its thread with the node's upkeep: its commits stay there.
        self._grouped = store if isinstance(store, GroupStore) else None
        self._inline_max = inline_max if self._grouped is None else 0
        self._lazy_interval = lazy_interval
        self._pool = ThreadPool(1, 1, "smppgw-store")
        self._threads = threads
        self._ops: list[Write] = []
        # Each waiter with how many groups it waits for (None: one write, failed when refused).
        self._waiters: list[tuple[Deferred[Any], int | None]] = []
        self._sizes: list[int] = []  # ops of each group, for a store that refuses some
        self._urgent = False  # something queued is waited for
        self._flying: list[Write] = []  # the batch being committed
        self.on_result = on_result
        self._timer: IDelayedCall | None = None
        self._timer_lazy = False  # the timer is write_later's, not a waiter's
        self._in_flight: Deferred[GroupResult | None] | None = None
        self._stopped = False
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
        self._urgent = True
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
        self._urgent = True
        self._kick()
        return d

    def write_later(self, writes: Sequence[Write]) -> None:
        """Queue writes nobody waits for (refusals, suspensions, incidents): committed as soon as
        a waited-for write would be."""
        if writes:
            self._unwaited(writes)
            self._urgent = True
            self._kick()

    def write_with_next(self, writes: Sequence[Write]) -> None:
        """Queue writes nobody waits for and whose loss in a crash costs only a repeat (acknowledged
        receipts: sent again after a restart): committed with the next group, or after
        ``lazy_interval`` when no other comes, never in a commit of their own on a busy link."""
        if writes:
            self._unwaited(writes)
            self._kick()

    def _unwaited(self, writes: Sequence[Write]) -> None:
        self._ops.extend(writes)
        d: Deferred[None] = Deferred()
        d.addErrback(self._log_failure)
        self._waiters.append((d, None))
        self._sizes.append(len(writes))

    def _kick(self) -> None:
        if self._in_flight is not None or self._stopped:
            return  # its end commits what came meanwhile; after stop() the store is closed
        if not self._urgent:
            delay = self._lazy_interval
        elif len(self._ops) >= self._max_batch or (self._interval <= 0 and not self._inline_max):
            self._flush()
            return
        else:  # with inline commits, 0 still waits for the rest of this reactor turn's reads
            delay = max(self._interval, 0.0)
        if self._timer is not None:
            if not (self._timer_lazy and self._urgent):
                return
            self._cancel_timer()  # a waiter came: sooner than write_later's
        self._timer = self._reactor.callLater(delay, self._flush)
        self._timer_lazy = not self._urgent

    def _log_failure(self, failure: Failure) -> None:
        self.log.failure("background write failed", failure)

    def _cancel_timer(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _flush(self) -> None:
        self._cancel_timer()
        if self._in_flight is not None or self._stopped:
            return
        ops, waiters, sizes = self._ops, self._waiters, self._sizes
        self._ops, self._waiters, self._sizes, self._urgent = [], [], [], False
        if not ops:  # only flush() waiters: everything before them is already committed
            for w, span in waiters:
                w.callback(None if span is None else {})
            return
        if len(ops) <= self._inline_max:
            try:
                self.store.apply(ops)
            except Exception as err:  # the waiters get it, as they would from the thread
                self._finish(Failure(err), ops, waiters, inline=True)  # type: ignore[no-untyped-call]
            else:
                self._finish(None, ops, waiters, inline=True)
            return
        d: Deferred[GroupResult | None] = deferToThreadPool(self._threads, self._pool, self._apply, ops, sizes)
        self._in_flight = d
        self._flying = ops
        d.addBoth(self._finish, ops, waiters)

    def _finish(
        self,
        result: Failure | GroupResult | None,
        ops: list[Write],
        waiters: list[tuple[Deferred[Any], int | None]],
        inline: bool = False,
    ) -> None:
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
        if not (self._ops or self._waiters):
            return
        if self._urgent and not inline:
            self._flush()  # they waited for this commit already
        else:  # an inline commit's waiters queued more: a timer, not a recursion
            self._kick()

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
        self._stopped = True
        self._cancel_timer()
        self._pool.stop()
