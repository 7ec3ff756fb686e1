"""The commands that work on files and stores, with no gateway running: ``config check``,
``ledger check`` and ``db upgrade``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import ConfigError, load
from .serve import config_path, redact_url

if TYPE_CHECKING:
    from ..store.ports import Store


def cmd_config_check(args: argparse.Namespace) -> int:
    from ..app.parts import build_parts  # noqa: PLC0415

    path = config_path(args)
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
    from ..store.sqlite import SqliteStore  # noqa: PLC0415
    from ..workers.placement import existing_stores  # noqa: PLC0415

    target = args.store
    if not target:
        try:
            store_config = load(config_path(args)).store
        except ConfigError as err:
            print(f"smppgw: {err}", file=sys.stderr)
            return None
        target = store_config.url or store_config.path
    if target.startswith(("postgresql://", "postgres://")):
        store = _open_postgres(target)
        return None if store is None else [(redact_url(target), store)]
    paths = existing_stores(Path(target))
    if not paths:
        print(f"smppgw: no store at {target}", file=sys.stderr)
        return None
    return [(str(path), SqliteStore(path)) for path in paths]


def _open_postgres(url: str) -> Store | None:
    import psycopg  # noqa: PLC0415

    from ..store.postgres import PostgresStore  # noqa: PLC0415

    try:
        return PostgresStore(url)
    except (psycopg.Error, RuntimeError) as err:
        print(f"smppgw: cannot open the PostgreSQL store: {err}", file=sys.stderr)
        return None


def cmd_ledger_check(args: argparse.Namespace) -> int:
    from ..billing.ledger import check_ledger  # noqa: PLC0415

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

    from ..store.postgres import SCHEMA_VERSION, connect, upgrade  # noqa: PLC0415

    url = args.url
    if not url:
        try:
            url = load(config_path(args)).store.url
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


def add_maintenance_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
