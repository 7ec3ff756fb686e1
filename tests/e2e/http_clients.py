"""Clients and a webhook receiver for the customer HTTP interface tests: blocking HTTP calls (run in a
thread, as a customer's program would make them) and a twisted.web server standing in for a
customer's callback URL."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from smppgw.httpapi.wire import split_form


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def call(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None, method: str | None = None
) -> Answer:
    """One request; 4xx/5xx answers are returned, not raised."""
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


async def http_port(gw: Any) -> int:
    port = await gw.service.http_service._waitingForPort
    return int(port.getHost().port)


@dataclass
class Hit:
    method: str
    uri: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        """Query and form fields, decoded as UTF-8."""
        _, _, query = self.uri.partition("?")
        pairs = split_form(query.encode("latin-1")) + (split_form(self.body) if self.method == "POST" else [])
        return {k.decode(): v.decode("utf-8", "replace") for k, v in pairs}


class Receiver(Resource):
    """A customer's callback endpoint: records every request; answers ``replies`` in turn, then ``reply``."""

    isLeaf = True  # noqa: N815 (Twisted's name)

    def __init__(self, reply: tuple[int, bytes] = (200, b"OK"), replies: list[tuple[int, bytes]] | None = None) -> None:
        super().__init__()
        self.reply = reply
        self.replies = list(replies or [])
        self.hits: list[Hit] = []
        self.port: Any = None
        self._waiters: list[tuple[int, Deferred[None]]] = []

    def render(self, request: Request) -> bytes:
        assert request.content is not None
        headers = {k.decode().lower(): v[0].decode() for k, v in request.requestHeaders.getAllRawHeaders()}
        self.hits.append(Hit(request.method.decode(), request.uri.decode("latin-1"), headers, request.content.read()))
        status, body = self.replies.pop(0) if self.replies else self.reply
        request.setResponseCode(status)
        for count, d in list(self._waiters):
            if len(self.hits) >= count:
                self._waiters.remove((count, d))
                d.callback(None)
        return body

    def listen(self) -> str:
        self.port = reactor.listenTCP(0, Site(self), interface="127.0.0.1")
        return f"http://127.0.0.1:{self.port.getHost().port}"

    def wait_for(self, count: int, timeout: float = 20.0) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if len(self.hits) >= count:
            d.callback(None)
            return d
        self._waiters.append((count, d))
        return d.addTimeout(timeout, reactor)

    async def close(self) -> None:
        if self.port is not None:
            await self.port.stopListening()
