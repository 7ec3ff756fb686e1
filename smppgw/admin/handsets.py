"""Admin API routes of the handset's view:

GET /api/handsets           the numbers with an inbox, most recent first, and the inbox's bounds
GET /api/handsets/{number}  what the number's phone shows: its messages, long ones put together,
                            decoded, each broken one with its problems (cause and detail)

The number may be written as a client writes it (13800138000, 8613800138000, +86 138-0013-8000);
the answer names it as asked and as E.164 digits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.web.server import Request

from ..handset import HandsetInbox, ReceivedPart, ShownMessage
from ..handset.parts import METHOD_NAMES
from ..handset.text import coding_name
from ..model import STAT_WORDS, Message
from ..routing.numbers import InvalidNumber, normalise_msisdn
from .http import ApiError, Reply, Result, Route, iso_time
from .node import Node


def shown_json(shown: ShownMessage, offset: int, dc0: str, find: Callable[[str], Message | None]) -> dict[str, Any]:
    """One message on the phone.  ``find``: a message id to its Message (for each part's state)."""

    def part_json(part: ReceivedPart) -> dict[str, Any]:
        message = find(part.message_id)
        return {
            "part": part.part,
            "of": part.total,
            "message_id": part.message_id,
            "account": part.account,
            "data_coding": part.data_coding,
            "method": str(part.method),
            "reference": part.reference if part.concatenated else None,
            "received_at": iso_time(part.at, offset),
            "state": None if message is None else STAT_WORDS.get(message.state, "UNKNOWN"),
        }

    signature = shown.signature
    codings = list(dict.fromkeys(p.data_coding for p in shown.parts))
    return {
        "from": shown.source_addr,
        "accounts": list(shown.accounts),
        "received_at": iso_time(shown.first_at, offset),
        "last_part_at": iso_time(shown.last_at, offset),
        "method": str(shown.method),
        "method_name": METHOD_NAMES[shown.method],
        "reference": shown.parts[0].reference if shown.parts[0].concatenated else None,
        "parts_expected": shown.total,
        "parts_received": [p.part for p in shown.parts],
        "data_codings": codings,
        "coding": " + ".join(coding_name(c, dc0=dc0) for c in codings),
        "text": shown.text,
        "hex": shown.hex,
        "signature": None if signature is None else signature[0],
        "signature_at": None if signature is None else signature[1],
        "complete": shown.complete,
        "broken": bool(shown.problems),
        "problems": [{"cause": str(p.cause), "detail": p.detail} for p in shown.problems],
        "parts": [part_json(p) for p in shown.parts],
        "duplicates": [part_json(p) for p in shown.duplicates],
    }


class HandsetEndpoints:
    def __init__(self, node: Node, inbox: HandsetInbox) -> None:
        self.node = node
        self.inbox = inbox
        self.offset = node.config.utc_offset_minutes

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("handsets",), self.numbers),
            (b"GET", ("handsets", "*"), self.handset),
        ]

    def numbers(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        rows = [
            {"msisdn": msisdn, "parts": count, "last_at": iso_time(last, self.offset)}
            for msisdn, count, last in self.inbox.numbers_by_recent()
        ]
        inbox = self.inbox
        bounds = {"per_number": inbox.per_number, "max_parts": inbox.max_parts, "max_bytes": inbox.max_bytes}
        return Reply(200, {"handsets": rows, "kept": {"parts": inbox.parts, "bytes": inbox.bytes,
                                                       "dropped": inbox.dropped}, "bounds": bounds})  # fmt: skip

    def handset(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        number = params[0]
        try:
            msisdn = normalise_msisdn(number)
        except InvalidNumber as err:
            raise ApiError(400, f"{number!r} is not a mobile number: {err.detail}", "number") from None
        dc0 = self.inbox.dc0
        find = self.node.gateway.find
        messages = [shown_json(m, self.offset, dc0, find) for m in self.inbox.messages(msisdn)]
        return Reply(
            200,
            {
                "number": number,
                "msisdn": msisdn,
                "messages": messages,
                "broken": sum(1 for m in messages if m["broken"]),
            },
        )


__all__ = ["HandsetEndpoints", "shown_json"]
