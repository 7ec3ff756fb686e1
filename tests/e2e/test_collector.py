"""A serving gateway runs CPython's cyclic garbage collector less often than the default (its
youngest generation after 20,000 net allocations, not 700) with what start-up built frozen, and says
so in its start-up log; docs/benchmarks.md has what that buys."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import FIXTURES, config_text
from gateway_env import gateway_env
from polling import wait_until

PROGRAM = (
    "import gc; from smppgw.cli.collector import tune_collector; "
    "before = gc.get_threshold(); print(tune_collector()); "
    "print(*before, *gc.get_threshold(), gc.get_freeze_count())"
)


def test_tuning_raises_only_the_young_threshold_and_freezes_what_exists() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True, env=gateway_env()
    )
    said, numbers = done.stdout.splitlines()
    young_was, middle_was, old_was, young, middle, old, frozen = map(int, numbers.split())
    assert (young, middle, old) == (20_000, middle_was, old_was)
    assert frozen > 1_000  # at least the modules smppgw and the standard library imported
    assert said == (
        f"garbage collector: young generation every 20,000 net allocations (was {young_was:,}), "
        f"{frozen:,} start-up objects frozen"
    )


def test_serve_says_in_its_log_how_the_collector_runs(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "routes", tmp_path / "routes")
    shutil.copytree(FIXTURES / "content", tmp_path / "content")
    config = tmp_path / "gateway.toml"
    config.write_text(config_text(tmp_path / "state" / "smppgw.db"), encoding="utf-8")
    log = tmp_path / "gateway.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "smppgw", "serve", "--config", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
        env=gateway_env(),
    )
    pattern = re.compile(r"smppgw: garbage collector: young generation every 20,000 net allocations \(was 700\), "
                         r"[\d,]+ start-up objects frozen")  # fmt: skip
    try:
        wait_until(lambda: pattern.search(log.read_text()), 30, detail=lambda: "gateway log:\n" + log.read_text())
    finally:
        proc.terminate()
        proc.wait(20)
