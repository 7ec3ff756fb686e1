"""The gateway configuration: one TOML file, validated at start into frozen dataclasses.

Every error names the file, the key path and (where it can be found) the line, e.g.
``gateway.toml:42: accounts.demo.max_binds: must be a whole number >= 1, got "four"``.
Data files the configuration names (route tables, keyword lists) are relative to it;
the state folder is relative to the working directory.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from ..billing.tariff import Tariff, tariffs_from_toml_table
from ..carriers.model import CarrierProfile, ScenarioRule, profile_from_dict, scenario_rules_from_list
from ..cmpp.constants import Version as CmppVersion
from ..protocol.session import SessionConfig
from .rig import BindFaults, OutbindTarget, ScorecardRules, SettingError, faults_from_dict, outbind_from_dict

BIND_TYPES = frozenset({"transmitter", "receiver", "transceiver"})
MESSAGE_ID_FORMATS = frozenset({"hex", "decimal", "uuid"})


class ConfigError(ValueError):
    pass


IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


CMPP_VERSIONS = {"2.0": CmppVersion.V20, "3.0": CmppVersion.V30}


@dataclass(frozen=True, slots=True)
class CmppLogin:
    """How an account logs in over CMPP (``[accounts.ID.cmpp]``)."""

    sp_id: str  # 6 digits: CONNECT's Source_Addr and SUBMIT's Msg_src
    secret: str  # the shared secret of the MD5 authenticators (plain text: CMPP needs it)
    service_code: str  # 106...: Src_Id must start with it; an empty Src_Id becomes it
    version: CmppVersion = CmppVersion.V30  # the highest version the account may log in with

    @property
    def version_text(self) -> str:
        return "2.0" if self.version is CmppVersion.V20 else "3.0"


# ---- the customer HTTP interface (smppgw.httpapi; [http_api] and [accounts.ID.http]) ----------

HTTP_FRONTS = frozenset({"legacy", "jasmin", "kannel", "v1"})
REPORT_FORMATS = frozenset({"legacy", "jasmin", "kannel", "v1"})


@dataclass(frozen=True, slots=True)
class AccountHttp:
    """An account on the customer HTTP listener: its fronts, and the secret of the md5/HMAC schemes.

    ``api_secret`` is kept as written (the v2 md5 sign, md5 passwords, the v1 bearer token and the
    webhook HMAC need the secret itself, unlike the SMPP password, which stays a one-way hash)."""

    fronts: tuple[str, ...] = ()  # of HTTP_FRONTS; empty: no HTTP access
    api_secret: str = ""
    legacy_userid: str = ""  # the sms.aspx family's numeric userid (v2 signs with it)
    legacy_md5_password: bool = False  # also take upper(md5(api_secret)) as the legacy password
    allow_loopback_callbacks: bool = False  # callback URLs may name loopback/private addresses
    report_url: str = ""  # where receipts of sends without a callback URL go; "": the pull mailbox
    report_format: str = "v1"  # of REPORT_FORMATS
    mo_url: str = ""  # MO of the account pushed here (mo_format) instead of to its SMPP receivers
    mo_format: str = "v1"
    mo_pull: bool = False  # MO kept for callApi.aspx / GET /v1/inbound instead of its SMPP receivers


WEBHOOK_BACKOFF = (10, 30, 60, 120, 300, 600, 1800, 3600)


@dataclass(frozen=True, slots=True)
class HttpApiConfig:
    listen: str = ""  # a server endpoint ("tcp:8776:interface=127.0.0.1", "ssl:8777:..."); "" = off
    max_recipients: int = 1000
    max_body_bytes: int = 1_048_576
    webhook_timeout: float = 10.0
    webhook_concurrency: int = 8
    webhook_backoff: tuple[int, ...] = WEBHOOK_BACKOFF
    webhook_give_up_after: int = 86_400


def _account_http(r: _Reader) -> AccountHttp:
    fronts = r.str_list("fronts", ())
    for front in fronts:
        if front not in HTTP_FRONTS:
            raise r.error("fronts", f"{front!r} is not one of {', '.join(sorted(HTTP_FRONTS))}")
    userid = r.text("legacy_userid", "")
    if userid and not userid.isdigit():
        raise r.error("legacy_userid", f"must be digits, got {userid!r}")
    http = AccountHttp(
        fronts=fronts,
        api_secret=r.text("api_secret", ""),
        legacy_userid=userid,
        legacy_md5_password=r.flag("legacy_md5_password", False),
        allow_loopback_callbacks=r.flag("allow_loopback_callbacks", False),
        report_url=r.text("report_url", ""),
        report_format=r.text("report_format", "v1", REPORT_FORMATS),
        mo_url=r.text("mo_url", ""),
        mo_format=r.text("mo_format", "v1", REPORT_FORMATS),
        mo_pull=r.flag("mo_pull", False),
    )
    for key in ("report_url", "mo_url"):
        url = getattr(http, key)
        if url and not url.startswith(("http://", "https://")):
            raise r.error(key, f"must be an http:// or https:// URL, got {url!r}")
    r.reject_unknown()
    return http


def _http_api(r: _Reader) -> HttpApiConfig:
    """``[http_api]``: present, it listens on 127.0.0.1:8776 unless ``listen`` says otherwise."""
    if not r.table:
        return HttpApiConfig()
    backoff = r.get("webhook_backoff", list(WEBHOOK_BACKOFF))
    if (
        not isinstance(backoff, list)
        or not backoff
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in backoff)
    ):
        raise r.error("webhook_backoff", f"must be a list of whole seconds above 0, got {backoff!r}")
    config = HttpApiConfig(
        listen=r.text("listen", "tcp:8776:interface=127.0.0.1"),
        max_recipients=r.whole("max_recipients", 1000, minimum=1),
        max_body_bytes=r.whole("max_body_bytes", 1_048_576, minimum=1024),
        webhook_timeout=r.number("webhook_timeout", 10.0, minimum=0.1),
        webhook_concurrency=r.whole("webhook_concurrency", 8, minimum=1),
        webhook_backoff=tuple(backoff),
        webhook_give_up_after=r.whole("webhook_give_up_after", 86_400, minimum=1),
    )
    r.reject_unknown()
    return config


@dataclass(frozen=True, slots=True)
class AccountConfig:
    system_id: str
    password: str  # a pbkdf2 hash, or plain text (allowed in demo fixtures only)
    bind_types: frozenset[str] = BIND_TYPES
    ip_allowlist: tuple[IpNetwork, ...] = ()  # empty: any address
    max_binds: int = 4
    throughput: float = 0.0  # messages/s over all binds; 0 = unlimited
    not_before: float | None = None
    not_after: float | None = None
    status: str = "active"
    rate_plan: str = "standard"
    source_addrs: tuple[str, ...] = ()  # service numbers; extensions allowed; empty: any source
    message_id_format: str = "hex"
    initial_balance: int = 0  # credited once, when the account is first created in the store
    billing_unit: str = "li"  # "li" (money, 0.001 CNY) or "msg" (a message-count package)
    signatures: tuple[str, ...] = ()  # registered 【...】 signatures
    signature_required: bool = False  # a message must start or end with one of them
    pledge_required: bool = False  # binds only once its information-security pledge is recorded
    send_window: tuple[int, int] | None = None  # (start, end) minutes of the local day; None: any time
    outside_window: str = "reject"  # a submit outside send_window: "reject" (0x404) or "defer"
    faults: BindFaults | None = None  # protocol faults of the test rig on its binds, from the start
    scripted_outcomes: bool = False  # a message may script its own outcome (#smppgw: directives)
    outbind: OutbindTarget | None = None  # the client's listener the gateway outbinds to for receipts
    cmpp: CmppLogin | None = None  # None: the account does not log in over CMPP
    http: AccountHttp = field(default_factory=AccountHttp)  # the customer HTTP interface


@dataclass(frozen=True, slots=True)
class CmppConfig:
    """The CMPP 2.0/3.0 listener (``[cmpp]``)."""

    listen: str = ""  # a server endpoint, e.g. "tcp:7890:interface=127.0.0.1"; "" = off
    gateway_code: int = 1  # the 22-bit gateway code in every Msg_Id: one per cluster node
    connect_timeout: float = 30.0  # from accept to CONNECT
    active_test_interval: float = 180.0  # C: silence before the gateway tests the link
    response_timeout: float = 60.0  # T: a DELIVER (or link test) unanswered this long is resent...
    max_tries: int = 3  # N: ...this many times in all
    window: int = 16  # DELIVERs in flight per connection
    max_pending_requests: int = 16  # the client's unanswered requests; beyond: Result 8
    http: AccountHttp = field(default_factory=AccountHttp)  # the customer HTTP interface


@dataclass(frozen=True, slots=True)
class StoreConfig:
    path: str = "state/smppgw.db"
    url: str = ""  # "postgresql://...": the store several nodes share (path is then unused)
    commit_interval: float = 0.002  # seconds a batch may wait for company
    commit_max_batch: int = 2000


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """This node among several sharing one PostgreSQL store."""

    node_id: str = ""  # unique per node and kept across its restarts; "" = the host name
    heartbeat_interval: float = 1.0  # seconds between heartbeats: balances, statuses re-read, the outbox polled
    node_timeout: float = 3.0  # a node silent this long is dead: its binds expire, others take its work


@dataclass(frozen=True, slots=True)
class AdminConfig:
    listen: str = "tcp:8775:interface=127.0.0.1"
    token: str = ""


@dataclass(frozen=True, slots=True)
class SecurityConfig:
    """Limits against abuse of the SMPP listeners (plain and TLS alike)."""

    failed_bind_limit: int = 5  # failed binds of one account from one address within the window...
    failed_bind_window: float = 60.0
    lockout: float = 300.0  # ...lock that account for that address this long (even the right password)
    max_connections: int = 1000
    max_connections_per_address: int = 100
    write_buffer: int = 65536  # bytes queued for a peer before its session stops producing
    stalled_write_timeout: float = 30.0  # a peer that reads nothing for this long is dropped


@dataclass(frozen=True, slots=True)
class TlsConfig:
    listen: str = ""  # a server endpoint for SMPP over TLS, e.g. "tcp:3550:interface=127.0.0.1"; "" = off
    proxy_protocol: bool = False  # connections start with a PROXY header (behind HAProxy's send-proxy-v2)
    certificate: str = "state/tls/smppgw.crt"  # PEM, relative to the working directory like the store
    key: str = "state/tls/smppgw.key"
    self_signed: bool = False  # make a self-signed pair when the files do not exist


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    number_plan: Path | None = None
    international: Path | None = None
    ported: Path | None = None
    failover: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    when_all_down: str = "queue"  # "queue" at the primary carrier, or "reject" (ESME_RSYSERR)


OPTOUT_WORDS = ("T", "TD", "退订", "N", "STOP", "R")


@dataclass(frozen=True, slots=True)
class ContentConfig:
    keywords: Path | None = None  # keyword rules (smppgw.content); None: no content checks
    review_timeout: float = 1800.0  # seconds a held message waits for a reviewer
    review_timeout_action: str = "reject"  # what happens then: "reject" (REJECTD, refund) or "approve"
    concat_timeout: float = 60.0  # seconds the parts of a long message wait for the rest
    optout_words: tuple[str, ...] = OPTOUT_WORDS


@dataclass(frozen=True, slots=True)
class Outage:
    """A scheduled carrier outage: from ``start`` (epoch) or ``start_after`` seconds after the gateway starts."""

    carrier: str
    duration: float
    start: float | None = None
    start_after: float | None = None


@dataclass(frozen=True, slots=True)
class GatewayConfig:
    source: Path
    listen: str = "tcp:2775:interface=127.0.0.1"
    proxy_protocol: bool = False  # connections start with a PROXY header (behind HAProxy's send-proxy-v2)
    session: SessionConfig = field(default_factory=SessionConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    admin: AdminConfig = field(default_factory=AdminConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    content: ContentConfig = field(default_factory=ContentConfig)
    refund_states: frozenset[str] = frozenset({"UNDELIV", "REJECTD"})
    rate_plans: tuple[Tariff, ...] = ()
    # Each carrier's profile, the gateway's [[scenario]] rules before its own.
    profiles: Mapping[str, CarrierProfile] = field(default_factory=dict)
    # The carrier tables as written: a scenario timeline lays its changes over them.
    carriers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    scenario: tuple[ScenarioRule, ...] = ()
    accounts: Mapping[str, AccountConfig] = field(default_factory=dict)
    outages: tuple[Outage, ...] = ()
    seed: int = 1
    per_bind_outcomes: bool = False  # every account's carrier outcomes drawn per bind (see config.rig)
    utc_offset_minutes: int = 480  # receipt dates: Beijing time
    dc0: str = "gsm7"  # how data_coding 0 is read: "gsm7", "latin1" or "ascii"
    receipt_retry_interval: float = 10.0  # seconds between resends of an unanswered receipt
    receipt_window: int = 100  # receipts in flight per session
    security: SecurityConfig = field(default_factory=SecurityConfig)
    http_api: HttpApiConfig = field(default_factory=HttpApiConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    scorecard: ScorecardRules = field(default_factory=ScorecardRules)
    cmpp: CmppConfig = field(default_factory=CmppConfig)
    # The data files the configuration names (route tables, keyword list): the path as written -> the file read.
    files: Mapping[str, Path] = field(default_factory=dict)

    def resolve(self, relative: str) -> Path:
        return (self.source.parent / relative).resolve()


# ---- locating keys in the file ---------------------------------------------------------


class Locator(Protocol):
    """Turns a key path and a problem into the error to raise: a place in the file here, a JSON
    field in the admin API, so both read accounts with the same rules."""

    def error(self, keys: Sequence[str], problem: str) -> ValueError: ...


class _Where:
    """Names a key path in the file for error messages, with its line number when found."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, keys: Sequence[str]) -> int | None:
        table, key = keys[:-1], keys[-1] if keys else ""
        start = 0
        if table:
            header = re.compile(r"^\s*\[\[?\s*" + r"\s*\.\s*".join(re.escape(k) for k in table) + r"\s*\]\]?\s*(#.*)?$")
            found = next((i for i, line in enumerate(self.lines) if header.match(line)), None)
            if found is not None:
                start = found + 1
        pattern = re.compile(r"^\s*\"?" + re.escape(key) + r"\"?\s*=")
        for i in range(start, len(self.lines)):
            if i > start and self.lines[i].lstrip().startswith("[") and table:
                break
            if pattern.match(self.lines[i]):
                return i + 1
        return None

    def error(self, keys: Sequence[str], problem: str) -> ConfigError:
        line = self.line_of(keys)
        for outer in range(len(keys) - 1, 1, -1):  # a key inside an inline table: the line of the table's key
            if line is not None:
                break
            line = self.line_of(keys[:outer])
        location = f"{self.path.name}:{line}" if line else self.path.name
        return ConfigError(f"{location}: {'.'.join(keys)}: {problem}")


