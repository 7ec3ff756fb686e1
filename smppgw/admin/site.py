"""The admin port's HTTP site: a root that hands unknown names to the console files, and a
structured access log of every change made through the API (who did what, from where)."""

from __future__ import annotations

from twisted.logger import Logger
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

access_log = Logger(namespace="smppgw.admin.access")


class Root(Resource):
    def __init__(self, files: Resource) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.files = files

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802 (Twisted's name)
        return self.files


def operator_of(request: http.Request) -> str:
    """The operator the client names (X-Operator, sent by the CLI and the console); the token is shared."""
    raw = request.getHeader(b"x-operator") or "-"
    name = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return "".join(ch for ch in name if ch.isprintable())[:64] or "-"


class AdminSite(Site):
    def log(self, request: http.Request) -> None:
        """Every request that changes something, and every refused token, as one structured event."""
        if request.method == b"GET" and request.code != 401:
            return
        address = request.getClientAddress()
        access_log.info(
            "admin access: {operator}@{peer} {method} {path} -> {status}",
            operator=operator_of(request),
            peer=getattr(address, "host", "unknown"),
            method=request.method.decode("ascii", "replace"),
            path=request.uri.decode("utf-8", "replace"),
            status=request.code,
            admin_access=True,
        )
