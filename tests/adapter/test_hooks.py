"""The hooks a connection carries (smppgw.server.hooks): one that holds a response, one that
answers a request in the gateway's place, one that reshapes a delivery or the writes, the wire
tap that sees each frame once, and the test rig's scorecard reading those frames."""

from __future__ import annotations

from pathlib import Path

from adapter_parts import Connection, open_connection
from test_connection import receipt_within, submit

from smppgw.model import Delivery
from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S
from smppgw.server.hooks import HostedConnection, NoHooks, WireTap


class Recorder:
    """A wire tap that keeps every frame it is shown."""

    session_id = 7

    def __init__(self) -> None:
        self.inbound: list[bytes] = []
        self.outbound: list[bytes] = []

    def frame_in(self, frame: bytes, now: float) -> None:
        self.inbound.append(frame)

    def frame_out(self, frame: bytes, now: float) -> None:
        self.outbound.append(frame)


class Hooks(NoHooks):
    def __init__(self) -> None:
        self.tap = Recorder()
        self.opened_conns: list[HostedConnection] = []
        self.ended_conns: list[HostedConnection] = []
        self.reads: list[int] = []
        self.held: list[tuple[HostedConnection, p.Pdu]] = []
        self.hold_responses = False
        self.answer: p.Pdu | None = None
        self.deliveries: list[tuple[HostedConnection, Delivery, p.DeliverSm]] = []
        self.split: int = 0
        self.chunks: list[bytes] = []

    def opened(self, conn: HostedConnection, now: float) -> WireTap:
        self.opened_conns.append(conn)
        return self.tap

    def ended(self, conn: HostedConnection, now: float) -> None:
        self.ended_conns.append(conn)

    def received(self, conn: HostedConnection, size: int) -> None:
        self.reads.append(size)

    def outgoing(self, conn: HostedConnection, data: bytes) -> bool:
        if not self.split:
            return False
        for i in range(0, len(data), self.split):
            self.chunks.append(data[i : i + self.split])
            conn.write_raw(data[i : i + self.split])
        return True

    def intercept(self, conn: HostedConnection, pdu: p.Pdu) -> p.Pdu | None:
        if self.answer is not None and isinstance(pdu, p.SubmitSm):
            return self.answer.evolve(sequence_number=pdu.sequence_number)
        return None

    def hold(self, conn: HostedConnection, response: p.Pdu) -> bool:
        if self.hold_responses:
            self.held.append((conn, response))
        return self.hold_responses

    def deliver(self, conn: HostedConnection, delivery: Delivery, pdu: p.DeliverSm) -> bool:
        self.deliveries.append((conn, delivery, pdu))
        return True


def hooked(tmp_path: Path, **options) -> tuple[Connection, Hooks]:
    hooks = Hooks()
    return open_connection(tmp_path, hooks=hooks, **options), hooks


def test_a_hook_that_holds_a_response_decides_when_it_goes_out(tmp_path: Path):
    conn, hooks = hooked(tmp_path)
    try:
        conn.bind()
        hooks.hold_responses = True
        conn.send(submit(2))
        assert conn.read() == []
        [(held_by, response)] = hooks.held
        assert held_by is conn.proto and isinstance(response, p.SubmitSmResp) and response.message_id
        held_by.respond_now(response)
        assert conn.read() == [response]
    finally:
        conn.close()


def test_a_hook_that_intercepts_a_request_answers_in_the_gateways_place(tmp_path: Path):
    conn, hooks = hooked(tmp_path)
    try:
        conn.bind()
        hooks.answer = p.SubmitSmResp(command_status=S.ESME_RTHROTTLED)
        conn.send(submit(2))
        assert conn.read() == [p.SubmitSmResp(sequence_number=2, command_status=S.ESME_RTHROTTLED)]
        assert conn.gateway.submitted == 0 and conn.gateway.rejected == 0
        hooks.answer = None
        conn.send(submit(3))
        [resp] = conn.read()
        assert resp.command_status == S.ESME_ROK and conn.gateway.submitted == 1
    finally:
        conn.close()


def test_a_hook_that_takes_a_delivery_sends_it_in_its_own_time(tmp_path: Path):
    conn, hooks = hooked(tmp_path)
    try:
        conn.bind()
        conn.send(submit(2, registered_delivery=1))
        [resp] = conn.read()
        for _ in range(120):
            conn.clock.advance(1)
            if hooks.deliveries:
                break
        [(by, delivery, pdu)] = hooks.deliveries
        assert delivery.message_id == resp.message_id and isinstance(pdu, p.DeliverSm)
        assert [x for x in conn.read() if not isinstance(x, p.EnquireLink)] == []  # taken: nothing sent
        by.send_delivery_pdu(delivery, pdu)
        [sent] = receipt_within(conn, 1) or conn.read()
        assert sent.short_message == pdu.short_message
        conn.send(p.DeliverSmResp(sequence_number=sent.sequence_number))
        assert conn.done == [delivery]
    finally:
        conn.close()


