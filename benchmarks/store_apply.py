"""The durable store's share of one message: microseconds of SqliteStore.apply per message for the
writes a message with a receipt makes (insert + charge, which sets the balance, at submit; final state + receipt;
the receipt's deletion), in batches as the group committer sends them.

    python benchmarks/store_apply.py [--batch 400] [-n 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from smppgw.billing.ledger import EntryKind, LedgerEntry
from smppgw.model import AccountStatus, Delivery, DeliveryKind, Message, MessageState
from smppgw.store.sqlite import SqliteStore
from smppgw.writes import (
    AccountCreated,
    DeliveryDone,
    DeliveryStored,
    LedgerAppended,
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=400)
    parser.add_argument("-n", type=int, default=20_000)
    args = parser.parse_args()
    n, batch = args.n, args.batch
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(Path(tmp) / "store.db")
        store.apply([AccountCreated("demo", 0, "CNY", AccountStatus.ACTIVE, "", 0.0)])
        submit: list[list[Write]] = [
            [
                w
                for i in range(b, min(b + batch, n))
                for w in (
                    MessageAccepted(message(i)),
                    LedgerAppended(LedgerEntry(i, "demo", EntryKind.CHARGE, -45, "CNY", 100, 1.0, f"{i:015x}", None,
                                               None)),
                )
            ]
            for b in range(0, n, batch)
        ]  # fmt: skip
        final: list[list[Write]] = [
            [
                w
                for i in range(b, min(b + batch, n))
                for w in (
                    MessageSettled(f"{i:015x}", MessageState.DELIVERED, 2.0, 0, "", 0, "CMCC"),
                    DeliveryStored(
                        Delivery(i, "demo", DeliveryKind.RECEIPT, f"{i:015x}", "13800138100", 1, 1, "10690000", 0,
                                 1, 4, 0, RECEIPT % i, 2, 0, 1.0)
                    ),
                )
            ]
            for b in range(0, n, batch)
        ]  # fmt: skip
        done: list[list[Write]] = [[DeliveryDone(i) for i in range(b, min(b + batch, n))] for b in range(0, n, batch)]
        for name, batches in (("submit (message, charge)", submit), ("final state + receipt", final),
                              ("receipt deleted", done)):  # fmt: skip
            started = time.perf_counter()
            for ops in batches:
                store.apply(ops)
            print(f"{name:36} {(time.perf_counter() - started) / n * 1e6:6.1f} us per message")
        store.close()


if __name__ == "__main__":
    main()
