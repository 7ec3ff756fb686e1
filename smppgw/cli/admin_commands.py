"""The ``smppgw`` commands that talk to a running gateway through its admin API: ``account``,
``message``, ``session``, ``handset``, ``reload``, ``drain``/``undrain``, ``carrier``, ``review``, ``incidents``,
``optouts`` and ``mo``, as one table.

Exit codes: 0 done, 1 refused by the gateway, 2 the gateway cannot be reached (or the command line
is wrong).  ``--json`` prints the API's answer as it came.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from ..passwords import hash_password
from ..rig.certify_report import FORMATS
from ..rig.certify_report import render as certify_render
from . import render
from .admin_client import (
    AccountDetail,
    AdminClient,
    AdminError,
    AdminUnreachable,
    Carrier,
    OptoutImport,
    Verdict,
    client_from_args,
)

EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 1, 2

T = TypeVar("T")
Call = Callable[[AdminClient, argparse.Namespace], T]
Run = Callable[[argparse.Namespace], int]


# ---- running a command ------------------------------------------------------------------------


def _call(call: Call[T], args: argparse.Namespace) -> tuple[int, T | None]:
    """(EXIT_OK, the answer), or the exit code of an unreachable or refusing admin API (said on stderr)."""
    try:
        return EXIT_OK, call(client_from_args(args), args)
    except AdminUnreachable as err:
        print(f"smppgw: {err}", file=sys.stderr)
        return EXIT_UNREACHABLE, None
    except AdminError as err:
        print(f"smppgw: refused ({err.status}): {err}", file=sys.stderr)
        return EXIT_REFUSED, None


def shown(call: Call[T], show: Callable[[T], None]) -> Run:
    """Run ``call``; print its answer with ``show``, or as JSON with --json."""

    def run(args: argparse.Namespace) -> int:
        code, result = _call(call, args)
        if code != EXIT_OK:
            return code
        if args.json:
            print(json.dumps(result, indent=2, ensure_ascii=False))
        else:
            show(cast(T, result))  # EXIT_OK comes with the answer
        return EXIT_OK

    return run


def exported(what: str) -> Run:
    """Print an export (CSV or JSON) as the gateway sent it."""

    def run(args: argparse.Namespace) -> int:
        code, data = _call(lambda client, a: client.export(what, a.format, a.account), args)
        if code == EXIT_OK and data is not None:
            sys.stdout.write(data.decode("utf-8-sig"))
        return code

    return run


def passwd(args: argparse.Namespace) -> int:
    """Print a password hash for the configuration file; needs no running gateway."""
    password = args.password if args.password is not None else getpass.getpass("password: ")
    if not password:
        print("smppgw: the password must not be empty", file=sys.stderr)
        return EXIT_UNREACHABLE
    print(hash_password(password))
    return EXIT_OK


def certify(args: argparse.Namespace) -> int:
    """Run a certification of the client bound for ``--account`` and print (or write) its report:
    0 when every check passed or does not apply, 1 when one failed (or the gateway refused)."""
    fields: dict[str, Any] = {"account": args.account}
    for name in ("timeout", "submit_wait", "resubmit_wait", "min_backoff", "rebind_wait"):
        if getattr(args, name) is not None:
            fields[name] = getattr(args, name)

    def run(client: AdminClient, a: argparse.Namespace) -> dict[str, Any]:
        report = client.start_certification(fields)
        while report["state"] != "done":
            time.sleep(0.5)
            report = client.certification(report["id"])
        return report

    code, report = _call(run, args)
    if code != EXIT_OK or report is None:
        return code
    text = certify_render(report, "json" if args.json else args.format)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"smppgw: certification {report['id']}: {'passed' if report['passed'] else 'FAILED'}"
              f" ({args.format} report in {args.output})")  # fmt: skip
    else:
        sys.stdout.write(text)
    return EXIT_OK if report["passed"] else EXIT_REFUSED


# ---- what the commands send --------------------------------------------------------------------


def create_account(client: AdminClient, args: argparse.Namespace) -> AccountDetail:
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


def import_optouts(client: AdminClient, args: argparse.Namespace) -> OptoutImport:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text(encoding="utf-8-sig")
    numbers = [line.split(",")[0].strip() for line in text.splitlines() if line.strip()]
    numbers = [n for n in numbers if n.lstrip("+").isdigit()]  # header lines and comments are skipped
    return client.import_optouts(args.account, numbers, args.remove)


def _outage(down: bool) -> Call[Carrier]:
    return lambda client, args: client.set_outage(args.code, down)


def _decide(verdict: str) -> Call[Verdict]:
    return lambda client, args: client.decide(args.message_id, verdict, client.operator)


# ---- the table ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arg:
    """One ``add_argument`` call."""

    flags: tuple[str, ...]
    options: Mapping[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass(frozen=True, slots=True)
class Command:
    """``path`` is (group, verb), or (verb,) for a command of its own; ``connects``: it takes the
    admin API's connection options."""

    path: tuple[str, ...]
    help: str
    run: Run
    args: tuple[Arg, ...] = field(default=())
    connects: bool = True


