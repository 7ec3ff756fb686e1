"""The load client: N transceiver connections over one or more accounts, a window of unanswered
submit_sm per connection, an optional target rate, and receipts matched back to their submits.

Every submit_sm is encoded once, ahead of the run, by the project's codec; sending one means
copying its bytes and patching the sequence number, so the client spends its time on the wire
and in bookkeeping, not in encoding.  Incoming PDUs are split by the project's FrameBuffer.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from ..model import STAT_WORDS, MessageState
from ..protocol import codec
from ..protocol import pdu as p
from ..protocol.concat import concat_info
from ..protocol.constants import (
    ESM_CLASS_RECEIPT,
    ESM_CLASS_UDHI,
    CommandId,
    Tag,
    status_name,
)
from ..protocol.errors import FramingError, PduDecodeError
from ..protocol.framing import FrameBuffer
from ..protocol.receipt import parse_receipt
from .report import percentiles_ms

_SEQ = struct.Struct(">I")
_SEQ_OFFSET = 12  # sequence_number is the fourth header word
_BIND_SEQ = 1
_FIRST_SEQ = 2
_MAX_SEQ = 0x7FFFFFFF

MIX_KINDS = ("gsm7", "ucs2", "long")
LONG_PARTS = 3


@dataclass(frozen=True, slots=True)
class Account:
    system_id: str
    password: str
    source_addr: str


@dataclass(frozen=True, slots=True)
class BenchOptions:
    host: str = "127.0.0.1"
    port: int = 2775
    accounts: tuple[Account, ...] = (Account("demo", "demo1234", "10690000"),)
    connections: int = 4
    window: int = 100
    rate: float = 0.0  # submit_sm/s over all connections; 0 = as fast as the server answers
    count: int | None = 10_000  # submit_sm PDUs (a long message is LONG_PARTS of them)
    duration: float | None = None  # seconds of sending, instead of a count
    registered_delivery: int = 1
    mix: tuple[tuple[str, float], ...] = (("gsm7", 1.0),)
    dst: str = "13800138100"
    dst_count: int = 1000
    timeout: float = 60.0  # after the last submit_sm, for the last submit_sm_resp
    receipt_timeout: float = 30.0  # after the last submit_sm_resp, for the last receipt
    connect_timeout: float = 10.0
    progress: float = 1.0  # seconds between progress lines; 0 = none
    seed: int = 1


def parse_account(spec: str) -> Account:
    """``system_id:password:source_addr``."""
    parts = spec.split(":")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"--account {spec!r}: expected system_id:password:source_addr")
    return Account(*parts)


def parse_mix(spec: str) -> tuple[tuple[str, float], ...]:
    """``gsm7=90,ucs2=8,long=2``: relative weights of the kinds of message sent."""
    out: list[tuple[str, float]] = []
    for item in spec.split(","):
        kind, _, weight = item.partition("=")
        kind = kind.strip()
        if kind not in MIX_KINDS:
            raise ValueError(f"--mix: unknown kind {kind!r} (one of {', '.join(MIX_KINDS)})")
        try:
            value = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"--mix: weight of {kind} is not a number: {weight!r}") from None
        if value < 0:
            raise ValueError(f"--mix: weight of {kind} must not be negative")
        out.append((kind, value))
    if not out or sum(w for _, w in out) <= 0:
        raise ValueError("--mix: at least one kind needs a positive weight")
    return tuple(out)


# ---- the PDUs sent ---------------------------------------------------------------------


def _submit(account: Account, dst: str, rd: int, data_coding: int, body: bytes, *, esm_class: int = 0) -> bytes:
    return codec.encode(
        p.SubmitSm(
            source_addr_ton=0,
            source_addr_npi=1,
            source_addr=account.source_addr,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=dst,
            esm_class=esm_class,
            registered_delivery=rd,
            data_coding=data_coding,
            short_message=body,
        )
    )


def build_templates(options: BenchOptions, account: Account) -> list[bytes]:
    """One cycle of submit_sm PDUs (sequence number 0): one message per destination, its kind
    drawn from the mix by a seeded generator so that every run sends the same traffic."""
    rng = random.Random(options.seed)
    kinds = [k for k, _ in options.mix]
    weights = [w for _, w in options.mix]
    first = int(options.dst)
    width = len(options.dst)
    rd = options.registered_delivery
    out: list[bytes] = []
    for i in range(options.dst_count):
        dst = str(first + i).zfill(width)
        kind = rng.choices(kinds, weights)[0]
        if kind == "gsm7":
            out.append(_submit(account, dst, rd, 0, f"smppgw bench {i}: hello, your code is {i % 10000:04d}".encode()))
        elif kind == "ucs2":
            out.append(_submit(account, dst, rd, 8, f"压力测试 {i}：您的验证码是 {i % 10000:04d}".encode("utf-16-be")))
        else:
            ref = i & 0xFF
            for part in range(1, LONG_PARTS + 1):
                text = (f"part {part}/{LONG_PARTS} of long message {i} " * 10)[:153].encode()
                udh = bytes([5, 0, 3, ref, LONG_PARTS, part])
                out.append(_submit(account, dst, rd, 0, udh + text, esm_class=ESM_CLASS_UDHI))
    return out


def _empty(command_id: int) -> bytes:
    """A body-less PDU with sequence number 0 (patched before sending)."""
    return codec.HEADER.pack(codec.HEADER_SIZE, command_id, 0, 0)


_DELIVER_SM_RESP = codec.HEADER.pack(codec.HEADER_SIZE + 1, CommandId.DELIVER_SM_RESP, 0, 0) + b"\0"
_ENQUIRE_LINK_RESP = _empty(CommandId.ENQUIRE_LINK_RESP)
_UNBIND_RESP = _empty(CommandId.UNBIND_RESP)
_UNBIND = _empty(CommandId.UNBIND)
_ANSWERS = frozenset({CommandId.SUBMIT_SM_RESP, CommandId.GENERIC_NACK})
_BIND_RESPS = frozenset(
    {CommandId.BIND_TRANSCEIVER_RESP, CommandId.BIND_TRANSMITTER_RESP, CommandId.BIND_RECEIVER_RESP}
)


def _parts_to_send(template: bytes) -> int:
    """1 for a single message; for a long one, its number of parts on the first part and 0 on the others."""
    pdu = codec.decode(template)
    if not isinstance(pdu, p.SubmitSm):
        return 1
    info = concat_info(pdu.esm_class, pdu.short_message, pdu.tlvs)
    if info is None:
        return 1
    return info.total if info.seqnum == 1 else 0


def udh_ref_offset(template: bytes, text: bytes) -> int:
    """The offset in ``template`` of the reference byte of the 8-bit concatenation UDH (05 00 03
    ref total part) that starts ``text``, the template's message text; -1 without one."""
    if text[:3] != b"\x05\x00\x03" or len(text) < 6:
        return -1
    return template.rfind(text) + 3


