"""The pure session state machine (bytes in, events out) and its Twisted host over a
StringTransport with a task.Clock: binds, states, pipelining and every timer."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import DEFAULT_CONFIG, config_text
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from smppgw import config as cfg
from smppgw.app.service import GatewayService
from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S
from smppgw.protocol.events import BindRequested, CloseConnection, RequestReceived, ResponseTimedOut, Unbound
from smppgw.protocol.framing import FrameBuffer
from smppgw.protocol.session import SessionConfig, SessionState, SMPPSession

CONFIG = SessionConfig(session_init_timeout=30, enquire_link_interval=30, inactivity_timeout=300, response_timeout=60)


def pdus(data: bytes) -> list[p.Pdu]:
    frames = FrameBuffer()
    frames.feed(data)
    out = []
    while (frame := frames.next_frame()) is not None:
        out.append(codec.decode(frame))
    return out


def bound(now: float = 0.0, bind: type[p.Pdu] = p.BindTransceiver) -> SMPPSession:
    session = SMPPSession(CONFIG, now)
    [event] = session.receive_data(codec.encode(bind(sequence_number=1, system_id="demo", password="x")), now)
    assert isinstance(event, BindRequested)
    session.complete_bind(event.pdu, S.ESME_ROK, now)
    session.data_to_send()
    return session


# ---- pure session --------------------------------------------------------------------


def test_bind_then_submit_is_let_through_with_its_sequence_number():
    session = bound()
    events = session.receive_data(codec.encode(p.SubmitSm(sequence_number=9, destination_addr="1")), 1.0)
    assert [type(e) for e in events] == [RequestReceived]
    session.respond(p.SubmitSmResp(sequence_number=9, message_id="abc"))
    [resp] = pdus(session.data_to_send())
    assert (resp.sequence_number, resp.message_id) == (9, "abc")


def test_pipelined_requests_are_answered_out_of_order_by_sequence_number():
    session = bound()
    data = b"".join(codec.encode(p.SubmitSm(sequence_number=n)) for n in range(10, 20))
    events = session.receive_data(data, 1.0)
    assert [e.pdu.sequence_number for e in events if isinstance(e, RequestReceived)] == list(range(10, 20))
    for n in reversed(range(10, 20)):
        session.respond(p.SubmitSmResp(sequence_number=n, message_id=str(n)))
    assert [r.sequence_number for r in pdus(session.data_to_send())] == list(reversed(range(10, 20)))


@pytest.mark.parametrize(
    ("bind", "allowed", "refused"),
    [
        (p.BindTransmitter, p.SubmitSm, None),
        (p.BindReceiver, None, p.SubmitSm),
        (p.BindTransceiver, p.QuerySm, None),
    ],
)
def test_bind_state_decides_what_may_be_sent(bind, allowed, refused):
    session = bound(bind=bind)
    if allowed is not None:
        events = session.receive_data(codec.encode(allowed(sequence_number=5)), 1.0)
        assert isinstance(events[0], RequestReceived)
    if refused is not None:
        session.receive_data(codec.encode(refused(sequence_number=6)), 1.0)
        [resp] = pdus(session.data_to_send())
        assert (resp.sequence_number, resp.command_status) == (6, S.ESME_RINVBNDSTS)


def test_receiver_session_cannot_be_sent_a_submit_but_can_get_deliver_sm():
    session = bound(bind=p.BindReceiver)
    assert session.can_receive
    session.send_request(p.DeliverSm(short_message=b"x"), 1.0)
    [sent] = pdus(session.data_to_send())
    assert isinstance(sent, p.DeliverSm) and sent.sequence_number == 1


def test_bind_refused_closes():
    session = SMPPSession(CONFIG, 0.0)
    [event] = session.receive_data(codec.encode(p.BindTransmitter(sequence_number=1, system_id="x")), 0.0)
    events = session.complete_bind(event.pdu, S.ESME_RINVPASWD, 0.0)
    assert [type(e) for e in events] == [CloseConnection]
    [resp] = pdus(session.data_to_send())
    assert resp.command_status == S.ESME_RINVPASWD


def test_unsupported_interface_version_is_refused():
    session = SMPPSession(CONFIG, 0.0)
    events = session.receive_data(codec.encode(p.BindTransmitter(sequence_number=1, interface_version=0x60)), 0.0)
    assert isinstance(events[-1], CloseConnection)
    assert pdus(session.data_to_send())[0].command_status == S.ESME_RBINDFAIL


def test_peer_unbind_is_answered_then_closed():
    session = bound()
    events = session.receive_data(codec.encode(p.Unbind(sequence_number=4)), 1.0)
    assert [type(e) for e in events] == [Unbound, CloseConnection]
    [resp] = pdus(session.data_to_send())
    assert isinstance(resp, p.UnbindResp) and resp.sequence_number == 4
    assert session.state is SessionState.CLOSED


def test_too_many_unanswered_requests_get_msgqful():
    session = SMPPSession(SessionConfig(max_pending_requests=2), 0.0)
    [event] = session.receive_data(codec.encode(p.BindTransmitter(sequence_number=1)), 0.0)
    session.complete_bind(event.pdu, S.ESME_ROK, 0.0)
    session.data_to_send()
    events = session.receive_data(b"".join(codec.encode(p.SubmitSm(sequence_number=n)) for n in (2, 3, 4)), 0.0)
    assert sum(isinstance(e, RequestReceived) for e in events) == 2
    [resp] = pdus(session.data_to_send())
    assert (resp.sequence_number, resp.command_status) == (4, S.ESME_RMSGQFUL)


def test_session_init_timer_closes_a_connection_that_never_binds():
    session = SMPPSession(CONFIG, 100.0)
    assert session.next_deadline() == 130.0
    assert session.handle_timers(129.9) == []
    assert [type(e) for e in session.handle_timers(130.0)] == [CloseConnection]


def test_enquire_link_on_idle_link_and_dead_link_dropped():
    session = bound(now=0.0)
    assert session.next_deadline() == 30.0
    session.handle_timers(30.0)
    [ping] = pdus(session.data_to_send())
    assert isinstance(ping, p.EnquireLink)
    # no answer within response_timeout: the link is dead
    assert [type(e) for e in session.handle_timers(90.0)] == [CloseConnection]


def test_answered_enquire_link_keeps_the_link():
    session = bound(now=0.0)
    session.handle_timers(30.0)
    [ping] = pdus(session.data_to_send())
    session.receive_data(codec.encode(p.EnquireLinkResp(sequence_number=ping.sequence_number)), 31.0)
    assert session.handle_timers(90.0) == []
    assert session.state is SessionState.BOUND_TRX


def test_inactivity_unbinds():
    config = SessionConfig(enquire_link_interval=0, inactivity_timeout=300, response_timeout=60)
    session = SMPPSession(config, 0.0)
    [event] = session.receive_data(codec.encode(p.BindTransceiver(sequence_number=1)), 0.0)
    session.complete_bind(event.pdu, S.ESME_ROK, 0.0)
    session.data_to_send()
    session.handle_timers(300.0)
    [unbind] = pdus(session.data_to_send())
    assert isinstance(unbind, p.Unbind)
    events = session.receive_data(codec.encode(p.UnbindResp(sequence_number=unbind.sequence_number)), 301.0)
    assert [type(e) for e in events] == [Unbound, CloseConnection]


def test_unanswered_deliver_sm_times_out():
    session = bound(now=0.0)
    seq = session.send_request(p.DeliverSm(), 0.0)
    session.receive_data(codec.encode(p.EnquireLink(sequence_number=50)), 59.0)  # traffic, but no answer
    events = session.handle_timers(60.0)
    assert [type(e) for e in events] == [ResponseTimedOut]
    assert events[0].request.sequence_number == seq


# ---- the Twisted host over a StringTransport ------------------------------------------


@pytest.fixture
def host(tmp_path: Path):
    clock = Clock()
    text = config_text(tmp_path / "gw.db")
    service = GatewayService(cfg.parse(text, DEFAULT_CONFIG), clock)
    proto = service.factory.buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    yield clock, proto, transport
    service.store.close()


def test_host_closes_unbound_connection_after_session_init_timeout(host):
    clock, _proto, transport = host
    clock.advance(29)
    assert not transport.disconnecting
    clock.advance(1)
    assert transport.disconnecting


def test_host_sends_enquire_link_when_idle_and_drops_dead_link(host):
    clock, proto, transport = host
    proto.dataReceived(codec.encode(p.BindTransceiver(sequence_number=1, system_id="demo", password="demo1234")))
    [bind_resp] = pdus(transport.value())
    assert bind_resp.command_status == 0
    transport.clear()
    clock.advance(30)
    [ping] = pdus(transport.value())
    assert isinstance(ping, p.EnquireLink)
    clock.advance(60)
    assert transport.disconnecting


def test_host_answers_enquire_link_and_refuses_wrong_password(host):
    _clock, proto, transport = host
    proto.dataReceived(codec.encode(p.EnquireLink(sequence_number=3)))
    proto.dataReceived(codec.encode(p.BindTransmitter(sequence_number=4, system_id="demo", password="wrong")))
    answers = pdus(transport.value())
    assert isinstance(answers[0], p.EnquireLinkResp) and answers[0].sequence_number == 3
    assert answers[1].command_status == S.ESME_RINVPASWD
    assert transport.disconnecting
