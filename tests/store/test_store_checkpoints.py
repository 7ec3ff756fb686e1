"""The SQLite store's write-ahead log copied into the database beside the commits (its own
connection, its own thread), so that the commit which passes SQLite's 1,000 pages finds it done.
What was copied is read from the database file alone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_until
from sqlite_file import rows_in_database_file

from smppgw.runtime.checkpoints import WalCheckpoints
from smppgw.store.sqlite import SqliteStore
from smppgw.writes import OptoutAdded

T0 = 1_767_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(tmp_path / "gateway.db", background_checkpoints=True)
    yield s
    s.close()


def commit_some(store: SqliteStore, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        store.apply([OptoutAdded("demo", f"86138{n:08d}", "test", T0)])


def in_database_file(path: Path) -> int:
    return rows_in_database_file(path, "optouts")


def test_a_checkpoint_copies_what_was_committed_and_the_commits_go_on(store: SqliteStore, tmp_path: Path) -> None:
    commit_some(store, 50)
    assert store.checkpoints_in_background
    assert in_database_file(tmp_path / "gateway.db") < 50
    assert store.checkpoint() >= 50  # one frame or more per commit
    assert in_database_file(tmp_path / "gateway.db") == 50
    commit_some(store, 5, start=50)
    assert len(store.optouts()) == 55


def test_a_store_in_memory_or_opened_without_them_makes_none(tmp_path: Path) -> None:
    for path in (":memory:", tmp_path / "plain.db"):
        s = SqliteStore(path, background_checkpoints=path == ":memory:")
        try:
            assert not s.checkpoints_in_background and s.checkpoint() == 0
        finally:
            s.close()


def test_the_thread_checkpoints_after_commits_and_not_while_none_come(store: SqliteStore, tmp_path: Path) -> None:
    commits = [0]
    checkpoints = WalCheckpoints(store.checkpoint, lambda: commits[0], interval=0.005)
    checkpoints.start()
    try:
        commit_some(store, 20)
        commits[0] = 20
        wait_until(lambda: checkpoints.checkpoints >= 1, 10, what="a checkpoint")
        assert checkpoints.largest_log >= 20
        assert in_database_file(tmp_path / "gateway.db") == 20
        made = checkpoints.checkpoints
        commit_some(store, 20, start=20)  # not counted as commits: the thread has no reason to look
        time.sleep(0.05)  # ten of its turns
        assert checkpoints.checkpoints == made
        assert in_database_file(tmp_path / "gateway.db") == 20  # it left them in the log
    finally:
        checkpoints.stop()
    commit_some(store, 20, start=40)
    commits[0] = 60
    time.sleep(0.05)
    assert checkpoints.checkpoints == made  # stopped: the store may close