def _short_message(template: bytes) -> bytes:
    pdu = codec.decode(template)
    return pdu.short_message if isinstance(pdu, p.SubmitSm) else b""


def _with_seq(template: bytes, seq: int) -> bytes:
    return template[:_SEQ_OFFSET] + _SEQ.pack(seq) + template[_SEQ_OFFSET + 4 :]


# ---- the run -----------------------------------------------------------------------------


class Run:
    """What all connections share: the send budget, the figures, and the receipts awaited."""

    def __init__(
        self, options: BenchOptions, clock: Any = time.perf_counter, status_label: Callable[[int], str] | None = None
    ) -> None:
        self.options = options
        self.clock = clock
        self.status_label = status_label or _status_label  # the protocol's name for an answer
        self.connections: list[Connection] = []
        self.sent = 0
        self.reserved = 0  # parts of long messages begun and not sent yet
        self.long_refs = 0  # long messages begun: each gets the next UDH reference (mod 256)
        self.answered = 0
        self.status: Counter[str] = Counter()
        self.submit_latency: list[float] = []
        self.receipt_latency: list[float] = []
        self.awaiting: dict[str, float] = {}  # message id -> when its submit_sm was sent
        self.early: dict[str, tuple[float, str]] = {}  # receipts that beat their submit_sm_resp here
        self.receipts = 0
        self.receipts_matched = 0
        self.receipt_states: Counter[str] = Counter()
        self.errors: list[str] = []
        self.sending = False
        self.tokens = 0.0
        self.started_at = 0.0
        self.send_until = float("inf")
        self.sending_ended_at: float | None = None
        self.last_answer_at = 0.0
        self.last_receipt_at = 0.0

    # -- budget --

    def may_send(self, pdus: int = 1) -> bool:
        """May a message of ``pdus`` submit_sm start now?  The parts of a long message after its
        first are reserved with it, so a count never cuts a long message short (a gateway that
        reassembles would wait for the missing parts)."""
        if not self.sending:
            return False
        count = self.options.count
        if not self.room_for(pdus):
            if count is not None and self.sent + self.reserved >= count:
                self._stop_sending()
            return False
        if self.options.rate > 0:
            if self.tokens < 1.0:
                return False
            self.tokens -= 1.0
        return True

    def next_long_ref(self) -> int:
        """The UDH reference of the next long message begun on any connection.  The templates are
        sent again every cycle, by every connection: with the reference fixed in the template, two
        copies of one long message sent at the same time would share a reassembly key (account,
        numbers, reference), and the gateway would put their parts together wrongly."""
        self.long_refs += 1
        return self.long_refs & 0xFF

    def room_for(self, pdus: int) -> bool:
        count = self.options.count
        return count is None or self.sent + self.reserved + pdus <= count

    def _stop_sending(self) -> None:
        if self.sending:
            self.sending = False
            self.sending_ended_at = self.clock()

    # -- figures --

    def answer(self, sent_at: float, status: int, message_id: str | None, now: float) -> None:
        self.answered += 1
        self.last_answer_at = now
        self.submit_latency.append(now - sent_at)
        self.status[self.status_label(status)] += 1
        if status == 0 and message_id is not None and self.options.registered_delivery & 0x03:
            early = self.early.pop(message_id, None)
            if early is None:
                self.awaiting[message_id] = sent_at
            else:
                self._matched(sent_at, *early)

    def receipt(self, message_id: str, state: str, now: float) -> None:
        self.receipts += 1
        self.last_receipt_at = now
        sent_at = self.awaiting.pop(message_id, None)
        if sent_at is None:
            # Its submit_sm_resp may still sit unread on another connection.
            self.early[message_id] = (now, state)
        else:
            self._matched(sent_at, now, state)

    def _matched(self, sent_at: float, received_at: float, state: str) -> None:
        self.receipts_matched += 1
        self.receipt_states[state] += 1
        self.receipt_latency.append(received_at - sent_at)

    @property
    def outstanding(self) -> int:
        return sum(len(c.outstanding) for c in self.connections)

    def pump_all(self) -> None:
        for c in self.connections:
            c.pump()

    def report(self) -> dict[str, Any]:
        o = self.options
        end = max(self.last_answer_at, self.started_at)
        elapsed = end - self.started_at
        receipt_end = max(self.last_receipt_at, self.started_at)
        missing_answers = self.sent - self.answered
        missing_receipts = len(self.awaiting) if o.registered_delivery & 0x03 else 0
        accepted = self.status.get(self.status_label(0), 0)
        return {
            "tool": "smppgw bench",
            "target": f"{o.host}:{o.port}",
            "accounts": [a.system_id for a in o.accounts],
            "connections": o.connections,
            "window": o.window,
            "rate": o.rate or None,
            "mix": dict(o.mix),
            "registered_delivery": o.registered_delivery,
            "submitted": self.sent,
            "answered": self.answered,
            "missing_answers": missing_answers,
            "status": dict(self.status),
            "elapsed_s": round(elapsed, 4),
            "submit_rate": round(self.answered / elapsed, 1) if elapsed > 0 else 0.0,
            "submit_latency_ms": percentiles_ms(self.submit_latency),
            "receipts": self.receipts,
            "receipts_expected": accepted if o.registered_delivery & 0x03 else 0,
            "receipts_matched": self.receipts_matched,
            "receipts_unmatched": len(self.early),
            "receipts_missing": missing_receipts,
            "receipt_states": dict(self.receipt_states),
            "receipt_latency_ms": percentiles_ms(self.receipt_latency),
            "end_to_end_s": round(receipt_end - self.started_at, 4),
            "end_to_end_rate": round(self.receipts_matched / (receipt_end - self.started_at), 1)
            if self.receipts_matched and receipt_end > self.started_at
            else 0.0,
            "errors": list(self.errors),
            "ok": not self.errors and missing_answers == 0 and missing_receipts == 0,
        }


