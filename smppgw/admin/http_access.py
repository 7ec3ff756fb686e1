"""An account's access to the customer HTTP interface: which fronts it may use, and its API secret.

GET  /accounts/{id}/http             the fronts and settings (the secret only said to be set)
POST /accounts/{id}/http/fronts      {"fronts": ["legacy", "jasmin", "kannel", "v1"]} (any of them)
POST /accounts/{id}/http/secret      a new API secret, answered once and never shown again

The secret is kept readable (the v2 md5 sign, md5 passwords, the v1 bearer token and the webhook
HMAC need the secret itself; the SMPP password stays a one-way hash).  A change is stored, so it
outlives a restart and a reload of the configuration file.
"""

from __future__ import annotations

import dataclasses
import secrets
from typing import Any

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.web.server import Request

from ..config import HTTP_FRONTS, AccountHttp
from ..config.accounts import http_settings
from .http import ApiError, Reply, Result, Route, peer_of
from .node import Node
from .views import Views

log = Logger()

SECRET_BYTES = 24  # 32 URL-safe characters


class HttpAccessEndpoints:
    def __init__(self, node: Node, views: Views) -> None:
        self.node = node
        self.views = views

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("accounts", "*", "http"), self.show),
            (b"POST", ("accounts", "*", "http", "fronts"), self.set_fronts),
            (b"POST", ("accounts", "*", "http", "secret"), self.new_secret),
        ]

    def _answer(self, system_id: str, http: AccountHttp, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        return {"account": system_id, **http_settings(http), **(extra or {})}

    def show(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        state = self.views.account_state(params[0])
        return Reply(200, self._answer(state.config.system_id, state.config.http))

    def set_fronts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        state = self.views.account_state(params[0])
        fronts = body.get("fronts")
        if not isinstance(fronts, list) or not all(isinstance(f, str) for f in fronts):
            raise ApiError(400, "fronts: must be a list of front names", "fronts")
        unknown = sorted(set(fronts) - HTTP_FRONTS)
        if unknown:
            raise ApiError(400, f"fronts: {unknown[0]!r} is not one of {', '.join(sorted(HTTP_FRONTS))}", "fronts")
        ordered = tuple(dict.fromkeys(fronts))
        http = dataclasses.replace(state.config.http, fronts=ordered)
        system_id, who = state.config.system_id, peer_of(request)

        def stored(_: None) -> Reply:
            log.info(
                "admin: HTTP fronts of {system_id} set to {fronts} from {who}",
                system_id=system_id,
                fronts=",".join(ordered) or "(none)",
                who=who,
            )
            return Reply(200, self._answer(system_id, http))

        d: Deferred[None] = self.node.set_http_access(system_id, http)
        return d.addCallback(stored)

    def new_secret(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        state = self.views.account_state(params[0])
        secret = secrets.token_urlsafe(SECRET_BYTES)
        http = dataclasses.replace(state.config.http, api_secret=secret)
        system_id, who = state.config.system_id, peer_of(request)

        def stored(_: None) -> Reply:
            # The secret itself is never logged: only that it changed, and who changed it.
            log.info("admin: new HTTP API secret for {system_id} from {who}", system_id=system_id, who=who)
            return Reply(201, self._answer(system_id, http, {"api_secret": secret}))

        d: Deferred[None] = self.node.set_http_access(system_id, http)
        return d.addCallback(stored)


__all__ = ["HttpAccessEndpoints"]
