"""Carrier links: their queues and counters, and simulated outages.

GET  /carriers                      POST /carriers/{code}/outage
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from twisted.logger import Logger
from twisted.web.server import Request

from ..carriers.link import CarrierLink
from .http import ApiError, Reply, Result, Route, peer_of
from .node import ClusterNode
from .shapes import carrier_json

log = Logger()


class CarrierEndpoints:
    def __init__(self, carriers: Mapping[str, CarrierLink], cluster: ClusterNode | None) -> None:
        self.carriers = carriers
        self.cluster = cluster  # on a node of several, an outage switches every node's link

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("carriers",), self.list_carriers),
            (b"POST", ("carriers", "*", "outage"), self.outage),
        ]

    def list_carriers(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        carriers = self.carriers
        return Reply(200, {"carriers": [carrier_json(code, carriers[code]) for code in sorted(carriers)]})

    def outage(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        code = params[0].upper()
        link = self.carriers.get(code)
        if link is None:
            raise ApiError(404, f"no carrier {params[0]!r}")
        down = body.get("down")
        if not isinstance(down, bool):
            raise ApiError(400, "down must be true or false", "down")
        link.set_down(down)
        if self.cluster is not None:
            self.cluster.outage_switched(code, down)
        log.info(
            "admin: carrier {code} set {state} by {who}",
            code=code,
            state="down" if down else "up",
            who=peer_of(request),
        )
        return Reply(200, carrier_json(code, link))


__all__ = ["CarrierEndpoints"]