def test_a_hook_that_takes_over_writing_gets_every_octet_and_the_client_all_of_them(tmp_path: Path):
    conn, hooks = hooked(tmp_path)
    try:
        hooks.split = 5
        answer = conn.bind()
        assert answer.command_status == S.ESME_ROK
        assert len(hooks.chunks) > 1 and all(len(chunk) <= 5 for chunk in hooks.chunks)
        assert b"".join(hooks.chunks) == codec.encode(answer)
    finally:
        conn.close()


def test_the_tap_sees_each_frame_once_whole_and_what_the_session_refused(tmp_path: Path):
    conn, hooks = hooked(tmp_path)
    try:
        early = codec.encode(submit(1))  # before binding: the session refuses it by itself
        bind = codec.encode(p.BindTransceiver(sequence_number=2, system_id="demo", password="demo1234"))
        ping = codec.encode(p.EnquireLink(sequence_number=3))
        stream = early + bind + ping
        for i in range(0, len(stream), 7):  # seven octets at a time
            conn.proto.dataReceived(stream[i : i + 7])
        assert hooks.tap.inbound == [early, bind, ping]
        assert [codec.decode(f).command_id for f in hooks.tap.outbound] == [
            p.SubmitSmResp.command_id,
            p.BindTransceiverResp.command_id,
            p.EnquireLinkResp.command_id,
        ]
        assert b"".join(hooks.tap.outbound) == conn.transport.value()
        assert sum(hooks.reads) == len(stream)
        assert conn.proto.session_id == 7
    finally:
        conn.close()


def test_opened_and_ended_come_once_per_admitted_connection_never_for_a_refused_one(tmp_path: Path):
    one_each = lambda text: text.replace("max_connections_per_address = 100", "max_connections_per_address = 1")  # noqa: E731
    conn, hooks = hooked(tmp_path, overrides=one_each)
    try:
        refused, transport = conn.connect()  # the same address as the first: over the limit
        assert transport.disconnected and transport.value() == b""
        assert hooks.opened_conns == [conn.proto] and refused.session_id is None
        refused.connectionLost()
        conn.proto.connectionLost()
        assert hooks.ended_conns == [conn.proto]
    finally:
        conn.close()


# ---- the test rig's hooks ---------------------------------------------------------------------


def test_the_rigs_scorecard_grades_the_frames_the_session_read(tmp_path: Path):
    conn = open_connection(tmp_path, rig=True, auto_commit=False)
    try:
        conn.committer.auto = True
        assert conn.bind().command_status == S.ESME_ROK
        conn.committer.auto = False  # the answers wait for the commit: 13 requests outstanding at once
        stream = b"".join(codec.encode(submit(seq)) for seq in range(2, 15))  # the window is 10
        for i in range(0, len(stream), 11):  # split anywhere: each PDU still counts once
            conn.proto.dataReceived(stream[i : i + 11])
        conn.committer.commit()
        assert len(conn.read()) == 13
        session_id = conn.proto.session_id
        assert session_id is not None
        conn.proto.connectionLost()
        assert conn.rig is not None
        card = conn.rig.scorecards.get(session_id).to_json()
        assert card["counts"]["submits"] == 13 and card["counts"]["requests"] == 14
        assert card["counts"]["window_overruns"] == 3 and card["account"] == "demo"
        assert card["ending"] == "closed without unbind"
    finally:
        conn.close()


def test_the_scorecard_names_the_bound_live_on_the_gateways_clock(tmp_path: Path):
    """Virtual time: a gateway that commits 10 ms after each submit, a client that sends the next
    0.2 ms after each answer: bound by its window of one, live and after the connection closed."""
    conn = open_connection(tmp_path, rig=True, auto_commit=False)
    try:
        conn.committer.auto = True
        assert conn.bind().command_status == S.ESME_ROK
        conn.committer.auto = False
        for seq in range(2, 22):
            conn.send(submit(seq))
            conn.clock.advance(0.010)
            conn.committer.commit()
            assert [a.command_status for a in conn.read()] == [S.ESME_ROK]
            conn.clock.advance(0.0002)
        session_id = conn.proto.session_id
        assert conn.rig is not None and session_id is not None
        card = conn.rig.scorecards.get(session_id)
        live = card.to_json()["throughput"]
        assert live["bound"] == "window" and 95 < live["rate_per_s"] < 100
        assert live["evidence"][0] == "peak 1 submits outstanding x 10 ms gateway latency: at most 100/s"
        conn.clock.advance(600)  # quiet since its last answer: the figures stay
        assert card.to_json()["throughput"] == live
        conn.proto.connectionLost()
        assert card.to_json()["throughput"] == live
    finally:
        conn.close()
