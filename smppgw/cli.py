"""The ``smppgw`` command line: ``serve`` runs the gateway; ``ledger check`` and ``config check``
work on files; the rest talk to a running gateway through its admin API."""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__
from .config import ConfigError, default_config_path, load, node_id

if TYPE_CHECKING:
    from .store.ports import Store


def _config_path(args: argparse.Namespace) -> Path:
    return Path(args.config) if args.config else default_config_path()


def cmd_serve(args: argparse.Namespace) -> int:
    from twisted.internet import reactor  # noqa: PLC0415 (install the reactor only when serving)
    from twisted.logger import globalLogBeginner, textFileLogObserver  # noqa: PLC0415

    from .app.service import GatewayService  # noqa: PLC0415
    from .workers.child import WorkerListening, WorkerSlot  # noqa: PLC0415
    from .workers.placement import check_store_layout  # noqa: PLC0415

    if args.workers < 1:
        print(f"smppgw: --workers must be 1 or more, got {args.workers}", file=sys.stderr)
        return 2
    if args.workers > 1 and args.worker is None:
        from .app.parts import build_parts  # noqa: PLC0415
        from .workers.main import supervise  # noqa: PLC0415

        return supervise(_config_path(args), args, build_parts)
    try:
        config = load(_config_path(args))
        slot = WorkerSlot.parse(args.worker) if args.worker else None
        if slot is None:
            check_store_layout(config.store.path, 1)
        else:
            config = slot.shape(config)
        clock: Any = reactor
        if args.clock_factor != 1:
            from .rig.virtualtime import VirtualClock  # noqa: PLC0415

            clock = VirtualClock(reactor, args.clock_factor)
        listening = WorkerListening(slot, config, reactor) if slot is not None else None
        service = GatewayService(config, clock, slot.seq_floor if slot else 1, listening)
        if listening is not None:
            listening.start()
    except (ConfigError, ValueError) as err:
        print(f"smppgw: {err}", file=sys.stderr)
        return 2
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sys.stdout)], redirectStandardIO=False)
    reactor.callWhenRunning(service.startService)
    _reload_on_sighup(reactor, service)
    if args.scenario:
        try:
            run = service.rig.prepare(Path(args.scenario).read_text(encoding="utf-8"), Path(args.scenario).name)
        except (OSError, ValueError) as err:
            print(f"smppgw: {err}", file=sys.stderr)
            return 2
        reactor.callWhenRunning(service.rig.start, run)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    print(
        f"smppgw {__version__}: SMPP on {config.listen}{' (PROXY protocol)' if config.proxy_protocol else ''}, "
        f"admin API on {config.admin.listen}, store {_store_name(config)}",
        flush=True,
    )
    reactor.run()
    return 0


def _store_name(config: Any) -> str:
    """The store as the start-up line names it: a PostgreSQL URL without its password."""
    url: str = config.store.url
    if not url:
        return str(config.store.path)
    return _redact_url(url) + f" (node {node_id(config)})"


def _redact_url(url: str) -> str:
    """A PostgreSQL URL without its password (passwords are never printed or logged)."""
    import re  # noqa: PLC0415

    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _reload_on_sighup(reactor: Any, service: Any) -> None:
    """SIGHUP re-reads the configuration (as POST /api/reload does); errors are logged, not fatal."""
    from twisted.logger import Logger  # noqa: PLC0415

    def refused(failure: Any) -> None:
        # A refused configuration was logged by the reload, and the old one stays; anything else is a fault.
        if not isinstance(failure.value, ConfigError):
            Logger().failure("reload failed", failure)

    def reload_now() -> None:
        service.reload().addErrback(refused)

    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda signum, frame: reactor.callFromThread(reload_now))


