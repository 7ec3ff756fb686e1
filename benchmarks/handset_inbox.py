"""Process CPU the handset inbox adds to each accepted message, A/B in one run: a committed
Deferred with the runner's observer callback against a bare one; and the cost of reading a number.

Run from the repository root:  PYTHONPATH=. python benchmarks/handset_inbox.py [count]
"""

from __future__ import annotations

import sys
import time

from twisted.internet.defer import Deferred

from smppgw.handset import HandsetInbox
from smppgw.model import Message


def message(i: int) -> Message:
    udh = bytes([5, 0, 3, i % 256, 2, 1 + i % 2])
    return Message(
        message_id=f"m{i}", account="demo", source_addr="10690000", source_ton=0, source_npi=1,
        destination_addr="13800138000", dest_ton=1, dest_npi=1, msisdn=f"86138{i % 5000:08d}", carrier="CMCC",
        home_carrier="CMCC", segments=1, price=40, charge=40, data_coding=8, esm_class=0x40,
        body=udh + "短信".encode("utf-16-be") * 30, registered_delivery=0, submitted_at=0.0, validity_until=None,
    )  # fmt: skip


def main(count: int = 100_000) -> None:
    messages = [message(i) for i in range(count)]
    inbox = HandsetInbox()

    def observe(_: None, m: Message) -> None:
        inbox.accepted(m, (), 0.0)

    for round_ in range(3):
        start = time.process_time()
        for m in messages:
            d: Deferred[None] = Deferred()
            d.addCallback(observe, m)
            d.callback(None)
        on = (time.process_time() - start) / count * 1e6
        start = time.process_time()
        for _ in messages:
            bare: Deferred[None] = Deferred()
            bare.callback(None)
        off = (time.process_time() - start) / count * 1e6
        print(f"round {round_ + 1}: observed {on:.2f} us, bare {off:.2f} us, added {on - off:.2f} us CPU a message")
    full = max(range(5000), key=lambda n: len(inbox.received(f"86138{n:08d}")))
    start = time.process_time()
    shown = inbox.messages(f"86138{full:08d}")
    print(f"reading a number of {len(inbox.received(f'86138{full:08d}'))} parts ({len(shown)} messages): "
          f"{(time.process_time() - start) * 1e3:.2f} ms CPU")  # fmt: skip


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