# ---- typed readers -----------------------------------------------------------------


class _Reader:
    def __init__(
        self,
        where: Locator,
        table: Mapping[str, Any],
        keys: tuple[str, ...],
        files: dict[str, Path] | None = None,
        copies: Mapping[str, Path] | None = None,
    ) -> None:
        self.where = where
        self.table = table
        self.keys = keys
        self.used: set[str] = set()
        self.files = {} if files is None else files  # the data files named so far (see GatewayConfig.files)
        self.copies = copies or {}  # files to read instead of those named (see parse)

    def sub(self, key: str) -> _Reader:
        value = self.table.get(key, {})
        if not isinstance(value, Mapping):
            raise self.where.error((*self.keys, key), "must be a table")
        self.used.add(key)
        return _Reader(self.where, value, (*self.keys, key), self.files, self.copies)

    def error(self, key: str, problem: str) -> ValueError:
        return self.where.error((*self.keys, key), problem)

    def get(self, key: str, default: Any) -> Any:
        self.used.add(key)
        return self.table.get(key, default)

    def text(self, key: str, default: str, choices: frozenset[str] | None = None) -> str:
        value = self.get(key, default)
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {value!r}")
        if choices is not None and value not in choices:
            raise self.error(key, f"must be one of {', '.join(sorted(choices))}, got {value!r}")
        return value

    def whole(self, key: str, default: int, minimum: int | None = None) -> int:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"must be a whole number, got {value!r}")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        return value

    def number(self, key: str, default: float, minimum: float = 0.0) -> float:
        value = self.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, got {value!r}")
        if value < minimum:
            raise self.error(key, f"must be >= {minimum}, got {value}")
        return float(value)

    def str_list(self, key: str, default: Sequence[str]) -> tuple[str, ...]:
        value = self.get(key, list(default))
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, f"must be a list of strings, got {value!r}")
        return tuple(value)

    def flag(self, key: str, default: bool) -> bool:
        value = self.get(key, default)
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def time(self, key: str) -> float | None:
        value = self.get(key, None)
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is None:
                raise self.error(key, "needs a UTC offset, e.g. 2027-01-01T00:00:00+08:00")
            return value.timestamp()
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                raise self.error(key, f"must be an ISO date-time with offset, got {value!r}") from None
            if parsed.tzinfo is None:
                raise self.error(key, "needs a UTC offset, e.g. 2027-01-01T00:00:00+08:00")
            return parsed.timestamp()
        raise self.error(key, f"must be a date-time, got {value!r}")

    def path(self, key: str, base: Path) -> Path | None:
        value = self.get(key, None)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a file name, got {value!r}")
        resolved = self.copies.get(value) or (base / value).resolve()
        if not resolved.is_file():
            raise self.error(key, f"file not found: {value}")
        self.files[value] = resolved
        return resolved

    def reject_unknown(self, allowed: frozenset[str] | None = None) -> None:
        for key in self.table:
            if key not in self.used and (allowed is None or key not in allowed):
                raise self.error(key, "unknown key")


