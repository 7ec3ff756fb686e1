"""The customer HTTP listener: the three fronts of ``smppgw.httpapi`` (the sms.aspx family,
Jasmin/Kannel compat, v1 JSON) on the gateway's one submit path.

``HttpApiResource`` is the thin Twisted shell: it copies a ``twisted.web`` request into an
``httpapi.wire.HttpRequest``, asks ``fronts.parse`` what it is, hands the typed request to
``HttpGateway`` and writes what ``fronts.render`` makes of the answer.  ``HttpGateway`` is the
pipeline adapter: every recipient becomes one ``SubmitSm`` through ``GatewayRunner.submit`` (the
function SMPP binds call), so pricing, routing, compliance, throttling, carriers, receipts, ids
and the admin and metrics views are those of SMPP.  A send is checked for money as a whole
first, every accepted message is committed before the reply, and a recipient refused after the
request was accepted gets a failed report (``GW:<status>``) in its channel, never nothing.
"""

from __future__ import annotations

import ipaddress
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from twisted.internet.defer import Deferred, gatherResults, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web import http as web_http
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from ..billing.ledger import EntryKind, LedgerEntry, Wallets
from ..config import AccountConfig
from ..httpapi import fronts
from ..httpapi.accounts import ApiAccount, Front, Limits
from ..httpapi.errors import AUTH_FAILURES, ApiError, Reason, error_for_status
from ..httpapi.requests import (
    AccountChannel,
    AckRequest,
    ApiRequest,
    BalanceRequest,
    ContentCheckRequest,
    NoReport,
    Octets,
    OutboundMessage,
    PingRequest,
    PullRequest,
    PushChannel,
    RateRequest,
    Refusal,
    Rejection,
    ReportChannel,
    ReportFormat,
    SendRequest,
    StatusRequest,
    Text,
)
from ..httpapi.results import (
    Accepted,
    Acked,
    Balance,
    ContentVerdict,
    EventPage,
    InboundEvent,
    MessageStatus,
    Outcome,
    Pong,
    RateQuote,
    ReportEvent,
    SendOutcome,
)
from ..httpapi.wire import HttpRequest, HttpResponse, redacted_query
from ..model import FINAL_STATES, STAT_WORDS, AccountStatus, Message, MessageState
from ..pipeline.guard import BindGuard
from ..pipeline.quote import Quote, covers, quote
from ..protocol import codec
from ..protocol import pdu as p
from ..protocol.coding import encode_text, gsm7_encodable
from ..protocol.constants import CommandStatus, Tag
from ..protocol.smpptime import format_smpp_time
from ..runtime.committer import GroupCommitter
from ..runtime.runner import GatewayRunner, Rejected
from ..writes import ReportRouteSet
from .http_feed import HttpFeeder
from .http_reports import NONE, PULL, PUSH, AccountPush, HttpReports, Route

log = Logger()

IDEMPOTENCY_TTL = 86_400.0


# ---- who is asking: the account registry as the fronts see it ------------------------------


