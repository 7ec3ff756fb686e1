"""A small client of the admin API (stdlib urllib only) and the ``smppgw`` commands built on it:
``account``, ``message``, ``carrier`` and ``mo``.

Connection settings come from ``--url``/``--token``, else SMPPGW_URL/SMPPGW_TOKEN, else the
configuration file's ``[admin]`` table.  Exit codes: 0 done, 1 refused by the gateway, 2 the
gateway cannot be reached (or the command line is wrong).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from ..config import ConfigError, default_config_path, load
from ..passwords import hash_password

EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 2


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

    def accounts(self) -> Any:
        return self.request("GET", "/api/accounts")

    def account(self, system_id: str) -> Any:
        return self.request("GET", f"/api/accounts/{self._id(system_id)}")

    def create_account(self, fields: Mapping[str, Any]) -> Any:
        return self.request("POST", "/api/accounts", fields)

    def topup(self, system_id: str, amount: int, reference: str, operator: str | None = None) -> Any:
        body: dict[str, Any] = {"amount": amount, "reference": reference}
        if operator:
            body["operator"] = operator
        return self.request("POST", f"/api/accounts/{self._id(system_id)}/topups", body)

    def ledger(self, system_id: str) -> Any:
        return self.request("GET", f"/api/accounts/{self._id(system_id)}/ledger")

    def message(self, message_id: str) -> Any:
        return self.request("GET", f"/api/messages/{self._id(message_id)}")

    def carriers(self) -> Any:
        return self.request("GET", "/api/carriers")

    def set_outage(self, code: str, down: bool) -> Any:
        return self.request("POST", f"/api/carriers/{self._id(code)}/outage", {"down": down})

    def mobile_originated(self, sender: str, to: str, text: str) -> Any:
        return self.request("POST", "/api/mo", {"from": sender, "to": to, "text": text})

    def search_messages(self, **criteria: str | int | None) -> Any:
        query = urlencode({k: v for k, v in criteria.items() if v is not None})
        return self.request("GET", "/api/messages" + (f"?{query}" if query else ""))

    def history(self, message_id: str) -> Any:
        return self.request("GET", f"/api/messages/{self._id(message_id)}/history")

    def sessions(self) -> Any:
        return self.request("GET", "/api/sessions")

    def drain(self, on: bool) -> Any:
        return self.request("POST" if on else "DELETE", "/api/drain", {} if on else None)

    def scorecard(self, session_id: int) -> Any:
        return self.request("GET", f"/api/sessions/{session_id}/scorecard")

    def reload(self) -> Any:
        return self.request("POST", "/api/reload", {})

    def review(self) -> Any:
        return self.request("GET", "/api/review")

    def decide(self, message_id: str, verdict: str, operator: str | None) -> Any:
        body = {"operator": operator} if operator else {}
        return self.request("POST", f"/api/review/{self._id(message_id)}/{verdict}", body)

    def suspend(self, system_id: str, operator: str | None, reason: str | None) -> Any:
        body = {k: v for k, v in (("operator", operator), ("reason", reason)) if v}
        return self.request("POST", f"/api/accounts/{self._id(system_id)}/suspend", body)

    def reinstate(self, system_id: str, operator: str | None) -> Any:
        body = {"operator": operator} if operator else {}
        return self.request("POST", f"/api/accounts/{self._id(system_id)}/reinstate", body)

    def pledge(self, system_id: str, signed_on: str, reference: str, operator: str) -> Any:
        body = {"signed_on": signed_on, "reference": reference, "operator": operator}
        return self.request("POST", f"/api/accounts/{self._id(system_id)}/pledge", body)

    def export(self, what: str, fmt: str, account: str | None) -> bytes:
        query = f"?format={fmt}" + (f"&account={quote(account, safe='')}" if account else "")
        return self.send("GET", f"/api/{what}{query}")

    def import_optouts(self, account: str, numbers: list[str], remove: bool) -> Any:
        return self.request("POST", "/api/optouts", {"account": account, "numbers": numbers, "remove": remove})


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
    operator = getattr(args, "operator", None) or os.environ.get("SMPPGW_OPERATOR") or _login_name()
    return AdminClient(url, token, operator=operator)


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in some containers
        return ""


# ---- output ---------------------------------------------------------------------------------


def format_amount(amount: int, unit: str) -> str:
    if unit == "li":
        sign = "-" if amount < 0 else ""
        yuan, li = divmod(abs(amount), 1000)
        return f"{sign}{yuan}.{li:03d} CNY"
    return f"{amount} {unit}"


def _print_fields(fields: Mapping[str, Any]) -> None:
    width = max((len(k) for k in fields), default=0)
    for key, value in fields.items():
        if isinstance(value, list):
            text = ", ".join(str(v) for v in value) or "-"
        else:
            text = "-" if value is None else str(value)
        print(f"{key:<{width}}  {text}")


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _show_account(a: Mapping[str, Any]) -> None:
    fields = {
        "system_id": a["system_id"],
        "status": a["status"],
        "balance": f"{format_amount(a['balance'], a['unit'])} ({a['balance']} {a['unit']})",
        "rate_plan": a["rate_plan"],
        "source_addrs": a["source_addrs"],
        "bound": a["bound"],
    }
    if "origin" in a:
        fields["origin"] = a["origin"]
    fields.update({k: v for k, v in a.get("settings", {}).items() if k not in fields and k != "system_id"})
    if pledge := a.get("pledge"):
        fields["pledge"] = f"{pledge['reference']} signed {pledge['signed_on']}, recorded by {pledge['operator']}"
    if a.get("binds_refused"):
        fields["binds_refused"] = a["binds_refused"]
    _print_fields(fields)


# ---- commands -------------------------------------------------------------------------------

Command = Callable[[AdminClient, argparse.Namespace], Any]


def _call(command: Command, args: argparse.Namespace) -> tuple[int, Any]:
    """(EXIT_OK, the answer), or the exit code of an unreachable or refusing admin API (said on stderr)."""
    try:
        return EXIT_OK, command(client_from_args(args), args)
    except AdminUnreachable as err:
        print(f"smppgw: {err}", file=sys.stderr)
        return EXIT_UNREACHABLE, None
    except AdminError as err:
        print(f"smppgw: refused ({err.status}): {err}", file=sys.stderr)
        return EXIT_REFUSED, None


def _run(command: Command, show: Callable[[Any, argparse.Namespace], None]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        code, result = _call(command, args)
        if code != EXIT_OK:
            return code
        if args.json:
            print(json.dumps(result, indent=2, ensure_ascii=False))
        else:
            show(result, args)
        return EXIT_OK

    return run


def _show_account_list(result: Any, args: argparse.Namespace) -> None:
    rows = [
        [
            a["system_id"],
            a["status"],
            format_amount(a["balance"], a["unit"]),
            a["rate_plan"],
            str(a["bound"]),
            ",".join(a["source_addrs"]) or "-",
        ]
        for a in result["accounts"]
    ]
    _print_table(["SYSTEM_ID", "STATUS", "BALANCE", "PLAN", "BOUND", "SOURCE_ADDRS"], rows)


def _create(client: AdminClient, args: argparse.Namespace) -> Any:
    password = args.password if args.password is not None else getpass.getpass("password for the new account: ")
    fields: dict[str, Any] = {"system_id": args.system_id, "password": password, "balance": args.balance}
    optional = {
        "source_addrs": args.source_addr,
        "rate_plan": args.rate_plan,
        "max_binds": args.max_binds,
        "throughput": args.throughput,
        "billing_unit": args.billing_unit,
        "message_id_format": args.message_id_format,
        "bind_types": args.bind_type,
        "ip_allowlist": args.allow_ip,
    }
    fields.update({k: v for k, v in optional.items() if v is not None})
    return client.create_account(fields)


def _show_created(result: Any, args: argparse.Namespace) -> None:
    print(f"created account {result['system_id']}")
    _show_account(result)


def _show_topup(result: Any, args: argparse.Namespace) -> None:
    entry = result["entry"]
    print(
        f"credited {format_amount(entry['amount'], entry['unit'])} to {entry['account']} "
        f"(entry {entry['entry_id']}, reference {entry['reference']}): "
        f"balance {format_amount(result['balance'], entry['unit'])}"
    )


def _show_ledger(result: Any, args: argparse.Namespace) -> None:
    rows = [
        [
            str(e["entry_id"]),
            e["at"] or "-",
            e["kind"],
            str(e["amount"]),
            str(e["balance_after"]),
            e["message_id"] or e["reference"] or "-",
        ]
        for e in result["entries"]
    ]
    _print_table(["ENTRY", "AT", "KIND", "AMOUNT", "BALANCE", "MESSAGE/REFERENCE"], rows)


def _show_message(result: Any, args: argparse.Namespace) -> None:
    _print_fields(result)


def _show_history(result: Any, args: argparse.Namespace) -> None:
    message = result["message"]
    print(f"message {message['message_id']}: {message['state']} at {message['carrier']}")
    _print_table(["AT", "STEP", "DETAIL"], [[e["at"] or "-", e["step"], e["detail"]] for e in result["events"]])


def _show_search(result: Any, args: argparse.Namespace) -> None:
    rows = [
        [m["message_id"], m["account"], m["destination_addr"], m["carrier"], m["state"], m["submitted_at"] or "-"]
        for m in result["messages"]
    ]
    _print_table(["MESSAGE_ID", "ACCOUNT", "DESTINATION", "CARRIER", "STATE", "SUBMITTED"], rows)


def _window_use(session: Any) -> str:
    return f"{session['window_in_use']}/{session['window']}"


def _show_sessions(result: Any, args: argparse.Namespace) -> None:
    rows = [
        [s["account"], s["bind_type"], s["peer"], s["since"] or "-", _window_use(s), str(s.get("id") or "-")]
        for s in result["sessions"]
    ]
    _print_table(["ACCOUNT", "BIND", "PEER", "SINCE", "WINDOW", "ID"], rows)


def _show_reload(result: Any, args: argparse.Namespace) -> None:
    print(f"reloaded {result['source']}: {result['routes']} routes")
    for key in ("accounts_added", "accounts_updated", "accounts_kept", "carriers_added", "carriers_updated"):
        if result[key]:
            print(f"  {key.replace('_', ' ')}: {', '.join(result[key])}")
    if result["restart_needed"]:
        print(f"  changed, needs a restart: {', '.join(result['restart_needed'])}")


def _show_carriers(result: Any, args: argparse.Namespace) -> None:
    rows = [
        [
            c["code"],
            c["name"],
            "up" if c["up"] else "DOWN",
            str(c["queue_depth"]),
            str(c["in_flight"]),
            str(c["stats"]["dispatched"]),
        ]
        for c in result["carriers"]
    ]
    _print_table(["CODE", "NAME", "LINK", "QUEUED", "IN_FLIGHT", "DISPATCHED"], rows)


def _show_outage(result: Any, args: argparse.Namespace) -> None:
    print(f"{result['code']} ({result['name']}) is {'up' if result['up'] else 'down'}")


def _show_mo(result: Any, args: argparse.Namespace) -> None:
    print(f"MO accepted for {result['account']} (delivery {result['delivery_id']}, id {result['message_id']})")


def _show_drain(result: Any, args: argparse.Namespace) -> None:
    if result["status"] == "draining":
        print(f"draining since {result['draining_since']}: no new connections from the load balancer, "
              f"{result['bound']} bound session(s) stay")  # fmt: skip
    else:
        print(f"up: taking new connections ({result['bound']} bound session(s))")


def _drain(on: bool) -> Command:
    return lambda client, args: client.drain(on)


def _outage(down: bool) -> Command:
    def command(client: AdminClient, args: argparse.Namespace) -> Any:
        return client.set_outage(args.code, down)

    return command


def _show_review(result: Any, args: argparse.Namespace) -> None:
    rows = [
        [h["message_id"], h["account"], h["category"], h["term"], h["deadline"] or "-", h["text"][:30]]
        for h in result["held"]
    ]
    _print_table(["MESSAGE", "ACCOUNT", "CATEGORY", "TERM", "DEADLINE", "TEXT"], rows)


def _decide(verdict: str) -> Command:
    def command(client: AdminClient, args: argparse.Namespace) -> Any:
        return client.decide(args.message_id, verdict, client.operator)

    return command


def _import_optouts(client: AdminClient, args: argparse.Namespace) -> Any:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8-sig")
    numbers = [line.split(",")[0].strip() for line in text.splitlines() if line.strip()]
    numbers = [n for n in numbers if n.lstrip("+").isdigit()]  # header lines and comments are skipped
    return client.import_optouts(args.account, numbers, args.remove)


def _export(what: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        code, data = _call(lambda client, a: client.export(what, a.format, a.account), args)
        if code == EXIT_OK:
            sys.stdout.write(data.decode("utf-8-sig"))
        return code

    return run


def _passwd(args: argparse.Namespace) -> int:
    """Print a password hash for the configuration file; needs no running gateway."""
    password = args.password if args.password is not None else getpass.getpass("password: ")
    if not password:
        print("smppgw: the password must not be empty", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(hash_password(password))
    return EXIT_OK


def _connection_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("admin API")
    group.add_argument("--url", help="admin API address, e.g. http://127.0.0.1:8775 (else $SMPPGW_URL)")
    group.add_argument("--token", help="admin bearer token (else $SMPPGW_TOKEN)")
    group.add_argument("--config", help="read the address and token from this configuration (default: the demo)")
    group.add_argument("--operator", help="your name for the gateway's access log (else $SMPPGW_OPERATOR, $USER)")
    group.add_argument("--json", action="store_true", help="print the JSON answer")
    return parent


def add_admin_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add account, message, carrier and mo commands to the ``smppgw`` parser."""
    conn = [_connection_options()]

    account = subparsers.add_parser("account", help="prepaid accounts")
    acc = account.add_subparsers(dest="account_command", required=True)
    p = acc.add_parser("list", parents=conn, help="all accounts with their balances")
    p.set_defaults(func=_run(lambda c, a: c.accounts(), _show_account_list))
    p = acc.add_parser("show", parents=conn, help="one account's settings and balance")
    p.add_argument("system_id", metavar="ID")
    p.set_defaults(func=_run(lambda c, a: c.account(a.system_id), lambda r, a: _show_account(r)))
    p = acc.add_parser("create", parents=conn, help="create an account (kept in the gateway's store)")
    p.add_argument("system_id", metavar="ID")
    p.add_argument("--password", help="the bind password (prompted for when left out)")
    p.add_argument("--balance", type=int, default=0, help="opening balance in 厘 (0.001 CNY), or messages")
    p.add_argument("--source-addr", action="append", help="a service number it may send from (repeatable)")
    p.add_argument("--rate-plan")
    p.add_argument("--max-binds", type=int)
    p.add_argument("--throughput", type=float, help="messages/s over all binds (0 = unlimited)")
    p.add_argument("--billing-unit", choices=["li", "msg"])
    p.add_argument("--message-id-format", choices=["hex", "decimal", "uuid"])
    p.add_argument("--bind-type", action="append", choices=["transmitter", "receiver", "transceiver"])
    p.add_argument("--allow-ip", action="append", help="an address or CIDR block allowed to bind (repeatable)")
    p.set_defaults(func=_run(_create, _show_created))
    p = acc.add_parser("topup", parents=conn, help="credit a payment")
    p.add_argument("system_id", metavar="ID")
    p.add_argument("amount", metavar="AMOUNT", type=int, help="in 厘 (0.001 CNY), or messages for a package")
    p.add_argument("--reference", required=True, help="the payment's reference; credited once only")
    p.set_defaults(
        func=_run(lambda c, a: c.topup(a.system_id, a.amount, a.reference, a.operator or c.operator), _show_topup)
    )
    p = acc.add_parser("ledger", parents=conn, help="an account's ledger entries")
    p.add_argument("system_id", metavar="ID")
    p.set_defaults(func=_run(lambda c, a: c.ledger(a.system_id), _show_ledger))
    p = acc.add_parser("passwd", help="print a password hash for the configuration file")
    p.add_argument("password", nargs="?", help="prompted for when left out")
    p.set_defaults(func=_passwd)

    message = subparsers.add_parser("message", help="submitted messages")
    msg = message.add_subparsers(dest="message_command", required=True)
    p = msg.add_parser("show", parents=conn, help="a message's state, carrier, charge and receipt")
    p.add_argument("message_id", metavar="ID")
    p.set_defaults(func=_run(lambda c, a: c.message(a.message_id), _show_message))
    p = msg.add_parser("history", parents=conn, help="a message's steps: submit, route, charge, carrier, receipt")
    p.add_argument("message_id", metavar="ID")
    p.set_defaults(func=_run(lambda c, a: c.history(a.message_id), _show_history))
    p = msg.add_parser("search", parents=conn, help="recent messages, newest first")
    p.add_argument("--account")
    p.add_argument("--destination", help="the number, or its last digits")
    p.add_argument("--since", help="ISO date-time, e.g. 2026-11-27T10:00:00+08:00")
    p.add_argument("--until", help="ISO date-time")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(
        func=_run(
            lambda c, a: c.search_messages(
                account=a.account, destination=a.destination, since=a.since, until=a.until, limit=a.limit
            ),
            _show_search,
        )
    )

    session = subparsers.add_parser("session", help="bound SMPP sessions")
    ses = session.add_subparsers(dest="session_command", required=True)
    p = ses.add_parser("list", parents=conn, help="who is bound, how, from where, since when")
    p.set_defaults(func=_run(lambda c, a: c.sessions(), _show_sessions))
    p = ses.add_parser("scorecard", parents=conn, help="what a session's client did wrong (live or ended)")
    p.add_argument("session_id", type=int, help="the ID column of 'session list', or from the gateway's log")
    p.set_defaults(func=_run(lambda c, a: c.scorecard(a.session_id), lambda r, a: print(r["text"])))

    reload = subparsers.add_parser("reload", parents=conn, help="re-read the gateway's configuration (as SIGHUP does)")
    reload.set_defaults(func=_run(lambda c, a: c.reload(), _show_reload))

    for verb, on in (("drain", True), ("undrain", False)):
        helptext = "health check says drain: the load balancer sends no new connections" if on else "end drain mode"
        p = subparsers.add_parser(verb, parents=conn, help=helptext)
        p.set_defaults(func=_run(_drain(on), _show_drain))

    carrier = subparsers.add_parser("carrier", help="simulated carrier links")
    car = carrier.add_subparsers(dest="carrier_command", required=True)
    p = car.add_parser("list", parents=conn, help="links, queues and counters")
    p.set_defaults(func=_run(lambda c, a: c.carriers(), _show_carriers))
    for verb, down in (("down", True), ("up", False)):
        p = car.add_parser(verb, parents=conn, help=f"{'start' if down else 'end'} a simulated outage")
        p.add_argument("code", metavar="CODE", help="CMCC, CUCC, CTCC, CBN or INTL")
        p.set_defaults(func=_run(_outage(down), _show_outage))

    p = acc.add_parser("suspend", parents=conn, help="suspend an account: unbind its sessions, refuse its binds")
    p.add_argument("system_id", metavar="ID")
    p.add_argument("--reason", help="why, for the gateway's log")
    p.set_defaults(func=_run(lambda c, a: c.suspend(a.system_id, c.operator, a.reason), lambda r, a: _show_account(r)))
    p = acc.add_parser("reinstate", parents=conn, help="lift a suspension")
    p.add_argument("system_id", metavar="ID")
    p.set_defaults(func=_run(lambda c, a: c.reinstate(a.system_id, c.operator), lambda r, a: _show_account(r)))
    p = acc.add_parser("pledge", parents=conn, help="record a signed information-security pledge")
    p.add_argument("system_id", metavar="ID")
    p.add_argument("--signed-on", required=True, help="the date it was signed, e.g. 2026-01-05")
    p.add_argument("--reference", required=True, help="the document's reference")
    p.set_defaults(
        func=_run(
            lambda c, a: c.pledge(a.system_id, a.signed_on, a.reference, c.operator), lambda r, a: _show_account(r)
        )
    )

    review = subparsers.add_parser("review", help="messages held for manual review")
    rev = review.add_subparsers(dest="review_command", required=True)
    p = rev.add_parser("list", parents=conn, help="held messages, oldest first")
    p.set_defaults(func=_run(lambda c, a: c.review(), _show_review))
    for verdict in ("approve", "reject"):
        p = rev.add_parser(verdict, parents=conn, help=f"{verdict} a held message (and its other parts)")
        p.add_argument("message_id", metavar="ID")
        p.set_defaults(
            func=_run(_decide(verdict), lambda r, a: print(f"{r['decision']}: {' '.join(r['message_ids'])}"))
        )

    for what, helptext in (
        ("incidents", "suspensions and prohibited content, for reports"),
        ("optouts", "opt-out lists"),
    ):
        parser = subparsers.add_parser(what, help=helptext)
        sub = parser.add_subparsers(dest=f"{what}_command", required=True)
        p = sub.add_parser("export", parents=conn, help="print as CSV or JSON")
        p.add_argument("--format", choices=["csv", "json"], default="csv")
        p.add_argument("--account", help="only this account ('*' for the global opt-out list)")
        p.set_defaults(func=_export(what))
        if what == "optouts":
            p = sub.add_parser("import", parents=conn, help="add numbers (one per line in FILE, or '-') to a list")
            p.add_argument("account", metavar="ACCOUNT", help="an account, or '*' for the global list")
            p.add_argument("file", metavar="FILE")
            p.add_argument("--remove", action="store_true", help="take the numbers off the list instead")
            p.set_defaults(func=_run(_import_optouts, lambda r, a: print(f"{r['count']} numbers, list {r['account']}")))

    mo = subparsers.add_parser("mo", help="mobile-originated messages")
    mos = mo.add_subparsers(dest="mo_command", required=True)
    p = mos.add_parser("send", parents=conn, help="inject a handset's message to a service number")
    p.add_argument("sender", metavar="FROM", help="the handset's number")
    p.add_argument("to", metavar="TO", help="the service number (selects the account)")
    p.add_argument("text", metavar="TEXT")
    p.set_defaults(func=_run(lambda c, a: c.mobile_originated(a.sender, a.to, a.text), _show_mo))
