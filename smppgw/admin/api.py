"""The admin HTTP API: JSON over twisted.web, every call authorised by a bearer token.

Routes (all under /api):
    GET  /accounts                      GET  /accounts/{id}          POST /accounts
    POST /accounts/{id}/topups          GET  /accounts/{id}/ledger
    GET  /messages/{id}                 POST /mo
    GET  /carriers                      POST /carriers/{code}/outage
    GET  /overview  GET /sessions  GET /messages?account=&destination=&since=&until=&id=
    GET  /messages/{id}/history         POST /reload                 (admin/console.py)
    GET  /lockouts                      DELETE /lockouts/{account}[/{address}]
    GET/POST/DELETE /drain              drain state, drain, undrain   (admin/health.py; GET /health: no token)

Errors are JSON too: ``{"error": "...", "field": "<name>"}`` (field only when one is to blame).
"""

from __future__ import annotations

import dataclasses
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from ..billing.ledger import LedgerEntry, Refused
from ..carriers.link import CarrierLink
from ..config import AccountConfig
from ..config.accounts import FieldError, account_from_json, account_settings, account_to_json
from ..model import STAT_WORDS, AccountStatus, Delivery, Message, MessageState
from ..passwords import hash_password, is_password_hash
from ..pipeline.accounts import AccountState, open_account_writes
from ..protocol.constants import ESM_CLASS_RECEIPT
from ..routing.numbers import mask_msisdn
from ..writes import AccountCreated

if TYPE_CHECKING:
    from ..app.service import GatewayService

log = Logger()

MAX_AMOUNT = 10**12  # 厘 (one billion CNY) per top-up or opening balance: far beyond any real payment
MAX_BODY = 64 * 1024
_PHONE = re.compile(r"\+?\d{1,21}")


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


# ---- JSON shapes ------------------------------------------------------------------------


def iso_time(timestamp: float | None, utc_offset_minutes: int) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone(timedelta(minutes=utc_offset_minutes))).isoformat()


def entry_json(entry: LedgerEntry, utc_offset_minutes: int) -> dict[str, Any]:
    return {
        "entry_id": entry.entry_id,
        "account": entry.account,
        "kind": str(entry.kind),
        "amount": entry.amount,
        "unit": entry.unit,
        "balance_after": entry.balance_after,
        "at": iso_time(entry.at, utc_offset_minutes),
        "message_id": entry.message_id,
        "reference": entry.reference,
        "operator": entry.operator,
    }


def receipt_status(message: Message, receipt_queued: bool) -> str:
    """none: no receipt was asked for (or none is owed); pending: not final yet; queued: waiting
    for the client to take it; delivered: the client acknowledged it."""
    if message.registered_delivery & 0x03 == 0:
        return "none"
    if not message.is_final:
        return "pending"
    if not message.wants_receipt or message.state is MessageState.DELETED:
        return "none"  # failure-only receipts of delivered messages, cancelled messages
    return "queued" if receipt_queued else "delivered"


def message_json(message: Message, receipt: str, utc_offset_minutes: int) -> dict[str, Any]:
    return {
        "message_id": message.message_id,
        "account": message.account,
        "source_addr": message.source_addr,
        "destination_addr": message.destination_addr,
        "msisdn": message.msisdn,
        "state": STAT_WORDS.get(message.state, "UNKNOWN"),
        "carrier": message.carrier,
        "home_carrier": message.home_carrier,
        "segments": message.segments,
        "price": message.price,
        "charge": message.charge,
        "refunded": message.refunded,
        "submitted_at": iso_time(message.submitted_at, utc_offset_minutes),
        "final_at": iso_time(message.final_at, utc_offset_minutes),
        "err": message.err,
        "code": message.code,
        "receipt": receipt,
    }


def carrier_json(code: str, link: CarrierLink) -> dict[str, Any]:
    return {
        "code": code,
        "name": link.profile.name,
        "up": link.is_up,
        "queue_depth": link.queue_depth,
        "in_flight": link.in_flight,
        "stats": dataclasses.asdict(link.stats()),
    }


# ---- request fields ---------------------------------------------------------------------


