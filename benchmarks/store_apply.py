"""The durable store's share of one message: microseconds of the store's apply per message for the
writes a message with a receipt makes (insert + charge, which sets the balance, + the compliance decision it was
accepted with, at submit; final state + receipt;
the receipt's deletion), in batches as the group committer sends them.

    python benchmarks/store_apply.py [--batch 400] [-n 20000] [--postgres]

Prints wall time and this process's CPU time per message.  With --postgres the same batches go to a
PostgresStore on a throwaway PostgreSQL (Debian's server binaries, fsync off; one group per message,
as a node's committer sends them), and the CPU column is the node's share (the server's is not counted).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from smppgw.billing.ledger import EntryKind, LedgerEntry
from smppgw.model import AccountStatus, Decision, Delivery, DeliveryKind, Message, MessageState
from smppgw.store.sqlite import SqliteStore
from smppgw.writes import (
    AccountCreated,
    DecisionRecorded,
    DeliveryDone,
    MessageAccepted,
    MessageSettled,
    Write,
)

RECEIPT = b"id:%015x sub:001 dlvrd:001 submit date:2611272200 done date:2611272200 stat:DELIVRD err:000 text:hello"


def message(i: int) -> Message:
    return Message(
        message_id=f"{i:015x}",
        account="demo",
        source_addr="10690000",
        source_ton=0,
        source_npi=1,
        destination_addr="13800138100",
        dest_ton=1,
        dest_npi=1,
        msisdn="8613800138100",
        carrier="CMCC",
        home_carrier="CMCC",
        segments=1,
        price=45,
        charge=45,
        data_coding=0,
        esm_class=0,
        body=b"smppgw bench 1: hello, your code is 0001",
        registered_delivery=1,
        submitted_at=1.0,
        validity_until=None,
        seq=i,
    )


def _applier(store: Any, grouped: bool) -> Any:
    """The store's apply, or (PostgreSQL) apply_groups with one group per message of the batch."""
    if not grouped:
        return store.apply

    def apply(ops: Sequence[Write]) -> None:
        store.apply_groups([[w] for w in ops])  # each message's change is one write

    return apply


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=400)
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--postgres", action="store_true", help="a PostgresStore on a throwaway server")
    args = parser.parse_args()
    n, batch = args.n, args.batch
    pg = None
    with tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            from pg_harness import start_cluster  # noqa: PLC0415

            from smppgw.store.postgres import PostgresStore  # noqa: PLC0415

            pg = start_cluster()
            store: Any = PostgresStore(pg.create_database(), node_id="bench")
            store.load()
        else:
            store = SqliteStore(Path(tmp) / "store.db")
        store.apply([AccountCreated("demo", 10**12, "CNY", AccountStatus.ACTIVE, "", 0.0)])
        apply = _applier(store, args.postgres)
        submit: list[list[Write]] = [
            [
                w
                for i in range(b, min(b + batch, n))
                for w in (
                    # the message with its charge entry and decision, as the core writes them
                    MessageAccepted(message(i), LedgerEntry(i, "demo", EntryKind.CHARGE, -45, "CNY", 100, 1.0,
                                                            f"{i:015x}", None, None),
                                    DecisionRecorded(f"{i:015x}", "demo", 1.0, Decision.ALLOWED, "", "", "")),
                )
            ]
            for b in range(0, n, batch)
        ]  # fmt: skip
        final: list[list[Write]] = [
            [
                w
                for i in range(b, min(b + batch, n))
                for w in (
                    # the final state with its receipt, as the core writes them
                    MessageSettled(f"{i:015x}", MessageState.DELIVERED, 2.0, 0, "", 0, "CMCC", None,
                                   Delivery(i, "demo", DeliveryKind.RECEIPT, f"{i:015x}", "13800138100", 1, 1,
                                            "10690000", 0, 1, 4, 0, RECEIPT % i, 2, 0, 2.0)),
                )
            ]
            for b in range(0, n, batch)
        ]  # fmt: skip
        done: list[list[Write]] = [[DeliveryDone(i) for i in range(b, min(b + batch, n))] for b in range(0, n, batch)]
        for name, batches in (("submit (message, charge, decision)", submit), ("final state + receipt", final),
                              ("receipt deleted", done)):  # fmt: skip
            started, cpu = time.perf_counter(), time.process_time()
            for ops in batches:
                apply(ops)
            wall_us = (time.perf_counter() - started) / n * 1e6
            cpu_us = (time.process_time() - cpu) / n * 1e6
            print(f"{name:36} {wall_us:6.1f} us wall, {cpu_us:6.1f} us CPU per message")
        store.close()
        if pg is not None:
            pg.stop()


if __name__ == "__main__":
    main()
