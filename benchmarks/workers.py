"""Scaling of `smppgw serve --workers N` from 1 to 2 processes, measured by the neutral load
generator smppload: two instances at once, one per demo account (demo is owned by worker 0, demo2
by worker 1), each with half the connections and half the messages, window 100,
registered_delivery=1 and every receipt required.

    python benchmarks/workers.py --smppload PATH/smppload.py [-n 20000] [--runs 3]

Prints one line per run and a Markdown table of medians.  Nothing is pinned: the workers, the
supervisor and both load generators share the machine's cores.  Linux only (/proc).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
PYTHON = sys.executable
ACCOUNTS = (("demo", "demo1234", "10690000"), ("demo2", "demo5678", "10690001"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def prepare(work: Path, smpp_port: int, admin_port: int) -> Path:
    """fixtures/bench.toml on free ports, without TLS, with its files next to it in ``work``."""
    shutil.copytree(FIXTURES / "routes", work / "routes")
    shutil.copytree(FIXTURES / "content", work / "content")
    text = (FIXTURES / "bench.toml").read_text(encoding="utf-8")
    text = text.replace("tcp:2775:", f"tcp:{smpp_port}:").replace("tcp:8775:", f"tcp:{admin_port}:")
    text = re.sub(r'(?m)^listen = "tcp:3550[^"]*"', 'listen = ""', text)
    config = work / "bench.toml"
    config.write_text(text, encoding="utf-8")
    return config


def serve(config: Path, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    """Start the gateway; return it and the pids whose CPU is the server's."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [PYTHON, "-m", "smppgw", "serve", "--config", str(config)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    out = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=config.parent, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if (workers == 1 and "SMPP on" in text) or (workers > 1 and f"{workers} workers, SMPP on" in text):
            pids = [int(p) for p in re.findall(r"smppgw worker \d+: admin on .*, pid (\d+)", text)]
            return proc, [proc.pid, *pids]
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"the gateway did not start:\n{log.read_text(errors='replace')}")


def load(args: argparse.Namespace, port: int) -> dict[str, Any]:
    """Both accounts at once; the figures of the two smppload runs added up."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = []
    started = time.monotonic()
    for index, (system_id, password, source) in enumerate(ACCOUNTS):
        cmd = [PYTHON, args.smppload, "--port", str(port), "--system-id", system_id, "--password", password]
        cmd += ["--src", source, "--dst", f"1380013{index}100", "--dst-count", "1000"]
        cmd += ["-n", str(args.n // 2), "-c", str(args.connections // 2), "-w", "100"]
        cmd += ["--rd", "--require-receipts", "--require-ok"]
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=900)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if not lines:
            raise SystemExit(f"no JSON from smppload:\n{out}\n{err}")
        results.append({**json.loads(lines[-1]), "exit_status": proc.returncode})
    wall = time.monotonic() - started
    return {
        "rate": sum(r["receipt_tps"] for r in results),
        "wall_rate": args.n / wall,
        "p99_ms": max(r["lat_p99_ms"] for r in results),
        "ok": all(r["exit_status"] == 0 for r in results),
    }


def measure(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"smppgw-workers{workers}-"))
    smpp_port = free_port()
    config = prepare(work, smpp_port, free_port())
    proc, pids = serve(config, workers, work / "serve.log")
    rows = []
    try:
        for i in range(args.runs):
            before = sum(cpu_seconds(pid) for pid in pids)
            row = load(args, smpp_port)
            row["cpu_us"] = (sum(cpu_seconds(pid) for pid in pids) - before) / args.n * 1e6
            rows.append(row)
            print(f"{workers} worker(s) run {i + 1}: {json.dumps(row)}", flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    check = subprocess.run(
        [PYTHON, "-m", "smppgw", "ledger", "check", "--config", str(config)],
        cwd=work,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    print(f"{workers} worker(s): {check.stdout.strip()}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "workers": workers,
        "rate": statistics.median(r["rate"] for r in rows),
        "wall_rate": statistics.median(r["wall_rate"] for r in rows),
        "p99_ms": statistics.median(r["p99_ms"] for r in rows),
        "cpu_us": statistics.median(r["cpu_us"] for r in rows),
        "ok": all(r["ok"] for r in rows) and check.returncode == 0,
        "runs": args.runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smppload", required=True, help="path of the neutral load generator smppload.py")
    parser.add_argument("-n", type=int, default=20_000, help="submit_sm per run over both accounts (default 20000)")
    parser.add_argument("-c", "--connections", type=int, default=4, help="connections over both accounts (default 4)")
    parser.add_argument("--runs", type=int, default=3, help="runs per row; the table shows medians")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to measure")
    args = parser.parse_args()
    results = [measure(args, workers) for workers in args.workers]
    base = results[0]["rate"]
    print()
    print(f"{args.n} submit_sm per run over demo and demo2, {args.connections} connections, window 100, receipts")
    print()
    print(
        "| workers | runs | messages/s with receipts | vs first row | wall-clock messages/s "
        "| submit_sm_resp p99 ms | server CPU us/msg | ok |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['workers']} | {r['runs']} | {r['rate']:,.0f} | {r['rate'] / base:.2f}x | {r['wall_rate']:,.0f} "
            f"| {r['p99_ms']:.1f} | {r['cpu_us']:.0f} | {'yes' if r['ok'] else 'NO'} |"
        )


if __name__ == "__main__":
    main()
