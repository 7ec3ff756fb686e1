"""A small blocking CMPP client over a real socket, built on the gateway's pure codec: what the
end-to-end tests log in, submit and read reports with.  It answers the gateway's DELIVERs and
ACTIVE_TESTs itself unless told not to, and records every packet both ways (for a pcap)."""

from __future__ import annotations

import socket
import time
from datetime import datetime

from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import decode, encode
from smppgw.cmpp.constants import Version, layout_of
from smppgw.cmpp.framing import FrameBuffer
from smppgw.cmpp.login import authenticator_source, timestamp_of

DEMO = {
    "demo": ("900001", "demo1234", "10690000"),
    "demo2": ("900002", "demo5678", "10690001"),
    "brand": ("900003", "brand123", "10690002"),
}


def submit(**fields: object) -> pk.Submit:
    """A SUBMIT as the tests send it: a receipt asked for, "hello" in ASCII, unless ``fields`` say otherwise."""
    values: dict[str, object] = {"registered_delivery": 1, "msg_fmt": 0, "content": b"hello"}
    values.update(fields)
    return pk.Submit(**values)  # type: ignore[arg-type]


class CmppClient:
    def __init__(self, port: int, *, version: int = 0x30, answer_delivers: bool = True, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.layout = layout_of(version) or Version.V30
        self.version = version
        self.answer_delivers = answer_delivers
        self.frames = FrameBuffer(1 << 16)
        self.seq = 0
        self.delivers: list[pk.Deliver] = []  # every DELIVER received, resends included
        self.wire: list[tuple[bool, bytes]] = []  # (from the client?, bytes) in order
        self.closed = False
        self.unclaimed: list[pk.Packet] = []  # read while waiting for another packet

    # ---- sending ----------------------------------------------------------------------

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def send(self, packet: pk.Packet) -> int:
        if not packet.sequence_id and not packet.is_response:
            packet = packet.evolve(sequence_id=self.next_seq())
        data = encode(packet, self.layout)
        self.wire.append((True, data))
        try:
            self.sock.sendall(data)
        except OSError:
            if not packet.is_response:
                raise  # an answer to a gateway closing the link may find it closed already
        return packet.sequence_id

    def send_together(self, packets: list[pk.Packet]) -> list[int]:
        """Requests in one write, as a client with them all queued sends them: the gateway reads
        them together, not one by one as it would separate sends it keeps up with."""
        numbered = [p if p.sequence_id else p.evolve(sequence_id=self.next_seq()) for p in packets]
        frames = [encode(p, self.layout) for p in numbered]
        self.wire.extend((True, frame) for frame in frames)
        self.sock.sendall(b"".join(frames))
        return [p.sequence_id for p in numbered]

    def connect(self, sp_id: str, secret: str, when: datetime | None = None) -> pk.ConnectResp:
        stamp = timestamp_of(when or datetime.now())
        seq = self.send(
            pk.Connect(
                source_addr=sp_id,
                authenticator_source=authenticator_source(sp_id, secret, stamp),
                version=self.version,
                timestamp=stamp,
            )
        )
        resp = self.wait_for(pk.ConnectResp, seq)
        assert isinstance(resp, pk.ConnectResp)
        return resp

    def submit(self, **fields: object) -> pk.SubmitResp:
        resp = self.wait_for(pk.SubmitResp, self.send_submit(**fields))
        assert isinstance(resp, pk.SubmitResp)
        return resp

    def send_submit(self, **fields: object) -> int:
        return self.send(submit(**fields))

    def terminate(self) -> None:
        seq = self.send(pk.Terminate())
        self.wait_for(pk.TerminateResp, seq)
        self.sock.close()

    # ---- receiving --------------------------------------------------------------------

    def read_packet(self, timeout: float) -> pk.Packet | None:
        deadline = time.monotonic() + timeout
        while True:
            frame = self.frames.next_frame()
            if frame is not None:
                packet = decode(frame, self.layout)
                self.wire.append((False, frame))
                self._auto_answer(packet)
                return packet
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return None
            if not data:
                self.closed = True
                return None
            self.frames.feed(data)

    def _auto_answer(self, packet: pk.Packet) -> None:
        if isinstance(packet, pk.Deliver):
            self.delivers.append(packet)
            if self.answer_delivers:
                self.send(pk.DeliverResp(sequence_id=packet.sequence_id, msg_id=packet.msg_id))
        elif isinstance(packet, pk.ActiveTest):
            self.send(pk.ActiveTestResp(sequence_id=packet.sequence_id))

    def wait_for(self, kind: type[pk.Packet], seq: int | None = None, timeout: float = 10.0) -> pk.Packet:
        """The next packet of ``kind`` (with ``seq``), reading (and answering) what comes before it."""
        for packet in self.unclaimed:
            if isinstance(packet, kind) and (seq is None or packet.sequence_id == seq):
                self.unclaimed.remove(packet)
                return packet
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            packet = self.read_packet(left)
            if packet is None:
                break
            if isinstance(packet, kind) and (seq is None or packet.sequence_id == seq):
                return packet
            if packet.is_response:
                self.unclaimed.append(packet)
        raise AssertionError(f"no {kind.__name__} {seq or ''} within {timeout} s")

    def reports(self, count: int, timeout: float = 15.0) -> list[pk.StatusReport]:
        """Read until ``count`` distinct status reports (by Msg_Id) have come."""
        deadline = time.monotonic() + timeout
        while len(self.report_by_id()) < count and (left := deadline - time.monotonic()) > 0:
            self.read_packet(left)
        found = list(self.report_by_id().values())
        assert len(found) >= count, f"{len(found)} of {count} reports within {timeout} s"
        return found

    def report_by_id(self) -> dict[int, pk.StatusReport]:
        return {d.report.msg_id: d.report for d in self.delivers if d.report is not None}

    def mos(self) -> list[pk.Deliver]:
        return [d for d in self.delivers if d.report is None]

    def close(self) -> None:
        self.sock.close()


def logged_in(port: int, account: str = "demo", version: int = 0x30, **kwargs: object) -> CmppClient:
    sp_id, secret, _ = DEMO[account]
    client = CmppClient(port, version=version, **kwargs)  # type: ignore[arg-type]
    resp = client.connect(sp_id, secret)
    assert resp.status == 0, resp
    return client
