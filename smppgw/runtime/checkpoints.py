"""SQLite's write-ahead log copied into the database on a thread of its own, a little at a time
(every ten commits), so that the commit which passes SQLite's threshold (and makes the checkpoint
that lets the log start over) finds little left to copy: alone, it copies 1,000 pages and holds up
the reactor (or the store thread, and every submit waiting for it) for 4-5 ms."""

from __future__ import annotations

import threading
from collections.abc import Callable

from twisted.logger import Logger

INTERVAL = 0.02  # s between looks at the commit count
EVERY = 10  # commits between checkpoints: a few dozen pages each, a fraction of SQLite's 1,000


class WalCheckpoints:
    """A plain thread, not a pool's: it wakes only itself (no answer goes back to the reactor)."""

    log = Logger()

    def __init__(
        self,
        checkpoint: Callable[[], int],
        commits: Callable[[], int],
        *,
        interval: float = INTERVAL,
        every: int = EVERY,
    ) -> None:
        self._checkpoint = checkpoint
        self._commits = commits  # how many commits so far: none since the last checkpoint, none to make
        self._interval = interval
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="smppgw-checkpoint", daemon=True)
        self.checkpoints = 0
        self.largest_log = 0  # frames: the most the log held at a checkpoint

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        seen = 0
        while not self._stopping.wait(self._interval):
            commits = self._commits()
            if commits - seen < self._every:
                continue
            seen = commits
            try:
                frames = self._checkpoint()
            except Exception:  # a busy or locked database: the next turn tries again, the log grows meanwhile
                self.log.failure("checkpoint of the SQLite write-ahead log failed")
            else:
                self.largest_log = max(self.largest_log, frames)
                self.checkpoints += 1  # last: whoever sees the count sees the rest

    def stop(self) -> None:
        """Stop, once a checkpoint in progress has ended (the store may close then)."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
