"""A small client of the admin API (stdlib urllib only), with the shapes of its answers.

Connection settings come from ``--url``/``--token``, else SMPPGW_URL/SMPPGW_TOKEN, else the
configuration file's ``[admin]`` table.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypedDict, cast
from urllib.parse import quote, urlencode

from ..config import ConfigError, default_config_path, load

# ---- the answers ----------------------------------------------------------------------------


class AccountSummary(TypedDict):
    system_id: str
    status: str
    balance: int
    unit: str
    rate_plan: str
    source_addrs: list[str]
    bound: int


class Pledge(TypedDict):
    account: str
    signed_on: str
    reference: str
    operator: str
    recorded_at: str | None


class AccountDetail(AccountSummary):
    origin: str  # "config" or "api"
    settings: dict[str, Any]
    pledge_required: bool
    pledge: Pledge | None
    binds_refused: str | None


class AccountList(TypedDict):
    accounts: list[AccountSummary]


class LedgerEntry(TypedDict):
    entry_id: int
    account: str
    kind: str
    amount: int
    unit: str
    balance_after: int
    at: str | None
    message_id: str | None
    reference: str | None
    operator: str | None


class Topup(TypedDict):
    entry: LedgerEntry
    balance: int


class Ledger(TypedDict):
    account: str
    entries: list[LedgerEntry]


class Message(TypedDict):
    message_id: str
    account: str
    source_addr: str
    destination_addr: str
    msisdn: str
    state: str
    carrier: str
    home_carrier: str
    segments: int
    price: int
    charge: int
    refunded: int
    submitted_at: str | None
    final_at: str | None
    err: int
    code: str
    receipt: str


class MessageList(TypedDict):
    messages: list[Message]


class HistoryEvent(TypedDict):
    at: str | None
    step: str
    detail: str


class History(TypedDict):
    message: Message
    events: list[HistoryEvent]


class Session(TypedDict):
    id: int | None
    account: str
    bind_type: str
    peer: str
    since: str | None
    window_in_use: int
    window: int
    requests_pending: int
    interface_version: str


class SessionList(TypedDict):
    sessions: list[Session]


class CarrierStats(TypedDict):
    dispatched: int


class Carrier(TypedDict):
    code: str
    name: str
    up: bool
    queue_depth: int
    in_flight: int
    stats: CarrierStats


class CarrierList(TypedDict):
    carriers: list[Carrier]


class MobileOriginated(TypedDict):
    delivery_id: int
    account: str
    message_id: str


class DrainState(TypedDict):
    status: str  # "up" or "draining"
    draining_since: str | None
    connections: int
    bound: int


class Scorecard(TypedDict):
    text: str


class Reload(TypedDict):
    source: str
    accounts_added: list[str]
    accounts_updated: list[str]
    accounts_kept: list[str]
    carriers_added: list[str]
    carriers_updated: list[str]
    routes: int
    restart_needed: list[str]


class HeldMessage(TypedDict):
    message_id: str
    message_ids: list[str]
    account: str
    source_addr: str
    destination_addr: str
    category: str
    term: str
    text: str
    held_at: str | None
    deadline: str | None


class Review(TypedDict):
    held: list[HeldMessage]
    timeout_action: str


class Verdict(TypedDict):
    decision: str  # "approved" or "rejected"
    message_ids: list[str]


class OptoutImport(TypedDict):
    account: str
    count: int


# ---- the client -----------------------------------------------------------------------------


class AdminError(Exception):
    """The gateway answered with an error status."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(f"{message} (field {field})" if field else message)
        self.status = status
        self.message = message
        self.field = field


class AdminUnreachable(Exception):  # noqa: N818 (a condition, not a programming error)
    """No answer from the gateway: not running, wrong address, or not configured."""