def system_id_problem(system_id: str) -> str | None:
    """Why ``system_id`` cannot name an account (the bind's C-string holds 15 octets), or None."""
    if not 1 <= len(system_id.encode("latin-1", "replace")) <= 15:
        return "system_id must be 1 to 15 characters"
    return None


def read_account(table: Mapping[str, Any], system_id: str, where: Locator, keys: tuple[str, ...] = ()) -> AccountConfig:
    """Validate one account's settings (the keys of an ``[accounts.ID]`` table) into an AccountConfig."""
    return _account(_Reader(where, table, keys), system_id)


def _account(r: _Reader, system_id: str) -> AccountConfig:
    problem = system_id_problem(system_id)
    if problem is not None:
        raise r.where.error(r.keys, problem)
    password = r.text("password", "")
    if not password:
        raise r.error("password", "is required (a pbkdf2 hash from `smppgw account passwd`, or plain text)")
    bind_types = frozenset(r.str_list("bind_types", sorted(BIND_TYPES)))
    if not bind_types <= BIND_TYPES:
        raise r.error("bind_types", f"may hold only {', '.join(sorted(BIND_TYPES))}")
    networks: list[IpNetwork] = []
    for cidr in r.str_list("ip_allowlist", ()):
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            raise r.error("ip_allowlist", f"{cidr!r} is not an address or CIDR block") from None
    signatures = r.str_list("signatures", ())
    for sig in signatures:
        if not _SIGNATURE.fullmatch(sig):
            raise r.error("signatures", f"{sig!r} must be a name in full-width brackets, e.g. 【演示】")
    sources = r.str_list("source_addrs", ())
    for s in sources:
        if not s.isdigit() or len(s) > 20:
            raise r.error("source_addrs", f"{s!r} must be digits (a service number such as 10690000)")
    account = AccountConfig(
        system_id=system_id,
        password=password,
        bind_types=bind_types,
        ip_allowlist=tuple(networks),
        max_binds=r.whole("max_binds", 4, minimum=1),
        throughput=r.number("throughput", 0.0),
        not_before=r.time("not_before"),
        not_after=r.time("not_after"),
        status=r.text("status", "active", frozenset({"active", "suspended"})),
        rate_plan=r.text("rate_plan", "standard"),
        source_addrs=sources,
        message_id_format=r.text("message_id_format", "hex", MESSAGE_ID_FORMATS),
        initial_balance=r.whole("initial_balance", 0, minimum=0),
        billing_unit=r.text("billing_unit", "li", frozenset({"li", "msg"})),
        signatures=signatures,
        signature_required=r.flag("signature_required", False),
        pledge_required=r.flag("pledge_required", False),
        send_window=_window(r, "send_window"),
        outside_window=r.text("outside_window", "reject", frozenset({"reject", "defer"})),
        faults=_faults(r),
        scripted_outcomes=r.flag("scripted_outcomes", False),
        outbind=_outbind(r),
        cmpp=_cmpp_login(r),
        http=_account_http(r.sub("http")),
    )
    if account.signature_required and not signatures:
        raise r.error("signature_required", "needs at least one entry in signatures")
    r.reject_unknown()
    return account


