"""The durable store's share of one message: microseconds of SqliteStore.apply per message for the
writes a message with a receipt makes (insert + charge + balance at submit; final state + receipt;
the receipt's deletion), in batches as the group committer sends them.

    python benchmarks/store_apply.py [--batch 400] [-n 20000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from smppgw.model import Message
from smppgw.store.ports import Op
from smppgw.store.sqlite import SqliteStore, message_row

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
        store.apply([Op("account", ("demo", 0, "CNY", "active", "", 0.0))])
        submit = [
            [
                op
                for i in range(b, min(b + batch, n))
                for op in (
                    Op("message", message_row(message(i))),
                    Op("ledger", (i, "demo", "charge", -45, "CNY", 100, 1.0, f"{i:015x}", None, None)),
                    Op("balance", (100, "demo")),
                )
            ]
            for b in range(0, n, batch)
        ]
        final = [
            [
                op
                for i in range(b, min(b + batch, n))
                for op in (
                    Op("message_state", (2, 2.0, 0, "", 0, "CMCC", f"{i:015x}")),
                    Op(
                        "delivery",
                        (
                            i,
                            "demo",
                            "receipt",
                            f"{i:015x}",
                            "13800138100",
                            1,
                            1,
                            "10690000",
                            0,
                            1,
                            4,
                            0,
                            RECEIPT % i,
                            2,
                            0,
                            1.0,
                        ),
                    ),
                )
            ]
            for b in range(0, n, batch)
        ]
        done = [[Op("delivery_done", (i,)) for i in range(b, min(b + batch, n))] for b in range(0, n, batch)]
        for name, batches in (("submit (message, charge, balance)", submit), ("final state + receipt", final),
                              ("receipt deleted", done)):  # fmt: skip
            started = time.perf_counter()
            for ops in batches:
                store.apply(ops)
            print(f"{name:36} {(time.perf_counter() - started) / n * 1e6:6.1f} us per message")
        store.close()


if __name__ == "__main__":
    main()
