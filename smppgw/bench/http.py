"""``smppgw bench --protocol http``: the same run over the customer HTTP interface's v1 JSON API.

``--connections`` keep-alive HTTP/1.1 connections each post ``POST /v1/messages/batch`` with up
to ``--batch`` messages (the mix's texts, destinations cycled), authorised with the account's API
secret (``--account ID:API_SECRET``); receipts come back as signed v1 webhooks to a receiver this
command serves on 127.0.0.1 (the account must allow loopback callbacks, as the demo accounts do).
The figures and the report are SMPP's (``load.Run``): one "submit" per message, its answer the
batch's reply, its receipt the final ``message.report`` event.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from pathlib import Path
from typing import Any, TextIO

from .load import BenchOptions, Run, _progress, _refill, _wait_until

_TEXTS = {
    "gsm7": "smppgw bench: your code is 123456",
    "ucs2": "【演示】您的验证码是123456，五分钟内有效",
    "long": "【演示】" + "这是一条长短信，用来测试分段计费与回执。" * 8,
}


def status_label(status: int) -> str:
    """0 accepted; an HTTP status for a refused request; an SMPP status for a refused message."""
    if status == 0:
        return "accepted"
    return f"http_{status}" if status < 1000 else f"0x{status - 1000:08X}"


async def _read_message(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], bytes]:
    """One HTTP/1.1 message: its first line, headers (lower-case names) and body (Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
    return lines[0], headers, body


class Receiver:
    """The webhook receiver: every final report event becomes ``run.receipt``."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.server: asyncio.base_events.Server | None = None
        self.url = ""

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/receipts"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                _, _, body = await _read_message(reader)
                now = self.run.clock()
                payload = json.loads(body or b"null")
                for event in payload if isinstance(payload, list) else [payload]:
                    if isinstance(event, dict) and event.get("type") == "message.report" and event.get("final"):
                        self.run.receipt(str(event["message_id"]), str(event.get("status", "")), now)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, asyncio.CancelledError):
            pass  # the gateway closed the connection, or the run is over
        finally:
            writer.close()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()


class Poster:
    """One keep-alive connection posting batches while the run's budget allows."""

    def __init__(self, run: Run, index: int, options: BenchOptions, batch: int, callback_url: str) -> None:
        self.run = run
        self.index = index
        self.options = options
        self.batch = batch
        self.callback_url = callback_url
        account = options.accounts[index % len(options.accounts)]
        self.account = account
        self.auth = f"Bearer {account.password}"  # the v1 API's token: the account's API secret
        self.refused_sign_in = 0
        self.random = random.Random(options.seed * 1000 + index)
        self.kinds = [k for k, _ in options.mix]
        self.weights = [w for _, w in options.mix]

    def pump(self) -> None:
        """Nothing to do: the poster's own loop asks the budget (``load._refill`` calls this)."""

    def _messages(self, first: int, count: int) -> list[dict[str, str]]:
        out = []
        base = int(self.options.dst)
        for n in range(first, first + count):
            kind = self.random.choices(self.kinds, self.weights)[0]
            to = str(base + n % self.options.dst_count)
            out.append({"to": to, "text": _TEXTS.get(kind, _TEXTS["gsm7"])})
        return out

    async def run_until_done(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        run = self.run
        report = bool(self.options.registered_delivery & 0x03)
        host = f"{self.options.host}:{self.options.port}"
        while True:
            take = 0
            while take < self.batch and run.may_send(1):
                run.sent += 1  # counted at once: the budget sees it
                take += 1
            if take == 0:
                if not run.sending:
                    return
                await asyncio.sleep(0.002)
                continue
            messages = self._messages(run.sent - take, take)
            glob: dict[str, Any] = {"report": report}
            if report:
                glob["callback_url"] = self.callback_url
            body = json.dumps({"globals": glob, "messages": messages}, ensure_ascii=False).encode("utf-8")
            request = (
                f"POST /v1/messages/batch HTTP/1.1\r\nHost: {host}\r\nAuthorization: {self.auth}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode("latin-1") + body
            sent_at = run.clock()
            writer.write(request)
            status_line, _, answer = await _read_message(reader)
            now = run.clock()
            status = int(status_line.split()[1])
            if status != 202:
                for _ in messages:
                    run.answer(sent_at, status, None, now)
                if status in (401, 403):  # as a refused bind: no point sending more
                    self.refused_sign_in = status
                    run._stop_sending()
                    return
                continue
            for item in json.loads(answer)["messages"]:
                if "message_id" in item:
                    run.answer(sent_at, 0, str(item["message_id"]), now)
                else:
                    smpp = item.get("error", {}).get("smpp_status")
                    run.answer(sent_at, 1000 + int(smpp, 16) if smpp else 400, None, now)


async def run_http_bench(
    options: BenchOptions, batch: int, progress_out: TextIO | None = None
) -> tuple[dict[str, Any], int]:
    """One benchmark over HTTP; the report and exit code as ``load.run_bench`` gives them."""
    run = Run(options, status_label=status_label)
    receiver = Receiver(run)
    await receiver.start()
    posters = [Poster(run, i, options, batch, receiver.url) for i in range(options.connections)]
    streams = []
    try:
        for poster in posters:
            try:
                streams.append(
                    await asyncio.wait_for(asyncio.open_connection(options.host, options.port), options.connect_timeout)
                )
            except (OSError, TimeoutError) as err:
                run.errors.append(f"connection {poster.index}: cannot connect to {options.host}:{options.port}: {err}")
                return run.report() | {"protocol": "http", "batch": batch}, 2
        run.started_at = run.clock()
        if options.duration is not None:
            run.send_until = run.started_at + options.duration
        run.sending = True
        progress = None
        refill = asyncio.ensure_future(_refill(run)) if options.rate > 0 else None
        if options.progress > 0:
            progress = asyncio.ensure_future(_progress(run, progress_out or sys.stderr, options.progress))
        stopper = asyncio.ensure_future(_stop_at(run))
        workers = [asyncio.ensure_future(p.run_until_done(*s)) for p, s in zip(posters, streams, strict=True)]
        try:
            done = await asyncio.gather(*workers, return_exceptions=True)
            for i, outcome in enumerate(done):
                if isinstance(outcome, BaseException):
                    run.errors.append(f"connection {i}: {outcome!r}")
            run._stop_sending()
            refused = [p for p in posters if p.refused_sign_in]
            for p in refused:
                why = f"sign-in as {p.account.system_id} refused: HTTP {p.refused_sign_in}"
                run.errors.append(f"connection {p.index}: {why}")
            if refused:
                return run.report() | {"protocol": "http", "batch": batch}, 2
            if options.registered_delivery & 0x03 and not await _wait_until(
                lambda: not run.awaiting, options.receipt_timeout
            ):
                run.errors.append(f"{len(run.awaiting)} receipts missing after {options.receipt_timeout:g} s more")
        finally:
            stopper.cancel()
            if refill is not None:
                refill.cancel()
            if progress is not None:
                progress.cancel()
    finally:
        for _, writer in streams:
            writer.close()
        receiver.close()
    report = run.report() | {"protocol": "http", "batch": batch}
    return report, 0 if report["ok"] else 1


async def _stop_at(run: Run) -> None:
    """A --duration run stops sending at its end (the posters see ``run.sending`` turn False)."""
    while run.sending:
        if run.clock() >= run.send_until:
            run._stop_sending()
            return
        await asyncio.sleep(0.01)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux ``/proc``), for CPU per message."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


__all__ = ["cpu_seconds", "run_http_bench", "status_label"]
