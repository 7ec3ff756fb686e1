"""A node's health check and drain mode, for a load balancer in front of several nodes.

``GET /health`` (no token: load balancers rarely carry one, as with /metrics) answers 200
``{"status": "up", ...}`` while the node takes new connections and 404 ``{"status": "draining"}``
once it is drained.  HAProxy's ``option httpchk GET /health`` with ``http-check disable-on-404``
reads a 404 as "send no new connections, keep the open ones" (its NOLB state) and a 200 as "back
in the farm", so a drained node's bound sessions keep working while new binds go elsewhere.

``GET /api/drain`` tells the state, ``POST /api/drain`` drains, ``DELETE /api/drain`` ends it (the
CLI's ``smppgw drain`` / ``smppgw undrain``).  Drain mode lasts until undrained or restarted.
"""

from __future__ import annotations

import json
from typing import Any

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request

from .http import Reply, Result, Route, iso_time, operator_of
from .node import Node

log = Logger()


class Drain:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.since: float | None = None  # when the node was drained; None: it takes new connections

    @property
    def draining(self) -> bool:
        return self.since is not None

    def state(self) -> dict[str, Any]:
        stats = self.node.statistics()
        return {
            "status": "draining" if self.draining else "up",
            "draining_since": iso_time(self.since, self.node.config.utc_offset_minutes),
            "connections": stats["connections"],
            "bound": stats["bound"],
        }

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("drain",), lambda request, params, body: Reply(200, self.state())),
            (b"POST", ("drain",), self._drain),
            (b"DELETE", ("drain",), self._undrain),
        ]

    def _drain(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if self.since is None:
            self.since = self.node.reactor.seconds()
            log.info(
                "node drained by {who}: the health check answers 404, {bound} bound session(s) stay",
                who=operator_of(request),
                bound=self.node.statistics()["bound"],
            )
        return Reply(200, self.state())

    def _undrain(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        if self.since is not None:
            self.since = None
            log.info("node undrained by {who}: the health check answers 200", who=operator_of(request))
        return Reply(200, self.state())


class HealthResource(Resource):
    """``/health``: 200 when the node takes new connections, 404 while it is drained."""

    isLeaf = True  # noqa: N815 (Twisted's name)

    def __init__(self, drain: Drain) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.drain = drain

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 (Twisted's name)
        request.setResponseCode(404 if self.drain.draining else 200)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(self.drain.state()).encode("utf-8") + b"\n"

    def render_HEAD(self, request: Request) -> bytes:  # noqa: N802
        return self.render_GET(request)
