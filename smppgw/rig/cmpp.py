"""The rig on CMPP connections (smppgw.server.cmpp.hooks.CmppHooks): the account's faults in
force (the same FaultInjector as SMPP's, its faults for every bind), and a scorecard per session
that reads CMPP packets as the SMPP scorecard reads PDUs.

What each fault key does over CMPP is in smppgw.config.rig.
"""

from __future__ import annotations

import random
from dataclasses import replace

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from ..cmpp import packets as pk
from ..cmpp.constants import Result
from ..config.rig import BindFaults
from ..server.cmpp.hooks import CmppConnection
from ..server.hooks import WireTap
from .cmpp_scorecard import CmppScorecard
from .faults import FaultInjector
from .scorecard import Scorecard, Scorecards

SYSTEM_ERROR = 107  # the listener's vendor Result for a system error (smppgw.server.cmpp.mapping)


class CmppRig:
    """The rig's hooks into every CMPP connection."""

    def __init__(
        self, clock: IReactorTime, rng: random.Random, faults: FaultInjector, scorecards: Scorecards, window: int
    ) -> None:
        """``faults``: the rig's injector (the faults armed on an account); ``window``: the CMPP
        listener's window, the window the scorecard holds CMPP clients to."""
        self._clock = clock
        self._rng = rng
        self._faults = faults
        self._scorecards = scorecards
        self._window = window
        self._cards: dict[CmppConnection, Scorecard] = {}
        self._timers: dict[CmppConnection, list[IDelayedCall]] = {}

    def _armed(self, conn: CmppConnection) -> BindFaults | None:
        account = conn.account
        return None if account is None else self._faults.get(account)

    def opened(self, conn: CmppConnection, now: float) -> WireTap:
        rules = replace(self._scorecards.rules, window=self._window)
        card = self._cards[conn] = self._scorecards.open(
            conn.peer, conn.peer_host, now, lambda: conn.account, kind=CmppScorecard, rules=rules
        )
        return card

    def ended(self, conn: CmppConnection, now: float) -> None:
        for call in self._timers.pop(conn, []):
            if call.active():
                call.cancel()
        card = self._cards.pop(conn, None)
        if card is not None:
            self._scorecards.ended(card, now)

    def connected(self, conn: CmppConnection, now: float) -> None:
        f = self._armed(conn)
        if f is None:
            return
        calls = self._timers.setdefault(conn, [])
        if f.unbind_after_s is not None:
            calls.append(self._clock.callLater(f.unbind_after_s, conn.unbind))
        if f.cmpp_drop_after_s is not None:
            calls.append(self._clock.callLater(f.cmpp_drop_after_s, conn.close))

    def refuse_submit(self, conn: CmppConnection, submit: pk.Submit) -> int | None:
        f = self._armed(conn)
        if f is None:
            return None
        roll = self._rng.random() * 100
        for share, result in (
            (f.cmpp_result_percent, f.cmpp_result),
            (f.throttled_percent, Result.FLOW_CONTROL),
            (f.msgqful_percent, Result.FLOW_CONTROL),
            (f.syserr_percent, SYSTEM_ERROR),
        ):
            if roll < share:
                return int(result)
            roll -= share
        return None

    def hold_submit_resp(self, conn: CmppConnection, sequence_id: int, msg_id: int, result: int) -> bool:
        f = self._armed(conn)
        if f is None:
            return False
        if f.drop_resp_percent and self._rng.random() * 100 < f.drop_resp_percent:
            return True
        if f.resp_delay_s > 0:
            call = self._clock.callLater(f.resp_delay_s, conn.respond_submit_now, sequence_id, msg_id, result)
            calls = self._timers.setdefault(conn, [])
            calls[:] = [c for c in calls if c.active()]
            calls.append(call)
            return True
        return False
