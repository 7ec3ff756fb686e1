"""Failed-bind lockouts: who is locked out, from where, for how long; lifting them.

GET  /lockouts                      DELETE /lockouts/{account}[/{address}]
"""

from __future__ import annotations

from typing import Any

from twisted.logger import Logger
from twisted.web.server import Request

from .http import ApiError, Reply, Result, Route, iso_time, peer_of
from .node import Node

log = Logger()


class LockoutEndpoints:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.offset = node.config.utc_offset_minutes

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("lockouts",), self.list_lockouts),
            (b"DELETE", ("lockouts", "*"), self.lift_lockout),
            (b"DELETE", ("lockouts", "*", "*"), self.lift_lockout),
        ]

    def list_lockouts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        now = self.node.reactor.seconds()
        lockouts = self.node.factory.guard.lockouts(now)
        return Reply(
            200,
            {
                "lockouts": [
                    {
                        "account": lock.account,
                        "address": lock.address,
                        "until": iso_time(lock.until, self.offset),
                        "seconds_left": round(lock.until - now, 1),
                    }
                    for lock in lockouts
                ]
            },
        )

    def lift_lockout(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        account, address = params[0], params[1] if len(params) > 1 else None
        lifted = self.node.factory.guard.lift(account, address)
        if not lifted:
            raise ApiError(404, f"no lockout of {account!r}" + (f" from {address}" if address else ""))
        log.info(
            "admin: {n} bind lockout(s) of {account} lifted by {who}", n=lifted, account=account, who=peer_of(request)
        )
        return Reply(200, {"lifted": lifted})


__all__ = ["LockoutEndpoints"]
