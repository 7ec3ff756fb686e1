"""A serving gateway copies its SQLite write-ahead log into the database file beside its commits,
every ten commits: ten messages reach the file long before the log's 1,000 pages would make a
commit do it."""

from __future__ import annotations

import pytest_twisted
from polling import until
from smpp_helpers import client, submit_and_wait
from sqlite_file import rows_in_database_file
from twisted.internet.threads import deferToThread


@pytest_twisted.ensureDeferred
async def test_submitted_messages_reach_the_database_file_without_waiting_for_the_log_to_fill(gateway):
    def send() -> list[int]:
        c = client(gateway.smpp_port)
        statuses = [submit_and_wait(c, f"138001380{n:02d}").status for n in range(10)]
        c.unbind()
        c.disconnect()
        return statuses

    assert await deferToThread(send) == [0] * 10
    await until(
        lambda: rows_in_database_file(gateway.store_path, "messages") >= 10, timeout=10, what="10 messages in the file"
    )
    checkpoints = gateway.service.checkpoints
    assert checkpoints is not None
    await until(lambda: checkpoints.checkpoints >= 1, timeout=10, what="its count")  # told after the copy
