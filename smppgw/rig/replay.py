"""``smppgw replay FILE --host H --port P [--speed X]``: replay the client side of a recording
(smppgw.rig.recording) against any SMPP server, with its original timing or scaled, and report
where the answers' command_status differ from the recorded ones (exit status 1), as a regression
check.

The client's requests are sent with their recorded sequence numbers at ``t / speed``, but never
before the answers the client had received when it sent them (a bind's answer before the first
submit), so scaling time keeps the session's order of cause and effect; its recorded
answers are not replayed: the server's deliver_sm, data_sm, enquire_link and unbind are answered
ESME_ROK as they come.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import select
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..protocol import codec
from ..protocol.constants import CommandId, status_name
from ..protocol.errors import PduDecodeError

_HEADER = struct.Struct(">IIII")
_RESPONSE = 0x80000000
_ANSWERED = {  # server requests the replaying client answers
    CommandId.DELIVER_SM: CommandId.DELIVER_SM_RESP,
    CommandId.DATA_SM: CommandId.DATA_SM_RESP,
    CommandId.ENQUIRE_LINK: CommandId.ENQUIRE_LINK_RESP,
    CommandId.UNBIND: CommandId.UNBIND_RESP,
}
_BINDS = frozenset({CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER})


@dataclass(frozen=True, slots=True)
class Step:
    at: float
    frame: bytes
    command_id: int
    sequence: int
    expected: int | None  # the recorded answer's command_status; None when none was recorded
    waits_for: tuple[int, ...]  # sequences of earlier requests answered before this one was sent


@dataclass(frozen=True, slots=True)
class Difference:
    at: float
    command: str
    sequence: int
    expected: str
    got: str


def load_steps(path: Path, password: str | None) -> list[Step]:
    """The client's requests of a recording, each with the status the server answered. ValueError names the line."""
    requests: list[tuple[float, bytes]] = []
    answers: dict[int, list[tuple[float, int]]] = {}  # sequence -> (when, status) of the server's answers
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if number == 1:
                    if row.get("recording") != 1:
                        raise ValueError('not an smppgw recording (first line has no "recording": 1)')
                    continue
                at, direction, frame = float(row["t"]), row["dir"], bytes.fromhex(row["pdu"])
            except (ValueError, KeyError, TypeError) as err:
                raise ValueError(f"{path.name} line {number}: {err}") from None
            if len(frame) < 16 or direction not in ("in", "out"):
                raise ValueError(f"{path.name} line {number}: dir must be in/out and pdu at least a header")
            _, cid, status, seq = _HEADER.unpack_from(frame)
            if direction == "in" and cid < _RESPONSE:
                requests.append((at, frame))
            elif direction == "out" and cid >= _RESPONSE:
                answers.setdefault(seq, []).append((at, status))
    steps = []
    unseen: list[tuple[float, int]] = []  # (answered at, sequence) of earlier requests not yet waited for
    for at, recorded in requests:
        _, cid, _, seq = _HEADER.unpack_from(recorded)
        frame = _with_password(recorded, password) if cid in _BINDS and password is not None else recorded
        waits = tuple(s for answered, s in unseen if answered <= at)
        unseen = [(answered, s) for answered, s in unseen if answered > at]
        pending = answers.get(seq)
        answered_at, expected = pending.pop(0) if pending else (None, None)
        if answered_at is not None:
            unseen.append((answered_at, seq))
        steps.append(Step(at, frame, cid, seq, expected, waits))
    return steps


def _with_password(frame: bytes, password: str) -> bytes:
    try:
        bind = codec.decode(frame)
    except PduDecodeError:
        return frame
    return codec.encode(dataclasses.replace(bind, password=password))  # type: ignore[call-arg]


def _name(command_id: int) -> str:
    try:
        return CommandId(command_id).name.lower()
    except ValueError:
        return f"0x{command_id:08x}"


class _Connection:
    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.statuses: dict[int, int] = {}  # sequence -> status of the server's answer
        self.closed = False

    def pump(self, wait: float) -> None:
        """Read what arrives within ``wait`` seconds, answering the server's requests."""
        if self.closed:
            time.sleep(max(0.0, wait))
            return
        readable, _, _ = select.select([self.sock], [], [], max(0.0, wait))
        if not readable:
            return
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return
        self.buf += data
        while len(self.buf) >= 16:
            length, cid, status, seq = _HEADER.unpack_from(self.buf)
            if len(self.buf) < length:
                break
            self.buf = self.buf[max(length, 16) :]
            if cid >= _RESPONSE:
                self.statuses.setdefault(seq, status)
            elif cid in _ANSWERED:
                resp_id = _ANSWERED[cid]
                body = b"\0" if resp_id in (CommandId.DELIVER_SM_RESP, CommandId.DATA_SM_RESP) else b""
                self.sock.sendall(_HEADER.pack(16 + len(body), resp_id, 0, seq) + body)


def replay(steps: list[Step], host: str, port: int, speed: float, settle: float) -> list[Difference]:
    conn = _Connection(host, port, timeout=10.0)
    try:
        started = time.monotonic()
        for step in steps:
            while (due := started + step.at / speed - time.monotonic()) > 0:
                conn.pump(due)
            give_up = time.monotonic() + settle
            while not conn.closed and any(s not in conn.statuses for s in step.waits_for):
                if (left := give_up - time.monotonic()) <= 0:
                    break
                conn.pump(left)
            if conn.closed:
                break
            conn.sock.sendall(step.frame)
        deadline = time.monotonic() + settle
        while time.monotonic() < deadline and not conn.closed:
            if all(s.sequence in conn.statuses for s in steps if s.expected is not None):
                break
            conn.pump(deadline - time.monotonic())
    finally:
        conn.sock.close()
    differences = []
    for step in steps:
        got = conn.statuses.get(step.sequence)
        if got != step.expected:
            differences.append(
                Difference(
                    round(step.at, 3),
                    _name(step.command_id),
                    step.sequence,
                    "no answer" if step.expected is None else status_name(step.expected),
                    "no answer" if got is None else status_name(got),
                )
            )
    return differences


def cmd_replay(args: argparse.Namespace) -> int:
    if args.speed <= 0:
        print("smppgw replay: --speed must be > 0", file=sys.stderr)
        return 2
    try:
        steps = load_steps(Path(args.file), args.password)
        differences = replay(steps, args.host, args.port, args.speed, args.settle)
    except (OSError, ValueError) as err:
        print(f"smppgw replay: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"requests": len(steps), "differences": [dataclasses.asdict(d) for d in differences]}))
    else:
        print(f"replayed {len(steps)} requests at {args.speed:g}x: {len(differences)} difference(s)")
        for d in differences:
            print(f"  t={d.at} s {d.command} seq {d.sequence}: recorded {d.expected}, got {d.got}")
    return 1 if differences else 0


def add_replay_command(sub: Any) -> None:
    replay_parser = sub.add_parser("replay", help="replay a recorded session against an SMPP server (regression check)")
    replay_parser.add_argument("file", help="a recording (GET /api/sessions/{id}/recording)")
    replay_parser.add_argument("--host", default="127.0.0.1")
    replay_parser.add_argument("--port", type=int, required=True)
    replay_parser.add_argument("--speed", type=float, default=1.0, help="time scale: 10 replays ten times faster")
    replay_parser.add_argument("--password", help="bind password (recordings do not keep it)")
    replay_parser.add_argument("--settle", type=float, default=5.0, help="seconds to wait for the last answers")
    replay_parser.add_argument("--json", action="store_true")
    replay_parser.set_defaults(func=cmd_replay)