class AccountLookup:
    """``httpapi.accounts.CredentialLookup`` over the gateway's accounts."""

    def __init__(self, gateway: GatewayRunner, clock: IReactorTime) -> None:
        self._gateway = gateway
        self._clock = clock

    def _view(self, cfg: AccountConfig, status: AccountStatus) -> ApiAccount:
        http = cfg.http
        now = self._clock.seconds()
        expired = (cfg.not_before is not None and now < cfg.not_before) or (
            cfg.not_after is not None and now > cfg.not_after
        )
        return ApiAccount(
            system_id=cfg.system_id,
            fronts=frozenset(Front(f) for f in http.fronts),
            api_secret=http.api_secret,
            legacy_userid=http.legacy_userid,
            legacy_md5_password=http.legacy_md5_password,
            service_number=cfg.source_addrs[0] if cfg.source_addrs else "",
            suspended=status is not AccountStatus.ACTIVE or expired,
            allow_private_callbacks=http.allow_loopback_callbacks,
            pulls_reports=not http.report_url,
            pulls_mo=http.mo_pull,
        )

    def by_system_id(self, system_id: str) -> ApiAccount | None:
        state = self._gateway.accounts.get(system_id)
        return None if state is None else self._view(state.config, state.status)

    def by_legacy_userid(self, userid: str) -> ApiAccount | None:
        for state in self._gateway.accounts:
            if state.config.http.legacy_userid and state.config.http.legacy_userid == userid:
                return self._view(state.config, state.status)
        return None

    def by_api_secret(self, secret: str) -> ApiAccount | None:
        import hmac  # noqa: PLC0415

        found = None
        for state in self._gateway.accounts:
            known = state.config.http.api_secret
            # Every account compared, in constant time each: the answer's timing tells nothing.
            if known and hmac.compare_digest(known.encode(), secret.encode()) and found is None:
                found = self._view(state.config, state.status)
        return found

    def password_matches(self, account: ApiAccount, password: str) -> bool:
        return self._gateway.accounts.password_ok(account.system_id, password)

    def peer_allowed(self, account: ApiAccount, peer: str) -> bool:
        state = self._gateway.accounts.get(account.system_id)
        if state is None or not state.config.ip_allowlist:
            return True
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in net for net in state.config.ip_allowlist)


# ---- the pipeline adapter -----------------------------------------------------------------


@dataclass(slots=True)
class _Remembered:
    fingerprint: str
    outcome: Outcome
    at: float