def cmd_config_check(args: argparse.Namespace) -> int:
    from .app.parts import build_parts  # noqa: PLC0415

    path = _config_path(args)
    try:
        config = load(path)
        parts = build_parts(config)
    except (ConfigError, ValueError) as err:
        print(f"smppgw: {err}", file=sys.stderr)
        return 1
    summary = {
        "file": str(path),
        "smpp": config.listen,
        "admin": config.admin.listen,
        "store": config.store.path,
        "accounts": sorted(config.accounts),
        "carriers": sorted(parts.profiles),
        "routes": len(parts.router.table),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for key, value in summary.items():
            print(f"{key:9} {', '.join(value) if isinstance(value, list) else value}")
    return 0


def _open_stores_for_check(args: argparse.Namespace) -> list[tuple[str, Store]] | None:
    """The stores ``ledger check`` reads, by name: --store (a SQLite file or a postgresql:// URL), else the
    configuration's; with serve --workers every worker's SQLite file."""
    from .store.sqlite import SqliteStore  # noqa: PLC0415
    from .workers.placement import existing_stores  # noqa: PLC0415

    target = args.store
    if not target:
        try:
            store_config = load(_config_path(args)).store
        except ConfigError as err:
            print(f"smppgw: {err}", file=sys.stderr)
            return None
        target = store_config.url or store_config.path
    if target.startswith(("postgresql://", "postgres://")):
        store = _open_postgres(target)
        return None if store is None else [(_redact_url(target), store)]
    paths = existing_stores(Path(target))
    if not paths:
        print(f"smppgw: no store at {target}", file=sys.stderr)
        return None
    return [(str(path), SqliteStore(path)) for path in paths]


def _open_postgres(url: str) -> Store | None:
    import psycopg  # noqa: PLC0415

    from .store.postgres import PostgresStore  # noqa: PLC0415

    try:
        return PostgresStore(url)
    except (psycopg.Error, RuntimeError) as err:
        print(f"smppgw: cannot open the PostgreSQL store: {err}", file=sys.stderr)
        return None


def cmd_ledger_check(args: argparse.Namespace) -> int:
    from .billing.ledger import check_ledger  # noqa: PLC0415

    opened = _open_stores_for_check(args)
    if opened is None:
        return 2
    paths = [name for name, _ in opened]
    entries, balances, mismatches = [], {}, []
    for _, store in opened:
        try:
            store_entries = store.ledger()
            store_balances = store.balances()
        finally:
            store.close()
        mismatches += check_ledger(store_entries, store_balances)
        entries += store_entries
        balances.update(store_balances)
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not mismatches,
                    "stores": [str(path) for path in paths],
                    "accounts": len(balances),
                    "entries": len(entries),
                    "mismatches": [
                        {"account": m.account, "entry_id": m.entry_id, "kind": str(m.kind), "detail": m.detail}
                        for m in mismatches
                    ],
                }
            )
        )
    else:
        for m in mismatches:
            print(f"MISMATCH {m.account} entry {m.entry_id}: {m.kind}: {m.detail}")
        verdict = "FAILED" if mismatches else "OK"
        stores = f" in {len(paths)} stores" if len(paths) > 1 else ""
        print(f"ledger check {verdict}: {len(balances)} accounts, {len(entries)} entries{stores}")
    return 1 if mismatches else 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Apply the PostgreSQL store's missing migrations (a node also does it when it starts)."""
    import psycopg  # noqa: PLC0415

    from .store.postgres import SCHEMA_VERSION, connect, upgrade  # noqa: PLC0415

    url = args.url
    if not url:
        try:
            url = load(_config_path(args)).store.url
        except ConfigError as err:
            print(f"smppgw: {err}", file=sys.stderr)
            return 2
    if not url:
        print("smppgw: no PostgreSQL store: give --url or a configuration with [store] url", file=sys.stderr)
        return 2
    try:
        with connect(url) as conn:
            applied = upgrade(conn)
    except (psycopg.Error, RuntimeError) as err:
        print(f"smppgw: {err}", file=sys.stderr)
        return 1
    done = ", ".join(str(v) for v in applied) if applied else "none needed"
    print(f"schema at version {SCHEMA_VERSION}; migrations applied: {done}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smppgw", description="An SMPP 3.4 gateway emulator.")
    parser.add_argument("--version", action="version", version=f"smppgw {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", help="TOML configuration (default: the demo fixture)")
    serve.add_argument(
        "--clock-factor",
        type=float,
        default=1.0,
        help="virtual time: the gateway's clock runs this many times faster (e.g. 60); receipts carry virtual dates",
    )
    serve.add_argument("--scenario", help="a scenario file (TOML timeline of carrier events) to start with the gateway")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run this many gateway processes sharing the SMPP port, each owning a share of the accounts",
    )
    serve.add_argument("--worker", help=argparse.SUPPRESS)  # INDEX/COUNT: set by the supervisor for its workers
    serve.set_defaults(func=cmd_serve)

    config = sub.add_parser("config", help="configuration files")
    config_sub = config.add_subparsers(dest="config_command", required=True)
    check = config_sub.add_parser("check", help="validate a configuration and print what it would load")
    check.add_argument("--config", help="TOML configuration (default: the demo fixture)")
    check.add_argument("--json", action="store_true")
    check.set_defaults(func=cmd_config_check)

    ledger = sub.add_parser("ledger", help="the money ledger")
    ledger_sub = ledger.add_subparsers(dest="ledger_command", required=True)
    lcheck = ledger_sub.add_parser("check", help="prove balance == sum of entries for every account")
    lcheck.add_argument("--config", help="read the store path from this configuration")
    lcheck.add_argument("--store", help="the SQLite store file or a postgresql:// URL (overrides --config)")
    lcheck.add_argument("--json", action="store_true")
    lcheck.set_defaults(func=cmd_ledger_check)

    db = sub.add_parser("db", help="the PostgreSQL store of several nodes")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    dbup = db_sub.add_parser("upgrade", help="apply the store's missing schema migrations")
    dbup.add_argument("--config", help="read [store] url from this configuration")
    dbup.add_argument("--url", help="the postgresql:// URL (overrides --config)")
    dbup.set_defaults(func=cmd_db_upgrade)

    from .bench.command import add_bench_command  # noqa: PLC0415

    add_bench_command(sub)

    from .rig.replay import add_replay_command  # noqa: PLC0415

    add_replay_command(sub)

    try:
        from .admin.client import add_admin_commands  # noqa: PLC0415
    except ImportError:  # pragma: no cover - the admin client ships with the package
        pass
    else:
        add_admin_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
