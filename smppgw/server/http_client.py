"""The webhook client: one ``httpapi.callbacks.Callback`` out through ``twisted.web.client.Agent``,
with a timeout; the answer as (status, body), or None when it timed out or could not connect."""

from __future__ import annotations

from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import Agent, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer, IResponse
from zope.interface import implementer

from ..httpapi.callbacks import Callback
from .http_reports import HttpSender

log = Logger()
_MAX_ANSWER = 65_536  # an acknowledgement is a few bytes; a receiver's page is not read further


@implementer(IBodyProducer)
class _Bytes:
    """A request body (``IBodyProducer``) of bytes known up front."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.length = len(data)

    def startProducing(self, consumer: Any) -> Deferred[None]:  # noqa: N802 (Twisted's name)
        consumer.write(self._data)
        done: Deferred[None] = Deferred()
        done.callback(None)
        return done

    def pauseProducing(self) -> None:  # noqa: N802
        pass

    def stopProducing(self) -> None:  # noqa: N802
        pass

    def resumeProducing(self) -> None:  # noqa: N802
        pass


def agent_sender(reactor: Any, timeout: float) -> HttpSender:
    """``reactor`` provides IReactorTCP and IReactorTime (and IReactorSSL for https URLs)."""
    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 4
    agent = Agent(reactor, connectTimeout=timeout, pool=pool)
    clock: IReactorTime = reactor

    def send(callback: Callback) -> Deferred[tuple[int, bytes] | None]:
        headers = Headers({b"User-Agent": [b"smppgw webhook"]})
        for name, value in callback.headers:
            headers.addRawHeader(name.encode("latin-1"), value.encode("latin-1"))
        body = _Bytes(callback.body) if callback.body or callback.method.upper() == "POST" else None
        d: Deferred[IResponse] = agent.request(
            callback.method.upper().encode("ascii"), callback.url.encode("ascii"), headers, body
        )

        def answered(response: IResponse) -> Deferred[tuple[int, bytes] | None]:
            code = response.code
            read: Deferred[bytes] = readBody(response)
            return read.addCallback(lambda data: (code, data[:_MAX_ANSWER]))

        def failed(failure: Failure) -> None:
            log.info("webhook {method} failed: {why}", method=callback.method, why=failure.getErrorMessage())

        answer: Deferred[tuple[int, bytes] | None] = d.addCallback(answered)
        answer.addTimeout(timeout, clock)
        return answer.addErrback(failed)

    return send