def _faults(r: _Reader) -> BindFaults | None:
    """An account's ``faults`` table: the admin API's fault keys (smppgw.config.rig)."""
    table = r.get("faults", None)
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise r.error("faults", "must be a table of faults, e.g. { throttled_percent = 10 }")
    try:
        return faults_from_dict(table, "faults")
    except SettingError as err:
        raise r.where.error((*r.keys, "faults", *([err.key] if err.key else [])), err.problem) from None


def _outbind(r: _Reader) -> OutbindTarget | None:
    """An account's ``outbind`` table: address, system_id, password (smppgw.config.rig)."""
    table = r.get("outbind", None)
    if table is None:
        return None
    if not isinstance(table, Mapping):
        raise r.error("outbind", 'must be a table, e.g. { address = "127.0.0.1:2776", system_id = "smppgw" }')
    try:
        return outbind_from_dict(table, "outbind")
    except SettingError as err:
        raise r.where.error((*r.keys, "outbind", *([err.key] if err.key else [])), err.problem) from None


_SP_ID = re.compile(r"\d{6}")


def _cmpp_login(r: _Reader) -> CmppLogin | None:
    """An account's ``cmpp`` table: sp_id, secret, service_code, version ("2.0" or "3.0")."""
    if r.table.get("cmpp") is None:
        r.used.add("cmpp")
        return None
    c = r.sub("cmpp")
    sp_id = c.text("sp_id", "")
    if not _SP_ID.fullmatch(sp_id):
        raise c.error("sp_id", f"must be 6 digits (the SP's enterprise code, e.g. 900001), got {sp_id!r}")
    secret = c.text("secret", "")
    if not secret:
        raise c.error("secret", "is required: the shared secret of CMPP_CONNECT")
    if len(secret.encode("utf-8")) > 64:
        raise c.error("secret", "must be at most 64 octets")
    service_code = c.text("service_code", "")
    if not service_code.isdigit() or len(service_code) > 21:
        raise c.error("service_code", f"must be digits (the service code, e.g. 10690000), got {service_code!r}")
    version = c.text("version", "3.0", frozenset(CMPP_VERSIONS))
    c.reject_unknown()
    return CmppLogin(sp_id=sp_id, secret=secret, service_code=service_code, version=CMPP_VERSIONS[version])


