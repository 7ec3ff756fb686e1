"""Server CPU per message over SMPP and over CMPP, measured alternately against one gateway.

    python benchmarks/cmpp_vs_smpp.py [--rounds 3] [-n 20000] [-c 4] [--port-offset 31000]

Starts `smppgw serve --config fixtures/bench.toml` (pinned to core 0, an empty store in a temporary
folder) and runs `smppgw bench` on core 1, with receipts: SMPP with a window of 16, CMPP 3.0 with
its window of 16, and SMPP with a window of 100, round after round, so a machine whose load drifts
affects all alike.  The gateway's ports are bench.toml's plus ``--port-offset`` (another gateway may
hold the usual ones; a client of another run bound to the same port as the same account would take
some of the receipts, and the run would report them missing).  CPU is the server process's user +
system time during each run.  Prints one line per run, then the medians.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run_all

ROOT = Path(__file__).resolve().parent.parent
SMPP_PORT, CMPP_PORT = 2775, 7890
RUNS = (("smpp w16", "smpp", 16), ("cmpp w16", "cmpp", 16), ("smpp w100", "smpp", 100))


def bench(protocol: str, port: int, window: int, count: int, connections: int) -> list[str]:
    return [
        sys.executable, "-m", "smppgw", "bench", "--protocol", protocol, "--port", str(port),
        "-c", str(connections), "-w", str(window),
        "-n", str(count), "--mix", "gsm7=90,ucs2=8,long=2", "--seed", "1", "--progress", "0", "--json",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=20_000, help="submits per run (default 20000)")
    parser.add_argument("-c", type=int, default=4, help="connections (default 4)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port-offset", type=int, default=31_000)
    args = parser.parse_args()
    shift = args.port_offset
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in RUNS}
    with tempfile.TemporaryDirectory() as folder:
        text = (ROOT / "fixtures" / "bench.toml").read_text(encoding="utf-8")
        text = re.sub(r'"tcp:(\d+):', lambda m: f'"tcp:{int(m.group(1)) + shift}:', text)
        config = str(Path(folder) / "bench.toml")
        Path(config).write_text(text, encoding="utf-8")
        (Path(folder) / "routes").symlink_to(ROOT / "fixtures" / "routes")  # its paths are relative to it
        cmd = ["taskset", "-c", "0", sys.executable, "-m", "smppgw", "serve", "--config", config]
        env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
        server = subprocess.Popen(cmd, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            run_all.wait_port(SMPP_PORT + shift)
            run_all.wait_port(CMPP_PORT + shift)
            for _ in range(args.rounds):
                for name, protocol, window in RUNS:
                    before = run_all.cpu_seconds(server.pid)
                    report: dict[str, Any] = run_all.run_client(
                        bench(
                            protocol, (SMPP_PORT if protocol == "smpp" else CMPP_PORT) + shift, window, args.n, args.c
                        ),
                        1,
                    )
                    cpu = run_all.cpu_seconds(server.pid) - before
                    per_message = cpu / max(report["submitted"], 1) * 1e6
                    rate = report["end_to_end_rate"]
                    figures[name].append((per_message, rate))
                    p99 = report["submit_latency_ms"]["p99"]
                    print(
                        f"{name}: {per_message:.0f} us CPU/msg, {rate:,.0f} msg/s end to end, resp p99 {p99} ms,"
                        f" ok {report['ok']}"
                        + (
                            ""
                            if report["ok"]
                            else f" ({report['receipts_missing']} receipts missing, {report['errors']})"
                        ),
                        flush=True,
                    )
                    time.sleep(1)
        finally:
            run_all.stop(server)
    print(json.dumps({
        name: {"cpu_us_per_msg": round(statistics.median(c for c, _ in runs)),
               "msg_per_s": round(statistics.median(r for _, r in runs))}
        for name, runs in figures.items()
    }))  # fmt: skip


if __name__ == "__main__":
    main()
