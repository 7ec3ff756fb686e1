"""Messages: one message (or an at-once refusal's decision), and injecting a mobile-originated message.

GET  /messages/{id}                 POST /mo
"""

from __future__ import annotations

import re
from typing import Any

from twisted.logger import Logger
from twisted.web.server import Request

from ..model import Delivery
from ..pipeline.compliance import REFUSAL_PREFIX
from ..routing.numbers import mask_msisdn
from .http import ApiError, Reply, Result, Route, peer_of, required_text
from .node import Node
from .shapes import decision_json
from .views import Views

log = Logger()

_PHONE = re.compile(r"\+?\d{1,21}")


class MessageEndpoints:
    def __init__(self, node: Node, views: Views) -> None:
        self.node = node
        self.views = views

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("messages", "*"), self.show_message),
            (b"POST", ("mo",), self.mobile_originated),
        ]

    def show_message(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        message = self.node.gateway.find(params[0])
        if message is None:
            refused = self._refusal(params[0])
            if refused is not None:
                return refused
            raise ApiError(404, f"no message {params[0]!r}")
        return Reply(200, self.views.message_detail(message))

    def _refusal(self, refusal_id: str) -> Reply | None:
        """GET /messages/{id} for a submit refused at once: its decision, as no message exists."""
        if not refusal_id.startswith(REFUSAL_PREFIX):
            return None
        rows = self.node.store.decisions(refusal_id)
        if not rows:
            return None
        decisions = [decision_json(d, self.views.offset) for d in rows]
        return Reply(200, {"message_id": refusal_id, "state": "refused", "held": None, "decisions": decisions})

    def mobile_originated(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        sender, to, text = required_text(body, "from"), required_text(body, "to"), body.get("text")
        if not _PHONE.fullmatch(sender):
            raise ApiError(400, "from must be a phone number (digits, optionally starting with +)", "from")
        if not to.isascii() or not to.isdigit() or len(to) > 21:
            raise ApiError(400, "to must be a service number (digits)", "to")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "text is required (a non-empty string)", "text")
        if len(text) > 2000:
            raise ApiError(400, "text is longer than 2000 characters", "text")
        result = self.node.gateway.mobile_originated(sender, to, text, self.node.reactor.seconds())
        if isinstance(result, str):
            raise ApiError(404, result, "to")
        who = peer_of(request)

        def queued(delivery: Delivery) -> Reply:
            log.info(
                "admin: MO from {sender} to {to} injected by {who} for {account}",
                sender=mask_msisdn(sender),
                to=to,
                who=who,
                account=delivery.account,
            )
            answer = {
                "delivery_id": delivery.delivery_id,
                "account": delivery.account,
                "message_id": delivery.message_id,
            }
            return Reply(202, answer)

        return result.addCallback(queued)


__all__ = ["MessageEndpoints"]
