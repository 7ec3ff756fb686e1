"""The admin API's HTTP mini-framework: errors, replies, routing, the JSON body and request fields.

A handler takes the request, the path parameters (the ``*`` segments of its route) and the JSON body
(POST only) and returns a ``Reply`` or a Deferred of one; raising ``ApiError`` answers with its
status and ``{"error": "...", "field": "<name>"}`` (field only when one is to blame).  Nothing here
knows the gateway: the handler modules build on it, and ``site.py`` puts them together.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

log = Logger()

MAX_AMOUNT = 10**12  # 厘 (one billion CNY) per top-up or opening balance: far beyond any real payment
MAX_BODY = 64 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any
    content_type: str = ""  # "": body is JSON; otherwise body is bytes of this type (CSV exports)


Result = Reply | Deferred[Reply]
Handler = Callable[[Request, tuple[str, ...], dict[str, Any]], Result]
# method, path pattern ("*" matches one non-empty segment and becomes a parameter), handler
Route = tuple[bytes, tuple[str, ...], Handler]


# ---- times ---------------------------------------------------------------------------------


def iso_time(timestamp: float | None, utc_offset_minutes: int) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone(timedelta(minutes=utc_offset_minutes))).isoformat()


# ---- request fields ------------------------------------------------------------------------


def text_field(body: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"{name} is required", name)
        return None
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{name} must be a non-empty string", name)
    return value


def required_text(body: Mapping[str, Any], name: str) -> str:
    value = text_field(body, name)
    assert value is not None  # text_field raises for a missing required field
    return value


def amount_field(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None:
        raise ApiError(400, f"{name} is required", name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ApiError(400, f"{name} must be a positive whole number of the account's unit", name)
    if value > MAX_AMOUNT:
        raise ApiError(400, f"{name} must be at most {MAX_AMOUNT}", name)
    return value


def read_json(request: Request) -> dict[str, Any]:
    raw = request.content.read(MAX_BODY + 1) if request.content is not None else b""
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"the request body is larger than {MAX_BODY} bytes")
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise ApiError(400, f"the body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def query_arg(request: Request, name: str) -> str | None:
    """A query parameter, stripped; None when absent or empty."""
    values = (request.args or {}).get(name.encode())
    if not values or not values[0]:
        return None
    return values[0].decode("utf-8", "replace").strip() or None


def time_arg(request: Request, name: str) -> float | None:
    """A query parameter as a Unix time: an ISO date-time or a number."""
    text = query_arg(request, name)
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise ApiError(400, f"{name} must be an ISO date-time or a Unix time, got {text!r}", name) from None


def peer_of(request: Request) -> str:
    address = request.getClientAddress()
    host = getattr(address, "host", None)
    return str(host) if host is not None else "unknown"


def operator_of(request: http.Request) -> str:
    """The operator the client names (X-Operator, sent by the CLI and the console); the token is shared."""
    raw = request.getHeader(b"x-operator") or "-"
    name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return "".join(ch for ch in name if ch.isprintable())[:64] or "-"


# ---- routing -------------------------------------------------------------------------------


def route(routes: Sequence[Route], request: Request) -> tuple[Handler, tuple[str, ...]]:
    """The handler of the request's method and path, and the path's parameters (404, 405 otherwise)."""
    segments = [unquote(s, errors="replace") for s in request.path.decode("latin-1").split("/")]
    while segments and not segments[-1]:
        segments.pop()
    if len(segments) < 2 or segments[0] or segments[1] != "api":
        raise ApiError(404, "no such endpoint")
    path = segments[2:]
    allowed: list[bytes] = []
    for method, pattern, handler in routes:
        if len(pattern) != len(path):
            continue
        if not all((p == "*" and s) or p == s for p, s in zip(pattern, path, strict=True)):
            continue
        if method == request.method:
            return handler, tuple(s for p, s in zip(pattern, path, strict=True) if p == "*")
        allowed.append(method)
    if allowed:
        request.setHeader(b"allow", b", ".join(allowed))
        raise ApiError(405, f"use {', '.join(m.decode() for m in allowed)} here")
    raise ApiError(404, "no such endpoint")


# ---- twisted.web glue ----------------------------------------------------------------------


class AdminResource(Resource):
    """One leaf resource for /api/...: checks the token, finds the route, writes JSON."""

    isLeaf = True  # noqa: N815 (Twisted's name)

    def __init__(self, routes: Sequence[Route], token: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.routes = tuple(routes)
        self._token = token.encode("utf-8")

    def render(self, request: Request) -> bytes | int:
        try:
            self._authorise(request)
            handler, params = route(self.routes, request)
            body = read_json(request) if request.method == b"POST" else {}
            result = handler(request, params, body)
        except ApiError as err:
            return self._reply(request, Reply(err.status, err.payload()))
        except Exception:
            log.failure("admin: {method} {path} failed", method=request.method, path=request.path)
            return self._reply(request, Reply(500, {"error": "internal error"}))
        if isinstance(result, Reply):
            return self._reply(request, result)
        self._finish_later(request, result)
        return NOT_DONE_YET

    def _authorise(self, request: Request) -> None:
        header = request.getHeader(b"authorization") or b""
        scheme, _, given = header.partition(b" ")
        # compare_digest on every request, also for a missing header, so timing tells nothing.
        ok = hmac.compare_digest(given.strip(), self._token)
        if not ok or scheme.lower() != b"bearer":
            request.setHeader(b"www-authenticate", b'Bearer realm="smppgw"')
            raise ApiError(401, "a valid bearer token is required (Authorization: Bearer <token>)")

    def _finish_later(self, request: Request, result: Deferred[Reply]) -> None:
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def reply(value: Reply) -> None:
            if not gone:
                request.write(self._reply(request, value))
                request.finish()

        def failed(failure: Failure) -> None:
            if isinstance(failure.value, ApiError):
                reply(Reply(failure.value.status, failure.value.payload()))
                return
            log.failure("admin: {method} {path} failed", failure, method=request.method, path=request.path)
            reply(Reply(500, {"error": "internal error"}))

        result.addCallbacks(reply, failed)

    def _reply(self, request: Request, reply: Reply) -> bytes:
        request.setResponseCode(reply.status)
        if reply.content_type:
            request.setHeader(b"content-type", reply.content_type.encode("ascii"))
            request.setHeader(b"cache-control", b"no-store")
            return bytes(reply.body)
        request.setHeader(b"content-type", b"application/json; charset=utf-8")
        request.setHeader(b"cache-control", b"no-store")
        return json.dumps(reply.body, ensure_ascii=False).encode("utf-8") + b"\n"


__all__ = [
    "MAX_AMOUNT",
    "AdminResource",
    "ApiError",
    "Handler",
    "Reply",
    "Result",
    "Route",
    "amount_field",
    "iso_time",
    "operator_of",
    "peer_of",
    "query_arg",
    "read_json",
    "required_text",
    "route",
    "text_field",
    "time_arg",
]
