"""The admin port of ``smppgw serve --workers N``: one front in the supervisor that sends each
request to the worker(s) it concerns, over each worker's internal admin API (loopback).

- anything about one account (``/api/accounts/{id}/...``, ``/api/lockouts/{id}``, ``?account=``,
  a new account, opt-outs of one account) goes to the account's owner, so top-ups, faults and
  lookups act where the wallet and the sessions are;
- lists (accounts, sessions, messages, review, incidents, decisions, opt-outs, lockouts) ask every
  worker and join their lists; one message, session or held message is asked of every worker and
  the one that has it answers; an MO goes to every worker and the owner of the service number takes it;
- changes to the whole gateway (carrier outages, reload, scenarios, global opt-outs) go to every
  worker: the answer is worker 0's, or the first refusal;
- ``/metrics`` joins the workers' figures with a ``worker`` label; the overview, the carriers,
  the scenario and the console's files are worker 0's.

The token is checked by the workers, as without --workers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, unquote

from twisted.internet.defer import Deferred, gatherResults
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import Agent, FileBodyProducer, HTTPConnectionPool, readBody
from twisted.web.http_headers import Headers
from twisted.web.iweb import IResponse
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from ..admin.site import AdminSite
from .placement import owner_of

log = Logger()
_LISTS = frozenset({"accounts", "sessions", "messages", "review", "incidents", "decisions", "optouts", "lockouts"})
_WORKER_ZERO = frozenset({"overview", "carriers", "scenario"})
# Lists the workers answer newest first, up to a limit (the field that orders them, the default limit).
_NEWEST_FIRST = {"messages": ("submitted_at", 50), "decisions": ("at", 100)}
_FORWARDED = (b"authorization", b"x-operator", b"content-type", b"accept")


@dataclass(frozen=True, slots=True)
class Plan:
    """Which workers to ask (a list, or every one) and how to answer from their answers."""

    workers: tuple[int, ...] | None  # None: every worker
    how: str  # "one": the single answer; "join": lists joined; "found": the first 2xx; "all": worker 0's or a refusal
    newest_first: tuple[str, int] | None = None  # a joined list sorted by this time field, cut to this many


def plan(method: str, path: Sequence[str], query: Mapping[str, list[str]], body: Any, workers: int) -> Plan:
    """``path``: the segments after /api."""

    def owner(system_id: object) -> Plan:
        return Plan((owner_of(system_id, workers) if isinstance(system_id, str) else 0,), "one")

    head = path[0] if path else ""
    if head in ("accounts", "lockouts") and len(path) >= 2:
        return owner(path[1])
    if method == "POST" and path == ["accounts"]:
        return owner(body.get("system_id") if isinstance(body, dict) else None)
    account = query.get("account", [""])[0]
    if method == "GET" and account and account != "*":
        return owner(account)
    if method == "POST" and path == ["optouts"] and isinstance(body, dict):
        target = body.get("account")
        return owner(target) if isinstance(target, str) and target != "*" else Plan(None, "all")
    if head in _WORKER_ZERO and method == "GET":
        return Plan((0,), "one")
    if method == "GET" and len(path) == 1 and head in _LISTS:
        if head in _NEWEST_FIRST:
            key, default = _NEWEST_FIRST[head]
            limit = query.get("limit", [""])[0]
            return Plan(None, "join", (key, int(limit) if limit.isdigit() else default))
        return Plan(None, "join")
    if head in ("messages", "sessions", "review", "mo"):
        return Plan(None, "found")
    if method == "GET":
        return Plan((0,), "one")
    return Plan(None, "all")


@dataclass(frozen=True, slots=True)
class Answer:
    code: int
    content_type: bytes
    body: bytes


def choose(plan_: Plan, answers: Sequence[Answer]) -> Answer:
    if plan_.how == "one" or len(answers) == 1:
        return answers[0]
    ok = [a for a in answers if 200 <= a.code < 300]
    if plan_.how == "found":
        return ok[0] if ok else answers[0]
    if plan_.how == "all":
        refused = [a for a in answers if not 200 <= a.code < 300]
        return refused[0] if refused else answers[0]
    if len(ok) != len(answers):
        return next(a for a in answers if not 200 <= a.code < 300)
    if answers[0].content_type.startswith(b"text/csv"):
        # One header line, then every worker's rows.
        rows = b"".join(a.body.partition(b"\n")[2] for a in answers[1:])
        return Answer(200, answers[0].content_type, answers[0].body + rows)
    try:
        values = [json.loads(a.body) for a in answers]
    except ValueError:
        return answers[0]
    return Answer(200, b"application/json; charset=utf-8", join_json(values, plan_.newest_first))


def join_json(values: Sequence[Any], newest_first: tuple[str, int] | None = None) -> bytes:
    """Lists are joined (sorted newest first and cut to the limit when asked); of the other fields
    the first worker's value stays."""

    def joined_list(lists: list[Any]) -> list[Any]:
        items = [item for value in lists for item in value]
        if newest_first is not None:
            key, limit = newest_first
            items.sort(key=lambda item: str(item.get(key) or "") if isinstance(item, dict) else "", reverse=True)
            items = items[:limit]
        return items

    first = values[0]
    if isinstance(first, list):
        joined: Any = joined_list(list(values))
    elif isinstance(first, dict):
        joined = dict(first)
        for key, item in first.items():
            if isinstance(item, list):
                joined[key] = joined_list([value.get(key, []) for value in values if isinstance(value, dict)])
    else:
        joined = first
    return json.dumps(joined, ensure_ascii=False).encode("utf-8") + b"\n"


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?(\s.*)$")


