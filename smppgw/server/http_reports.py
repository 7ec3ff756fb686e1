"""Receipts and MO of the customer HTTP interface: where each goes (its report channel), the pull
mailbox, and the webhook pusher.

A message sent over HTTP has a *route* (stored with it, ``ReportRouteSet``): pull (statusApi.aspx,
GET /v1/reports), push to a URL in a client's format (Jasmin, Kannel, legacy XML, signed v1 JSON),
or none.  Its receipts are the same durable deliveries SMPP receipts are: a delivery is deleted
(``DeliveryDone``) only once a pull has returned it or a push was acknowledged; an unacknowledged
push is retried on the backoff of ``httpapi.retry`` and, after ``webhook_give_up_after``, parked in
the pull mailbox (still pullable).
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..httpapi.accounts import Limits
from ..httpapi.callbacks import Callback, Verdict, inbound_callback, report_callback, verdict
from ..httpapi.requests import PushChannel, ReportFormat
from ..httpapi.results import InboundEvent, ReportEvent, ReportKind
from ..httpapi.retry import RetryPolicy
from ..httpapi.urlpolicy import callback_url_problem
from ..model import FINAL_STATES, STAT_WORDS, Delivery, DeliveryKind, Message, MessageState
from ..protocol.coding import decode_text
from ..protocol.constants import ESM_CLASS_INTERMEDIATE
from ..routing.numbers import mask_msisdn

PULL = "pull"
PUSH = "push"
NONE = "none"


@dataclass(frozen=True, slots=True)
class Route:
    """Where one HTTP-sent message's reports go, and what they echo (stored as JSON)."""

    kind: str  # PULL | PUSH | NONE
    format: str = "v1"  # ReportFormat value, for PUSH
    url: str = ""
    method: str = "POST"
    level: int = 1
    mask: int = 0
    task_id: int = 0
    client_ref: str = ""
    extno: str = ""
    status: int = 0  # != 0: a refusal after acceptance (its report carries GW:<status>)
    text: str = ""  # a refusal's text (the message was never stored)
    to: str = ""
    # Accepted but not submitted yet (a batch fed at the account's pace): the submit_sm's bytes
    # (hex), the client's address, the reserved id's sequence number and the quoted cost.
    pdu: str = ""
    peer: str = ""
    seq: int = 0
    cost: int = 0
    account: str = ""
    owner: str = ""  # the node (and worker) that accepted it: the one that feeds it after a restart

    @property
    def queued(self) -> bool:
        return bool(self.pdu)

    def to_json(self) -> str:
        # A queued route's text starts with '{"q":' (the stores find the queued ones by it).
        queued = (
            {"q": self.pdu, "a": self.account, "o": self.owner, "ip": self.peer, "n": self.seq, "c": self.cost}
            if self.pdu
            else {}
        )
        return json.dumps(
            {
                **queued,
                "k": self.kind,
                "f": self.format,
                "u": self.url,
                "m": self.method,
                "l": self.level,
                "x": self.mask,
                "t": self.task_id,
                "r": self.client_ref,
                "e": self.extno,
                "s": self.status,
                "txt": self.text,
                "to": self.to,
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @staticmethod
    def from_json(text: str) -> Route:
        d = json.loads(text)
        return Route(
            kind=str(d["k"]),
            format=str(d.get("f", "v1")),
            url=str(d.get("u", "")),
            method=str(d.get("m", "POST")),
            level=int(d.get("l", 1)),
            mask=int(d.get("x", 0)),
            task_id=int(d.get("t", 0)),
            client_ref=str(d.get("r", "")),
            extno=str(d.get("e", "")),
            status=int(d.get("s", 0)),
            text=str(d.get("txt", "")),
            to=str(d.get("to", "")),
            pdu=str(d.get("q", "")),
            peer=str(d.get("ip", "")),
            seq=int(d.get("n", 0)),
            cost=int(d.get("c", 0)),
            account=str(d.get("a", "")),
            owner=str(d.get("o", "")),
        )

    @property
    def channel(self) -> PushChannel:
        return PushChannel(self.url, ReportFormat(self.format), self.method, self.level, self.mask)


class Messages(Protocol):
    """Where a report's message is read from (the core's active messages, else the store)."""

    def __call__(self, message_id: str) -> Message | None: ...


@dataclass(frozen=True, slots=True)
class AccountPush:
    """An account's HTTP settings the reports need."""

    secret: str = ""
    allow_private: bool = False
    mo_url: str = ""
    mo_format: str = "v1"
    mo_pull: bool = False


class HttpSender(Protocol):
    """One HTTP request out, answering (status, body), or None for a timeout or connection failure."""

    def __call__(self, callback: Callback) -> Deferred[tuple[int, bytes] | None]: ...


@dataclass(slots=True)
class _Attempts:
    first: float
    failures: int = 0


@dataclass(slots=True)
class _Mailbox:
    items: dict[int, tuple[Delivery, ReportEvent | InboundEvent]] = field(default_factory=dict)
    leased: dict[int, float] = field(default_factory=dict)  # delivery id -> lease end (v1 pulls)


class HttpReports:
    """The HTTP interface's share of the durable deliveries: pulled, pushed, or parked."""

    log = Logger()

    def __init__(
        self,
        *,
        clock: IReactorTime,
        send: HttpSender,
        message: Messages,
        account: Callable[[str], AccountPush | None],
        done: Callable[[Delivery], None],
        policy: RetryPolicy,
        limits: Limits,
        concurrency: int,
        routes: dict[str, str] | None = None,
        dc0: str = "gsm7",
    ) -> None:
        self._clock = clock
        self._send = send
        self._message = message
        self._account = account
        self._done = done
        self._policy = policy
        self._limits = limits
        self._concurrency = concurrency
        self._routes: dict[str, Route] = {k: Route.from_json(v) for k, v in (routes or {}).items()}
        self._dc0 = dc0
        self._boxes: dict[str, _Mailbox] = {}
        self._waiting: dict[str, deque[Delivery]] = {}
        self._in_flight: dict[str, int] = {}
        self._attempts: dict[int, _Attempts] = {}
        self._cursors = itertools.count(1)
        self._pages: dict[str, list[int]] = {}
        self.parked = 0
        self.pushed = 0

    # ---- which deliveries are ours ------------------------------------------------------

    def remember(self, message_id: str, route: Route) -> None:
        self._routes[message_id] = route

    def queued(self) -> dict[str, Route]:
        """Routes of messages accepted but not submitted yet (to feed again after a restart)."""
        return {k: r for k, r in self._routes.items() if r.queued}

    def route(self, message_id: str) -> Route | None:
        return self._routes.get(message_id)

    def takes(self, delivery: Delivery) -> bool:
        if delivery.kind is DeliveryKind.MO:
            settings = self._account(delivery.account)
            return settings is not None and bool(settings.mo_url or settings.mo_pull)
        return delivery.message_id in self._routes

    def add(self, delivery: Delivery) -> None:
        if delivery.kind is DeliveryKind.MO:
            settings = self._account(delivery.account) or AccountPush()
            event: ReportEvent | InboundEvent = self._inbound(delivery)
            if settings.mo_url:
                self._queue(delivery)
            else:
                self._box(delivery.account).items[delivery.delivery_id] = (delivery, event)
            return
        route = self._routes[delivery.message_id]
        if route.kind == PUSH:
            self._queue(delivery)
        elif route.kind == PULL:
            self._box(delivery.account).items[delivery.delivery_id] = (delivery, self._report(delivery, route))
        else:
            self._done(delivery)

    def backlog(self) -> int:
        return sum(len(b.items) for b in self._boxes.values()) + sum(len(q) for q in self._waiting.values())

    # ---- events -------------------------------------------------------------------------

    def _report(self, delivery: Delivery, route: Route) -> ReportEvent:
        state = MessageState(delivery.state)
        message = self._message(delivery.message_id)
        if route.status:
            kind = ReportKind.REJECTED
        elif delivery.esm_class & ESM_CLASS_INTERMEDIATE and state is MessageState.ENROUTE:
            kind = ReportKind.SUBMIT_ACK
        else:
            kind = ReportKind.RECEIPT
        text = route.text
        if message is not None and not text:
            text = decode_text(message.data_coding, message.body, dc0=self._dc0)
        return ReportEvent(
            event_id=f"evt_{delivery.delivery_id}",
            message_id=delivery.message_id,
            to=route.to or delivery.source_addr,
            kind=kind,
            stat="REJECTD" if route.status else STAT_WORDS.get(state, "UNKNOWN"),
            final=bool(route.status) or state in FINAL_STATES,
            task_id=route.task_id,
            source=delivery.destination_addr,
            extno=route.extno,
            err=f"{delivery.err:03d}"[-3:],
            carrier=message.carrier if message is not None else "",
            carrier_code=message.code if message is not None else "",
            status=route.status or None,
            segments=message.segments if message is not None else 1,
            submitted_at=message.submitted_at if message is not None else delivery.created_at,
            done_at=delivery.created_at,
            client_ref=route.client_ref,
            text=text,
            smsc_id=delivery.message_id,
        )

    def _inbound(self, delivery: Delivery) -> InboundEvent:
        text = decode_text(delivery.data_coding, delivery.body, dc0=self._dc0)
        return InboundEvent(
            event_id=f"evt_{delivery.delivery_id}",
            message_id=delivery.message_id,
            msisdn=delivery.source_addr,
            to=delivery.destination_addr,
            text=text,
            received_at=delivery.created_at,
            data_coding=delivery.data_coding,
            octets=delivery.body,
        )

    # ---- pulls ----------------------------------------------------------------------------

    def _box(self, account: str) -> _Mailbox:
        box = self._boxes.get(account)
        if box is None:
            box = self._boxes[account] = _Mailbox()
        return box

    def peek(
        self, account: str, *, inbound: bool, limit: int, task_id: int | None = None
    ) -> list[tuple[Delivery, ReportEvent | InboundEvent]]:
        """Up to ``limit`` ready items of the mailbox, oldest first (not leased by a v1 pull)."""
        box = self._boxes.get(account)
        if box is None:
            return []
        now = self._clock.seconds()
        out = []
        for delivery_id in sorted(box.items):
            delivery, event = box.items[delivery_id]
            if (delivery.kind is DeliveryKind.MO) != inbound or box.leased.get(delivery_id, 0.0) > now:
                continue
            if task_id is not None and isinstance(event, ReportEvent) and event.task_id != task_id:
                continue
            out.append((delivery, event))
            if len(out) >= limit:
                break
        return out

    def taken(self, account: str, deliveries: list[Delivery]) -> None:
        """A legacy pull's reply is written: its items are gone (each returned once)."""
        box = self._box(account)
        for delivery in deliveries:
            if box.items.pop(delivery.delivery_id, None) is not None:
                box.leased.pop(delivery.delivery_id, None)
                self._done(delivery)

    def taken_ids(self, account: str, event_ids: list[str]) -> None:
        box = self._box(account)
        wanted = {int(e.removeprefix("evt_")) for e in event_ids if e.removeprefix("evt_").isdigit()}
        self.taken(account, [box.items[i][0] for i in wanted if i in box.items])

    def lease(self, account: str, deliveries: list[Delivery], seconds: float = 60.0) -> str:
        """A v1 pull: the page stays until acknowledged with its cursor, or reappears after the lease."""
        box = self._box(account)
        until = self._clock.seconds() + seconds
        for delivery in deliveries:
            box.leased[delivery.delivery_id] = until
        cursor = f"{account}:{next(self._cursors)}"
        self._pages[cursor] = [d.delivery_id for d in deliveries]
        return cursor

    def ack(self, account: str, cursor: str) -> int:
        ids = self._pages.pop(cursor, None) if cursor.startswith(account + ":") else None
        if ids is None:
            return 0
        box = self._box(account)
        gone = [box.items[i][0] for i in ids if i in box.items]
        self.taken(account, gone)
        return len(gone)

    # ---- pushes ---------------------------------------------------------------------------

    def _queue(self, delivery: Delivery) -> None:
        self._waiting.setdefault(delivery.account, deque()).append(delivery)
        self._pump(delivery.account)

    def _pump(self, account: str) -> None:
        queue = self._waiting.get(account)
        while queue and self._in_flight.get(account, 0) < self._concurrency:
            delivery = queue.popleft()
            self._in_flight[account] = self._in_flight.get(account, 0) + 1
            self._push(delivery)

    def _callback(
        self, delivery: Delivery, settings: AccountPush
    ) -> tuple[Callback | None, ReportEvent | InboundEvent]:
        now = self._clock.seconds()
        if delivery.kind is DeliveryKind.MO:
            inbound = self._inbound(delivery)
            fmt = ReportFormat(settings.mo_format)
            return (
                inbound_callback(inbound, settings.mo_url, fmt, secret=settings.secret, now=now, limits=self._limits),
                inbound,
            )
        route = self._routes[delivery.message_id]
        event = self._report(delivery, route)
        return report_callback(event, route.channel, secret=settings.secret, now=now, limits=self._limits), event

    def _push(self, delivery: Delivery) -> None:
        settings = self._account(delivery.account) or AccountPush()
        callback, event = self._callback(delivery, settings)
        if callback is None:  # the level or mask does not want this event
            self._finished(delivery)
            self._done(delivery)
            return
        problem = callback_url_problem(callback.url, allow_private=settings.allow_private)
        if problem is not None:
            self.log.warn("webhook for {id} refused: {problem}", id=delivery.message_id, problem=problem)
            self._finished(delivery)
            self._park(delivery, event)
            return
        d = self._send(callback)
        d.addCallback(self._answered, delivery, callback, event)
        d.addErrback(self._send_failed, delivery, event)

    def _answered(
        self,
        answer: tuple[int, bytes] | None,
        delivery: Delivery,
        callback: Callback,
        event: ReportEvent | InboundEvent,
    ) -> None:
        self._finished(delivery)
        status, body = answer if answer is not None else (None, b"")
        outcome = verdict(callback.format, status, body)
        if outcome is Verdict.ACKED:
            self._attempts.pop(delivery.delivery_id, None)
            self.pushed += 1
            self._done(delivery)
        elif outcome is Verdict.STOP:
            self._park(delivery, event)
        else:
            self._retry(delivery, event)

    def _send_failed(self, failure: Failure, delivery: Delivery, event: ReportEvent | InboundEvent) -> None:
        self.log.failure("webhook for {id} failed", failure, id=delivery.message_id)
        self._finished(delivery)
        self._retry(delivery, event)

    def _finished(self, delivery: Delivery) -> None:
        self._in_flight[delivery.account] = max(0, self._in_flight.get(delivery.account, 0) - 1)
        self._clock.callLater(0, self._pump, delivery.account)

    def _retry(self, delivery: Delivery, event: ReportEvent | InboundEvent) -> None:
        now = self._clock.seconds()
        attempts = self._attempts.setdefault(delivery.delivery_id, _Attempts(first=now))
        attempts.failures += 1
        at = self._policy.next_attempt(attempts.first, attempts.failures, now)
        if at is None:
            self._park(delivery, event)
            return
        self.log.info(
            "webhook to {to} not acknowledged, try {n} in {s:.0f} s",
            to=mask_msisdn(getattr(event, "to", "")),
            n=attempts.failures + 1,
            s=at - now,
        )
        self._clock.callLater(at - now, self._queue, delivery)

    def _park(self, delivery: Delivery, event: ReportEvent | InboundEvent) -> None:
        """Given up pushing: kept, and still pullable."""
        self._attempts.pop(delivery.delivery_id, None)
        self.parked += 1
        self._box(delivery.account).items[delivery.delivery_id] = (delivery, event)
