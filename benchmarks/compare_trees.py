"""Server CPU per message of two or more source trees, measured alternately in one session.

    python benchmarks/compare_trees.py --smppload PATH/smppload.py OLD_TREE NEW_TREE [MORE...] \
        [--rounds 2] [-n N] [--no-receipts]

Each tree's `smppgw serve --config fixtures/bench.toml` is pinned to core 0 and the neutral load
generator to core 1 (end to end with receipts, or submit_sm only with --no-receipts; 4 connections,
window 100); the trees alternate round by round, so a machine whose load drifts affects both alike.
Prints one line per run, then each tree's median and best run (on a shared machine the best run
is the one least disturbed by other work).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smppload", required=True, help="path of the neutral load generator smppload.py")
    parser.add_argument("trees", nargs="+", help="two or more source trees (checkouts) to compare")
    parser.add_argument("-n", type=int, default=20_000, help="submit_sm per run (default 20000)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-receipts", action="store_true", help="submit_sm only (bind tx), no receipts asked")
    args = parser.parse_args()
    if len(args.trees) < 2:
        parser.error("give at least two trees")
    figures: dict[str, list[float]] = {tree: [] for tree in args.trees}
    for _ in range(args.rounds):
        for tree in args.trees:
            with tempfile.TemporaryDirectory() as folder:
                env = {**os.environ, "PYTHONPATH": tree}
                config = str(Path(tree) / "fixtures" / "bench.toml")
                cmd = ["taskset", "-c", "0", sys.executable, "-m", "smppgw", "serve", "--config", config]
                server = subprocess.Popen(
                    cmd, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                try:
                    run_all.wait_port(run_all.GATEWAY_PORT)
                    before = run_all.cpu_seconds(server.pid)
                    result = run_all.run_client(run_all.smppload(args, run_all.GATEWAY_PORT, not args.no_receipts), 1)
                    cpu = run_all.cpu_seconds(server.pid) - before
                finally:
                    run_all.stop(server)
            per_message = cpu / max(result["sent"], 1) * 1e6
            rate = result["submit_tps"] if args.no_receipts else result["receipt_tps"]
            print(f"{tree}: {per_message:.1f} us CPU/msg, {rate:,.0f} msg/s", flush=True)
            figures[tree].append(per_message)
            time.sleep(1)
    for tree, runs in figures.items():
        print(f"{tree}: median {statistics.median(runs):.1f}, best {min(runs):.1f} us CPU/msg over {len(runs)} runs")


if __name__ == "__main__":
    main()
