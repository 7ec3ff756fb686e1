"""Instructions the gateway executes per message end to end (submit_sm, its response, the carrier's
report, the receipt and its deliver_sm_resp), counted by valgrind's callgrind: a figure that does
not move with what else the machine runs (CPU seconds move by +-15% between runs on a shared
machine; this by 0.1%), so a change worth 5% shows in one run.

    python benchmarks/instructions.py --smppload PATH/smppload.py [-n 3000] [TREE ...]

Each TREE (a checkout, default this one; a compiled build's extension modules built in place with
`python setup.py build_ext --inplace`) serves fixtures/bench.toml under callgrind with its
instrumentation off until the gateway listens; then smppload sends n submit_sm with receipts (4
connections, window 100) and only those instructions are counted, of every thread of the server.
Under callgrind the server runs about 50x slower, so its batches are the ones of a loaded gateway.
With --keep the callgrind files stay, for callgrind_annotate: the C functions' view (what the
interpreter, sqlite3 and the compiled modules spend, and who calls them).
Linux only (valgrind, taskset).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from run_all import wait_port  # this script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
PORT = 2775


def count(tree: Path, args: argparse.Namespace) -> tuple[int, str]:
    """Instructions per message and the build the tree ran ("compiled: ..." or "pure Python")."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    version = subprocess.run([sys.executable, "-m", "smppgw", "--version"], env=env, capture_output=True,
                             text=True, check=True, cwd=tempfile.gettempdir()).stdout.strip()  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="smppgw-instructions-"))
    out = work / "callgrind.out"
    server = subprocess.Popen(
        ["taskset", "-c", str(args.server_core), "valgrind", "--tool=callgrind", "--instr-atstart=no",
         f"--callgrind-out-file={out}", sys.executable, "-m", "smppgw", "serve", "--config",
         str(tree / "fixtures" / "bench.toml")],
        cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_port(PORT, 300)
        time.sleep(2)  # the start-up's own calls, after the port opens
        subprocess.run(["callgrind_control", "-i", "on", str(server.pid)], check=True, capture_output=True)
        load = subprocess.run(
            ["taskset", "-c", str(args.client_core), sys.executable, args.smppload, "--port", str(PORT),
             "--system-id", "demo", "--password", "demo1234", "--src", "10690000", "--dst", "13800138100",
             "--dst-count", "1000", "-n", str(args.n), "-c", "4", "-w", "100", "--rd", "--require-ok",
             "--require-receipts", "--timeout", "900", "--receipt-timeout", "300"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        subprocess.run(["callgrind_control", "-i", "off", str(server.pid)], check=True, capture_output=True)
        subprocess.run(["callgrind_control", "-d", str(server.pid)], check=True, capture_output=True)
        result = json.loads(load.stdout.strip().splitlines()[-1])
        if load.returncode != 0:
            raise SystemExit(f"smppload failed on {tree}: {result}")
    finally:
        server.terminate()
        server.wait(120)
    total = 0
    for part in work.glob("callgrind.out*"):
        for line in part.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("totals:"):
                total += int(line.split()[1])
    if args.keep:
        print(f"callgrind output of {tree} kept in {work} (callgrind_annotate --tree=caller FILE)", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
    return round(total / args.n), version


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("trees", nargs="*", type=Path, default=[ROOT], help="checkouts to measure (default: this one)")
    parser.add_argument("--smppload", required=True, help="path of the neutral load generator smppload.py")
    parser.add_argument("-n", type=int, default=3000, help="submit_sm with receipts per tree (default 3000)")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep each tree's callgrind files (where: on stderr)")
    args = parser.parse_args()
    args.smppload = str(Path(args.smppload).resolve())
    for tool in ("valgrind", "callgrind_control", "taskset"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is needed (Debian: valgrind, util-linux)")
    print("| tree | build | instructions per message |")
    print("|---|---|---|")
    for tree in args.trees:
        per_message, version = count(tree.resolve(), args)
        build = version.split(" ", 2)[-1].strip("()")
        if build.startswith("compiled: "):
            build = f"compiled, {len(build.split(','))} modules"
        print(f"| {tree} | {build} | {per_message:,} |", flush=True)


if __name__ == "__main__":
    main()
