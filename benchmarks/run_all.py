"""Reproduce the table of docs/benchmarks.md: the bare responder and `smppgw serve` with
fixtures/bench.toml, measured in the same session by the neutral load generator smppload and by
`smppgw bench`; server and load generator each pinned to one core with taskset.

    python benchmarks/run_all.py --smppload PATH/smppload.py --bare PATH/bare_responder.py

Prints one line per run and a Markdown table of medians.  Linux only (taskset, /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH_CONFIG = ROOT / "fixtures" / "bench.toml"
GATEWAY_PORT = 2775
BARE_PORT = 2776
PYTHON = sys.executable
# The smppgw the children run: this checkout's source (the default), or with --installed the package
# installed in this interpreter's environment (a compiled or a pure build, `smppgw --version` says).
CHILD_ENV: dict[str, str] = {**os.environ, "PYTHONPATH": str(ROOT)}


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {timeout} s")


def start(cmd: list[str], core: int, cwd: Path, port: int) -> subprocess.Popen[bytes]:
    env = CHILD_ENV
    proc = subprocess.Popen(
        ["taskset", "-c", str(core), *cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_port(port)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_client(cmd: list[str], core: int) -> dict[str, Any]:
    env = CHILD_ENV
    out = subprocess.run(
        ["taskset", "-c", str(core), *cmd],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=900,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"no JSON from {' '.join(cmd)}:\n{out.stdout}\n{out.stderr}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["exit_status"] = out.returncode
    return result


def smppload(args: argparse.Namespace, port: int, receipts: bool) -> list[str]:
    cmd = [PYTHON, args.smppload, "--port", str(port), "--system-id", "demo", "--password", "demo1234"]
    cmd += ["--src", "10690000", "--dst", "13800138100", "--dst-count", "1000"]
    cmd += ["-n", str(args.n), "-c", "4", "-w", "100", "--require-ok"]
    return cmd + (["--rd", "--require-receipts"] if receipts else ["--bind", "tx"])


def bench(args: argparse.Namespace, port: int, extra: list[str]) -> list[str]:
    cmd = [PYTHON, "-m", "smppgw", "bench", "--port", str(port), "-n", str(args.n), "-c", "4", "-w", "100"]
    return [*cmd, "--json", "--progress", "0", *extra]


def measure(
    label: str, server: subprocess.Popen[bytes], cmd: list[str], args: argparse.Namespace, runs: int
) -> dict[str, Any]:
    rows = []
    for i in range(runs):
        before = cpu_seconds(server.pid)
        result = run_client(cmd, args.client_core)
        cpu = cpu_seconds(server.pid) - before
        if "submit_tps" in result:  # smppload
            rate = result["receipt_tps"] if result["registered_delivery"] else result["submit_tps"]
            p99 = result["lat_p99_ms"]
            sent = result["sent"]
        else:  # smppgw bench
            rate = result["end_to_end_rate"] if result["registered_delivery"] else result["submit_rate"]
            p99 = result["submit_latency_ms"]["p99"]
            sent = result["submitted"]
        row = {"rate": rate, "p99_ms": p99, "cpu_us": cpu / max(sent, 1) * 1e6, "ok": result.get("ok")}
        rows.append(row)
        print(f"{label} run {i + 1}: {json.dumps(row)}", flush=True)
    return {
        "label": label,
        "rate": statistics.median(r["rate"] for r in rows),
        "p99_ms": statistics.median(r["p99_ms"] for r in rows),
        "cpu_us": statistics.median(r["cpu_us"] for r in rows),
        "ok": all(r["ok"] for r in rows),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smppload", required=True, help="path of the neutral load generator smppload.py")
    parser.add_argument("--bare", required=True, help="path of bare_responder.py")
    parser.add_argument("-n", type=int, default=50_000, help="submit_sm per run (default 50000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per row; the table shows medians")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument(
        "--installed", action="store_true", help="run the smppgw installed beside this interpreter, not the checkout's"
    )
    args = parser.parse_args()
    # The servers run in a scratch folder: a path given relative to here must still find the scripts.
    for option in ("smppload", "bare"):
        script = Path(getattr(args, option)).resolve()
        if not script.is_file():
            raise SystemExit(f"--{option}: no such file: {script}")
        setattr(args, option, str(script))
    if shutil.which("taskset") is None:
        raise SystemExit("taskset (util-linux) is needed")
    if args.installed:
        CHILD_ENV.pop("PYTHONPATH", None)
    build = subprocess.run([PYTHON, "-m", "smppgw", "--version"], env=CHILD_ENV, cwd=tempfile.gettempdir(),
                           capture_output=True, text=True, check=True)  # fmt: skip
    print(f"server: {build.stdout.strip()}", flush=True)

    results = []
    work = Path(tempfile.mkdtemp(prefix="smppgw-bench-"))
    bare = start([PYTHON, args.bare, "--port", str(BARE_PORT)], args.server_core, work, BARE_PORT)
    try:
        results.append(
            measure("bare responder, smppload, receipts", bare, smppload(args, BARE_PORT, True), args, args.runs)
        )
        results.append(
            measure("bare responder, smppload, no receipts", bare, smppload(args, BARE_PORT, False), args, args.runs)
        )
    finally:
        stop(bare)
    serve = [PYTHON, "-m", "smppgw", "serve", "--config", str(BENCH_CONFIG)]
    gateway = start(serve, args.server_core, work, GATEWAY_PORT)  # its store goes to work/state/
    try:
        results.append(
            measure("smppgw, smppload, receipts", gateway, smppload(args, GATEWAY_PORT, True), args, args.runs)
        )
        results.append(
            measure("smppgw, smppload, no receipts", gateway, smppload(args, GATEWAY_PORT, False), args, args.runs)
        )
        results.append(
            measure("smppgw, smppgw bench, receipts", gateway, bench(args, GATEWAY_PORT, []), args, args.runs)
        )
        results.append(
            measure(
                "smppgw, smppgw bench at 10,000/s offered",
                gateway,
                bench(args, GATEWAY_PORT, ["--rate", "10000"]),
                args,
                1,
            )
        )
    finally:
        stop(gateway)
        shutil.rmtree(work, ignore_errors=True)

    bare_rate = results[0]["rate"]
    print()
    print(f"{args.n} submit_sm per run, 4 connections, window 100; median of the runs shown")
    print()
    print(
        "| server, client, load | runs | messages/s | of bare responder | submit_sm_resp p99 ms "
        "| server CPU us/msg | ok |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        share = (
            f"{100 * r['rate'] / bare_rate:.1f} %"
            if "receipts" in r["label"] and "no receipts" not in r["label"]
            else ""
        )
        print(
            f"| {r['label']} | {r['runs']} | {r['rate']:,.0f} | {share} | {r['p99_ms']:.1f} | {r['cpu_us']:.0f} | "
            f"{'yes' if r['ok'] else 'NO'} |"
        )


if __name__ == "__main__":
    main()