def _cmpp(r: _Reader) -> CmppConfig:
    default = CmppConfig()
    cmpp = CmppConfig(
        listen=r.text("listen", default.listen),
        gateway_code=r.whole("gateway_code", default.gateway_code, minimum=0),
        connect_timeout=r.number("connect_timeout", default.connect_timeout),
        active_test_interval=r.number("active_test_interval", default.active_test_interval),
        response_timeout=r.number("response_timeout", default.response_timeout, minimum=0.001),
        max_tries=r.whole("max_tries", default.max_tries, minimum=1),
        window=r.whole("window", default.window, minimum=1),
        max_pending_requests=r.whole("max_pending_requests", default.max_pending_requests, minimum=1),
    )
    if cmpp.gateway_code >= 1 << 22:
        raise r.error("gateway_code", f"must fit 22 bits (at most {(1 << 22) - 1}), got {cmpp.gateway_code}")
    r.reject_unknown()
    return cmpp


def _scorecard(r: _Reader) -> ScorecardRules:
    default = ScorecardRules()
    rules = ScorecardRules(
        window=r.whole("window", default.window, minimum=1),
        backoff_s=r.number("backoff_s", default.backoff_s),
        late_s=r.number("late_s", default.late_s),
        enquire_min_gap_s=r.number("enquire_min_gap_s", default.enquire_min_gap_s),
        resubmit_window_s=r.number("resubmit_window_s", default.resubmit_window_s),
    )
    r.reject_unknown()
    return rules


