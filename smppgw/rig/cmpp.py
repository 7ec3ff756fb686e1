"""The rig on CMPP connections (smppgw.server.cmpp.hooks.CmppHooks): the account's faults in
force (the same FaultInjector as SMPP's, its faults for every bind), and a scorecard per session
that reads CMPP packets as the SMPP scorecard reads PDUs.

What each fault key does over CMPP is in smppgw.config.rig.
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from ..cmpp import packets as pk
from ..cmpp.codec import HEADER
from ..cmpp.constants import CommandId as K
from ..cmpp.constants import Result
from ..config.rig import BindFaults
from ..protocol.constants import CommandId as C
from ..protocol.constants import CommandStatus as S
from ..server.cmpp.hooks import CmppConnection
from ..server.hooks import WireTap
from .faults import FaultInjector
from .scorecard import Scorecard, Scorecards

SYSTEM_ERROR = 107  # the listener's vendor Result for a system error (smppgw.server.cmpp.mapping)

# A CMPP command as the SMPP scorecard knows it: CONNECT is a bind, ACTIVE_TEST an enquire_link,
# TERMINATE an unbind.
_AS_SMPP = {
    K.CONNECT: C.BIND_TRANSCEIVER,
    K.TERMINATE: C.UNBIND,
    K.SUBMIT: C.SUBMIT_SM,
    K.DELIVER: C.DELIVER_SM,
    K.QUERY: C.QUERY_SM,
    K.CANCEL: C.CANCEL_SM,
    K.ACTIVE_TEST: C.ENQUIRE_LINK,
}
# Where a response carries its status, by (command, Total_Length): 3.0 has 4-octet fields, 2.0 one.
_STATUS_AT: dict[tuple[int, int], tuple[int, int]] = {
    (K.CONNECT_RESP, 33): (12, 4),
    (K.CONNECT_RESP, 30): (12, 1),
    (K.SUBMIT_RESP, 24): (20, 4),
    (K.SUBMIT_RESP, 21): (20, 1),
    (K.DELIVER_RESP, 24): (20, 4),
    (K.DELIVER_RESP, 21): (20, 1),
}
_WORDS = (
    ("ESME_RTHROTTLED/ESME_RMSGQFUL", "Result 8"),
    ("enquire_link", "ACTIVE_TEST"),
    ("deliver_sm", "DELIVER"),
    ("unbind etiquette", "TERMINATE etiquette"),
    ("without unbind", "without TERMINATE"),
    ("gateway's unbind", "gateway's TERMINATE"),
    ("unbound by", "terminated by"),
    ("before binding", "before CONNECT"),
)


def _cmpp_words(text: str) -> str:
    for smpp, cmpp in _WORDS:
        text = text.replace(smpp, cmpp)
    return text


class CmppScorecard(Scorecard):
    """The scorecard of one CMPP session: each packet is read as the SMPP PDU it stands for."""

    def frame_in(self, frame: bytes, now: float) -> None:
        cid, seq = HEADER.unpack_from(frame)[1:]
        if cid < 0x80000000:
            smpp = _AS_SMPP.get(cid, cid)
            self._request_in(smpp, seq, frame[12:] if cid == K.SUBMIT else b"", now)
        else:
            self._response_in(_status(frame, cid), seq, now)

    def frame_out(self, frame: bytes, now: float) -> None:
        cid, seq = HEADER.unpack_from(frame)[1:]
        if cid < 0x80000000:
            smpp = _AS_SMPP.get(cid, cid)
            if smpp == C.UNBIND:
                self._unbind_out = True
            elif smpp == C.DELIVER_SM:
                self.deliver_sent += 1
            self._ours[seq] = (smpp, now)
        else:
            smpp_resp = _AS_SMPP.get(cid & 0x7FFFFFFF, cid & 0x7FFFFFFF) | 0x80000000
            self._response_out(smpp_resp, _status(frame, cid), seq, now)

    def faults(self) -> list[str]:
        return [_cmpp_words(fault) for fault in super().faults()]

    def to_json(self) -> dict[str, Any]:
        card = super().to_json()
        card["protocol"] = "cmpp"
        card["ending"] = _cmpp_words(card["ending"])
        return card


def _status(frame: bytes, cid: int) -> int:
    """The response's status as an SMPP command_status: 0, ESME_RTHROTTLED for Result 8, else an error."""
    at = _STATUS_AT.get((cid, len(frame)))
    if at is None:
        return S.ESME_ROK
    offset, size = at
    value = int.from_bytes(frame[offset : offset + size], "big")
    if value == Result.OK:
        return S.ESME_ROK
    return S.ESME_RTHROTTLED if value == Result.FLOW_CONTROL else S.ESME_RSYSERR


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