def _text(body: Mapping[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise ApiError(400, f"{name} is required", name)
        return None
    if not isinstance(value, str) or not value:
        raise ApiError(400, f"{name} must be a non-empty string", name)
    return value


def _amount(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None:
        raise ApiError(400, f"{name} is required", name)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ApiError(400, f"{name} must be a positive whole number of the account's unit", name)
    if value > MAX_AMOUNT:
        raise ApiError(400, f"{name} must be at most {MAX_AMOUNT}", name)
    return value


def _read_json(request: Request) -> dict[str, Any]:
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


# ---- the API ------------------------------------------------------------------------------


class AdminApi:
    """The handlers: each takes the request, the path parameters and the JSON body."""

    def __init__(self, service: GatewayService) -> None:
        self.service = service
        self.offset = service.config.utc_offset_minutes
        self.routes: list[tuple[bytes, tuple[str, ...], Handler]] = [
            (b"GET", ("accounts",), self.list_accounts),
            (b"POST", ("accounts",), self.create_account),
            (b"GET", ("accounts", "*"), self.show_account),
            (b"POST", ("accounts", "*", "topups"), self.topup),
            (b"GET", ("accounts", "*", "ledger"), self.ledger),
            (b"GET", ("messages", "*"), self.show_message),
            (b"POST", ("mo",), self.mobile_originated),
            (b"GET", ("carriers",), self.list_carriers),
            (b"POST", ("carriers", "*", "outage"), self.outage),
            *compliance_routes(self),
            (b"GET", ("lockouts",), self.list_lockouts),
            (b"DELETE", ("lockouts", "*"), self.lift_lockout),
            (b"DELETE", ("lockouts", "*", "*"), self.lift_lockout),
        ]
        from ..rig.admin import rig_routes  # noqa: PLC0415 (the rig's handlers use this module's types)

        self.routes += rig_routes(service)
        if service.cluster is not None:
            from .cluster import cluster_routes  # noqa: PLC0415 (a node of several: GET /api/cluster)

            self.routes += cluster_routes(service.cluster)

    # ---- accounts -----------------------------------------------------------------------

    def _account(self, system_id: str) -> AccountState:
        state = self.service.accounts.get(system_id)
        if state is None:
            raise ApiError(404, f"no account {system_id!r}")
        return state

    def account_summary(self, state: AccountState) -> dict[str, Any]:
        cfg = state.config
        wallet = self.service.wallets.get(cfg.system_id)
        return {
            "system_id": cfg.system_id,
            "status": state.status,
            "balance": wallet.balance if wallet is not None else 0,
            "unit": wallet.unit if wallet is not None else cfg.billing_unit,
            "rate_plan": cfg.rate_plan,
            "source_addrs": list(cfg.source_addrs),
            "bound": len(self.service.factory.sessions_of(cfg.system_id)),
        }

    def account_detail(self, state: AccountState) -> dict[str, Any]:
        detail = self.account_summary(state)
        detail["origin"] = "config" if state.config.system_id in self.service.config.accounts else "api"
        detail["settings"] = account_settings(state.config)
        detail.update(compliance_account_fields(self, state))
        return detail

    def list_accounts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        accounts = sorted(self.service.accounts, key=lambda s: s.config.system_id)
        return Reply(200, {"accounts": [self.account_summary(s) for s in accounts]})

    def show_account(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        return Reply(200, self.account_detail(self._account(params[0])))

    def _check_new(self, account: AccountConfig) -> None:
        if account.system_id in self.service.accounts or account.system_id in self.service.wallets:
            raise ApiError(409, f"account {account.system_id!r} already exists", "system_id")
        sp_id = account.cmpp.sp_id if account.cmpp is not None else None
        if sp_id is not None and any(s.config.cmpp and s.config.cmpp.sp_id == sp_id for s in self.service.accounts):
            raise ApiError(409, f"cmpp: SP_Id {sp_id} is already another account's", "cmpp")

    def create_account(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        try:
            account = account_from_json(body)
        except FieldError as err:
            raise ApiError(400, str(err), err.field or None) from None
        if account.rate_plan not in self.service.gateway.prices.plans():
            raise ApiError(400, f"rate_plan: no rate plan {account.rate_plan!r}", "rate_plan")
        if account.initial_balance > MAX_AMOUNT:
            raise ApiError(400, f"balance: must be at most {MAX_AMOUNT}", "balance")
        if not is_password_hash(account.password) and len(account.password.encode("latin-1", "replace")) > 8:
            # bind PDUs carry the password in a C(9) field: a longer one could never bind.
            raise ApiError(400, "password: must be 1 to 8 characters (the SMPP bind limit)", "password")
        self._check_new(account)
        who = _peer(request)
        if is_password_hash(account.password):
            return self._open(account, who)
        # PBKDF2 takes a good fraction of a second: not on the reactor thread.
        reactor = self.service.reactor
        hashed: Deferred[str] = deferToThreadPool(reactor, reactor.getThreadPool(), hash_password, account.password)
        return hashed.addCallback(lambda h: self._open(dataclasses.replace(account, password=h), who))

    def _open(self, account: AccountConfig, who: str) -> Deferred[Reply]:
        self._check_new(account)  # again: another request may have taken the name meanwhile
        service = self.service
        system_id = account.system_id
        now = service.reactor.seconds()
        ops = open_account_writes(service.wallets, system_id, account.billing_unit, account.initial_balance, now)
        # Same opening as a configured account, but the row also keeps the settings, so a restart
        # can rebuild the account without the configuration file knowing it.
        assert isinstance(ops[0], AccountCreated)
        settings = json.dumps(account_to_json(account), ensure_ascii=False, sort_keys=True)
        ops[0] = AccountCreated(system_id, 0, account.billing_unit, AccountStatus(account.status), settings, now)

        def stored(_: None) -> Reply:
            state = service.accounts.add(account)
            service.rig.account_added(account)
            log.info(
                "admin: account {system_id} created by {who} (balance {balance} {unit})",
                system_id=system_id,
                who=who,
                balance=account.initial_balance,
                unit=account.billing_unit,
            )
            return Reply(201, self.account_detail(state))

        return service.committer.write(ops).addCallback(stored)

    def topup(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        amount = _amount(body, "amount")
        reference = _text(body, "reference")
        operator = _text(body, "operator", required=False) or "admin-api"
        assert reference is not None
        system_id = self._account(params[0]).config.system_id
        result = self.service.gateway.topup(system_id, amount, reference, operator, self.service.reactor.seconds())
        if isinstance(result, Refused):
            if result.reason == "duplicate_reference":
                raise ApiError(409, f"reference {reference!r} was already credited", "reference")
            raise ApiError(404 if result.reason == "unknown_account" else 400, result.detail or result.reason)
        who = _peer(request)

        def credited(entry: LedgerEntry | Refused) -> Reply:
            if isinstance(entry, Refused):  # another node credited this reference first
                raise ApiError(409, f"reference {reference!r} was already credited", "reference")
            log.info(
                "admin: top-up of {amount} {unit} to {system_id}, reference {reference}, by {operator} from {who}",
                amount=amount,
                unit=entry.unit,
                system_id=system_id,
                reference=reference,
                operator=operator,
                who=who,
            )
            return Reply(201, {"entry": entry_json(entry, self.offset), "balance": entry.balance_after})

        return result.addCallback(credited)

    def ledger(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        system_id = params[0]
        if system_id not in self.service.accounts and system_id not in self.service.wallets:
            raise ApiError(404, f"no account {system_id!r}")
        entries = self.service.store.ledger(system_id)
        return Reply(200, {"account": system_id, "entries": [entry_json(e, self.offset) for e in entries]})

    # ---- messages -----------------------------------------------------------------------

    def _receipt_queued(self, message: Message) -> bool:
        gateway, deliveries = self.service.gateway, self.service.deliveries
        if message.message_id in gateway.settling:  # final, its receipt is being stored right now
            return True
        if self.service.cluster is not None:  # several nodes: the receipt waits in the shared outbox
            return self.service.cluster.store.receipt_queued(message.message_id)
        # The queue holds what is stored and not yet acknowledged (reloaded from the store on restart).
        box = deliveries._boxes.get(message.account)
        return box is not None and any(
            d.kind == "receipt" and d.message_id == message.message_id and d.esm_class & ESM_CLASS_RECEIPT
            for d in box.pending.values()
        )

    def show_message(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        message = self.service.gateway.find(params[0])
        if message is None:
            refused = refusal_reply(self, params[0])
            if refused is not None:
                return refused
            raise ApiError(404, f"no message {params[0]!r}")
        receipt = receipt_status(message, message.is_final and self._receipt_queued(message))
        return Reply(200, {**message_json(message, receipt, self.offset), **compliance_message_fields(self, message)})

    def mobile_originated(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        sender, to, text = _text(body, "from"), _text(body, "to"), body.get("text")
        assert sender is not None and to is not None
        if not _PHONE.fullmatch(sender):
            raise ApiError(400, "from must be a phone number (digits, optionally starting with +)", "from")
        if not to.isascii() or not to.isdigit() or len(to) > 21:
            raise ApiError(400, "to must be a service number (digits)", "to")
        if not isinstance(text, str) or not text:
            raise ApiError(400, "text is required (a non-empty string)", "text")
        if len(text) > 2000:
            raise ApiError(400, "text is longer than 2000 characters", "text")
        result = self.service.gateway.mobile_originated(sender, to, text, self.service.reactor.seconds())
        if isinstance(result, str):
            raise ApiError(404, result, "to")
        who = _peer(request)

        def queued(delivery: Delivery) -> Reply:
            log.info(
                "admin: MO from {sender} to {to} injected by {who} for {account}",
                sender=mask_msisdn(sender),
                to=to,
                who=who,
                account=delivery.account,
            )
            body = {"delivery_id": delivery.delivery_id, "account": delivery.account, "message_id": delivery.message_id}
            return Reply(202, body)

        return result.addCallback(queued)

    # ---- carriers -----------------------------------------------------------------------

    def list_carriers(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        carriers = self.service.carriers
        return Reply(200, {"carriers": [carrier_json(code, carriers[code]) for code in sorted(carriers)]})

    def outage(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        code = params[0].upper()
        link = self.service.carriers.get(code)
        if link is None:
            raise ApiError(404, f"no carrier {params[0]!r}")
        down = body.get("down")
        if not isinstance(down, bool):
            raise ApiError(400, "down must be true or false", "down")
        link.set_down(down)
        if self.service.cluster is not None:  # several nodes: every node's link goes down or up
            self.service.cluster.outage_switched(code, down)
        log.info(
            "admin: carrier {code} set {state} by {who}", code=code, state="down" if down else "up", who=_peer(request)
        )
        return Reply(200, carrier_json(code, link))

    # ---- failed-bind lockouts ------------------------------------------------------------

    def list_lockouts(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        now = self.service.reactor.seconds()
        lockouts = self.service.factory.guard.lockouts(now)
        return Reply(
            200,
            {
                "lockouts": [
                    {
                        "account": lock.account,
                        "address": lock.address,
                        "until": iso_time(lock.until, self.offset),
                        "seconds_left": round(lock.until - now, 1),
                    }
                    for lock in lockouts
                ]
            },
        )

    def lift_lockout(self, request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        account, address = params[0], params[1] if len(params) > 1 else None
        lifted = self.service.factory.guard.lift(account, address)
        if not lifted:
            raise ApiError(404, f"no lockout of {account!r}" + (f" from {address}" if address else ""))
        log.info(
            "admin: {n} bind lockout(s) of {account} lifted by {who}", n=lifted, account=account, who=_peer(request)
        )
        return Reply(200, {"lifted": lifted})


def _peer(request: Request) -> str:
    address = request.getClientAddress()
    host = getattr(address, "host", None)
    return str(host) if host is not None else "unknown"


# ---- twisted.web glue ----------------------------------------------------------------------


class AdminResource(Resource):
    """One leaf resource for /api/...: checks the token, finds the route, writes JSON."""

    isLeaf = True  # noqa: N815 (Twisted's name)

    def __init__(self, api: AdminApi, token: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.api = api
        self._token = token.encode("utf-8")

    def render(self, request: Request) -> bytes | int:
        try:
            self._authorise(request)
            handler, params = self._route(request)
            body = _read_json(request) if request.method == b"POST" else {}
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

    def _route(self, request: Request) -> tuple[Handler, tuple[str, ...]]:
        segments = [unquote(s, errors="replace") for s in request.path.decode("latin-1").split("/")]
        while segments and not segments[-1]:
            segments.pop()
        if len(segments) < 2 or segments[0] or segments[1] != "api":
            raise ApiError(404, "no such endpoint")
        path = segments[2:]
        allowed: list[bytes] = []
        for method, pattern, handler in self.api.routes:
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


def build_admin_site(service: GatewayService) -> Site:
    """The admin port: /api (token), /metrics (Prometheus), and the web console at /."""
    from .console import ConsoleApi, ConsoleFiles  # noqa: PLC0415 (they build on this module)
    from .health import Drain, HealthResource  # noqa: PLC0415
    from .metrics import MetricsResource, build_registry  # noqa: PLC0415
    from .overview import Overview  # noqa: PLC0415
    from .site import AdminSite, Root  # noqa: PLC0415

    api = AdminApi(service)
    overview = Overview(service.factory.traffic, service.reactor)
    overview.service().setServiceParent(service)  # one sample a second while the gateway runs
    api.routes += ConsoleApi(api, overview).routes
    drain = Drain(service)
    api.routes += drain.routes()
    root = Root(ConsoleFiles())
    root.putChild(b"api", AdminResource(api, service.config.admin.token))
    root.putChild(b"metrics", MetricsResource(build_registry(service)))
    root.putChild(b"health", HealthResource(drain))
    site = AdminSite(root)  # type: ignore[no-untyped-call]
    site.noisy = False
    site.displayTracebacks = False
    return site


# Last: the compliance endpoints build on this module's helpers (ApiError, Reply, ...).
from .compliance import (  # noqa: E402
    compliance_account_fields,
    compliance_message_fields,
    compliance_routes,
    refusal_reply,
)

__all__ = [
    "AdminApi",
    "AdminResource",
    "ApiError",
    "Reply",
    "build_admin_site",
    "carrier_json",
    "entry_json",
    "message_json",
    "receipt_status",
]
