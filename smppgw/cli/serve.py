"""``smppgw serve``: run the gateway on the global reactor (one process, or a supervisor of --workers)."""

from __future__ import annotations

import argparse
import re
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..config import ConfigError, GatewayConfig, default_config_path, load, node_id
from .collector import tune_collector
from .limits import raise_descriptor_limit

if TYPE_CHECKING:
    from ..app.service import GatewayService


def config_path(args: argparse.Namespace) -> Path:
    return Path(args.config) if args.config else default_config_path()


def cmd_serve(args: argparse.Namespace) -> int:
    from twisted.internet import reactor  # noqa: PLC0415 (install the reactor only when serving)
    from twisted.logger import globalLogBeginner, textFileLogObserver  # noqa: PLC0415

    from ..app.service import GatewayService  # noqa: PLC0415
    from ..workers.child import WorkerListening, WorkerSlot  # noqa: PLC0415
    from ..workers.placement import check_store_layout  # noqa: PLC0415

    if args.workers < 1:
        print(f"smppgw: --workers must be 1 or more, got {args.workers}", file=sys.stderr)
        return 2
    if args.workers > 1 and args.worker is None:
        from ..app.parts import build_parts  # noqa: PLC0415
        from ..workers.main import supervise  # noqa: PLC0415

        return supervise(config_path(args), args, build_parts)
    descriptors = raise_descriptor_limit()
    try:
        config = load(config_path(args))
        slot = WorkerSlot.parse(args.worker) if args.worker else None
        if slot is None:
            check_store_layout(config.store.path, 1)
        else:
            config = slot.shape(config)
        clock: Any = reactor
        if args.clock_factor != 1:
            from ..rig.virtualtime import VirtualClock  # noqa: PLC0415

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
    reactor.callWhenRunning(_tune_collector)
    reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
    print(
        f"smppgw {__version__}: SMPP on {config.listen}{' (PROXY protocol)' if config.proxy_protocol else ''}, "
        f"admin API on {config.admin.listen}, store {_store_name(config)}",
        flush=True,
    )
    print(f"smppgw: {descriptors}", flush=True)
    reactor.run()
    return 0


def _tune_collector() -> None:
    print(f"smppgw: {tune_collector()}", flush=True)


def _store_name(config: GatewayConfig) -> str:
    """The store as the start-up line names it: a PostgreSQL URL without its password."""
    url: str = config.store.url
    if not url:
        return str(config.store.path)
    return redact_url(url) + f" (node {node_id(config)})"


def redact_url(url: str) -> str:
    """A PostgreSQL URL without its password (passwords are never printed or logged)."""
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def _reload_on_sighup(reactor: Any, service: GatewayService) -> None:
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


def add_serve_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
