"""The hook points the faults real carriers have ride on (a bind refused by a hook, a connection
lost while bound, an answer annotated), and the outbind shell on a task.Clock."""

from __future__ import annotations

from pathlib import Path

from adapter_parts import open_connection
from test_connection import submit
from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from smppgw.config.rig import OutbindTarget
from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S
from smppgw.rig.outbind import TICK_S, Outbinder
from smppgw.rig.outbind_plan import OutbindTargets
from smppgw.server.hooks import HostedConnection, NoHooks
from smppgw.server.protocol import SMPPServerProtocol


class Hooks(NoHooks):
    def __init__(self) -> None:
        self.refuse = 0
        self.drops: list[tuple[str, str]] = []

    def binding(self, conn: HostedConnection, bind: p.BindRequest, now: float) -> int:
        return self.refuse

    def dropped(self, conn: HostedConnection, account: str, bind_type: str, now: float) -> None:
        self.drops.append((account, bind_type))

    def annotate(self, conn: HostedConnection, response: p.SubmitSmResp | p.DataSmResp) -> p.Pdu:
        return response.evolve(tlvs=(p.int_tlv(0x0428, 42),))


def test_a_hook_refuses_a_bind_the_gateway_would_take_and_the_bind_slot_is_given_back(tmp_path: Path):
    hooks = Hooks()
    conn = open_connection(tmp_path, hooks=hooks)
    try:
        hooks.refuse = S.ESME_RALYBND
        assert conn.bind().command_status == S.ESME_RALYBND
        assert conn.gateway.accounts.get("demo").binds == 0
        assert hooks.drops == []  # refused, never bound: not a drop
    finally:
        conn.close()


def test_a_connection_lost_while_bound_is_told_and_answers_are_annotated(tmp_path: Path):
    hooks = Hooks()
    conn = open_connection(tmp_path, hooks=hooks)
    try:
        assert conn.bind(p.BindTransmitter).command_status == 0
        conn.send(submit(2))
        [resp] = conn.read()
        assert isinstance(resp, p.SubmitSmResp) and resp.tlvs == (p.Tlv(0x0428, b"\x2a"),)
        conn.proto.connectionLost()
        assert hooks.drops == [("demo", "transmitter")]
        clean, clean_transport = conn.connect()
        conn.send(p.BindReceiver(sequence_number=1, system_id="demo", password="demo1234"), proto=clean)
        conn.send(p.Unbind(sequence_number=2), proto=clean)
        clean.connectionLost()
        assert hooks.drops == [("demo", "transmitter")]  # unbound first: not a drop
        assert clean_transport.value()
    finally:
        conn.close()


class Waiting:
    def __init__(self) -> None:
        self.waiting = 0
        self.bound = 0

    def backlog(self, account: str | None = None) -> int:
        return self.waiting

    def receivers(self, account: str) -> int:
        return self.bound


def test_the_outbinder_connects_sends_outbind_and_backs_off_while_nothing_binds(tmp_path: Path):
    hooks = Hooks()
    conn = open_connection(tmp_path, hooks=hooks)
    clock = Clock()
    targets = OutbindTargets()
    targets.set("demo", OutbindTarget("127.0.0.1", 2776, "gw", "pw", retry_min_s=1.0, retry_max_s=4.0))
    waiting = Waiting()
    made: list[tuple[SMPPServerProtocol, StringTransport]] = []
    refuse = [True]

    def connect(host: str, port: int, proto: SMPPServerProtocol) -> Deferred[object]:
        if refuse[0]:
            d: Deferred[object] = Deferred()
            d.errback(ConnectionRefusedError("refused"))
            return d
        transport = StringTransport()
        proto.makeConnection(transport)
        made.append((proto, transport))
        return succeed(proto)

    outbinder = Outbinder(
        clock=clock,
        targets=targets,
        deliveries=waiting,
        new_connection=lambda: conn.factory.buildProtocol(None),
        connect=connect,
    )
    try:
        outbinder.start()
        clock.advance(TICK_S)
        assert outbinder.plan_of("demo").failures == 0  # nothing waits: no connection
        waiting.waiting = 2
        tries = []
        for _ in range(40):  # 10 s of ticks
            clock.advance(TICK_S)
            tries.append(outbinder.plan_of("demo").failures)
        assert max(tries) == 4  # tried at 0, 1, 3 and 7 s: waits of 1, 2, 4 s
        refuse[0] = False
        clock.advance(4.0)
        [(proto, transport)] = made
        assert codec.decode(transport.value()) == p.Outbind(sequence_number=1, system_id="gw", password="pw")
        conn.send(p.BindReceiver(sequence_number=1, system_id="demo", password="demo1234"), proto=proto)
        clock.advance(TICK_S)
        assert outbinder.plan_of("demo").bound and outbinder.plan_of("demo").failures == 0
    finally:
        outbinder.stop()
        conn.close()
