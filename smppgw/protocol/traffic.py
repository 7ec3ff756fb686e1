"""Counters of the SMPP traffic every session shares: PDUs by direction, command and status, and
the time from a submit to its answer.  Plain integers, read by the metrics and the console."""

from __future__ import annotations

from bisect import bisect_left

# Upper bounds (s) of the submit-to-response latency buckets; the last bucket is +Inf.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Traffic:
    def __init__(self) -> None:
        # (direction "in"/"out", command_id, command_status) -> PDUs.  A plain dict: Counter defines
        # __delitem__ in Python, which sends every store into it through a slow slot.
        self.pdus: dict[tuple[str, int, int], int] = {}
        self.latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def count(self, direction: str, command_id: int, status: int) -> None:
        key = (direction, command_id, status)
        self.pdus[key] = self.pdus.get(key, 0) + 1

    def observe_submit(self, seconds: float) -> None:
        self.latency_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