def _status_label(status: int) -> str:
    return "generic_nack" if status == -1 else status_name(status)


_STATUS_OK = "ESME_ROK"


class Connection(asyncio.Protocol):
    seq_offset = _SEQ_OFFSET  # where a template's sequence number is patched in

    def __init__(self, run: Run, index: int, account: Account, templates: Sequence[bytes]) -> None:
        self.run = run
        self.index = index
        self.account = account
        self.templates = templates
        self.parts = self.parts_of(templates)
        self.refs = self.ref_offsets(templates)
        self.long_ref = 0  # the reference of the long message being sent (its parts may span pumps)
        cursor = (index * 7919) % len(templates)  # connections start at different destinations...
        while self.parts[cursor] == 0:  # ...each at a message's start, not inside a long message
            cursor = cursor + 1 if cursor + 1 < len(templates) else 0
        self.cursor = cursor
        self.window = run.options.window
        self.frames = FrameBuffer()
        self.transport: asyncio.Transport | None = None
        self.outstanding: dict[int, float] = {}  # sequence number -> sent at
        self.seq = _FIRST_SEQ
        self.bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @staticmethod
    def parts_of(templates: Sequence[bytes]) -> list[int]:
        return [_parts_to_send(t) for t in templates]

    @staticmethod
    def ref_offsets(templates: Sequence[bytes]) -> list[int]:
        """Where each template's UDH reference byte is (-1: not a part of a long message)."""
        return [udh_ref_offset(t, _short_message(t)) for t in templates]

    # -- transport --

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        bind = p.BindTransceiver(
            sequence_number=_BIND_SEQ, system_id=self.account.system_id, password=self.account.password
        )
        transport.write(codec.encode(bind))

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.bound.done():
            self.bound.set_result(-2)
        if not self.closed.done():
            self.closed.set_result(None)
        if self.outstanding and self.run.sending:
            self.run.errors.append(f"connection {self.index} lost with {len(self.outstanding)} submit_sm unanswered")
        self.transport = None

    # -- sending --

    def pump(self) -> None:
        transport = self.transport
        if transport is None or not self.bound.done():
            return
        room = self.window - len(self.outstanding)
        if room <= 0:
            return
        run = self.run
        templates, n = self.templates, len(self.templates)
        out = bytearray()
        now = run.clock()
        outstanding = self.outstanding
        seq, cursor = self.seq, self.cursor
        parts = self.parts
        while room > 0:
            k = parts[cursor]
            if k == 0:  # a later part of a long message: reserved when its first part went
                run.reserved -= 1
            elif run.may_send(k):
                run.reserved += k - 1
                if k > 1:
                    self.long_ref = run.next_long_ref()
            elif run.sending and k > 1 and not run.room_for(k) and run.room_for(1) and 1 in parts:
                cursor = parts.index(1, cursor) if 1 in parts[cursor:] else parts.index(1)
                continue  # too little budget left for this long message: send a short one instead
            else:
                break
            start = len(out)
            out += templates[cursor]
            _SEQ.pack_into(out, start + self.seq_offset, seq)
            if (ref_at := self.refs[cursor]) >= 0:
                out[start + ref_at] = self.long_ref
            outstanding[seq] = now
            run.sent += 1
            seq = seq + 1 if seq < _MAX_SEQ else _FIRST_SEQ
            cursor = cursor + 1 if cursor + 1 < n else 0
            room -= 1
        self.seq, self.cursor = seq, cursor
        if out:
            transport.write(out)

    def unbind(self) -> None:
        if self.transport is not None:
            self.transport.write(_with_seq(_UNBIND, _MAX_SEQ))

    # -- receiving --

    def data_received(self, data: bytes) -> None:
        frames = self.frames
        frames.feed(data)
        run = self.run
        now = run.clock()
        replies = bytearray()
        try:
            while (frame := frames.next_frame()) is not None:
                _length, command_id, status, seq = codec.HEADER.unpack_from(frame)
                if command_id in _ANSWERS:
                    sent_at = self.outstanding.pop(seq, None)
                    if sent_at is None:
                        continue
                    message_id = None
                    if command_id == CommandId.SUBMIT_SM_RESP and status == 0:
                        message_id = frame[codec.HEADER_SIZE : frame.index(b"\0", codec.HEADER_SIZE)].decode("latin-1")
                    run.answer(sent_at, status if command_id == CommandId.SUBMIT_SM_RESP else -1, message_id, now)
                elif command_id == CommandId.DELIVER_SM:
                    replies += _DELIVER_SM_RESP
                    _SEQ.pack_into(replies, len(replies) - 5, seq)
                    self._deliver_sm(frame, now)
                elif command_id == CommandId.ENQUIRE_LINK:
                    replies += _with_seq(_ENQUIRE_LINK_RESP, seq)
                elif command_id == CommandId.UNBIND:
                    replies += _with_seq(_UNBIND_RESP, seq)
                elif command_id in _BIND_RESPS:
                    if not self.bound.done():
                        self.bound.set_result(status)
                elif command_id == CommandId.UNBIND_RESP and self.transport is not None:
                    self.transport.close()
        except (FramingError, ValueError) as err:
            run.errors.append(f"connection {self.index}: {err}")
            if self.transport is not None:
                self.transport.abort()
            return
        if replies and self.transport is not None:
            self.transport.write(replies)
        self.pump()

    def _deliver_sm(self, frame: bytes, now: float) -> None:
        try:
            pdu = codec.decode(frame)
        except PduDecodeError as err:
            self.run.errors.append(f"connection {self.index}: undecodable deliver_sm: {err}")
            return
        assert isinstance(pdu, p.DeliverSm)
        if not pdu.esm_class & ESM_CLASS_RECEIPT:
            return  # a mobile-originated message: answered, not counted
        message_id = pdu.tlv_cstr(Tag.RECEIPTED_MESSAGE_ID)
        state_value = pdu.tlv_int(Tag.MESSAGE_STATE)
        stat = STAT_WORDS.get(MessageState(state_value)) if state_value is not None and state_value in _STATES else None
        if message_id is None or stat is None:
            try:
                text = parse_receipt(pdu.payload)
            except ValueError:
                self.run.errors.append(f"connection {self.index}: a receipt without id or stat")
                return
            message_id = message_id or text.message_id
            stat = stat or text.stat.upper()
        self.run.receipt(message_id, stat, now)