_SIGNATURE = re.compile(r"【[^【】]{1,20}】")
_WINDOW = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")


def _window(r: _Reader, key: str) -> tuple[int, int] | None:
    """ "08:00-22:00" as minutes of the day; an end before the start wraps past midnight."""
    value = r.text(key, "")
    if not value:
        return None
    m = _WINDOW.fullmatch(value)
    if m is None or int(m[1]) > 24 or int(m[3]) > 24 or int(m[2]) > 59 or int(m[4]) > 59:
        raise r.error(key, f'must look like "08:00-22:00", got {value!r}')
    start, end = int(m[1]) * 60 + int(m[2]), int(m[3]) * 60 + int(m[4])
    if start == end:
        raise r.error(key, "start and end are the same time")
    return start, end


def parse(text: str, path: Path, copies: Mapping[str, Path] | None = None) -> GatewayConfig:
    """``copies``: files to read instead of those the text names, by the path as written (a
    cluster node's copies of the files another node shared with its configuration)."""
    where = _Where(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path.name}: not valid TOML: {err}") from None
    root = _Reader(where, data, (), copies=copies)
    base = path.parent

    smpp = root.sub("smpp")
    session = SessionConfig(
        session_init_timeout=smpp.number("session_init_timeout", 30.0),
        enquire_link_interval=smpp.number("enquire_link_interval", 30.0),
        inactivity_timeout=smpp.number("inactivity_timeout", 300.0),
        response_timeout=smpp.number("response_timeout", 60.0, minimum=0.001),
        max_pdu_size=smpp.whole("max_pdu_size", 65536, minimum=64),
        max_pending_requests=smpp.whole("max_pending_requests", 1000, minimum=1),
        system_id=smpp.text("system_id", "smppgw"),
    )
    listen, proxy_protocol = _listen(smpp, "tcp:2775:interface=127.0.0.1")
    dc0 = smpp.text("data_coding_0", "gsm7", frozenset({"gsm7", "latin1", "ascii"}))
    receipt_retry = smpp.number("receipt_retry_interval", 10.0, minimum=0.01)
    receipt_window = smpp.whole("receipt_window", 100, minimum=1)
    smpp.reject_unknown()

    st = root.sub("store")
    url = st.text("url", "")
    if url and not url.startswith(("postgresql://", "postgres://")):
        raise st.error("url", f'must be a PostgreSQL URL ("postgresql://user@host/db"), got {url!r}')
    store = StoreConfig(
        path=st.text("path", "state/smppgw.db"),
        url=url,
        commit_interval=st.number("commit_interval_ms", 2.0) / 1000.0,
        commit_max_batch=st.whole("commit_max_batch", 2000, minimum=1),
    )
    st.reject_unknown()

    cl = root.sub("cluster")
    cluster = ClusterConfig(
        node_id=cl.text("node_id", ""),
        heartbeat_interval=cl.number("heartbeat_interval_s", 1.0, minimum=0.05),
        node_timeout=cl.number("node_timeout_s", 3.0, minimum=0.2),
    )
    if cluster.node_timeout <= cluster.heartbeat_interval:
        raise cl.error("node_timeout_s", "must be longer than heartbeat_interval_s")
    cl.reject_unknown()

    ad = root.sub("admin")
    admin = AdminConfig(listen=ad.text("listen", "tcp:8775:interface=127.0.0.1"), token=ad.text("token", ""))
    if not admin.token:
        raise ad.error("token", "is required: the bearer token of the admin API")
    ad.reject_unknown()

    security, tls = _security(root.sub("security")), _tls(root.sub("tls"))
    http_api = _http_api(root.sub("http_api"))
    scorecard = _scorecard(root.sub("scorecard"))
    cmpp = _cmpp(root.sub("cmpp"))

    ro = root.sub("routing")
    fo = ro.sub("failover")
    failover = {carrier: fo.str_list(carrier, ()) for carrier in fo.table}
    routing = RoutingConfig(
        number_plan=ro.path("number_plan", base),
        international=ro.path("international", base),
        ported=ro.path("ported", base),
        failover=failover,
        when_all_down=ro.text("when_all_down", "queue", frozenset({"queue", "reject"})),
    )
    ro.reject_unknown()

    co = root.sub("content")
    content = ContentConfig(
        keywords=co.path("keywords", base),
        review_timeout=co.number("review_timeout_s", 1800.0, minimum=1.0),
        review_timeout_action=co.text("review_timeout_action", "reject", frozenset({"reject", "approve"})),
        concat_timeout=co.number("concat_timeout_s", 60.0, minimum=0.1),
        optout_words=co.str_list("optout_words", OPTOUT_WORDS),
    )
    co.reject_unknown()

    bi = root.sub("billing")
    refund_states = frozenset(bi.str_list("refund_states", ("UNDELIV", "REJECTD")))
    bi.reject_unknown()

    rate_plans = root.get("rate_plans", {})
    carriers = root.get("carriers", {})
    scenario = root.get("scenario", [])
    if not isinstance(rate_plans, Mapping):
        raise root.error("rate_plans", "must be a table")
    if not isinstance(carriers, Mapping) or not all(isinstance(v, Mapping) for v in carriers.values()):
        raise root.error("carriers", "must be a table of carrier tables")
    if not isinstance(scenario, list) or not all(isinstance(v, Mapping) for v in scenario):
        raise root.error("scenario", "must be an array of tables ([[scenario]])")
    name = path.name
    try:
        tariffs = tuple(tariffs_from_toml_table(rate_plans, name))
        shared_rules = scenario_rules_from_list(scenario, name)
        profiles = {}
        for code, table in carriers.items():
            profile = profile_from_dict(code, table, name)
            profiles[code] = replace(profile, rules=shared_rules + profile.rules)
    except ValueError as err:
        raise ConfigError(str(err)) from None

    outages = []
    raw_outages = root.get("outage", [])
    if not isinstance(raw_outages, list) or not all(isinstance(v, Mapping) for v in raw_outages):
        raise root.error("outage", "must be an array of tables ([[outage]])")
    for index, table in enumerate(raw_outages):
        ou = _Reader(where, table, (f"outage[{index}]",))
        start = ou.time("start")
        start_after = ou.number("start_after_s", -1.0, minimum=-1.0)
        if (start is None) == (start_after < 0):
            raise ou.error("start", "give either start (a date-time) or start_after_s (seconds after start-up)")
        outages.append(
            Outage(
                carrier=ou.text("carrier", ""),
                duration=ou.number("duration_s", 0.0, minimum=0.001),
                start=start,
                start_after=None if start_after < 0 else start_after,
            )
        )
        ou.reject_unknown()

    acc = root.sub("accounts")
    accounts = {system_id: _account(acc.sub(system_id), system_id) for system_id in acc.table}
    seen: dict[str, str] = {}
    for account in accounts.values():
        if account.cmpp is None:
            continue
        other = seen.setdefault(account.cmpp.sp_id, account.system_id)
        if other != account.system_id:
            raise where.error(
                ("accounts", account.system_id, "cmpp", "sp_id"),
                f"{account.cmpp.sp_id} is already the SP_Id of {other}",
            )

    seed = root.whole("seed", 1)
    per_bind_outcomes = root.flag("per_bind_outcomes", False)
    utc_offset = root.whole("utc_offset_minutes", 480)
    root.reject_unknown()
    return GatewayConfig(
        source=path,
        listen=listen,
        proxy_protocol=proxy_protocol,
        session=session,
        store=store,
        cluster=cluster,
        admin=admin,
        routing=routing,
        content=content,
        refund_states=refund_states,
        rate_plans=tariffs,
        profiles=profiles,
        carriers=carriers,
        scenario=shared_rules,
        accounts=accounts,
        outages=tuple(outages),
        seed=seed,
        per_bind_outcomes=per_bind_outcomes,
        utc_offset_minutes=utc_offset,
        dc0=dc0,
        receipt_retry_interval=receipt_retry,
        receipt_window=receipt_window,
        security=security,
        http_api=http_api,
        tls=tls,
        scorecard=scorecard,
        cmpp=cmpp,
        files=root.files,
    )