class HttpGateway:
    """What each typed request does to the gateway, as ``Outcome`` values the fronts render."""

    def __init__(
        self,
        *,
        gateway: GatewayRunner,
        wallets: Wallets,
        committer: GroupCommitter,
        reports: HttpReports,
        clock: IReactorTime,
        ledger: Callable[[str], list[LedgerEntry]],
        stored_message: Callable[[str], Message | None],
        feeder: HttpFeeder,
    ) -> None:
        self._gateway = gateway
        self._feeder = feeder
        self._wallets = wallets
        self._committer = committer
        self._reports = reports
        self._clock = clock
        self._ledger = ledger
        self._stored_message = stored_message
        self._tasks = itertools.count()
        self._idempotent: dict[tuple[str, str], _Remembered] = {}

    # ---- ids ------------------------------------------------------------------------------

    def _task_id(self, now: float) -> int:
        """Numeric, fits int64 (legacy clients parse it as a long): milliseconds and a counter."""
        return int(now * 1000) * 1000 + next(self._tasks) % 1000

    # ---- dispatch -------------------------------------------------------------------------

    def handle(self, request: ApiRequest, peer: str) -> Deferred[Outcome]:
        if isinstance(request, SendRequest):
            return self._send_idempotent(request, peer)
        now = self._clock.seconds()
        outcome: Outcome
        if isinstance(request, PingRequest):
            outcome = Pong()
        elif isinstance(request, BalanceRequest):
            outcome = self._balance(request.account.system_id, now)
        elif isinstance(request, RateRequest):
            outcome = self._rate(request, now)
        elif isinstance(request, ContentCheckRequest):
            outcome = self._check(request)
        elif isinstance(request, StatusRequest):
            outcome = self._status(request)
        elif isinstance(request, PullRequest):
            outcome = self._pull(request)
        else:
            assert isinstance(request, AckRequest)
            outcome = Acked(self._reports.ack(request.account.system_id, request.cursor))
        return succeed(outcome)

    def after_reply(self, request: ApiRequest, outcome: Outcome) -> None:
        """A legacy pull's reply is written: what it returned is gone (each item returned once)."""
        if isinstance(request, PullRequest) and isinstance(outcome, EventPage) and not outcome.cursor:
            events: list[ReportEvent | InboundEvent] = [*outcome.reports, *outcome.inbound]
            self._reports.taken_ids(request.account.system_id, [e.event_id for e in events])

    # ---- money and quotes ---------------------------------------------------------------

    def _balance(self, account: str, now: float, *, topups: bool = True) -> Balance:
        """The account's money; ``topups``: with the sum of its top-ups (a read of its whole ledger,
        so only for the balance questions, never for a send's answer)."""
        state = self._gateway.accounts.get(account)
        wallet = self._wallets.get(account)
        assert state is not None and wallet is not None
        credits = (EntryKind.TOPUP, EntryKind.PACKAGE)
        topped_up = sum(e.amount for e in self._ledger(account) if e.kind in credits and e.amount > 0) if topups else 0
        base = self._gateway.prices.price(state.config.rate_plan, "CMCC", now) or 0
        # What accepted messages not submitted yet will take is spent already, as far as the client knows.
        left = wallet.balance - self._feeder.owed(account)
        return Balance(wallet.unit, left, topped_up=topped_up, base_price_li=base)

    def _rate(self, request: RateRequest, now: float) -> RateQuote | ApiError:
        pdu = self._pdu(request.account, OutboundMessage(request.to, request.content), NoReport())
        if isinstance(pdu, ApiError):
            return pdu
        quoted = quote(self._gateway.core, request.account.system_id, pdu, now)
        if isinstance(quoted, Rejected):
            return error_for_status(quoted.status, detail=quoted.reason)
        wallet = self._wallets.get(request.account.system_id)
        unit = wallet.unit if wallet is not None else "li"
        return RateQuote(request.to, quoted.segments, quoted.unit_price if unit == "li" else 1, quoted.carrier, unit)

    def _check(self, request: ContentCheckRequest) -> ContentVerdict:
        state = self._gateway.accounts.get(request.account.system_id)
        compliance = self._gateway.compliance
        if state is None or compliance is None:
            return ContentVerdict(True)
        judgement = compliance.judge(state.config, request.text, receipts_only=False)
        if not judgement.refused:
            return ContentVerdict(True)
        return ContentVerdict(False, judgement.category, (judgement.term,) if judgement.term else ())

    def _status(self, request: StatusRequest) -> MessageStatus | ApiError:
        message = self._gateway.find(request.message_id) or self._stored_message(request.message_id)
        waiting = self._feeder.waiting(request.message_id) if message is None else None
        if waiting is not None and waiting.account == request.account.system_id:
            # Accepted, not submitted yet (its batch is fed at the account's pace).
            return MessageStatus(request.message_id, waiting.to, "ACCEPTD", False, task_id=waiting.task_id)
        if message is None or message.account != request.account.system_id:
            return ApiError(Reason.NOT_FOUND)
        state = MessageState(message.state)
        return MessageStatus(
            message_id=message.message_id,
            to=message.msisdn,
            state=STAT_WORDS.get(state, "UNKNOWN"),
            final=state in FINAL_STATES,
            segments=message.segments,
            price=message.charge,
            carrier=message.carrier,
            submitted_at=message.submitted_at,
            done_at=message.final_at,
            err=f"{message.err:03d}",
            carrier_code=message.code,
        )

    def _pull(self, request: PullRequest) -> EventPage:
        account = request.account.system_id
        inbound = request.reply.op.value == "inbound"
        items = self._reports.peek(account, inbound=inbound, limit=request.limit, task_id=request.task_id)
        reports = tuple(e for _, e in items if isinstance(e, ReportEvent))
        mo = tuple(e for _, e in items if isinstance(e, InboundEvent))
        cursor = ""
        if request.reply.dialect.value == "v1" and items:
            cursor = self._reports.lease(account, [d for d, _ in items])
        return EventPage(reports, mo, cursor)

    # ---- send -----------------------------------------------------------------------------

    def _send_idempotent(self, request: SendRequest, peer: str) -> Deferred[Outcome]:
        key = request.idempotency
        if key is None:
            return Deferred.fromCoroutine(self._send(request, peer))
        now = self._clock.seconds()
        slot = (request.account.system_id, key.key)
        known = self._idempotent.get(slot)
        if known is not None and now - known.at < IDEMPOTENCY_TTL:
            if known.fingerprint != key.fingerprint:
                return succeed(ApiError(Reason.IDEMPOTENCY_CONFLICT))
            return succeed(known.outcome)

        def keep(outcome: Outcome) -> Outcome:
            if not (isinstance(outcome, ApiError) and outcome.retryable):
                self._idempotent[slot] = _Remembered(key.fingerprint, outcome, now)
            return outcome

        return Deferred.fromCoroutine(self._send(request, peer)).addCallback(keep)

    def _pdu(self, account: ApiAccount, message: OutboundMessage, report: ReportChannel) -> p.SubmitSm | ApiError:
        content = message.content
        if isinstance(content, Octets):
            body, coding = content.octets, content.data_coding
        else:
            assert isinstance(content, Text)
            coding = (
                content.data_coding if content.data_coding is not None else (0 if gsm7_encodable(content.text) else 8)
            )
            try:
                body = encode_text(content.text, coding)
            except ValueError:
                coding, body = 8, content.text.encode("utf-16-be")
        registered = 0
        if not isinstance(report, NoReport):
            registered = 1
            if isinstance(report, PushChannel) and (
                (report.format is ReportFormat.JASMIN and report.level in (1, 3))
                or (report.format is ReportFormat.KANNEL and report.mask & 8)
            ):
                registered |= 0x10  # the carrier's accept is reported too (Jasmin level 1, Kannel 8)
        short, tlvs = (body, ()) if len(body) <= 140 else (b"", (p.Tlv(Tag.MESSAGE_PAYLOAD, body),))
        return p.SubmitSm(
            source_addr=message.source or account.service_number,
            destination_addr=message.to,
            dest_addr_ton=1 if message.to.startswith("+") else 0,
            dest_addr_npi=1,
            data_coding=coding,
            short_message=short,
            tlvs=tlvs,
            priority_flag=min(max(message.priority, 0), 3),
            registered_delivery=registered,
            schedule_delivery_time=_smpp_time(message.schedule_at, self._clock.seconds()),
            validity_period=_smpp_time(
                None if message.validity_s is None else self._clock.seconds() + message.validity_s,
                self._clock.seconds(),
            ),
        )

    def _route(self, account: str, report: ReportChannel, message: OutboundMessage, task_id: int) -> Route:
        common = {"task_id": task_id, "client_ref": message.client_ref, "extno": message.extno}
        if isinstance(report, NoReport):
            return Route(NONE, **common)  # type: ignore[arg-type]
        if isinstance(report, PushChannel):
            return Route(
                PUSH,
                report.format.value,
                report.url,
                report.method,
                report.level,
                report.mask,
                **common,  # type: ignore[arg-type]
            )
        state = self._gateway.accounts.get(account)
        http = state.config.http if state is not None else None
        if http is not None and http.report_url:
            return Route(PUSH, http.report_format, http.report_url, **common)  # type: ignore[arg-type]
        return Route(PULL, **common)  # type: ignore[arg-type]

    async def _send(self, request: SendRequest, peer: str) -> Outcome:
        """Accept the request whole (its money checked as a whole, every recipient committed as a
        queued message) and answer; the feeder submits them afterwards, at the account's pace."""
        account = request.account.system_id
        now = self._clock.seconds()
        task_id = self._task_id(now)
        refused = list(request.refused)
        ready: list[tuple[OutboundMessage, p.SubmitSm, Quote]] = []
        for message in request.messages:
            pdu = self._pdu(request.account, message, message.report)
            if isinstance(pdu, ApiError):
                refused.append(Refusal(message.to, pdu, message.client_ref))
                continue
            quoted = quote(self._gateway.core, account, pdu, now)
            if isinstance(quoted, Rejected):
                refused.append(Refusal(message.to, error_for_status(quoted.status), message.client_ref))
                continue
            ready.append((message, pdu, quoted))
        wallet = self._wallets.get(account)
        owed = self._feeder.owed(account)
        if wallet is None or (ready and not covers(wallet.balance - owed, (q for _, _, q in ready))):
            # The whole request, or none of it (the legacy 余额不足 answer).
            return error_for_status(CommandStatus.SMPPGW_RNOBALANCE)
        if not ready:
            return refused[0].error if refused else error_for_status(CommandStatus.ESME_RSYSERR)
        queued: list[tuple[str, Route]] = []
        accepted: list[Accepted] = []
        for message, pdu, quoted in ready:
            message_id, seq = self._gateway.core.reserve_message_id(account)
            route = self._route(account, message.report, message, task_id)
            route = replace(
                route,
                to=message.to,
                pdu=codec.encode(pdu).hex(),
                peer=peer,
                seq=seq,
                cost=quoted.cost,
                account=account,
                owner=self._feeder.owner,
            )
            queued.append((message_id, route))
            accepted.append(Accepted(message.to, message_id, quoted.segments, quoted.cost, message.client_ref))
        try:
            await self._committer.write([ReportRouteSet(i, account, r.to_json()) for i, r in queued])
        except Exception:
            log.failure("an HTTP send's commit failed")
            return error_for_status(CommandStatus.ESME_RSYSERR)
        self._feeder.queue(account, queued)
        await self._report_refusals(request, refused, task_id)
        balance = self._balance(account, self._clock.seconds(), topups=False)
        return SendOutcome(
            task_id=task_id,
            accepted=tuple(accepted),
            balance=balance,
            refused=tuple(refused),
            scheduled_in_s=request.scheduled_in_s,
        )

    async def _report_refusals(self, request: SendRequest, refused: list[Refusal], task_id: int) -> None:
        """Recipients refused in a request that was accepted: a failed report each (GW:<status>)."""
        account = request.account.system_id
        by_to = {m.to: m for m in request.messages}
        pending = []
        for index, refusal in enumerate(refused):
            message = by_to.get(refusal.to) or OutboundMessage(refusal.to, Text(""), client_ref=refusal.client_ref)
            report = message.report if refusal.to in by_to else _first_report(request)
            if isinstance(report, NoReport):
                continue
            status = refusal.error.smpp_status or CommandStatus.ESME_RINVDSTADR
            route = self._route(account, report, message, task_id)
            text = message.content.text if isinstance(message.content, Text) else ""
            route = replace(route, text=text, to=refusal.to)
            source = message.source or request.account.service_number
            pdu = p.SubmitSm(source_addr=source, destination_addr=refusal.to)
            pending.append(self._feeder.report_refusal(account, f"{task_id}-{index}", route, status, pdu))
        if pending:
            await gatherResults(pending, consumeErrors=True)