def join_metrics(texts: Sequence[str]) -> str:
    """The workers' Prometheus texts as one, each sample labelled ``worker="i"``; the samples of a
    family stay together under one HELP/TYPE, as the exposition format requires."""
    families: dict[str, list[str]] = {}
    headers: dict[str, list[str]] = {}
    for index, text in enumerate(texts):
        family = ""
        for line in text.splitlines():
            if line.startswith("#"):
                parts = line.split(None, 3)
                if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                    family = parts[2]
                    if index == 0 or family not in headers:
                        headers.setdefault(family, []).append(line)
                continue
            match = _SAMPLE.match(line)
            if match is None:
                continue
            name, _, labels, rest = match.groups()
            labelled = f'worker="{index}"' + (f",{labels}" if labels else "")
            families.setdefault(family or name, []).append(f"{name}{{{labelled}}}{rest}")
    out: list[str] = []
    for family in dict.fromkeys([*headers, *families]):
        out += headers.get(family, [])
        out += families.get(family, [])
    return "\n".join(out) + "\n"


class Front(Resource):
    isLeaf = True  # noqa: N815 (Twisted's name)

    def __init__(self, count: int, admin_ports: Sequence[int | None], reactor: Any) -> None:
        """``admin_ports``: each worker's internal admin port, None while it starts (read at each request)."""
        super().__init__()  # type: ignore[no-untyped-call]
        self.count = count
        self.admin_ports = admin_ports
        pool = HTTPConnectionPool(reactor)
        pool.maxPersistentPerHost = 4
        self.agent = Agent(reactor, pool=pool)

    def render(self, request: Request) -> bytes | int:
        segments = [unquote(s) for s in request.path.decode("latin-1").split("/")]
        body_bytes = request.content.read() if request.content is not None else b""
        query = parse_qs(request.uri.decode("latin-1").partition("?")[2])
        count = self.count
        if len(segments) >= 2 and segments[1] == "metrics":
            chosen = Plan(None, "metrics")
        elif len(segments) >= 2 and segments[1] == "api":
            path = [s for s in segments[2:] if s] if segments[-1] == "" else segments[2:]
            try:
                body = json.loads(body_bytes) if body_bytes else {}
            except ValueError:
                body = {}  # the worker answers the 400
            chosen = plan(request.method.decode("ascii", "replace"), path, query, body, count)
        else:
            chosen = Plan((0,), "one")  # the console's files
        targets = chosen.workers if chosen.workers is not None else tuple(range(count))
        ports = [self.admin_ports[i] for i in targets]
        if any(port is None for port in ports):
            starting = [i for i, port in zip(targets, ports, strict=True) if port is None]
            return _write(request, Answer(503, b"application/json", _error(f"worker {starting[0]} is starting")))
        headers = Headers({k: v for k in _FORWARDED if (v := request.requestHeaders.getRawHeaders(k))})
        asks = [self._ask(request.method, port, request.uri, headers, body_bytes) for port in ports if port]
        gone: list[bool] = []
        request.notifyFinish().addErrback(lambda _: gone.append(True))

        def answered(answers: list[Answer]) -> None:
            if chosen.how == "metrics":
                text = join_metrics([a.body.decode("utf-8", "replace") for a in answers])
                answer = Answer(200, answers[0].content_type, text.encode("utf-8"))
            else:
                answer = choose(chosen, answers)
            if not gone:
                request.write(_write(request, answer))
                request.finish()

        def failed(failure: Failure) -> None:
            log.failure("admin front: {method} {uri} failed", failure, method=request.method, uri=request.uri)
            if not gone:
                request.write(_write(request, Answer(502, b"application/json", _error("a worker did not answer"))))
                request.finish()

        gatherResults(asks, consumeErrors=True).addCallback(answered).addErrback(failed)
        return NOT_DONE_YET

    def _ask(self, method: bytes, port: int, uri: bytes, headers: Headers, body: bytes) -> Deferred[Answer]:
        producer = FileBodyProducer(BytesIO(body)) if body else None
        d = self.agent.request(method, b"http://127.0.0.1:%d%s" % (port, uri), headers, producer)

        def got(response: IResponse) -> Deferred[Answer]:
            content_type = (response.headers.getRawHeaders(b"content-type") or [b"application/json"])[0]
            return readBody(response).addCallback(lambda data: Answer(response.code, content_type, data))

        return d.addCallback(got)


def _error(text: str) -> bytes:
    return json.dumps({"error": text}).encode("utf-8") + b"\n"


def _write(request: Request, answer: Answer) -> bytes:
    request.setResponseCode(answer.code)
    request.setHeader(b"content-type", answer.content_type)
    request.setHeader(b"cache-control", b"no-store")
    return answer.body


def build_front(count: int, admin_ports: Sequence[int | None], reactor: Any) -> Site:
    site = AdminSite(Front(count, admin_ports, reactor))  # type: ignore[no-untyped-call]
    site.noisy = False
    site.displayTracebacks = False
    return site
