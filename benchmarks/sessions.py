"""Memory per idle bound session, 1,000 concurrent sessions served, and memory under sustained load.

Starts `smppgw serve --config fixtures/bench.toml` in a temporary folder, then:
1. opens --sessions transceiver binds (default 1000), reads the gateway's resident memory before and
   after, and prints the memory per idle bound session;
2. sends one submit_sm with registered_delivery=1 on every one of those sessions at once and checks
   that every session gets its ESME_ROK and that every message's receipt comes back (receipts go to
   any receiver bind of the account, round robin, so they are counted by message id, not by session);
3. with --sustain S: runs `smppgw bench --rate R --duration S` and samples the gateway's memory every
   10 s (the issue asks for 600 s: no growth once warm).

    python benchmarks/sessions.py [--sessions 1000] [--sustain 600 --rate 5000]

Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandId
from smppgw.protocol.framing import FrameBuffer

ROOT = Path(__file__).resolve().parent.parent
PORT = 2775


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class Receipts:
    """The receipts of the run, by message id, whichever session they came to."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.ids: set[bytes] = set()
        self.all_in = asyncio.get_running_loop().create_future()

    def add(self, pdu: p.DeliverSm) -> None:
        text = pdu.short_message
        start = text.find(b"id:") + 3
        self.ids.add(text[start : text.find(b" ", start)])
        if len(self.ids) >= self.expected and not self.all_in.done():
            self.all_in.set_result(len(self.ids))


class Session(asyncio.Protocol):
    def __init__(self, receipts: Receipts) -> None:
        self.frames = FrameBuffer()
        self.transport: asyncio.Transport | None = None
        self.bound = asyncio.get_running_loop().create_future()
        self.answered = asyncio.get_running_loop().create_future()
        self.receipts = receipts

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(codec.encode(p.BindTransceiver(sequence_number=1, system_id="demo", password="demo1234")))

    def data_received(self, data: bytes) -> None:
        self.frames.feed(data)
        while (frame := self.frames.next_frame()) is not None:
            pdu = codec.decode(frame)
            if isinstance(pdu, p.BindTransceiverResp) and not self.bound.done():
                self.bound.set_result(pdu.command_status)
            elif isinstance(pdu, p.SubmitSmResp) and not self.answered.done():
                self.answered.set_result(pdu.command_status)
            elif isinstance(pdu, p.DeliverSm):
                assert self.transport is not None
                self.transport.write(codec.encode(p.DeliverSmResp(sequence_number=pdu.sequence_number)))
                self.receipts.add(pdu)
            elif isinstance(pdu, p.EnquireLink):
                assert self.transport is not None
                self.transport.write(codec.encode(p.EnquireLinkResp(sequence_number=pdu.sequence_number)))

    def submit(self, i: int) -> None:
        assert self.transport is not None
        self.transport.write(
            codec.encode(
                p.SubmitSm(
                    sequence_number=2,
                    source_addr="10690000",
                    dest_addr_ton=1,
                    dest_addr_npi=1,
                    destination_addr=f"139{i % 10000:04d}5555",  # not a scenario suffix (0000-0003)
                    registered_delivery=1,
                    short_message=b"one per session",
                )
            )
        )


async def sessions_test(pid: int, count: int) -> dict[str, object]:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(1.0)
    before = rss_kib(pid)
    sessions: list[Session] = []
    receipts = Receipts(count)
    for _ in range(count):
        _, s = await loop.create_connection(lambda: Session(receipts), "127.0.0.1", PORT)
        sessions.append(s)
    statuses = await asyncio.wait_for(asyncio.gather(*(s.bound for s in sessions)), 60)
    bound = sum(1 for st in statuses if st == 0)
    await asyncio.sleep(2.0)  # let the gateway settle
    after = rss_kib(pid)
    started = time.perf_counter()
    for i, s in enumerate(sessions):
        s.submit(i)
    answers = await asyncio.wait_for(asyncio.gather(*(s.answered for s in sessions)), 60)
    answered = time.perf_counter() - started
    await asyncio.wait_for(receipts.all_in, 60)
    elapsed = time.perf_counter() - started
    for s in sessions:
        if s.transport is not None:
            s.transport.write(codec.HEADER.pack(16, CommandId.UNBIND, 0, 3))
    await asyncio.sleep(0.5)
    for s in sessions:
        if s.transport is not None:
            s.transport.close()
    return {
        "sessions": count,
        "bound": bound,
        "rss_before_kib": before,
        "rss_bound_kib": after,
        "kib_per_idle_session": round((after - before) / count, 1),
        "submit_ok": sum(1 for a in answers if a == 0),
        "receipts": len(receipts.ids),
        "all_answered_s": round(answered, 3),
        "one_submit_per_session_s": round(elapsed, 3),
    }


def sustain(pid: int, seconds: float, rate: float) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "smppgw", "bench", "--port", str(PORT), "--rate", str(rate)]
    cmd += ["--duration", str(seconds), "--json", "--progress", "0", "--receipt-timeout", "60"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
    samples = []
    started = time.monotonic()
    while proc.poll() is None:
        samples.append((round(time.monotonic() - started), rss_kib(pid)))
        time.sleep(10)
    out, _ = proc.communicate()
    report = json.loads(out)
    return {
        "seconds": seconds,
        "rate": rate,
        "bench_ok": report["ok"],
        "submitted": report["submitted"],
        "receipts_missing": report["receipts_missing"],
        "rss_kib_every_10_s": samples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--sustain", type=float, default=0.0, help="seconds of sustained load (0: skip)")
    parser.add_argument("--rate", type=float, default=5000.0, help="messages/s during --sustain")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 2 * args.sessions + 100:  # the gateway (our child) inherits the raised limit
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * args.sessions + 100), hard))
    work = Path(tempfile.mkdtemp(prefix="smppgw-sessions-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    serve = [sys.executable, "-m", "smppgw", "serve", "--config", str(ROOT / "fixtures" / "bench.toml")]
    gateway = subprocess.Popen(serve, cwd=work, env=env, stdout=subprocess.DEVNULL)
    try:
        time.sleep(2.0)
        result = asyncio.run(sessions_test(gateway.pid, args.sessions))
        print(json.dumps(result))
        if args.sustain > 0:
            print(json.dumps(sustain(gateway.pid, args.sustain, args.rate)))
    finally:
        gateway.terminate()
        gateway.wait(20)


if __name__ == "__main__":
    main()