_STATES = frozenset(int(s) for s in MessageState)


# ---- driving it ------------------------------------------------------------------------------


async def _progress(run: Run, out: TextIO, interval: float) -> None:
    last_sent, last_at = 0, run.clock()
    tty = out.isatty()
    while True:
        await asyncio.sleep(interval)
        now = run.clock()
        rate = (run.sent - last_sent) / (now - last_at) if now > last_at else 0.0
        last_sent, last_at = run.sent, now
        line = (
            f"{now - run.started_at:7.1f} s  sent {run.sent}  {rate:8.0f}/s  outstanding {run.outstanding}  "
            f"answered {run.answered}  receipts {run.receipts_matched}  awaiting {len(run.awaiting)}  "
            f"errors {sum(v for k, v in run.status.items() if k != _STATUS_OK) + len(run.errors)}"
        )
        out.write(f"\r{line}   " if tty else line + "\n")
        out.flush()


async def _refill(run: Run) -> None:
    """Add rate x elapsed tokens every few ms (at most 50 ms worth: no burst after a stall)."""
    rate = run.options.rate
    last = run.clock()
    while run.sending:
        await asyncio.sleep(0.002)
        now = run.clock()
        run.tokens = min(run.tokens + (now - last) * rate, max(1.0, rate * 0.05))
        last = now
        run.pump_all()


