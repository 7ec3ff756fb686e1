"""Recordings of SMPP sessions, and their export for ``smppgw replay``.

``POST /api/accounts/{id}/record`` records the sessions of an account that open from then on (the
scorecard sees every frame in and out and keeps them); ``GET /api/sessions/{id}/recording``
exports one as JSON lines: a header line, then one line per PDU::

    {"recording": 1, "session": 7, "account": "demo", "pdus": 12}
    {"t": 0.0012, "dir": "in", "pdu": "0000002f00000009..."}

``t`` is seconds since the connection opened, ``dir`` is ``in`` (client to gateway) or ``out``.
On export the source_addr and destination_addr of submit_sm / deliver_sm / data_sm are masked
(routing.numbers.mask_msisdn, with zeros for the hidden digits so that the number still routes to
the same carrier; sender codes that are not phone numbers stay) and bind passwords are blanked
(``smppgw replay --password`` supplies one).
"""

from __future__ import annotations

import dataclasses
import json

from ..protocol import codec
from ..protocol import pdu as p
from ..protocol.errors import LocalProtocolError, PduDecodeError
from ..routing.numbers import InvalidNumber, mask_msisdn, normalise_msisdn
from .scorecard import Scorecard

FORMAT = 1


def masked_number(address: str) -> str:
    """A phone number masked; service codes such as 10690000 (not phone numbers) stay as they are."""
    try:
        normalise_msisdn(address)
    except InvalidNumber:
        return address
    return mask_msisdn(address).replace("*", "0")


def masked_frame(frame: bytes) -> bytes:
    """``frame`` with phone numbers and passwords hidden; frames it cannot decode pass unchanged."""
    try:
        pdu = codec.decode(frame)
    except PduDecodeError:
        return frame
    if isinstance(pdu, p.SubmitSm | p.DeliverSm | p.DataSm):
        pdu = dataclasses.replace(
            pdu, source_addr=masked_number(pdu.source_addr), destination_addr=masked_number(pdu.destination_addr)
        )
    elif isinstance(pdu, p.BindTransmitter | p.BindReceiver | p.BindTransceiver):
        pdu = dataclasses.replace(pdu, password="")
    else:
        return frame
    try:
        return codec.encode(pdu)
    except LocalProtocolError:
        return frame[:16]  # a header only: never export numbers the codec cannot re-encode


def export(card: Scorecard) -> str:
    """The JSON-lines text of a recorded session (see the module docstring)."""
    frames = card.recording or []
    header = {"recording": FORMAT, "session": card.session_id, "account": card.account, "pdus": len(frames)}
    lines = [json.dumps(header)]
    lines += [
        json.dumps({"t": round(t, 6), "dir": direction, "pdu": masked_frame(frame).hex()})
        for t, direction, frame in frames
    ]
    return "\n".join(lines) + "\n"
