"""What HAProxy in front of a node costs: `smppgw bench` against one node directly, and against one
node behind HAProxy (fixtures/haproxy.cfg: TCP mode, send-proxy-v2), both with fixtures/bench.toml
and a fresh store.  Prints one line per run and the medians: messages/s, submit_sm_resp p99, and
CPU µs per message of the node and of HAProxy (user + system time over the run's messages).

    python benchmarks/haproxy_overhead.py [--count 20000] [--runs 3] [--receipts]

Linux only (/proc); needs Debian's haproxy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from haproxy_cluster import FIXTURES, HAProxyCluster, Node, free_port, node_config  # noqa: E402

BENCH = FIXTURES / "bench.toml"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench(port: int, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, "-m", "smppgw", "bench", "--port", str(port), "-n", str(args.count)]
    command += ["-c", "4", "-w", "100", "--registered-delivery", "1" if args.receipts else "0", "--json"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=600).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def measure(port: int, pids: dict[str, int], args: argparse.Namespace) -> dict[str, float]:
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    result = bench(port, args)
    if not result["ok"]:
        raise SystemExit(f"bench failed: {result['errors']}")
    row = {
        "rate": result["end_to_end_rate"] if args.receipts else result["submit_rate"],
        "p99": result["submit_latency_ms"]["p99"],
    }
    for name, pid in pids.items():
        row[f"{name}_us"] = (cpu_seconds(pid) - before[name]) * 1e6 / args.count
    return row


def direct(workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    node = Node("direct", free_port(), free_port(), workdir)
    workdir.mkdir(parents=True)
    config = workdir / "gateway.toml"
    config.write_text(node_config(node.smpp_port, node.admin_port, workdir / "bench.db", None, BENCH, proxy=False))
    log = node.log_path.open("wb")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "smppgw", "serve", "--config", str(config)], cwd=workdir, env=env, stdout=log, stderr=log
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if node.api("GET", "/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit(f"the node did not start:\n{node.log()[-2000:]}")
            time.sleep(0.05)
        return measure(node.smpp_port, {"node": process.pid}, args)
    finally:
        process.terminate()
        process.wait()


def behind_haproxy(workdir: Path, args: argparse.Namespace) -> dict[str, float]:
    with HAProxyCluster(workdir, 1, base=BENCH, check_ms=None) as cluster:
        assert cluster.haproxy is not None and cluster.nodes[0].process is not None
        pids = {"node": cluster.nodes[0].process.pid, "haproxy": cluster.haproxy.pid}
        return measure(cluster.port, pids, args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--receipts", action="store_true", help="registered_delivery=1 (default: no receipts)")
    args = parser.parse_args()
    rows: dict[str, list[dict[str, float]]] = {"direct": [], "haproxy": []}
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            for mode, measure_one in (("direct", direct), ("haproxy", behind_haproxy)):
                row = measure_one(Path(tmp) / f"{mode}{run}", args)
                rows[mode].append(row)
                print(mode, run, json.dumps({k: round(v, 1) for k, v in row.items()}), flush=True)
    kind = "end-to-end msg/s (receipts)" if args.receipts else "submit_sm/s (no receipts)"
    print(f"\n| path | {kind} | submit_sm_resp p99 ms | node CPU µs/msg | HAProxy CPU µs/msg |")
    print("|---|---|---|---|---|")
    for mode, label in (("direct", "client -> node"), ("haproxy", "client -> HAProxy -> node (PROXY v2)")):
        med = {k: statistics.median(r[k] for r in rows[mode]) for k in rows[mode][0]}
        haproxy = f"{med['haproxy_us']:.1f}" if "haproxy_us" in med else "-"
        print(f"| {label} | {med['rate']:,.0f} | {med['p99']:.1f} | {med['node_us']:.0f} | {haproxy} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