class AdminClient:
    def __init__(self, url: str, token: str, *, timeout: float = 10.0, operator: str = "") -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.operator = operator  # named in the gateway's access log (the token is shared)

    def request(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """The JSON answer (its shape is the caller's to name); AdminError or AdminUnreachable."""
        return json.loads(self.send(method, path, body) or b"null")

    def send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> bytes:
        """The raw response body (CSV exports); errors as for ``request``."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310 (http only, checked)
        req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        if self.operator:
            req.add_header("X-Operator", self.operator)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                body_bytes: bytes = response.read()
                return body_bytes
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {}
            if not isinstance(payload, dict):
                payload = {}
            raise AdminError(err.code, str(payload.get("error") or err.reason), payload.get("field")) from None
        except (urllib.error.URLError, OSError, ValueError) as err:
            reason = getattr(err, "reason", err)
            raise AdminUnreachable(f"cannot reach the admin API at {self.url}: {reason}") from None

    @staticmethod
    def _id(value: str) -> str:
        return quote(value, safe="")

    def accounts(self) -> AccountList:
        return cast(AccountList, self.request("GET", "/api/accounts"))

    def account(self, system_id: str) -> AccountDetail:
        return cast(AccountDetail, self.request("GET", f"/api/accounts/{self._id(system_id)}"))

    def create_account(self, fields: Mapping[str, Any]) -> AccountDetail:
        return cast(AccountDetail, self.request("POST", "/api/accounts", fields))

    def topup(self, system_id: str, amount: int, reference: str, operator: str | None = None) -> Topup:
        body: dict[str, Any] = {"amount": amount, "reference": reference}
        if operator:
            body["operator"] = operator
        return cast(Topup, self.request("POST", f"/api/accounts/{self._id(system_id)}/topups", body))

    def http_access(self, system_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("GET", f"/api/accounts/{self._id(system_id)}/http"))

    def set_http_fronts(self, system_id: str, fronts: list[str]) -> dict[str, Any]:
        path = f"/api/accounts/{self._id(system_id)}/http/fronts"
        return cast(dict[str, Any], self.request("POST", path, {"fronts": fronts}))

    def new_api_secret(self, system_id: str) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("POST", f"/api/accounts/{self._id(system_id)}/http/secret", {}))

    def ledger(self, system_id: str) -> Ledger:
        return cast(Ledger, self.request("GET", f"/api/accounts/{self._id(system_id)}/ledger"))

    def message(self, message_id: str) -> dict[str, Any]:
        """A message with what compliance decided about it, or the decision on an at-once refusal."""
        return cast(dict[str, Any], self.request("GET", f"/api/messages/{self._id(message_id)}"))

    def carriers(self) -> CarrierList:
        return cast(CarrierList, self.request("GET", "/api/carriers"))

    def set_outage(self, code: str, down: bool) -> Carrier:
        return cast(Carrier, self.request("POST", f"/api/carriers/{self._id(code)}/outage", {"down": down}))

    def mobile_originated(self, sender: str, to: str, text: str) -> MobileOriginated:
        return cast(MobileOriginated, self.request("POST", "/api/mo", {"from": sender, "to": to, "text": text}))

    def search_messages(self, **criteria: str | int | None) -> MessageList:
        query = urlencode({k: v for k, v in criteria.items() if v is not None})
        return cast(MessageList, self.request("GET", "/api/messages" + (f"?{query}" if query else "")))

    def history(self, message_id: str) -> History:
        return cast(History, self.request("GET", f"/api/messages/{self._id(message_id)}/history"))

    def sessions(self) -> SessionList:
        return cast(SessionList, self.request("GET", "/api/sessions"))

    def drain(self, on: bool) -> DrainState:
        return cast(DrainState, self.request("POST" if on else "DELETE", "/api/drain", {} if on else None))

    def scorecard(self, session_id: int) -> Scorecard:
        return cast(Scorecard, self.request("GET", f"/api/sessions/{session_id}/scorecard"))

    def handset(self, number: str) -> dict[str, Any]:
        """GET /api/handsets/{number}: what the number's phone shows."""
        return cast(dict[str, Any], self.request("GET", f"/api/handsets/{self._id(number)}"))

    def reload(self) -> Reload:
        return cast(Reload, self.request("POST", "/api/reload", {}))

    def review(self) -> Review:
        return cast(Review, self.request("GET", "/api/review"))

    def decide(self, message_id: str, verdict: str, operator: str | None) -> Verdict:
        body = {"operator": operator} if operator else {}
        return cast(Verdict, self.request("POST", f"/api/review/{self._id(message_id)}/{verdict}", body))

    def suspend(self, system_id: str, operator: str | None, reason: str | None) -> AccountDetail:
        body = {k: v for k, v in (("operator", operator), ("reason", reason)) if v}
        return cast(AccountDetail, self.request("POST", f"/api/accounts/{self._id(system_id)}/suspend", body))

    def reinstate(self, system_id: str, operator: str | None) -> AccountDetail:
        body = {"operator": operator} if operator else {}
        return cast(AccountDetail, self.request("POST", f"/api/accounts/{self._id(system_id)}/reinstate", body))

    def pledge(self, system_id: str, signed_on: str, reference: str, operator: str) -> AccountDetail:
        body = {"signed_on": signed_on, "reference": reference, "operator": operator}
        return cast(AccountDetail, self.request("POST", f"/api/accounts/{self._id(system_id)}/pledge", body))

    def export(self, what: str, fmt: str, account: str | None) -> bytes:
        query = f"?format={fmt}" + (f"&account={quote(account, safe='')}" if account else "")
        return self.send("GET", f"/api/{what}{query}")

    def start_certification(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("POST", "/api/certifications", fields))

    def certification(self, run_id: int) -> dict[str, Any]:
        return cast(dict[str, Any], self.request("GET", f"/api/certifications/{run_id}"))

    def import_optouts(self, account: str, numbers: list[str], remove: bool) -> OptoutImport:
        body = {"account": account, "numbers": numbers, "remove": remove}
        return cast(OptoutImport, self.request("POST", "/api/optouts", body))


# ---- connection settings ------------------------------------------------------------------


def url_from_listen(listen: str) -> str:
    """The URL to reach a Twisted server endpoint string such as ``tcp:8775:interface=127.0.0.1``."""
    parts = [p.replace("\\:", ":") for p in _split_endpoint(listen)]
    kind = parts[0].lower() if parts else ""
    if kind not in ("tcp", "tcp6", "ssl"):
        raise ValueError(f"cannot reach an admin API listening on {listen!r}")
    options = {k: v for k, _, v in (p.partition("=") for p in parts[1:] if "=" in p)}
    positional = [p for p in parts[1:] if "=" not in p]
    port = options.get("port") or (positional[0] if positional else "")
    if not port.isdigit():
        raise ValueError(f"no port in {listen!r}")
    host = options.get("interface", "")
    if host in ("", "0.0.0.0"):  # noqa: S104 (listening everywhere: reach it on loopback)
        host = "::1" if kind == "tcp6" else "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"{'https' if kind == 'ssl' else 'http'}://{host}:{port}"


def _split_endpoint(text: str) -> list[str]:
    parts, current, escaped = [], "", False
    for ch in text:
        if escaped:
            current += "\\" + ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == ":":
            parts.append(current)
            current = ""
        else:
            current += ch
    parts.append(current)
    return parts


def client_from_args(args: argparse.Namespace) -> AdminClient:
    url = args.url or os.environ.get("SMPPGW_URL")
    token = args.token or os.environ.get("SMPPGW_TOKEN")
    if not url or not token:
        path = Path(args.config) if getattr(args, "config", None) else default_config_path()
        try:
            config = load(path)
            url = url or url_from_listen(config.admin.listen)
        except (ConfigError, ValueError) as err:
            raise AdminUnreachable(f"no --url/--token given and the configuration gives none: {err}") from None
        token = token or config.admin.token
    if not url.startswith(("http://", "https://")):
        raise AdminUnreachable(f"the admin URL must start with http:// or https://, got {url!r}")
    operator = getattr(args, "operator", None) or os.environ.get("SMPPGW_OPERATOR") or login_name()
    return AdminClient(url, token, operator=operator)


def login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return ""
