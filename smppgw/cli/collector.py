"""The cyclic garbage collector's settings for a serving process.

CPython collects its youngest generation after 700 net allocations of container objects.  One
socket read's batch of submit_sm allocates more than that before its objects are freed again, so a
loaded gateway ran a collection for every few batches and, every tenth, an older generation full
of messages waiting for their receipts: about 17 us of CPU per message and pauses of up to 90 ms
(docs/benchmarks.md, "The garbage collector").  With the threshold above a batch's transient
allocations, a collection runs when live objects really grow.  What start-up built (modules,
configuration, route tables) lives as long as the process: frozen, no collection walks it again.
"""

from __future__ import annotations

import gc

# Above what a window's batch allocates and frees again; cyclic garbage left for the next
# collection is bounded by it (a few MB at most).
YOUNG_THRESHOLD = 20_000


def tune_collector(young: int = YOUNG_THRESHOLD) -> str:
    """Raise the youngest generation's threshold, freeze what exists now, say what was done (for the
    start-up log).  Call once start-up is over: what is frozen is never collected, only freed by its
    reference count."""
    was, middle, old = gc.get_threshold()
    gc.collect()  # start-up's own garbage goes now, not into the frozen generation
    gc.freeze()
    gc.set_threshold(young, middle, old)
    return (
        f"garbage collector: young generation every {young:,} net allocations (was {was:,}), "
        f"{gc.get_freeze_count():,} start-up objects frozen"
    )
