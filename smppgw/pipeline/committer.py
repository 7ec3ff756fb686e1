"""Group commit: writes that arrive while a transaction is in flight (or within a short wait)
are committed together, on one dedicated database thread, so durability does not cost throughput."""

from __future__ import annotations

from collections.abc import Sequence

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorFromThreads, IReactorTime
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from ..store.ports import Op, Store


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
    ) -> None:
        self.store = store
        self._reactor = reactor
        self._interval = interval
        self._max_batch = max_batch
        self._pool = ThreadPool(1, 1, "smppgw-store")
        self._threads = threads
        self._ops: list[Op] = []
        self._waiters: list[Deferred[None]] = []
        self._timer: IDelayedCall | None = None
        self._in_flight: Deferred[None] | None = None
        self.commits = 0
        self.ops_committed = 0

    def start(self) -> None:
        self._pool.start()

    def write(self, ops: Sequence[Op]) -> Deferred[None]:
        """Queue ops; the Deferred fires once they are committed (or fails if the commit failed)."""
        self._ops.extend(ops)
        d: Deferred[None] = Deferred()
        self._waiters.append(d)
        if self._in_flight is None:
            if len(self._ops) >= self._max_batch or self._interval <= 0:
                self._cancel_timer()
                self._flush()
            elif self._timer is None:
                self._timer = self._reactor.callLater(self._interval, self._flush)
        return d

    def write_later(self, ops: Sequence[Op]) -> None:
        """Queue ops nobody waits for (e.g. deletions of delivered receipts)."""
        self.write(ops).addErrback(self._log_failure)

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
        ops, waiters = self._ops, self._waiters
        if not ops:  # only flush() waiters: everything before them is already committed
            self._waiters = []
            for w in waiters:
                w.callback(None)
            return
        self._ops, self._waiters = [], []
        d: Deferred[None] = deferToThreadPool(self._threads, self._pool, self.store.apply, ops)
        self._in_flight = d

        def done(result: Failure | None) -> None:
            self._in_flight = None
            if isinstance(result, Failure):
                self.log.failure("commit of {n} ops failed", result, n=len(ops))
                for w in waiters:
                    w.errback(result)
            else:
                self.commits += 1
                self.ops_committed += len(ops)
                for w in waiters:
                    w.callback(None)
            if self._ops or self._waiters:
                self._flush()

        d.addBoth(done)

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