_HAPROXY = "haproxy:"


def _listen(r: _Reader, default: str) -> tuple[str, bool]:
    """A listener's endpoint and whether its connections start with a PROXY header; Twisted's
    ``haproxy:`` prefix on the endpoint means the same as ``proxy_protocol = true``."""
    listen = r.text("listen", default)
    proxy_protocol = r.flag("proxy_protocol", False)
    if listen.startswith(_HAPROXY):
        return listen[len(_HAPROXY) :], True
    return listen, proxy_protocol


def _security(r: _Reader) -> SecurityConfig:
    security = SecurityConfig(
        failed_bind_limit=r.whole("failed_bind_limit", 5, minimum=1),
        failed_bind_window=r.number("failed_bind_window", 60.0, minimum=0.001),
        lockout=r.number("lockout", 300.0),
        max_connections=r.whole("max_connections", 1000, minimum=1),
        max_connections_per_address=r.whole("max_connections_per_address", 100, minimum=1),
        write_buffer=r.whole("write_buffer", 65536, minimum=1024),
        stalled_write_timeout=r.number("stalled_write_timeout", 30.0, minimum=0.001),
    )
    r.reject_unknown()
    return security


def _tls(r: _Reader) -> TlsConfig:
    self_signed = r.get("self_signed", False)
    if not isinstance(self_signed, bool):
        raise r.error("self_signed", f"must be true or false, got {self_signed!r}")
    listen, proxy_protocol = _listen(r, "")
    tls = TlsConfig(
        listen=listen,
        proxy_protocol=proxy_protocol,
        certificate=r.text("certificate", "state/tls/smppgw.crt"),
        key=r.text("key", "state/tls/smppgw.key"),
        self_signed=self_signed,
    )
    r.reject_unknown()
    return tls


def load(path: str | Path) -> GatewayConfig:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{path}: cannot read the configuration: {err.strerror}") from None
    return parse(text, path.resolve())


def node_id(config: GatewayConfig) -> str:
    """This node's name among several: ``[cluster] node_id``, else the host name."""
    return config.cluster.node_id or socket.gethostname()


def default_config_path() -> Path:
    """The demo configuration and the files it names, shipped in the package (smppgw/data, which
    is the source tree's fixtures/): found wherever the package is installed and run from."""
    return Path(str(resources.files("smppgw") / "data" / "gateway.toml"))
