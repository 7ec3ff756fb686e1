"""The scorecard of a CMPP session: each packet read as the SMPP PDU it stands for, the findings
worded in CMPP terms (the CMPP listener's hooks, smppgw.rig.cmpp, open one per connection).  Pure,
like the SMPP scorecard it extends, so that both compile."""

from __future__ import annotations

from typing import Any

from ..cmpp.codec import HEADER
from ..cmpp.constants import CommandId as K
from ..cmpp.constants import Result
from ..protocol.constants import CommandId as C
from ..protocol.constants import CommandStatus as S
from .scorecard import Scorecard

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