async def _wait_until(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def run_bench(
    options: BenchOptions,
    progress_out: TextIO | None = None,
    *,
    connection: type[Connection] = Connection,
    templates_of: Callable[[BenchOptions, Account], list[bytes]] = build_templates,
    status_label: Callable[[int], str] | None = None,
) -> tuple[dict[str, Any], int]:
    """Run one benchmark; returns the report and the exit code (0 ok, 1 something missing,
    2 could not connect or bind).  ``connection`` and ``templates_of``: another protocol's client
    (``bench.cmpp``) on the same run."""
    loop = asyncio.get_running_loop()
    run = Run(options, status_label=status_label)
    templates = {a.system_id: templates_of(options, a) for a in options.accounts}
    for i in range(options.connections):
        account = options.accounts[i % len(options.accounts)]
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda a=account, i=i: connection(run, i, a, templates[a.system_id]),  # type: ignore[misc]
                    options.host,
                    options.port,
                ),
                options.connect_timeout,
            )
        except (OSError, TimeoutError) as err:
            run.errors.append(f"connection {i}: cannot connect to {options.host}:{options.port}: {err}")
            return _finish(run), 2
        run.connections.append(conn)
    for conn in run.connections:
        try:
            status = await asyncio.wait_for(asyncio.shield(conn.bound), options.connect_timeout)
        except TimeoutError:
            status = -3
        if status != 0:
            why = {-2: "connection closed", -3: "no answer"}.get(status) or _status_label(status)
            run.errors.append(f"connection {conn.index}: bind as {conn.account.system_id} refused: {why}")
            await _close_all(run)
            return _finish(run), 2

    run.started_at = run.clock()
    if options.duration is not None:
        run.send_until = run.started_at + options.duration
    run.sending = True
    tasks = []
    if options.rate > 0:
        tasks.append(asyncio.ensure_future(_refill(run)))
    if options.progress > 0:
        tasks.append(asyncio.ensure_future(_progress(run, progress_out or sys.stderr, options.progress)))
    run.pump_all()
    try:
        await _wait_until(lambda: not run.sending or run.clock() >= run.send_until, float("inf"))
        run._stop_sending()
        if not await _wait_until(lambda: run.answered >= run.sent, options.timeout):
            run.errors.append(f"{run.sent - run.answered} submit_sm without a response after {options.timeout:g} s")
        if options.registered_delivery & 0x03 and not await _wait_until(
            lambda: not run.awaiting, options.receipt_timeout
        ):
            run.errors.append(f"{len(run.awaiting)} receipts missing after {options.receipt_timeout:g} s more")
    finally:
        for task in tasks:
            task.cancel()
        if progress_out is not None or options.progress > 0:
            out = progress_out or sys.stderr
            if out.isatty():
                out.write("\n")
        await _close_all(run)
    report = _finish(run)
    return report, 0 if report["ok"] else 1


def _finish(run: Run) -> dict[str, Any]:
    return run.report()


async def _close_all(run: Run) -> None:
    for conn in run.connections:
        conn.unbind()
    await asyncio.wait([asyncio.ensure_future(asyncio.shield(c.closed)) for c in run.connections], timeout=2.0)
    for conn in run.connections:
        if conn.transport is not None:
            conn.transport.close()
