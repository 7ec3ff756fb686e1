"""Soak test: a real gateway process under an hour (or --duration seconds) of mixed load.

Binds come and go (transmitters submitting with receipts requested, receivers of both demo
accounts that unbind and rebind), enquire_links, MO messages through the admin API, and carrier
outages switched on and off.  Every --interval seconds it samples the gateway's resident memory,
its open file descriptors and the receipts pending in its store.  At the end it stops the load,
waits for every acknowledged message's receipt, checks the ledger, and fails (exit 1) when memory
or descriptors kept growing, a receipt is missing, or a receipt reached the wrong account.

Run from the repository root (one line of JSON figures at the end):

    python benchmarks/soak.py --duration 3600 --interval 5
    python benchmarks/soak.py --duration 8 --interval 0.5      # the short variant the suite runs
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
ACCOUNTS = {"demo": ("demo1234", "10690000"), "demo2": ("demo5678", "10690001")}
TOKEN = "demo-admin-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Gateway:
    def __init__(self, folder: Path) -> None:
        shutil.copytree(FIXTURES / "routes", folder / "routes")
        shutil.copytree(FIXTURES / "content", folder / "content")
        self.smpp, self.admin = free_port(), free_port()
        self.store = folder / "state" / "smppgw.db"
        text = (FIXTURES / "gateway.toml").read_text(encoding="utf-8")
        text = re.sub(r'(?m)^listen = "tcp:2775[^"]*"', f'listen = "tcp:{self.smpp}:interface=127.0.0.1"', text)
        text = re.sub(r'(?m)^listen = "tcp:8775[^"]*"', f'listen = "tcp:{self.admin}:interface=127.0.0.1"', text)
        text = re.sub(r'(?m)^listen = "tcp:3550[^"]*"', 'listen = ""', text)
        text = re.sub(r"(?m)^default_validity_s = .*$", "default_validity_s = 2", text)  # lost ones EXPIRE soon
        config = folder / "gateway.toml"
        config.write_text(text, encoding="utf-8")
        self.log = folder / "gateway.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "smppgw", "serve", "--config", str(config)],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.smpp), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        raise SystemExit("gateway did not start:\n" + self.log.read_text())

    def api(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.admin}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def sample(self) -> dict[str, int]:
        pid = self.proc.pid
        rss_kb = 0
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
        fds = len(os.listdir(f"/proc/{pid}/fd"))
        with sqlite3.connect(f"file:{self.store}?mode=ro", uri=True, timeout=5) as db:
            pending = db.execute("SELECT COUNT(*) FROM deliveries").fetchone()[0]
        return {"rss_kb": rss_kb, "fds": fds, "pending_receipts": int(pending)}

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=30)


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.acked: dict[str, set[str]] = {a: set() for a in ACCOUNTS}
        self.receipts: dict[str, set[str]] = {a: set() for a in ACCOUNTS}
        self.refused: dict[str, int] = {}  # command_status (hex) -> count
        self.topups = 0
        self.binds = 0
        self.enquire_links = 0
        self.mo = 0
        self.outages = 0
        self.errors: list[str] = []


def answer(c: Any, pdu: Any, command: str) -> None:
    resp = smpplib.smpp.make_pdu(command, client=c)
    resp.sequence = pdu.sequence
    c.send_pdu(resp)


def connect(port: int, account: str, mode: str) -> Any:
    c = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    c.connect()
    getattr(c, {"tx": "bind_transmitter", "rx": "bind_receiver"}[mode])(
        system_id=account, password=ACCOUNTS[account][0]
    )
    return c


def submitter(gw: Gateway, tally: Tally, stop: threading.Event, seed: int, rate: float) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        account = rng.choice(list(ACCOUNTS))
        try:
            c = connect(gw.smpp, account, "tx")
            with tally.lock:
                tally.binds += 1
            session_end = time.monotonic() + rng.uniform(1, 10)  # binds come and go
            while not stop.is_set() and time.monotonic() < session_end:
                if rng.random() < 0.05:
                    c.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=c))
                    with tally.lock:
                        tally.enquire_links += 1
                else:
                    number = f"13{rng.randrange(10**9):09d}"
                    c.send_message(
                        source_addr=ACCOUNTS[account][1],
                        destination_addr=number,
                        short_message=b"soak",
                        registered_delivery=1,
                    )
                pdu = c.read_pdu()
                while pdu.command not in ("submit_sm_resp", "enquire_link_resp"):
                    pdu = c.read_pdu()
                if pdu.command == "submit_sm_resp":
                    with tally.lock:
                        if pdu.status == 0:
                            tally.acked[account].add(pdu.message_id.decode())
                        else:  # e.g. RMSGQFUL while every carrier of a route is down
                            key = f"0x{pdu.status:08X}"
                            tally.refused[key] = tally.refused.get(key, 0) + 1
                time.sleep(rng.expovariate(rate))
            c.unbind()
            c.disconnect()
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as err:
            with tally.lock:
                tally.errors.append(f"submitter: {err!r}")
            time.sleep(0.5)


def receiver(gw: Gateway, account: str, tally: Tally, stop: threading.Event, seed: int, churn: bool) -> None:
    rng = random.Random(seed)
    while not stop.is_set():
        try:
            c = connect(gw.smpp, account, "rx")
            c._socket.settimeout(0.5)
            with tally.lock:
                tally.binds += 1
            session_end = time.monotonic() + (rng.uniform(2, 15) if churn else 1e9)
            while not stop.is_set() and time.monotonic() < session_end:
                try:
                    pdu = c.read_pdu()
                except TimeoutError:
                    continue
                if pdu.command == "deliver_sm":
                    if pdu.esm_class & 0x04:
                        text = pdu.short_message.decode("ascii", "replace")
                        message_id = text.split("id:", 1)[1].split(" ", 1)[0]
                        with tally.lock:
                            tally.receipts[account].add(message_id)
                    answer(c, pdu, "deliver_sm_resp")
                elif pdu.command == "enquire_link":
                    answer(c, pdu, "enquire_link_resp")
            c._socket.settimeout(10)
            c.unbind()
            c.disconnect()
        except (smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError) as err:
            with tally.lock:
                tally.errors.append(f"receiver {account}: {err!r}")
            time.sleep(0.5)


def operator(gw: Gateway, tally: Tally, stop: threading.Event, seed: int, outage_every: float) -> None:
    """MO messages now and then; a carrier outage switched on and off; top-ups before the money runs out."""
    rng = random.Random(seed)
    down: str | None = None
    next_switch = time.monotonic() + outage_every
    next_balance_check = 0.0
    while not stop.wait(0.5):
        try:
            if time.monotonic() >= next_balance_check:  # prepaid: the load must not stop for lack of money
                next_balance_check = time.monotonic() + 5
                for account in ACCOUNTS:
                    if gw.api("GET", f"/api/accounts/{account}")["balance"] < 500_000:
                        reference = f"SOAK-{account}-{tally.topups + 1}"
                        gw.api("POST", f"/api/accounts/{account}/topups", {"amount": 1_000_000, "reference": reference})
                        with tally.lock:
                            tally.topups += 1
            if rng.random() < 0.3:
                gw.api("POST", "/api/mo", {"from": f"139{rng.randrange(10**8):08d}", "to": "10690000", "text": "TD"})
                with tally.lock:
                    tally.mo += 1
            if time.monotonic() >= next_switch:
                if down is None:
                    down = rng.choice(["CMCC", "CUCC", "CTCC"])
                    gw.api("POST", f"/api/carriers/{down}/outage", {"down": True})
                    with tally.lock:
                        tally.outages += 1
                else:
                    gw.api("POST", f"/api/carriers/{down}/outage", {"down": False})
                    down = None
                next_switch = time.monotonic() + outage_every
        except OSError as err:
            with tally.lock:
                tally.errors.append(f"operator: {err!r}")
    if down is not None:
        gw.api("POST", f"/api/carriers/{down}/outage", {"down": False})


def grew(values: list[int], allowance: float) -> bool:
    """True when the last quarter sits clearly above the second quarter (after warm-up)."""
    if len(values) < 8:
        return False
    q = len(values) // 4
    early, late = statistics.median(values[q : 2 * q]), statistics.median(values[3 * q :])
    return late > early + allowance


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=3600.0, help="seconds of load (default 3600)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--submitters", type=int, default=4, help="concurrent submitting binds (default 4)")
    parser.add_argument("--rate", type=float, default=50.0, help="submits/s per submitting bind (default 50)")
    parser.add_argument("--outage-every", type=float, default=20.0, help="seconds between outage switches")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (log, store)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="smppgw-soak-"))
    gw = Gateway(folder)
    tally = Tally()
    stop, stop_receivers = threading.Event(), threading.Event()
    load = [
        threading.Thread(target=submitter, args=(gw, tally, stop, args.seed * 100 + i, args.rate))
        for i in range(args.submitters)
    ]
    load.append(threading.Thread(target=operator, args=(gw, tally, stop, args.seed, args.outage_every)))
    receivers = [
        threading.Thread(target=receiver, args=(gw, account, tally, stop_receivers, args.seed + i, churn))
        for i, (account, churn) in enumerate([("demo", False), ("demo", True), ("demo2", False), ("demo2", True)])
    ]
    samples: list[dict[str, float]] = []
    started = time.monotonic()
    for t in load + receivers:
        t.start()
    while time.monotonic() - started < args.duration:
        time.sleep(args.interval)
        samples.append({"t": round(time.monotonic() - started, 1), **gw.sample()})
        with (folder / "samples.jsonl").open("a", encoding="utf-8") as out:  # readable while it runs
            out.write(json.dumps(samples[-1]) + "\n")
    stop.set()
    for t in load:
        t.join(timeout=30)

    # Drain: every acknowledged message's receipt must arrive (EXPIRED ones after their validity).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with tally.lock:
            if all(tally.acked[a] <= tally.receipts[a] for a in ACCOUNTS):
                break
        time.sleep(0.5)
    stop_receivers.set()
    for t in receivers:
        t.join(timeout=30)
    died = gw.proc.poll() is not None
    final = gw.sample() if not died else {"pending_receipts": -1}
    gw.stop()

    sys.path.insert(0, str(ROOT))
    from smppgw.billing.ledger import check_ledger  # noqa: PLC0415 (this checkout's code)
    from smppgw.store.sqlite import SqliteStore  # noqa: PLC0415

    store = SqliteStore(gw.store)
    crossed = 0
    try:
        ledger_ok = check_ledger(store.ledger(), store.balances()) == []
        for account in ACCOUNTS:
            for message_id in tally.receipts[account]:
                message = store.get_message(message_id)
                crossed += message is None or message.account != account
    finally:
        store.close()

    rss = [int(s["rss_kb"]) for s in samples]
    fds = [int(s["fds"]) for s in samples]
    missing = sum(len(tally.acked[a] - tally.receipts[a]) for a in ACCOUNTS)
    acked = sum(len(v) for v in tally.acked.values())
    problems = []
    if died or 0 in rss:
        problems.append(f"the gateway process died during the run (exit {gw.proc.returncode})")
    if grew(rss, max(10_240, 0.2 * statistics.median(rss))):
        problems.append("memory kept growing")
    if grew(fds, 8):
        problems.append("file descriptors kept growing")
    if missing:
        problems.append(f"{missing} acknowledged messages got no receipt")
    if crossed:
        problems.append(f"{crossed} receipts reached the wrong account")
    if not ledger_ok:
        problems.append("the ledger check failed")
    if "Traceback" in gw.log.read_text():
        problems.append("the gateway logged a traceback")
    figures = {
        "duration_s": args.duration,
        "acknowledged": acked,
        "refused_by_status": tally.refused,
        "topups": tally.topups,
        "submits_per_s": round(acked / args.duration, 1),
        "binds": tally.binds,
        "enquire_links": tally.enquire_links,
        "mo": tally.mo,
        "outages": tally.outages,
        "missing_receipts": missing,
        "crossed_receipts": crossed,
        "rss_kb": {"min": min(rss, default=0), "max": max(rss, default=0), "last": rss[-1] if rss else 0},
        "fds": {"min": min(fds, default=0), "max": max(fds, default=0), "last": fds[-1] if fds else 0},
        "pending_receipts_max": max((int(s["pending_receipts"]) for s in samples), default=0),
        "pending_receipts_after_drain": final["pending_receipts"],
        "samples": len(samples),
        "client_errors": len(tally.errors),
        "problems": problems,
    }
    print(json.dumps(figures))
    if args.keep:
        print(f"kept {folder}", file=sys.stderr)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
