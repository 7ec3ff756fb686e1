"""Admin endpoints for compliance: the review queue, suspension and incidents, opt-out lists, pledges.

GET  /review                        POST /review/{id}/approve      POST /review/{id}/reject
POST /accounts/{id}/suspend         POST /accounts/{id}/reinstate       POST /accounts/{id}/pledge
GET  /incidents[?account=&format=csv|json]   GET /decisions[?account=&since=&limit=]
GET  /optouts[?account=&format=csv|json]                           POST /optouts
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from twisted.logger import Logger
from twisted.web.server import Request

from ..pipeline.accounts import AccountState
from ..pipeline.compliance import GLOBAL, message_text
from ..routing.numbers import InvalidNumber, mask_msisdn
from ..writes import PledgeRecorded
from .http import ApiError, Reply, Result, Route, iso_time, operator_of, peer_of, required_text, text_field, time_arg
from .node import Node
from .shapes import row_json
from .views import Views

log = Logger()

MAX_IMPORT = 100_000  # numbers per opt-out import
MAX_DECISIONS = 10_000  # rows per GET /decisions
INCIDENT_FIELDS = (
    "incident_id", "account", "at", "message_id", "category", "legal_category", "term", "action", "source_ip",
    "destination", "text",
)  # fmt: skip
OPTOUT_FIELDS = ("account", "msisdn", "source", "at")
_CSV_SPLIT = re.compile(r"[\s,;]+")


def _operator(request: Request, body: Mapping[str, Any]) -> str:
    """Who made a decision: the body's operator, else the client's X-Operator header, else its address."""
    named = text_field(body, "operator", required=False) or operator_of(request)
    return named if named != "-" else f"admin-api ({peer_of(request)})"


def _format(request: Request) -> str:
    values = request.args.get(b"format", [b"json"])
    fmt = values[0].decode("ascii", "replace") if values else "json"
    if fmt not in ("json", "csv"):
        raise ApiError(400, "format must be json or csv", "format")
    return fmt


def _arg(request: Request, name: str) -> str | None:
    values = request.args.get(name.encode("ascii"))
    return values[0].decode("utf-8", "replace") if values else None


def _csv(fields: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(fields)
    for row in rows:
        writer.writerow(["" if row[f] is None else row[f] for f in fields])
    # UTF-8 with a BOM, so spreadsheet programs read the Chinese text right.
    return ("\ufeff" + out.getvalue()).encode("utf-8")


class ComplianceEndpoints:
    def __init__(self, node: Node, views: Views) -> None:
        self.node = node
        self.views = views
        self.offset = views.offset

    def routes(self) -> list[Route]:
        return [
            (b"GET", ("review",), self.review),
            (b"POST", ("review", "*", "approve"), self.approve),
            (b"POST", ("review", "*", "reject"), self.reject),
            (b"POST", ("accounts", "*", "suspend"), self.suspend),
            (b"POST", ("accounts", "*", "reinstate"), self.reinstate),
            (b"POST", ("accounts", "*", "pledge"), self.pledge),
            (b"GET", ("incidents",), self.incidents),
            (b"GET", ("decisions",), self.decisions),
            (b"GET", ("optouts",), self.optouts),
            (b"POST", ("optouts",), self.import_optouts),
        ]

    def _after_commit(self, build: Callable[[], Reply]) -> Result:
        """Answer once everything queued so far is stored, so the answer and the store agree."""
        return self.node.committer.flush().addCallback(lambda _: build())

    def _account(self, system_id: str) -> AccountState:
        return self.views.account_state(system_id)

    # ---- review queue -------------------------------------------------------------------

    def review(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Reply:
        compliance, gateway = self.node.compliance, self.node.gateway
        items = []
        seen: set[str] = set()
        for entry in compliance.review_items():
            if entry.group in seen:
                continue
            seen.add(entry.group)
            members = compliance.group_of(entry.message_id)
            messages = [m for m in (gateway.active.get(mid) for mid in members) if m is not None]
            text = "".join(message_text(m.data_coding, m.esm_class, m.body, gateway.dc0) for m in messages)
            first = messages[0] if messages else None
            items.append(
                {
                    "message_id": entry.message_id,
                    "message_ids": members,
                    "account": entry.account,
                    "source_addr": first.source_addr if first else "",
                    "destination_addr": first.destination_addr if first else "",
                    "category": entry.category,
                    "term": entry.term,
                    "text": text,
                    "held_at": iso_time(entry.held_at, self.offset),
                    "deadline": iso_time(entry.deadline, self.offset),
                }
            )
        return Reply(200, {"held": items, "timeout_action": self.node.config.content.review_timeout_action})

    def _decide(self, request: Request, message_id: str, approve: bool, body: Mapping[str, Any]) -> Result:
        who = _operator(request, body)
        done = self.node.gateway.decide(message_id, approve, who)
        if done is None:
            raise ApiError(404, f"message {message_id!r} is not held for review")
        verb = "approved" if approve else "rejected"
        log.info("admin: held message {ids} {verb} by {who}", ids=",".join(done), verb=verb, who=who)
        return self._after_commit(lambda: Reply(200, {"decision": verb, "message_ids": done}))

    def approve(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return self._decide(request, params[0], True, body)

    def reject(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return self._decide(request, params[0], False, body)

    # ---- suspension, pledges, incidents -----------------------------------------------------

    def suspend(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        """An operator's suspension: the same as one for prohibited content (sessions unbound, binds
        refused, the status stored), without an incident, since no message caused it."""
        state = self._account(params[0])
        who = _operator(request, body)
        reason = text_field(body, "reason", required=False)
        why = f"by operator {who}" + (f": {reason}" if reason else "")
        self.node.gateway.suspend(state.config.system_id, self.node.reactor.seconds(), why)
        return self._after_commit(lambda: Reply(200, self.views.account_detail(state)))

    def reinstate(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        state = self._account(params[0])
        who = _operator(request, body)
        self.node.gateway.reinstate(state.config.system_id, who)
        return self._after_commit(lambda: Reply(200, self.views.account_detail(state)))

    def pledge(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        state = self._account(params[0])
        signed_on, reference = required_text(body, "signed_on"), required_text(body, "reference")
        operator = required_text(body, "operator")
        try:
            date.fromisoformat(signed_on)
        except ValueError:
            raise ApiError(400, "signed_on must be a date, e.g. 2026-01-05", "signed_on") from None
        now = self.node.reactor.seconds()
        system_id = state.config.system_id

        def stored(_: None) -> Reply:
            state.pledged = True
            log.info(
                "admin: pledge {ref} of {account} recorded by {who}", ref=reference, account=system_id, who=operator
            )
            return Reply(201, self.views.account_detail(state))

        d = self.node.committer.write([PledgeRecorded(system_id, signed_on, reference, operator, now)])
        return d.addCallback(stored)

    def incidents(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        fmt, account = _format(request), _arg(request, "account")
        return self._after_commit(lambda: self._incidents(fmt, account))

    def _incidents(self, fmt: str, account: str | None) -> Reply:
        rows = [row_json(r, self.offset) for r in self.node.store.incidents(account)]
        if fmt == "csv":
            return Reply(200, _csv(INCIDENT_FIELDS, rows), "text/csv; charset=utf-8")
        return Reply(200, {"incidents": rows})

    def decisions(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        account, since = _arg(request, "account"), time_arg(request, "since")
        limit_text = _arg(request, "limit") or "100"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_DECISIONS:
            raise ApiError(400, f"limit must be 1 to {MAX_DECISIONS}", "limit")
        return self._after_commit(lambda: self._decisions(account, since, int(limit_text)))

    def _decisions(self, account: str | None, since: float | None, limit: int) -> Reply:
        rows = self.node.store.decision_list(account, since, limit)
        return Reply(200, {"decisions": [row_json(r, self.offset) for r in rows]})

    # ---- opt-out lists ----------------------------------------------------------------------

    def optouts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        fmt, account = _format(request), _arg(request, "account")
        return self._after_commit(lambda: self._optouts(fmt, account))

    def _optouts(self, fmt: str, account: str | None) -> Reply:
        rows = [row_json(r, self.offset) for r in self.node.store.optouts() if account is None or r.account == account]
        if fmt == "csv":
            return Reply(200, _csv(OPTOUT_FIELDS, rows), "text/csv; charset=utf-8")
        return Reply(200, {"optouts": rows})

    def import_optouts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        """{"account": "<id>" or "*" (global), "numbers": [...] or "csv": "<text>", "remove": false}"""
        account = required_text(body, "account")
        if account != GLOBAL:
            self._account(account)
        numbers = body.get("numbers")
        if numbers is None and isinstance(body.get("csv"), str):
            numbers = [n for n in _CSV_SPLIT.split(body["csv"]) if n and n.lower() not in ("msisdn", "number")]
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers) or not numbers:
            raise ApiError(400, "numbers must be a non-empty list of phone numbers (or give csv text)", "numbers")
        if len(numbers) > MAX_IMPORT:
            raise ApiError(400, f"at most {MAX_IMPORT} numbers per import", "numbers")
        remove = body.get("remove", False)
        if not isinstance(remove, bool):
            raise ApiError(400, "remove must be true or false", "remove")
        compliance, gateway, now = self.node.compliance, self.node.gateway, self.node.reactor.seconds()
        invalid = []
        for number in numbers:
            try:
                compliance.normalise(number)
            except InvalidNumber as err:
                invalid.append(f"{mask_msisdn(number)}: {err}")
        if invalid:
            raise ApiError(400, f"not phone numbers: {'; '.join(invalid[:5])}", "numbers")
        done = [
            gateway.remove_optout(account, n) if remove else gateway.add_optout(account, n, "import", now)
            for n in numbers
        ]
        log.info("admin: {n} numbers {verb} opt-out list {account}", n=len(done),
                 verb="removed from" if remove else "added to", account=account)  # fmt: skip
        answer = {"account": account, "count": len(set(done)), "removed" if remove else "added": done}
        return self._after_commit(lambda: Reply(200, answer))


__all__ = ["ComplianceEndpoints"]
