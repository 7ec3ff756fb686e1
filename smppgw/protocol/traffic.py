"""Counters of the SMPP traffic every session shares: PDUs by direction, command and status, and
the time from a submit to its answer.  Plain integers, read by the metrics and the console."""

from __future__ import annotations

from bisect import bisect_left

# Upper bounds (s) of the submit-to-response latency buckets; the last bucket is +Inf.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Traffic:
    def __init__(self) -> None:
        # direction "in"/"out" -> command_id -> command_status -> PDUs.  Nested plain dicts: a PDU
        # costs three lookups of small keys, where a (direction, id, status) key is a tuple built and
        # hashed twice per PDU, and a Counter's __delitem__ in Python sends every store through a slow slot.
        self._counts: dict[str, dict[int, dict[int, int]]] = {}
        self.latency_counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.latency_sum = 0.0

    def count(self, direction: str, command_id: int, status: int) -> None:
        by_command = self._counts.get(direction)
        if by_command is None:
            by_command = self._counts[direction] = {}
        by_status = by_command.get(command_id)
        if by_status is None:
            by_status = by_command[command_id] = {}
        by_status[status] = by_status.get(status, 0) + 1

    @property
    def pdus(self) -> dict[tuple[str, int, int], int]:
        """PDUs by (direction, command_id, command_status), as the metrics and the console read them."""
        return {
            (direction, command_id, status): n
            for direction, by_command in self._counts.items()
            for command_id, by_status in by_command.items()
            for status, n in by_status.items()
        }

    def observe_submit(self, seconds: float) -> None:
        self.latency_counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.latency_sum += seconds
