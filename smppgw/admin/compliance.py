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
from dataclasses import asdict
from datetime import date
from typing import TYPE_CHECKING, Any

from twisted.logger import Logger
from twisted.web.server import Request

from ..model import Message
from ..pipeline.accounts import AccountState
from ..pipeline.compliance import GLOBAL, REFUSAL_PREFIX, message_text
from ..routing.numbers import InvalidNumber, mask_msisdn
from ..store.ports import StoredDecision
from ..writes import PledgeRecorded
from .api import ApiError, Reply, Result, _peer, _text, iso_time
from .console import _time
from .site import operator_of

if TYPE_CHECKING:
    from .api import AdminApi, Handler

log = Logger()

MAX_IMPORT = 100_000  # numbers per opt-out import
MAX_DECISIONS = 10_000  # rows per GET /decisions
INCIDENT_FIELDS = (
    "incident_id", "account", "at", "message_id", "category", "legal_category", "term", "action", "source_ip",
    "destination", "text",
)  # fmt: skip
OPTOUT_FIELDS = ("account", "msisdn", "source", "at")
_CSV_SPLIT = re.compile(r"[\s,;]+")


def compliance_routes(api: AdminApi) -> list[tuple[bytes, tuple[str, ...], Handler]]:
    c = _Endpoints(api)
    return [
        (b"GET", ("review",), c.review),
        (b"POST", ("review", "*", "approve"), c.approve),
        (b"POST", ("review", "*", "reject"), c.reject),
        (b"POST", ("accounts", "*", "suspend"), c.suspend),
        (b"POST", ("accounts", "*", "reinstate"), c.reinstate),
        (b"POST", ("accounts", "*", "pledge"), c.pledge),
        (b"GET", ("incidents",), c.incidents),
        (b"GET", ("decisions",), c.decisions),
        (b"GET", ("optouts",), c.optouts),
        (b"POST", ("optouts",), c.import_optouts),
    ]


def compliance_account_fields(api: AdminApi, state: AccountState) -> dict[str, Any]:
    cfg = state.config
    pledge = api.service.store.pledges().get(cfg.system_id) if cfg.pledge_required or state.pledged else None
    why = None
    if state.status != "active":
        why = f"the account is {state.status}" + (" (reinstate: POST /api/accounts/{id}/reinstate)")
    elif cfg.pledge_required and not state.pledged:
        why = "no information-security pledge is recorded (POST /api/accounts/{id}/pledge)"
    return {
        "pledge_required": cfg.pledge_required,
        "pledge": None
        if pledge is None
        else {**asdict(pledge), "recorded_at": iso_time(pledge.recorded_at, api.offset)},
        "binds_refused": why.replace("{id}", cfg.system_id) if why else None,
    }


def compliance_message_fields(api: AdminApi, message: Message) -> dict[str, Any]:
    held = api.service.compliance.held.get(message.message_id)
    decisions = [_decision_json(d, api.offset) for d in api.service.store.decisions(message.message_id)]
    return {"held": None if held is None else held.kind, "decisions": decisions}


def _decision_json(d: StoredDecision, offset: int) -> dict[str, Any]:
    """A decision as a message's detail lists it (the message is known)."""
    return {"at": iso_time(d.at, offset), "decision": d.decision, "category": d.category, "term": d.term,
            "detail": d.detail}  # fmt: skip


def refusal_reply(api: AdminApi, refusal_id: str) -> Reply | None:
    """GET /messages/{id} for a submit refused at once: its decision, as no message exists."""
    if not refusal_id.startswith(REFUSAL_PREFIX):
        return None
    rows = api.service.store.decisions(refusal_id)
    if not rows:
        return None
    decisions = [_decision_json(d, api.offset) for d in rows]
    return Reply(200, {"message_id": refusal_id, "state": "refused", "held": None, "decisions": decisions})


def _operator(request: Request, body: Mapping[str, Any]) -> str:
    """Who made a decision: the body's operator, else the client's X-Operator header, else its address."""
    named = _text(body, "operator", required=False) or operator_of(request)
    return named if named != "-" else f"admin-api ({_peer(request)})"


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


