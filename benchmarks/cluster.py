"""Scaling over 1, 2 and 3 nodes on one PostgreSQL: `smppgw bench` against each node directly
(one bench process per node, started together), with fixtures/bench.toml on every node (plus one
account per node's bench).

    python benchmarks/cluster.py [-n 9000] [--nodes 1,2,3] [--haproxy] [--rounds 1]

With --haproxy every bench connects to one address, a real HAProxy (fixtures/haproxy.cfg, PROXY
protocol v2, leastconn) in front of the nodes, as clients of a cluster do; HAProxy's CPU is reported.

Starts a throwaway PostgreSQL (Debian's server binaries, as the tests do) and a fresh database per
row, prints one line per row and a Markdown table: messages/s end to end (receipts received) over
all nodes (and, first, one node on its SQLite file for comparison), the submit_sm_resp p99 of the
slowest node, CPU µs per message of the nodes together and of PostgreSQL (all its processes), from
/proc.  Linux only.

With --rounds N every row is measured N times, the rows of a round one after the other, and the table
shows each row's medians, with the ratio of a node on PostgreSQL to the node on SQLite per round
(CPU per message of one node: the issue's 1.3x).  A single round's ratio moves by +-0.2 on a shared
machine; the median of several is the figure to quote.
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

from cluster_harness import GatewayCluster  # noqa: E402
from haproxy_cluster import HAProxyCluster, on_postgres  # noqa: E402
from pg_harness import start_cluster  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its threads (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# One account per node's bench: an account's receipts go to whichever of its receivers (on any
# node) claims them first, and a bench process counts only the receipts it receives.
BENCH_ACCOUNT = """
[accounts.bench{i}]
password = "bench123"
source_addrs = ["1069009{i}"]
max_binds = 100
rate_plan = "standard"
initial_balance = 1000000000000
"""


def with_bench_accounts(text: str) -> str:
    return text + "".join(BENCH_ACCOUNT.format(i=i) for i in range(8))


def bench_base(tmp: Path) -> Path:
    """fixtures/bench.toml with its CMPP and HTTP listeners off: the harness gives the free ports to
    the configuration's listeners in the demo's order (SMPP, admin), and bench.toml's [http_api] and
    [cmpp] come before [admin]."""
    text = (ROOT / "fixtures" / "bench.toml").read_text(encoding="utf-8")
    for endpoint in ("tcp:8776:interface=127.0.0.1", "tcp:7890:interface=127.0.0.1"):
        assert f'listen = "{endpoint}"' in text, f"fixtures/bench.toml: no listener on {endpoint}"
        text = text.replace(f'listen = "{endpoint}"', 'listen = ""', 1)
    path = tmp / "bench-base.toml"
    path.write_text(text, encoding="utf-8")
    return path


def bench_cmd(port: int, count: int, index: int) -> list[str]:
    cmd = [sys.executable, "-m", "smppgw", "bench", "--port", str(port), "-n", str(count), "-c", "2", "-w", "100"]
    return [*cmd, "--account", f"bench{index}:bench123:1069009{index}", "--json", "--progress", "0"]


def row(nodes: int, count: int, pg: Any, sqlite: bool = False) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="smppgw-cluster-bench-") as tmp:
        url = "" if sqlite else pg.create_database()
        cluster = GatewayCluster(Path(tmp), url, with_bench_accounts, base=bench_base(Path(tmp)))
        try:
            started = cluster.start(nodes)
            time.sleep(1.0)  # let start-up settle
            node_pids = [n.proc.pid for n in started if n.proc is not None]
            pg_before = {pid: cpu_seconds(pid) for pid in pg.postgres_pids()}
            nodes_before = sum(cpu_seconds(pid) for pid in node_pids)
            began = time.monotonic()
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            runs = [
                subprocess.Popen(bench_cmd(n.smpp_port, count // nodes, i), stdout=subprocess.PIPE, env=env)
                for i, n in enumerate(started)
            ]
            results = [json.loads(p.communicate()[0]) for p in runs]
            wall = time.monotonic() - began
            nodes_cpu = sum(cpu_seconds(pid) for pid in node_pids) - nodes_before
            pg_cpu = sum(cpu_seconds(pid) - pg_before.get(pid, 0.0) for pid in pg.postgres_pids())
        finally:
            cluster.stop()
    sent = sum(r["submitted"] for r in results)
    receipts = sum(r.get("receipts", r["submitted"]) for r in results)
    return {
        "nodes": "1 (SQLite)" if sqlite else nodes,
        "messages": sent,
        "rate": receipts / wall,
        "p99_ms": max(r["submit_latency_ms"]["p99"] for r in results),
        "node_cpu_us": nodes_cpu / max(sent, 1) * 1e6,
        "pg_cpu_us": pg_cpu / max(sent, 1) * 1e6,
        "ok": all(r.get("ok") for r in results),
    }


def row_haproxy(nodes: int, count: int, pg: Any) -> dict[str, Any]:
    """The same load, every bench through one HAProxy in front of the nodes."""
    with tempfile.TemporaryDirectory(prefix="smppgw-cluster-bench-") as tmp:
        url = pg.create_database()
        cluster = HAProxyCluster(
            Path(tmp),
            nodes,
            edit=with_bench_accounts,
            node_edit=lambda name, text: on_postgres(url, name)(text),
            base=bench_base(Path(tmp)),
        )
        try:
            cluster.start()
            time.sleep(1.0)
            node_pids = [n.process.pid for n in cluster.nodes if n.process is not None]
            assert cluster.haproxy is not None
            haproxy_pid = cluster.haproxy.pid
            pg_before = {pid: cpu_seconds(pid) for pid in pg.postgres_pids()}
            nodes_before = sum(cpu_seconds(pid) for pid in node_pids)
            haproxy_before = cpu_seconds(haproxy_pid)
            began = time.monotonic()
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            runs = [
                subprocess.Popen(bench_cmd(cluster.port, count // nodes, i), stdout=subprocess.PIPE, env=env)
                for i in range(nodes)
            ]
            results = [json.loads(p.communicate()[0]) for p in runs]
            wall = time.monotonic() - began
            nodes_cpu = sum(cpu_seconds(pid) for pid in node_pids) - nodes_before
            pg_cpu = sum(cpu_seconds(pid) - pg_before.get(pid, 0.0) for pid in pg.postgres_pids())
            haproxy_cpu = cpu_seconds(haproxy_pid) - haproxy_before
        finally:
            cluster.stop()
    sent = sum(r["submitted"] for r in results)
    receipts = sum(r.get("receipts", r["submitted"]) for r in results)
    return {
        "nodes": f"{nodes} via HAProxy",
        "messages": sent,
        "rate": receipts / wall,
        "p99_ms": max(r["submit_latency_ms"]["p99"] for r in results),
        "node_cpu_us": nodes_cpu / max(sent, 1) * 1e6,
        "pg_cpu_us": pg_cpu / max(sent, 1) * 1e6,
        "haproxy_cpu_us": haproxy_cpu / max(sent, 1) * 1e6,
        "ok": all(r.get("ok") for r in results),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=9000, help="submit_sm per row, shared by the nodes")
    parser.add_argument("--nodes", default="1,2,3")
    parser.add_argument("--haproxy", action="store_true", help="every bench through one HAProxy in front")
    parser.add_argument("--rounds", type=int, default=1, help="measure every row this many times (medians)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    pg = start_cluster()
    rounds: list[list[dict[str, Any]]] = []
    try:
        for _ in range(args.rounds):
            # The baseline: the same node and bench on its SQLite file (PostgreSQL idles meanwhile).
            rows = [row(1, args.n, pg, sqlite=True)]
            print(json.dumps(rows[-1]), flush=True)
            for nodes in (int(n) for n in args.nodes.split(",")):
                result = row_haproxy(nodes, args.n, pg) if args.haproxy else row(nodes, args.n, pg)
                rows.append(result)
                print(json.dumps(result), flush=True)
            rounds.append(rows)
    finally:
        pg.stop()
    print(
        "\n| nodes | rounds | messages | messages/s | submit_sm_resp p99 ms | nodes CPU µs/msg "
        "| PostgreSQL CPU µs/msg | HAProxy CPU µs/msg | ok |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for index, first in enumerate(rounds[0]):
        same = [r[index] for r in rounds]

        def median(key: str, same: list[dict[str, Any]] = same) -> float:
            return float(statistics.median(r[key] for r in same))

        haproxy = f"{median('haproxy_cpu_us'):.1f}" if "haproxy_cpu_us" in first else "-"
        print(
            f"| {first['nodes']} | {len(same)} | {first['messages']} | {median('rate'):,.0f} | {median('p99_ms'):.1f} "
            f"| {median('node_cpu_us'):.0f} | {median('pg_cpu_us'):.0f} | {haproxy} "
            f"| {'yes' if all(r['ok'] for r in same) else 'no'} |"
        )
    if args.nodes.split(",")[0] == "1":  # the second row of each round: one node on PostgreSQL
        ratios = [rows[1]["node_cpu_us"] / rows[0]["node_cpu_us"] for rows in rounds]
        each = " · ".join(f"{r:.2f}" for r in ratios)
        print(f"\none node on PostgreSQL / on SQLite, CPU per message: {each}; median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