GROUPS = {
    "account": "prepaid accounts",
    "message": "submitted messages",
    "session": "bound SMPP sessions",
    "carrier": "simulated carrier links",
    "review": "messages held for manual review",
    "incidents": "suspensions and prohibited content, for reports",
    "optouts": "opt-out lists",
    "mo": "mobile-originated messages",
}

ACCOUNT_ID = arg("system_id", metavar="ID")
MESSAGE_ID = arg("message_id", metavar="ID")
EXPORT_ARGS = (
    arg("--format", choices=["csv", "json"], default="csv"),
    arg("--account", help="only this account ('*' for the global opt-out list)"),
)

# In the order argparse lists them in --help.
COMMANDS: tuple[Command, ...] = (
    Command(("account", "list"), "all accounts with their balances",
            shown(lambda c, a: c.accounts(), render.show_account_list)),
    Command(("account", "show"), "one account's settings and balance",
            shown(lambda c, a: c.account(a.system_id), render.show_account), (ACCOUNT_ID,)),
    Command(("account", "create"), "create an account (kept in the gateway's store)",
            shown(create_account, render.show_created), (
                ACCOUNT_ID,
                arg("--password", help="the bind password (prompted for when left out)"),
                arg("--balance", type=int, default=0, help="opening balance in 厘 (0.001 CNY), or messages"),
                arg("--source-addr", action="append", help="a service number it may send from (repeatable)"),
                arg("--rate-plan"),
                arg("--max-binds", type=int),
                arg("--throughput", type=float, help="messages/s over all binds (0 = unlimited)"),
                arg("--billing-unit", choices=["li", "msg"]),
                arg("--message-id-format", choices=["hex", "decimal", "uuid"]),
                arg("--bind-type", action="append", choices=["transmitter", "receiver", "transceiver"]),
                arg("--allow-ip", action="append", help="an address or CIDR block allowed to bind (repeatable)"),
            )),
    Command(("account", "topup"), "credit a payment",
            shown(lambda c, a: c.topup(a.system_id, a.amount, a.reference, a.operator or c.operator),
                  render.show_topup), (
                ACCOUNT_ID,
                arg("amount", metavar="AMOUNT", type=int, help="in 厘 (0.001 CNY), or messages for a package"),
                arg("--reference", required=True, help="the payment's reference; credited once only"),
            )),
    Command(("account", "ledger"), "an account's ledger entries",
            shown(lambda c, a: c.ledger(a.system_id), render.show_ledger), (ACCOUNT_ID,)),
    Command(("account", "http"), "an account's access to the customer HTTP interface (fronts, settings)",
            shown(lambda c, a: c.http_access(a.system_id), render.show_http_access), (ACCOUNT_ID,)),
    Command(("account", "http-fronts"), "set which HTTP fronts an account may use (none: no HTTP access)",
            shown(lambda c, a: c.set_http_fronts(a.system_id, a.fronts), render.show_http_access), (
                ACCOUNT_ID,
                # No argparse choices: they refuse an empty list; the gateway names a wrong front itself.
                arg("fronts", nargs="*", metavar="FRONT", help="legacy, jasmin, kannel or v1 (none: no HTTP access)"),
            )),
    Command(("account", "new-secret"), "make a new HTTP API secret (md5 sign, v1 token, webhook HMAC); shown once",
            shown(lambda c, a: c.new_api_secret(a.system_id), render.show_http_access), (ACCOUNT_ID,)),
    Command(("account", "passwd"), "print a password hash for the configuration file", passwd,
            (arg("password", nargs="?", help="prompted for when left out"),), connects=False),
    Command(("account", "suspend"), "suspend an account: unbind its sessions, refuse its binds",
            shown(lambda c, a: c.suspend(a.system_id, c.operator, a.reason), render.show_account),
            (ACCOUNT_ID, arg("--reason", help="why, for the gateway's log"))),
    Command(("account", "reinstate"), "lift a suspension",
            shown(lambda c, a: c.reinstate(a.system_id, c.operator), render.show_account), (ACCOUNT_ID,)),
    Command(("account", "pledge"), "record a signed information-security pledge",
            shown(lambda c, a: c.pledge(a.system_id, a.signed_on, a.reference, c.operator), render.show_account), (
                ACCOUNT_ID,
                arg("--signed-on", required=True, help="the date it was signed, e.g. 2026-01-05"),
                arg("--reference", required=True, help="the document's reference"),
            )),
    Command(("message", "show"), "a message's state, carrier, charge and receipt",
            shown(lambda c, a: c.message(a.message_id), render.show_message), (MESSAGE_ID,)),
    Command(("message", "history"), "a message's steps: submit, route, charge, carrier, receipt",
            shown(lambda c, a: c.history(a.message_id), render.show_history), (MESSAGE_ID,)),
    Command(("message", "search"), "recent messages, newest first",
            shown(lambda c, a: c.search_messages(account=a.account, destination=a.destination, since=a.since,
                                                 until=a.until, limit=a.limit), render.show_search), (
                arg("--account"),
                arg("--destination", help="the number, or its last digits"),
                arg("--since", help="ISO date-time, e.g. 2026-11-27T10:00:00+08:00"),
                arg("--until", help="ISO date-time"),
                arg("--limit", type=int, default=50),
            )),
    Command(("session", "list"), "who is bound, how, from where, since when",
            shown(lambda c, a: c.sessions(), render.show_sessions)),
    Command(("session", "scorecard"), "what a session's client did wrong (live or ended)",
            shown(lambda c, a: c.scorecard(a.session_id), lambda r: print(r["text"])),
            (arg("session_id", type=int, help="the ID column of 'session list', or from the gateway's log"),)),
    Command(("certify",), "probe a bound client: receipts, MO, throttling, unbind... (exit 1 if a check fails)",
            certify, (
                arg("--account", required=True, help="the account whose receiver or transceiver bind is probed"),
                arg("--format", choices=list(FORMATS), default="text"),
                arg("--output", metavar="FILE", help="write the report here instead of printing it"),
                arg("--timeout", type=float, help="seconds an answer may take (default 5)"),
                arg("--submit-wait", type=float, help="seconds to wait for a submit_sm (default 10)"),
                arg("--resubmit-wait", type=float, help="seconds to wait for a throttled resubmit (default 20)"),
                arg("--min-backoff", type=float, help="least pause before a resubmit (default 0.5)"),
                arg("--rebind-wait", type=float, help="seconds to wait for the rebind (default 30)"),
            )),
    Command(("handset",), "what a number's phone shows: long messages put together, broken ones flagged",
            shown(lambda c, a: c.handset(a.number), render.show_handset),
            (arg("number", metavar="NUMBER", help="the destination number, e.g. 13800138000"),)),
    Command(("reload",), "re-read the gateway's configuration (as SIGHUP does)",
            shown(lambda c, a: c.reload(), render.show_reload)),
    Command(("drain",), "health check says drain: the load balancer sends no new connections",
            shown(lambda c, a: c.drain(True), render.show_drain)),
    Command(("undrain",), "end drain mode", shown(lambda c, a: c.drain(False), render.show_drain)),
    Command(("carrier", "list"), "links, queues and counters", shown(lambda c, a: c.carriers(), render.show_carriers)),
    *(
        Command(("carrier", verb), f"{'start' if down else 'end'} a simulated outage",
                shown(_outage(down), render.show_outage),
                (arg("code", metavar="CODE", help="CMCC, CUCC, CTCC, CBN or INTL"),))
        for verb, down in (("down", True), ("up", False))
    ),
    Command(("review", "list"), "held messages, oldest first", shown(lambda c, a: c.review(), render.show_review)),
    *(
        Command(("review", verdict), f"{verdict} a held message (and its other parts)",
                shown(_decide(verdict), render.show_verdict),
                (MESSAGE_ID,))
        for verdict in ("approve", "reject")
    ),
    Command(("incidents", "export"), "print as CSV or JSON", exported("incidents"), EXPORT_ARGS),
    Command(("optouts", "export"), "print as CSV or JSON", exported("optouts"), EXPORT_ARGS),
    Command(("optouts", "import"), "add numbers (one per line in FILE, or '-') to a list",
            shown(import_optouts, render.show_optout_import), (
                arg("account", metavar="ACCOUNT", help="an account, or '*' for the global list"),
                arg("file", metavar="FILE"),
                arg("--remove", action="store_true", help="take the numbers off the list instead"),
            )),
    Command(("mo", "send"), "inject a handset's message to a service number",
            shown(lambda c, a: c.mobile_originated(a.sender, a.to, a.text), render.show_mo), (
                arg("sender", metavar="FROM", help="the handset's number"),
                arg("to", metavar="TO", help="the service number (selects the account)"),
                arg("text", metavar="TEXT"),
            )),
)  # fmt: skip