def _fields(route: Route) -> dict[str, object]:
    return {name: getattr(route, name) for name in Route.__dataclass_fields__}


def _first_report(request: SendRequest) -> ReportChannel:
    return request.messages[0].report if request.messages else AccountChannel(Front.LEGACY)


def _smpp_time(at: float | None, now: float) -> str:
    if at is None or at <= now:
        return ""
    return format_smpp_time(at)


# ---- the Twisted shell ----------------------------------------------------------------------


class HttpApiResource(Resource):
    """Every path of the customer listener (the fronts route by path themselves)."""

    isLeaf = True  # noqa: N815 (Twisted's name)

    def __init__(
        self, core: HttpGateway, lookup: AccountLookup, limits: Limits, guard: BindGuard, clock: IReactorTime
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._core = core
        self._lookup = lookup
        self._limits = limits
        self._guard = guard
        self._clock = clock

    def render(self, request: Request) -> int | bytes:
        started = time.monotonic()
        uri = request.uri or b"/"
        raw_path, _, query = uri.partition(b"?")
        length = request.getHeader("content-length")
        if length is not None and length.isdigit() and int(length) > self._limits.max_body_bytes:
            return self._write(request, HttpResponse(413, (("Content-Type", "text/plain"),), b"Request too large"))
        body = request.content.read(self._limits.max_body_bytes + 1) if request.content is not None else b""
        if len(body) > self._limits.max_body_bytes:
            return self._write(request, HttpResponse(413, (("Content-Type", "text/plain"),), b"Request too large"))
        headers = tuple(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, values in request.requestHeaders.getAllRawHeaders()
            for value in values
        )
        peer_address = request.getClientAddress()
        peer = str(getattr(peer_address, "host", ""))
        http = HttpRequest(
            method=request.method.decode("latin-1"),
            path=raw_path.decode("latin-1"),
            query=query,
            headers=headers,
            body=body,
            peer=peer,
        )
        now = self._clock.seconds()
        parsed = fronts.parse(http, now, self._lookup, self._limits)
        log.debug(
            "HTTP {method} {path}?{query} from {peer}",
            method=http.method,
            path=http.path,
            query=redacted_query(query),
            peer=peer,
        )
        if isinstance(parsed, Rejection):
            self._count_failure(parsed.error, peer, now)
            return self._write(request, fronts.render(parsed.reply, parsed.error, self._limits))
        account = getattr(parsed, "account", None)
        if isinstance(account, ApiAccount) and self._guard.locked(account.system_id, peer, now):
            refused = ApiError(Reason.INVALID_CREDENTIALS, username=account.system_id)
            return self._write(request, fronts.render(parsed.reply, refused, self._limits))
        finished = request.notifyFinish()
        gone: list[bool] = []
        finished.addErrback(lambda _: gone.append(True))
        d = self._core.handle(parsed, peer)

        def reply(outcome: Outcome) -> None:
            if gone:
                return  # the client went away: a legacy pull keeps what it did not receive
            request.write(self._write(request, fronts.render(parsed.reply, outcome, self._limits)))
            request.finish()
            self._core.after_reply(parsed, outcome)
            log.debug("HTTP answered in {ms:.1f} ms", ms=(time.monotonic() - started) * 1000)

        def failed(failure: Failure) -> None:
            log.failure("HTTP request failed", failure)
            if not gone:
                outcome = error_for_status(CommandStatus.ESME_RSYSERR)
                request.write(self._write(request, fronts.render(parsed.reply, outcome, self._limits)))
                request.finish()

        d.addCallbacks(reply, failed)
        return NOT_DONE_YET

    def _count_failure(self, error: ApiError, peer: str, now: float) -> None:
        if error.reason in AUTH_FAILURES and error.username:
            self._guard.record(error.username, peer, CommandStatus.ESME_RINVPASWD, now)

    @staticmethod
    def _write(request: Request, response: HttpResponse) -> bytes:
        """Status and headers set; the body to write (or to return from ``render``)."""
        request.setResponseCode(response.status)
        for name, value in response.headers:
            request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
        request.setHeader(b"content-length", str(len(response.body)).encode())
        return response.body


class CustomerSite(Site):
    """The customer listener's site: no Twisted access log, whose lines carry the raw query string
    (legacy and Jasmin clients put their passwords there); ``HttpApiResource`` logs each request
    with the secrets redacted instead."""

    def log(self, request: web_http.Request) -> None:
        pass


def account_push(gateway: GatewayRunner) -> Callable[[str], AccountPush | None]:
    """The webhook settings of an account, as the reports read them."""

    def settings(account: str) -> AccountPush | None:
        state = gateway.accounts.get(account)
        if state is None:
            return None
        http = state.config.http
        return AccountPush(http.api_secret, http.allow_loopback_callbacks, http.mo_url, http.mo_format, http.mo_pull)

    return settings
