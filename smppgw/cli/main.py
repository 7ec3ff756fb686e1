"""The ``smppgw`` command line: ``serve`` runs the gateway; ``config check``, ``ledger check`` and
``db upgrade`` work on files and stores; ``bench`` and ``replay`` are clients; the rest talk to a
running gateway through its admin API."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from .. import __version__
from ..compiled import build_description
from .admin_commands import add_admin_commands
from .maintenance import add_maintenance_commands
from .serve import add_serve_command


class _PrintVersion(argparse.Action):
    """``--version``: the version and the build, on one line (argparse's own action wraps it)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        help_text = "print the version and which modules run compiled, then exit"
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, help=help_text)

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"smppgw {__version__} ({build_description()})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="smppgw", description="An SMPP 3.4 gateway emulator.")
    parser.add_argument("--version", action=_PrintVersion)
    sub = parser.add_subparsers(dest="command", required=True)
    add_serve_command(sub)
    add_maintenance_commands(sub)

    from ..bench.command import add_bench_command  # noqa: PLC0415

    add_bench_command(sub)

    from ..rig.replay import add_replay_command  # noqa: PLC0415

    add_replay_command(sub)
    add_admin_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.func(args)
    return code
