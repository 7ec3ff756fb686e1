"""Carrier links: their queues and counters, and simulated outages.

GET  /carriers                      POST /carriers/{code}/outage
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger
from twisted.web.server import Request

from .http import ApiError, Reply, Result, Route, peer_of
from .node import Node
from .shapes import carrier_json

log = Logger()


class CarrierEndpoints:
    def __init__(self, node: Node) -> None:
        self.node = node

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("carriers",), self.list_carriers),
            (b"POST", ("carriers", "*", "outage"), self.outage),
        ]

    def list_carriers(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        carriers = self.node.carriers
        return Reply(200, {"carriers": [carrier_json(code, carriers[code]) for code in sorted(carriers)]})

    def outage(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        code = params[0].upper()
        link = self.node.carriers.get(code)
        if link is None:
            raise ApiError(404, f"no carrier {params[0]!r}")
        down = body.get("down")
        if not isinstance(down, bool):
            raise ApiError(400, "down must be true or false", "down")
        link.set_down(down)
        cluster = self.node.cluster
        if cluster is not None:  # several nodes: every node's link goes down or up
            cluster.outage_switched(code, down)
        log.info(
            "admin: carrier {code} set {state} by {who}",
            code=code,
            state="down" if down else "up",
            who=peer_of(request),
        )
        return Reply(200, carrier_json(code, link))


__all__ = ["CarrierEndpoints"]