class _Endpoints:
    def __init__(self, api: AdminApi) -> None:
        self.api = api
        self.service = api.service

    def _after_commit(self, build: Callable[[], Reply]) -> Result:
        """Answer once everything queued so far is stored, so the answer and the store agree."""
        return self.service.committer.flush().addCallback(lambda _: build())

    def _account(self, system_id: str) -> AccountState:
        state = self.service.accounts.get(system_id)
        if state is None:
            raise ApiError(404, f"no account {system_id!r}")
        return state

    # ---- review queue -------------------------------------------------------------------

    def review(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Reply:
        compliance, gateway = self.service.compliance, self.service.gateway
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
                    "held_at": iso_time(entry.held_at, self.api.offset),
                    "deadline": iso_time(entry.deadline, self.api.offset),
                }
            )
        return Reply(200, {"held": items, "timeout_action": self.service.config.content.review_timeout_action})

    def _decide(self, request: Request, message_id: str, approve: bool, body: Mapping[str, Any]) -> Result:
        who = _operator(request, body)
        done = self.service.gateway.decide(message_id, approve, who)
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
        reason = _text(body, "reason", required=False)
        why = f"by operator {who}" + (f": {reason}" if reason else "")
        self.service.gateway.suspend(state.config.system_id, self.service.reactor.seconds(), why)
        return self._after_commit(lambda: Reply(200, self.api.account_detail(state)))

    def reinstate(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        state = self._account(params[0])
        who = _operator(request, body)
        self.service.gateway.reinstate(state.config.system_id, who)
        return self._after_commit(lambda: Reply(200, self.api.account_detail(state)))

    def pledge(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        state = self._account(params[0])
        signed_on, reference, operator = _text(body, "signed_on"), _text(body, "reference"), _text(body, "operator")
        assert signed_on is not None and reference is not None and operator is not None
        try:
            date.fromisoformat(signed_on)
        except ValueError:
            raise ApiError(400, "signed_on must be a date, e.g. 2026-01-05", "signed_on") from None
        now = self.service.reactor.seconds()
        system_id = state.config.system_id

        def stored(_: None) -> Reply:
            state.pledged = True
            log.info(
                "admin: pledge {ref} of {account} recorded by {who}", ref=reference, account=system_id, who=operator
            )
            return Reply(201, self.api.account_detail(state))

        d = self.service.committer.write([PledgeRecorded(system_id, signed_on, reference, operator, now)])
        return d.addCallback(stored)

    def incidents(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        fmt, account = _format(request), _arg(request, "account")
        return self._after_commit(lambda: self._incidents(fmt, account))

    def _incidents(self, fmt: str, account: str | None) -> Reply:
        rows = [{**asdict(r), "at": iso_time(r.at, self.api.offset)} for r in self.service.store.incidents(account)]
        if fmt == "csv":
            return Reply(200, _csv(INCIDENT_FIELDS, rows), "text/csv; charset=utf-8")
        return Reply(200, {"incidents": rows})

    def decisions(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        account, since, limit_text = _arg(request, "account"), _time(request, "since"), _arg(request, "limit") or "100"
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_DECISIONS:
            raise ApiError(400, f"limit must be 1 to {MAX_DECISIONS}", "limit")
        return self._after_commit(lambda: self._decisions(account, since, int(limit_text)))

    def _decisions(self, account: str | None, since: float | None, limit: int) -> Reply:
        rows = self.service.store.decision_list(account, since, limit)
        return Reply(200, {"decisions": [{**asdict(r), "at": iso_time(r.at, self.api.offset)} for r in rows]})

    # ---- opt-out lists ----------------------------------------------------------------------

    def optouts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        fmt, account = _format(request), _arg(request, "account")
        return self._after_commit(lambda: self._optouts(fmt, account))

    def _optouts(self, fmt: str, account: str | None) -> Reply:
        rows = [
            {**asdict(r), "at": iso_time(r.at, self.api.offset)}
            for r in self.service.store.optouts()
            if account is None or r.account == account
        ]
        if fmt == "csv":
            return Reply(200, _csv(OPTOUT_FIELDS, rows), "text/csv; charset=utf-8")
        return Reply(200, {"optouts": rows})

    def import_optouts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        """{"account": "<id>" or "*" (global), "numbers": [...] or "csv": "<text>", "remove": false}"""
        account = _text(body, "account")
        assert account is not None
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
        compliance, gateway, now = self.service.compliance, self.service.gateway, self.service.reactor.seconds()
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
