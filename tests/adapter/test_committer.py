"""The group committer on a real SQLite file: small groups committed at the end of the reactor turn
that queued them (a task.Clock drives it: its store thread is never started, so a group sent there
would never commit), writes that may wait riding with the next commit, a large group on the
database thread of a real reactor."""

from __future__ import annotations

import sqlite3
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock

from smppgw.model import AccountStatus
from smppgw.runtime.committer import GroupCommitter
from smppgw.store.sqlite import SqliteStore
from smppgw.writes import AccountCreated, OptoutAdded, Write

T0 = 1_767_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(str(tmp_path / "gateway.db"))
    yield s
    s.close()


def optout(n: int) -> OptoutAdded:
    return OptoutAdded("demo", f"861380013{n:04d}", "test", T0)


def stored(store: SqliteStore) -> list[str]:
    return sorted(o.msisdn for o in store.optouts())


def fired(d: Deferred[object]) -> list[object]:
    out: list[object] = []
    d.addBoth(out.append)
    return out


def test_a_small_group_commits_at_the_end_of_the_turn_that_queued_it(store: SqliteStore) -> None:
    clock = Clock()
    committer = GroupCommitter(store, clock, clock, interval=0)
    first = fired(committer.write([optout(1)]))
    second = fired(committer.write([optout(2), optout(3)]))
    assert first == [] and stored(store) == []  # not before the turn's other reads are in
    clock.advance(0)
    assert first == [None] and second == [None]
    assert stored(store) == ["8613800130001", "8613800130002", "8613800130003"]
    assert committer.commits == 1


def test_writes_that_may_wait_ride_with_the_next_commit(store: SqliteStore) -> None:
    clock = Clock()
    committer = GroupCommitter(store, clock, clock, interval=0, lazy_interval=0.05)
    committer.write_with_next([optout(1)])
    clock.advance(0.01)
    assert stored(store) == [] and committer.commits == 0
    done = fired(committer.write([optout(2)]))
    clock.advance(0)
    assert done == [None] and stored(store) == ["8613800130001", "8613800130002"]
    assert committer.commits == 1
    clock.advance(1)
    assert committer.commits == 1  # the lazy timer went with that commit


def test_writes_that_may_wait_are_committed_after_the_lazy_interval(store: SqliteStore) -> None:
    clock = Clock()
    committer = GroupCommitter(store, clock, clock, interval=0, lazy_interval=0.05)
    committer.write_with_next([optout(1)])
    clock.advance(0.049)
    assert stored(store) == []
    clock.advance(0.001)
    assert stored(store) == ["8613800130001"]


def test_writes_nobody_waits_for_commit_at_the_end_of_the_turn(store: SqliteStore) -> None:
    clock = Clock()
    committer = GroupCommitter(store, clock, clock, interval=0, lazy_interval=10)
    committer.write_later([optout(1)])  # an account suspended, an incident: as soon as can be
    clock.advance(0)
    assert stored(store) == ["8613800130001"]


def test_flush_commits_what_waits_lazily(store: SqliteStore) -> None:
    clock = Clock()
    committer = GroupCommitter(store, clock, clock, interval=0, lazy_interval=10)
    committer.write_with_next([optout(1)])
    flushed = fired(committer.flush())
    clock.advance(0)
    assert flushed == [None] and stored(store) == ["8613800130001"]


def test_a_commit_interval_waits_for_company(store: SqliteStore) -> None:
    clock = Clock()
    committer = GroupCommitter(store, clock, clock, interval=0.002)
    first = fired(committer.write([optout(1)]))
    clock.advance(0.001)
    second = fired(committer.write([optout(2)]))
    assert first == []
    clock.advance(0.001)
    assert first == [None] and second == [None] and committer.commits == 1


def test_a_failed_commit_fails_its_waiters_and_the_next_one_commits(
    store: SqliteStore, no_logged_failures: list[str]
) -> None:
    clock = Clock()
    committer = GroupCommitter(store, clock, clock, interval=0)
    account = AccountCreated("acme", 0, "msg", AccountStatus.ACTIVE, "", T0)
    clock.advance(0)
    fired(committer.write([account]))
    clock.advance(0)
    failed = fired(committer.write([optout(1), account]))  # acme exists: the whole group is refused
    clock.advance(0)
    [failure] = failed
    assert failure.check(sqlite3.IntegrityError)  # type: ignore[attr-defined]
    assert stored(store) == []  # nothing of the failed group was kept
    [logged] = no_logged_failures  # and the operator's log says so
    assert "UNIQUE constraint failed: accounts.system_id" in logged
    no_logged_failures.clear()
    after = fired(committer.write([optout(2)]))
    clock.advance(0)
    assert after == [None] and stored(store) == ["8613800130002"]


def test_waiters_that_queue_more_get_a_commit_of_their_own_not_a_deeper_stack(store: SqliteStore) -> None:
    clock = Clock()
    committer = GroupCommitter(store, clock, clock, interval=0)
    depths: list[int] = []

    def next_one(_: object, n: int) -> None:
        depths.append(len(traceback.extract_stack()))
        if n < 50:
            committer.write([optout(n + 1)]).addCallback(next_one, n + 1)

    committer.write([optout(1)]).addCallback(next_one, 1)
    clock.advance(0)
    assert len(depths) == 50 and committer.commits == 50
    assert len(set(depths)) == 1  # each from the clock's loop, none inside the one before


@pytest_twisted.ensureDeferred
async def test_a_group_above_the_inline_limit_commits_on_the_database_thread(store: SqliteStore) -> None:
    committer = GroupCommitter(store, reactor, reactor, interval=0, inline_max=1)
    committer.start()
    try:
        writes: list[Write] = [optout(1), optout(2)]
        pending = committer.write(writes)
        assert list(committer.uncommitted()) == writes  # in flight on the thread
        await pending
        assert stored(store) == ["8613800130001", "8613800130002"]
        assert list(committer.uncommitted()) == []
    finally:
        committer.stop()


def test_after_stop_writes_start_no_commit_on_the_closed_store(tmp_path: Path) -> None:
    clock = Clock()
    store = SqliteStore(str(tmp_path / "gateway.db"))
    committer = GroupCommitter(store, clock, clock, interval=0)
    committer.write_with_next([optout(1)])
    committer.stop()
    store.close()
    late = fired(committer.write([optout(2)]))  # e.g. a webhook's last retry while shutting down
    clock.advance(1)
    assert late == [] and clock.getDelayedCalls() == []
    reopened = SqliteStore(str(tmp_path / "gateway.db"))
    try:
        assert stored(reopened) == []
    finally:
        reopened.close()
