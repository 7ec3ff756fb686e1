"""Every destination number's inbox: the parts accepted for it, kept in bounded memory, shown as
the phone would show them (``reassembly.reassemble``) when asked.

The bounds: at most ``per_number`` parts a number, and at most ``max_parts`` parts and
``max_bytes`` bytes over all numbers; past a bound the oldest part goes first (a number's own
oldest for its bound, the oldest of all for the others).  A message whose older parts were
dropped shows them as missing.  Nothing is kept over a restart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from ..model import Message
from ..protocol.pdu import Tlv
from .parts import ReceivedPart, received
from .reassembly import ShownMessage, reassemble

__all__ = ["MAX_BYTES", "MAX_PARTS", "PER_NUMBER", "HandsetInbox"]

PER_NUMBER = 200
# What an accepted message costs to keep besides its body (the record and its strings).
_MESSAGE_OVERHEAD = 600


@dataclass(slots=True, init=False)
class Arrival:
    """An accepted message as it came, read into a part only when its number is asked for: the
    submit path pays for an append, not for parsing."""

    message: Message
    tlvs: Sequence[Tlv]
    at: float

    # Written out, not generated: one per message (smppgw/compiled.py).
    def __init__(self, message: Message, tlvs: Sequence[Tlv], at: float) -> None:
        self.message = message
        self.tlvs = tlvs
        self.at = at

    @property
    def msisdn(self) -> str:
        return self.message.msisdn

    @property
    def size(self) -> int:
        return len(self.message.body) + _MESSAGE_OVERHEAD

    def part(self) -> ReceivedPart:
        return received(self.message, self.tlvs, self.at)


Kept = ReceivedPart | Arrival

MAX_PARTS = 20_000
MAX_BYTES = 16 * 1024 * 1024


class HandsetInbox:
    """Told of each accepted message (``accepted``, the runner's ``AcceptedObserver``); asked for a
    number's messages (``messages``) by the admin API."""

    def __init__(
        self, *, dc0: str = "gsm7", per_number: int = PER_NUMBER, max_parts: int = MAX_PARTS, max_bytes: int = MAX_BYTES
    ) -> None:
        if per_number < 1 or max_parts < 1 or max_bytes < 1:
            raise ValueError("the handset inbox's bounds must be at least 1")
        self.dc0 = dc0
        self.per_number = per_number
        self.max_parts = max_parts
        self.max_bytes = max_bytes
        self._numbers: dict[str, deque[Kept]] = {}
        # Every part in arrival order, for the overall bounds.  A part its number's bound dropped
        # stays here until it reaches the front (or the queue is compacted), counted in _stale.
        self._arrivals: deque[Kept] = deque()
        self._stale = 0
        self.parts = 0
        self.bytes = 0
        self.dropped = 0

    # ---- what arrives -----------------------------------------------------------------------------

    def accepted(self, message: Message, tlvs: Sequence[Tlv], at: float) -> None:
        self.add(Arrival(message, tlvs, at))

    def add(self, part: Kept) -> None:
        kept = self._numbers.get(part.msisdn)
        if kept is None:
            kept = self._numbers[part.msisdn] = deque()
        kept.append(part)
        self._arrivals.append(part)
        self.parts += 1
        self.bytes += part.size
        if len(kept) > self.per_number:
            self._forget(kept.popleft())
            self._stale += 1
        while self.parts > self.max_parts or self.bytes > self.max_bytes:
            self._drop_oldest()
        if self._stale > max(1024, self.parts):
            self._compact()

    def _forget(self, part: Kept) -> None:
        self.parts -= 1
        self.bytes -= part.size
        self.dropped += 1
        kept = self._numbers.get(part.msisdn)
        if kept is not None and not kept:
            del self._numbers[part.msisdn]

    def _drop_oldest(self) -> None:
        while self._arrivals:
            part = self._arrivals.popleft()
            kept = self._numbers.get(part.msisdn)
            if kept and kept[0] is part:
                kept.popleft()
                self._forget(part)
                return
            self._stale -= 1  # its number's bound dropped it already

    def _compact(self) -> None:
        live = {id(p) for kept in self._numbers.values() for p in kept}
        self._arrivals = deque(p for p in self._arrivals if id(p) in live)
        self._stale = 0

    # ---- what is asked ----------------------------------------------------------------------------

    @property
    def numbers(self) -> int:
        return len(self._numbers)

    def numbers_by_recent(self, limit: int = 500) -> list[tuple[str, int, float]]:
        """(number, parts kept, when the last came) of the numbers with parts kept, the one that
        received last first (at most ``limit``)."""
        latest = sorted(self._numbers.items(), key=lambda item: item[1][-1].at, reverse=True)[:limit]
        return [(msisdn, len(parts), parts[-1].at) for msisdn, parts in latest]

    def received(self, msisdn: str) -> tuple[ReceivedPart, ...]:
        """The parts kept for the number (E.164 digits), in arrival order."""
        return tuple(p.part() if isinstance(p, Arrival) else p for p in self._numbers.get(msisdn, ()))

    def messages(self, msisdn: str) -> list[ShownMessage]:
        """The number's messages as its phone shows them, in the order they began to arrive."""
        return reassemble(self.received(msisdn), dc0=self.dc0)
