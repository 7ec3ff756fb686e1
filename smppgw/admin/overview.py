"""Per-second samples of the traffic counters for the console's live overview: submits/s,
receipts/s and submit answers by status over the last minutes.  One sample a second reads the
shared counters; nothing on the submit path changes."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from twisted.application.internet import TimerService
from twisted.internet.interfaces import IReactorTime

from ..protocol.constants import CommandId, status_name
from ..protocol.traffic import Traffic

WINDOW = 300  # seconds kept
_SUBMITS = frozenset({CommandId.SUBMIT_SM, CommandId.DATA_SM, CommandId.SUBMIT_MULTI})
_ANSWERS = frozenset({CommandId.SUBMIT_SM_RESP, CommandId.DATA_SM_RESP, CommandId.SUBMIT_MULTI_RESP})


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    submits: int
    receipts: int
    answers: dict[str, int]  # status name -> submit answers in that second


def _totals(traffic: Traffic) -> tuple[int, int, dict[str, int]]:
    submits = receipts = 0
    answers: dict[str, int] = {}
    for (direction, command_id, status), count in list(traffic.pdus.items()):
        if direction == "in" and command_id in _SUBMITS:
            submits += count
        elif direction == "out" and command_id == CommandId.DELIVER_SM:
            receipts += count
        elif direction == "out" and command_id in _ANSWERS:
            name = status_name(status)
            answers[name] = answers.get(name, 0) + count
    return submits, receipts, answers


class Overview:
    def __init__(self, traffic: Traffic, clock: IReactorTime) -> None:
        self.traffic = traffic
        self.clock = clock
        self.samples: deque[Sample] = deque(maxlen=WINDOW)
        self._last = _totals(traffic)

    def sample(self) -> None:
        submits, receipts, answers = totals = _totals(self.traffic)
        last_submits, last_receipts, last_answers = self._last
        self._last = totals
        delta = {k: v - last_answers.get(k, 0) for k, v in answers.items() if v != last_answers.get(k, 0)}
        self.samples.append(Sample(self.clock.seconds(), submits - last_submits, receipts - last_receipts, delta))

    def sampler(self) -> TimerService:
        """One sample a second, while the service runs."""
        timer = TimerService(1.0, self.sample)
        timer.clock = self.clock
        return timer

    def to_json(self) -> dict[str, Any]:
        submits, receipts, answers = _totals(self.traffic)
        last = self.samples[-1] if self.samples else Sample(self.clock.seconds(), 0, 0, {})
        return {
            "at": self.clock.seconds(),
            "submits_per_s": last.submits,
            "receipts_per_s": last.receipts,
            "totals": {"submits": submits, "receipts": receipts, "answers": answers},
            "series": [
                {"at": s.at, "submits": s.submits, "receipts": s.receipts, "answers": s.answers} for s in self.samples
            ],
        }