# ---- building the parser -----------------------------------------------------------------------


def connection_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("admin API")
    group.add_argument("--url", help="admin API address, e.g. http://127.0.0.1:8775 (else $SMPPGW_URL)")
    group.add_argument("--token", help="admin bearer token (else $SMPPGW_TOKEN)")
    group.add_argument("--config", help="read the address and token from this configuration (default: the demo)")
    group.add_argument("--operator", help="your name for the gateway's access log (else $SMPPGW_OPERATOR, $USER)")
    group.add_argument("--json", action="store_true", help="print the JSON answer")
    return parent


def add_admin_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the admin commands of ``COMMANDS`` to the ``smppgw`` parser."""
    conn = [connection_options()]
    groups: dict[str, argparse._SubParsersAction[argparse.ArgumentParser]] = {}
    for command in COMMANDS:
        parents = conn if command.connects else []
        if len(command.path) == 1:
            parser = subparsers.add_parser(command.path[0], parents=parents, help=command.help)
        else:
            name, verb = command.path
            if name not in groups:
                group = subparsers.add_parser(name, help=GROUPS[name])
                groups[name] = group.add_subparsers(dest=f"{name}_command", required=True)
            parser = groups[name].add_parser(verb, parents=parents, help=command.help)
        for argument in command.args:
            parser.add_argument(*argument.flags, **argument.options)
        parser.set_defaults(func=command.run)


__all__ = ["COMMANDS", "EXIT_OK", "EXIT_REFUSED", "EXIT_UNREACHABLE", "Command", "add_admin_commands"]
