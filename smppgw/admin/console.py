"""What the web console needs beyond the admin API: the live overview, bound sessions, message
search, a message's history and the reload call (all under /api, with the admin token), and the
static console files at / (served without a token: they hold no data)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from twisted.logger import Logger
from twisted.web.resource import Resource
from twisted.web.server import Request

from ..config import ConfigError
from ..model import STAT_WORDS
from .http import ApiError, Reply, Result, Route, iso_time, query_arg, time_arg
from .node import Node, Reload
from .overview import Overview
from .shapes import bind_type, entry_json
from .views import Views

log = Logger()

MAX_SEARCH = 500


class ConsoleApi:
    def __init__(self, node: Node, views: Views, overview: Overview, reload: Reload) -> None:
        self.node = node
        self.views = views
        self.offset = views.offset
        self.overview = overview
        self._reload = reload

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("overview",), self.show_overview),
            (b"GET", ("sessions",), self.sessions),
            (b"GET", ("messages",), self.search),
            (b"GET", ("messages", "*", "history"), self.history),
            (b"POST", ("reload",), self.reload),
        ]

    def show_overview(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        stats = dict(self.node.statistics())
        stats["review_queue"] = self.node.compliance.review_length()
        return Reply(200, {**self.overview.to_json(), "gateway": stats})

    def sessions(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        offset = self.offset
        rows = []
        for account, protos in sorted(self.node.factory.bound.items()):
            for proto in protos:
                session = proto.session
                rows.append(
                    {
                        "id": proto.session_id,
                        "protocol": "smpp",
                        "account": account,
                        "bind_type": bind_type(session.state.value),
                        "peer": proto.peer,
                        "since": iso_time(session.bound_at, offset),
                        "window_in_use": session.outstanding,
                        "window": self.node.factory.receipt_window,
                        "requests_pending": session.pending_requests,
                        "interface_version": f"{session.interface_version >> 4}.{session.interface_version & 0xF}",
                        "throughput": self._throughput(proto.session_id),
                    }
                )
        for row in self.node.cmpp_factory.session_rows():
            rows.append({**row, "since": iso_time(row["since"], offset)})
        return Reply(200, {"sessions": rows})

    def _throughput(self, session_id: int | None) -> dict[str, Any] | None:
        """What bounds the session's throughput now (its scorecard's), None without a scorecard."""
        card = self.node.rig.scorecards.get(session_id) if session_id is not None else None
        return None if card is None else card.throughput().to_json()

    def search(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        message_id = query_arg(request, "id")
        if message_id is not None:
            found = self.node.gateway.find(message_id)
            return Reply(200, {"messages": [] if found is None else [self.views.message(found)]})
        limit_text = query_arg(request, "limit") or "50"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_SEARCH:
            raise ApiError(400, f"limit must be 1 to {MAX_SEARCH}", "limit")
        found_list = self.node.store.search_messages(
            account=query_arg(request, "account"),
            destination=query_arg(request, "destination"),
            since=time_arg(request, "since"),
            until=time_arg(request, "until"),
            limit=int(limit_text),
        )
        return Reply(200, {"messages": [self.views.message(self.views.fresh(m)) for m in found_list]})

    def history(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        message = self.node.gateway.find(params[0])
        if message is None:
            raise ApiError(404, f"no message {params[0]!r}")
        offset = self.offset
        events: list[dict[str, Any]] = [
            {
                "at": iso_time(message.submitted_at, offset),
                "step": "submit",
                "detail": f"{message.account}: {message.source_addr} to {message.destination_addr}, "
                f"{message.segments} segment(s)",
            }
        ]
        if message.carrier != message.home_carrier:
            route = f"failover: {message.home_carrier} was down, sent to {message.carrier}"
        else:
            route = f"routed to {message.carrier}"
        events.append({"at": iso_time(message.submitted_at, offset), "step": "route", "detail": route})
        entries = [e for e in self.node.store.ledger(message.account) if e.message_id == message.message_id]
        for entry in entries:
            events.append(
                {
                    "at": iso_time(entry.at, offset),
                    "step": str(entry.kind),
                    "detail": f"{entry.amount:+d} {entry.unit}, balance {entry.balance_after}",
                    "entry": entry_json(entry, offset),
                }
            )
        state = STAT_WORDS.get(message.state, "UNKNOWN")
        if message.is_final:
            detail = f"{message.carrier} reported {state}" + (
                f" (err {message.err:03d} {message.code})".rstrip() if message.err else ""
            )
            events.append({"at": iso_time(message.final_at, offset), "step": "carrier", "detail": detail})
        else:
            events.append({"at": None, "step": "carrier", "detail": f"waiting at {message.carrier} ({state})"})
        shown = self.views.message(message)
        events.append({"at": None, "step": "receipt", "detail": f"receipt {shown['receipt']}"})
        return Reply(200, {"message": shown, "events": events})

    def reload(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        def refused(failure: Any) -> Reply:
            failure.trap(ConfigError)
            raise ApiError(400, f"configuration refused, the running one stays: {failure.value}")

        return self._reload().addCallback(lambda report: Reply(200, {"reloaded": True, **report})).addErrback(refused)


# ---- static files ------------------------------------------------------------------------------

_TYPES = {
    ".html": b"text/html; charset=utf-8",
    ".js": b"text/javascript; charset=utf-8",
    ".css": b"text/css; charset=utf-8",
    ".svg": b"image/svg+xml",
}


class ConsoleFiles(Resource):
    """The console's files, shipped in the package (smppgw/admin/console/): no build step, no CDN."""

    isLeaf = True  # noqa: N815 (Twisted's name)

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 (Twisted's name)
        name = request.path.decode("latin-1").lstrip("/") or "index.html"
        folder = resources.files("smppgw.admin") / "console"
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if "/" in name or suffix not in _TYPES or not (folder / name).is_file():
            request.setResponseCode(404)
            request.setHeader(b"content-type", b"application/json; charset=utf-8")
            return json.dumps({"error": "no such page"}).encode() + b"\n"
        request.setHeader(b"content-type", _TYPES[suffix])
        request.setHeader(b"cache-control", b"no-cache")
        request.setHeader(b"x-content-type-options", b"nosniff")
        return (folder / name).read_bytes()


__all__ = ["ConsoleApi", "ConsoleFiles"]
