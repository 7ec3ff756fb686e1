"""``smppgw serve --workers N``: checks the configuration, opens the shared ports through the
Supervisor, serves the admin front, and runs the reactor until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.python.failure import Failure

from ..config import ConfigError, GatewayConfig, load
from .front import build_front
from .placement import check_store_layout
from .supervisor import Supervisor


def supervise(config_path: Path, args: argparse.Namespace, check: Callable[[GatewayConfig], object]) -> int:
    """Run the workers of ``serve --workers``; ``check`` refuses a configuration the gateway could
    not build (a ConfigError), here rather than in a loop of failing workers."""
    from twisted.internet import reactor as _reactor  # noqa: PLC0415 (install the reactor only when serving)
    from twisted.internet.endpoints import serverFromString  # noqa: PLC0415

    reactor: Any = _reactor

    try:
        config = load(config_path)
        check(config)
        check_store_layout(config.store.path, args.workers)
        if config.store.url:  # workers would share one node id: its binds, heartbeats and adoptions
            raise ConfigError(
                f"{config.source.name}: store.url: --workers keeps each worker's accounts in its own SQLite file; "
                "on PostgreSQL, run several nodes (each its own [cluster] node_id) instead"
            )
        for key, on in (
            ("smpp.proxy_protocol", config.proxy_protocol),
            ("tls.proxy_protocol", config.tls.proxy_protocol),
        ):
            if on:  # a handed-off connection would lose the header's client address
                raise ConfigError(
                    f"{config.source.name}: {key}: --workers does not read PROXY headers; "
                    "behind HAProxy, run more nodes instead of workers"
                )
        argv = [sys.executable, "-m", "smppgw", "serve", "--config", str(config_path)]
        if args.clock_factor != 1:
            argv += ["--clock-factor", str(args.clock_factor)]
        if args.scenario:
            argv += ["--scenario", args.scenario]
        if config.tls.listen:
            from ..server.tls import load_certificate  # noqa: PLC0415 (pyOpenSSL only when TLS is on)

            load_certificate(config.tls)  # a self-signed pair is made once, here, not by every worker
        supervisor = Supervisor(reactor, config, argv, args.workers)
    except (ConfigError, ValueError, OSError) as err:
        print(f"smppgw: {err}", file=sys.stderr)
        return 2

    def listening(port: Any) -> None:
        supervisor.front_port = port.getHost().port
        for index in range(args.workers):
            supervisor.start_worker(index)

    def failed(failure: Failure) -> None:
        print(f"smppgw: admin API on {config.admin.listen}: {failure.getErrorMessage()}", file=sys.stderr, flush=True)
        reactor.stop()

    def start() -> None:
        endpoint = serverFromString(reactor, config.admin.listen)
        endpoint.listen(build_front(supervisor.count, supervisor.admin_ports, reactor)).addCallbacks(listening, failed)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", supervisor.stop)
    if hasattr(signal, "SIGHUP"):
        # A reload reaches every worker: each re-reads the file and keeps its own accounts.
        signal.signal(signal.SIGHUP, lambda signum, frame: reactor.callFromThread(supervisor.signal_workers, signum))
    reactor.run()
    return 0
