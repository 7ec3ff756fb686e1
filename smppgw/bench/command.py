"""The ``smppgw bench`` subcommand: options, the run, the text or JSON report, the exit code."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from typing import Any

from .load import Account, BenchOptions, parse_account, parse_mix, run_bench
from .report import format_text

_DEMO = Account("demo", "demo1234", "10690000")
_DEMO_CMPP = Account("900001", "demo1234", "10690000")  # SP_Id, shared secret, Src_Id
_DEMO_HTTP = Account("demo", "demo-api-secret", "10690000")  # system_id, API secret
_PORTS = {"smpp": 2775, "cmpp": 7890, "http": 8776}


def add_bench_command(sub: Any) -> None:
    bench = sub.add_parser(
        "bench",
        help="load-test an SMPP server (this gateway by default)",
        description="Send submit_sm over N transceiver connections and match the receipts. Exit status: "
        "0 every submit_sm answered and every receipt received; 1 some missing; 2 connect or bind failed.",
    )
    target = bench.add_argument_group("target")
    target.add_argument("--host", default="127.0.0.1")
    target.add_argument("--port", type=int, help="default 2775 (SMPP), 7890 (CMPP) or 8776 (HTTP)")
    target.add_argument(
        "--protocol",
        choices=("smpp", "cmpp", "http"),
        default="smpp",
        help="cmpp: CMPP 3.0 connections, --account SP_ID:SECRET:SRC_ID (default 900001:demo1234:10690000); "
        "http: the v1 JSON API, --account ID:API_SECRET (default demo:demo-api-secret), receipts by webhook",
    )
    target.add_argument(
        "--account",
        action="append",
        metavar="ID:PASSWORD:SOURCE",
        help="bind as this account (repeat for several; connections take them in turn); default demo:demo1234:10690000",
    )
    load = bench.add_argument_group("load")
    load.add_argument("-c", "--connections", type=int, default=4)
    load.add_argument("-w", "--window", type=int, default=100, help="unanswered submit_sm per connection")
    load.add_argument(
        "-r", "--rate", type=float, default=0.0, help="submit_sm/s over all connections (0: as fast as possible)"
    )
    load.add_argument(
        "-b", "--batch", type=int, default=100, help="HTTP: messages per POST /v1/messages/batch (default 100)"
    )
    load.add_argument("-n", "--count", type=int, help="submit_sm to send (default 10000 unless --duration)")
    load.add_argument("-d", "--duration", type=float, help="seconds to keep sending, instead of a count")
    load.add_argument(
        "--registered-delivery", type=int, default=1, choices=(0, 1, 2), help="default 1: wait for receipts"
    )
    load.add_argument(
        "--mix",
        default="gsm7",
        help="kinds of message and their weights, e.g. gsm7=90,ucs2=8,long=2 (a long message is 3 submit_sm)",
    )
    load.add_argument("--dst", default="13800138100", help="first destination number")
    load.add_argument("--dst-count", type=int, default=1000, help="destinations cycled through")
    load.add_argument("--seed", type=int, default=1, help="makes the mix reproducible")
    limits = bench.add_argument_group("limits and output")
    limits.add_argument("--timeout", type=float, default=60.0, help="s after the last submit_sm for its response")
    limits.add_argument("--receipt-timeout", type=float, default=30.0, help="s after the last response for receipts")
    limits.add_argument("--progress", type=float, default=1.0, help="s between progress lines on stderr (0: none)")
    limits.add_argument("--json", action="store_true", help="print the report as one JSON object")
    limits.add_argument(
        "--server-pid",
        type=int,
        help="the gateway's process id: the report adds its CPU time per message (Linux /proc)",
    )
    bench.set_defaults(func=cmd_bench)


def options_from_args(args: argparse.Namespace) -> BenchOptions:
    for name in ("connections", "window", "dst_count"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be at least 1")
    if args.count is not None and args.count < 1:
        raise ValueError("--count must be at least 1")
    if args.duration is not None and args.duration <= 0:
        raise ValueError("--duration must be positive")
    if args.rate < 0:
        raise ValueError("--rate must not be negative")
    if not args.dst.isdigit():
        raise ValueError("--dst must be digits")
    if args.batch < 1:
        raise ValueError("--batch must be at least 1")
    default = {"cmpp": _DEMO_CMPP, "http": _DEMO_HTTP}.get(args.protocol, _DEMO)
    accounts = tuple(parse_account(a) for a in args.account) if args.account else (default,)
    count = args.count if args.count is not None else (None if args.duration is not None else 10_000)
    return BenchOptions(
        host=args.host,
        port=args.port if args.port is not None else _PORTS[args.protocol],
        accounts=accounts,
        connections=args.connections,
        window=args.window,
        rate=args.rate,
        count=count,
        duration=args.duration,
        registered_delivery=args.registered_delivery,
        mix=parse_mix(args.mix),
        dst=args.dst,
        dst_count=args.dst_count,
        timeout=args.timeout,
        receipt_timeout=args.receipt_timeout,
        progress=args.progress,
        seed=args.seed,
    )


def cmd_bench(args: argparse.Namespace) -> int:
    try:
        options = options_from_args(args)
    except ValueError as err:
        print(f"smppgw bench: {err}", file=sys.stderr)
        return 2
    from .http import cpu_seconds  # noqa: PLC0415

    server_cpu = cpu_seconds(args.server_pid) if args.server_pid else None
    client_cpu = time.process_time()
    if args.protocol == "http":
        from .http import run_http_bench  # noqa: PLC0415 (only an HTTP run needs it)

        report, code = asyncio.run(run_http_bench(options, args.batch))
    elif args.protocol == "cmpp":
        from . import cmpp  # noqa: PLC0415 (only a CMPP run needs it)

        report, code = asyncio.run(
            run_bench(
                options,
                connection=cmpp.CmppConnection,
                templates_of=cmpp.build_templates,
                status_label=cmpp.result_label,
            )
        )
    else:
        report, code = asyncio.run(run_bench(options))
    messages = max(report["answered"], 1)
    report["client_cpu_ms_per_message"] = round((time.process_time() - client_cpu) * 1000 / messages, 4)
    if server_cpu is not None:
        spent = cpu_seconds(args.server_pid) - server_cpu
        report["server_cpu_ms_per_message"] = round(spent * 1000 / messages, 4)
    if args.json:
        print(json.dumps(report))
    else:
        print(format_text(report))
    return code
