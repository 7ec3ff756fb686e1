"""Per-bind deterministic carrier outcomes: each message's outcome is drawn from a generator made
of (the gateway's seed, the bind, the PDU's count within that bind), not from the carrier's shared
generator, so one bind's outcomes are the same whatever other binds do and in whatever order
their PDUs interleave.

A bind is named ``account/bind_type/n``: the n-th bind of that type the account made since the
gateway started (binds refused do not count).  The count is that of the bind's submit_sm and
data_sm PDUs, from 1, refused ones included, so a client that resends after a throttle moves on to
the next draw as it would against a carrier.  Pure: no clock, no reactor.
"""

from __future__ import annotations

import random
from collections import OrderedDict

from ..carriers.model import bind_rng

_KEEP = 100_000  # accepted messages not yet handed to a carrier (held for review, say) kept at most


class BindDraws:
    """Names binds, counts their PDUs, and hands a carrier link the generator of each message that
    came from a bind drawing per bind (smppgw.carriers.link.DrawSource)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._binds: dict[tuple[str, str], int] = {}  # (account, bind type) -> binds made
        self._names: dict[object, str] = {}  # connection -> its bind's name
        self._counts: dict[object, int] = {}  # connection -> PDUs counted
        self._waiting: dict[tuple[object, int], int] = {}  # (connection, sequence_number) -> count
        self._messages: OrderedDict[str, tuple[str, int]] = OrderedDict()  # message id -> (bind, count)

    def bound(self, conn: object, account: str, bind_type: str) -> str:
        n = self._binds.get((account, bind_type), 0) + 1
        self._binds[account, bind_type] = n
        name = self._names[conn] = f"{account}/{bind_type}/{n}"
        self._counts[conn] = 0
        return name

    def name_of(self, conn: object) -> str | None:
        return self._names.get(conn)

    def request(self, conn: object, sequence_number: int, drawn_per_bind: bool) -> None:
        """A submit_sm or data_sm arrived on ``conn``: it takes the bind's next count (whether or
        not its account draws per bind now, so switching it on does not renumber later PDUs)."""
        if conn not in self._names:
            return
        count = self._counts[conn] = self._counts[conn] + 1
        if drawn_per_bind:
            self._waiting[conn, sequence_number] = count

    def answered(self, conn: object, sequence_number: int, message_id: str) -> None:
        """The request was accepted as ``message_id``: its carrier draws from the bind's generator."""
        count = self._waiting.pop((conn, sequence_number), None)
        name = self._names.get(conn)
        if count is None or name is None or not message_id:
            return
        self._messages[message_id] = (name, count)
        while len(self._messages) > _KEEP:
            self._messages.popitem(last=False)

    def refused(self, conn: object, sequence_number: int) -> None:
        self._waiting.pop((conn, sequence_number), None)

    def ended(self, conn: object) -> None:
        self._names.pop(conn, None)
        self._counts.pop(conn, None)
        for key in [key for key in self._waiting if key[0] is conn]:
            del self._waiting[key]

    def rng_for(self, message_id: str) -> random.Random | None:
        """The generator for the message's carrier plan, or None: the carrier's own."""
        drawn = self._messages.pop(message_id, None)
        return None if drawn is None else bind_rng(self._seed, *drawn)

    def draw_of(self, message_id: str) -> tuple[str, int] | None:
        return self._messages.get(message_id)
