"""``smppgw bench --protocol cmpp``: the same run over CMPP 3.0 connections.  Each connection logs
in (CMPP_CONNECT), keeps a window of unanswered SUBMITs, answers DELIVERs and link tests, and
matches the status reports back to their Msg_Ids; the report is the SMPP run's, with the Results
named (``CMPP_OK``, ``CMPP_RESULT_8`` ...).  SUBMITs are encoded once, ahead of the run, by the
project's CMPP codec, and sent by patching their Sequence_Id."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import Sequence
from datetime import datetime

from ..cmpp import packets as pk
from ..cmpp.codec import HEADER, decode, encode
from ..cmpp.constants import HEADER_SIZE, CommandId, Version
from ..cmpp.errors import CmppDecodeError, FramingError
from ..cmpp.framing import FrameBuffer
from ..cmpp.login import authenticator_source, timestamp_of
from .load import LONG_PARTS, Account, BenchOptions, Connection, Run, udh_ref_offset

V30 = Version.V30
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_CONNECT_SEQ = 1
_TERMINATE_SEQ = 0x7FFFFFFF


def result_label(result: int) -> str:
    return "CMPP_OK" if result == 0 else f"CMPP_RESULT_{result}"


def _submit(account: Account, dst: str, rd: int, fmt: int, body: bytes, *, udhi: int = 0, total: int = 1,
            number: int = 1) -> bytes:  # fmt: skip
    return encode(
        pk.Submit(
            pk_total=total,
            pk_number=number,
            registered_delivery=1 if rd & 0x03 else 0,
            msg_fmt=fmt,
            tp_udhi=udhi,
            msg_src=account.system_id,
            src_id=account.source_addr,
            dest_terminal_ids=(dst,),
            content=body,
        ),
        V30,
    )


def build_templates(options: BenchOptions, account: Account) -> list[bytes]:
    """One cycle of SUBMITs (Sequence_Id 0) with the mix of ``bench.load.build_templates``:
    ASCII, UCS2, and long messages of three UDH parts."""
    rng = random.Random(options.seed)
    kinds = [k for k, _ in options.mix]
    weights = [w for _, w in options.mix]
    first, width = int(options.dst), len(options.dst)
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
            for part in range(1, LONG_PARTS + 1):
                text = (f"part {part}/{LONG_PARTS} of long message {i} " * 10)[:133].encode()
                udh = bytes([5, 0, 3, i & 0xFF, LONG_PARTS, part])
                out.append(_submit(account, dst, rd, 0, udh + text, udhi=1, total=LONG_PARTS, number=part))
    return out


def _content(template: bytes) -> bytes:
    submit = decode(template, V30)
    return submit.content if isinstance(submit, pk.Submit) else b""


def _empty(command_id: int, seq: int = 0) -> bytes:
    return HEADER.pack(HEADER_SIZE, command_id, seq)


class CmppConnection(Connection):
    """A CMPP 3.0 client on the bench's run; ``account``: SP_Id, secret and Src_Id."""

    seq_offset = 8  # Total_Length, Command_Id, then Sequence_Id

    def __init__(self, run: Run, index: int, account: Account, templates: Sequence[bytes]) -> None:
        super().__init__(run, index, account, templates)
        self.frames_cmpp = FrameBuffer()

    @staticmethod
    def parts_of(templates: Sequence[bytes]) -> list[int]:
        parts = []
        for template in templates:
            submit = decode(template, V30)
            assert isinstance(submit, pk.Submit)
            parts.append(1 if submit.pk_total <= 1 else (submit.pk_total if submit.pk_number == 1 else 0))
        return parts

    @staticmethod
    def ref_offsets(templates: Sequence[bytes]) -> list[int]:
        return [udh_ref_offset(t, _content(t)) for t in templates]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        stamp = timestamp_of(datetime.now())
        sp_id, secret = self.account.system_id, self.account.password
        connect = pk.Connect(
            sequence_id=_CONNECT_SEQ,
            source_addr=sp_id,
            authenticator_source=authenticator_source(sp_id, secret, stamp),
            version=V30,
            timestamp=stamp,
        )
        transport.write(encode(connect, V30))

    def unbind(self) -> None:
        if self.transport is not None:
            self.transport.write(_empty(CommandId.TERMINATE, _TERMINATE_SEQ))

    def data_received(self, data: bytes) -> None:
        frames = self.frames_cmpp
        frames.feed(data)
        run = self.run
        now = run.clock()
        replies = bytearray()
        try:
            while (frame := frames.next_frame()) is not None:
                _length, command_id, seq = HEADER.unpack_from(frame)
                if command_id == CommandId.SUBMIT_RESP:
                    sent_at = self.outstanding.pop(seq, None)
                    if sent_at is None:
                        continue
                    msg_id = _U64.unpack_from(frame, HEADER_SIZE)[0]
                    result = _U32.unpack_from(frame, HEADER_SIZE + 8)[0]
                    run.answer(sent_at, result, str(msg_id) if result == 0 else None, now)
                elif command_id == CommandId.DELIVER:
                    replies += self._deliver(frame, seq, now)
                elif command_id == CommandId.ACTIVE_TEST:
                    replies += HEADER.pack(HEADER_SIZE + 1, CommandId.ACTIVE_TEST_RESP, seq) + b"\0"
                elif command_id == CommandId.TERMINATE:
                    replies += _empty(CommandId.TERMINATE_RESP, seq)
                elif command_id == CommandId.CONNECT_RESP:
                    if not self.bound.done():
                        self.bound.set_result(_U32.unpack_from(frame, HEADER_SIZE)[0])
                elif command_id == CommandId.TERMINATE_RESP and self.transport is not None:
                    self.transport.close()
        except (FramingError, CmppDecodeError, ValueError) as err:
            run.errors.append(f"connection {self.index}: {err}")
            if self.transport is not None:
                self.transport.abort()
            return
        if replies and self.transport is not None:
            self.transport.write(replies)
        self.pump()

    def _deliver(self, frame: bytes, seq: int, now: float) -> bytes:
        deliver = decode(frame, V30)
        assert isinstance(deliver, pk.Deliver)
        report = deliver.report
        if report is not None:
            self.run.receipt(str(report.msg_id), report.stat, now)
        return encode(pk.DeliverResp(sequence_id=seq, msg_id=deliver.msg_id), V30)
