"""Regression tests for what the long fuzz run (tests/fuzz_long.py, docs/reliability.md) found."""

from __future__ import annotations

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S
from smppgw.protocol.events import BindRequested, CloseConnection
from smppgw.protocol.session import SessionConfig, SessionState, SMPPSession


def _answers(session: SMPPSession) -> list[p.Pdu]:
    data, out = session.data_to_send(), []
    while data:
        length = int.from_bytes(data[:4], "big")
        out.append(codec.decode(data[:length]))
        data = data[length:]
    return out


def test_two_binds_in_one_segment_hand_the_host_one_and_the_session_answers_the_other() -> None:
    # Found by seed 1: two bind_transceiver with sequence number 2 in one read.  Both were handed to
    # the host, and deciding the second raised LocalProtocolError (its sequence number was already
    # answered, or the refused first bind had closed the session).
    session = SMPPSession(SessionConfig(), 0.0)
    bind = codec.encode(p.BindTransceiver(sequence_number=2, system_id="demo", password="x"))
    events = session.receive_data(bind + bind, 0.0)
    binds = [e for e in events if isinstance(e, BindRequested)]
    assert len(binds) == 1
    assert [(type(r), r.sequence_number, r.command_status) for r in _answers(session)] == [
        (p.BindTransceiverResp, 2, S.ESME_RINVBNDSTS)
    ]
    assert session.complete_bind(binds[0].pdu, S.ESME_ROK, 0.0) == []
    assert session.state is SessionState.BOUND_TRX
    assert [(type(r), r.sequence_number, r.command_status) for r in _answers(session)] == [
        (p.BindTransceiverResp, 2, S.ESME_ROK)
    ]


def test_a_refused_bind_followed_by_another_in_the_same_read_closes_once() -> None:
    session = SMPPSession(SessionConfig(), 0.0)
    first = codec.encode(p.BindTransmitter(sequence_number=1, system_id="demo", password="bad"))
    second = codec.encode(p.BindReceiver(sequence_number=2, system_id="demo", password="x"))
    events = session.receive_data(first + second, 0.0)
    binds = [e for e in events if isinstance(e, BindRequested)]
    assert [b.pdu.sequence_number for b in binds] == [1]
    assert isinstance(session.complete_bind(binds[0].pdu, S.ESME_RINVPASWD, 0.0)[-1], CloseConnection)
    assert [(r.sequence_number, r.command_status) for r in _answers(session)] == [
        (2, S.ESME_RINVBNDSTS),
        (1, S.ESME_RINVPASWD),
    ]


CORRUPT_HEADER = bytes(16)  # command_length 0: the stream cannot be framed any more


def test_a_bind_followed_by_a_corrupt_header_in_the_same_read_is_decided_without_error() -> None:
    # Found by seed 1: the session closed on the corrupt header after handing out the bind, and the
    # host's decision raised LocalProtocolError; a refused or accepted bind must not revive it either.
    for status in (S.ESME_ROK, S.ESME_RINVPASWD):
        session = SMPPSession(SessionConfig(), 0.0)
        bind = codec.encode(p.BindTransceiver(sequence_number=2, system_id="demo", password="x"))
        events = session.receive_data(bind + CORRUPT_HEADER, 0.0)
        assert isinstance(events[0], BindRequested) and isinstance(events[-1], CloseConnection)
        assert [type(r) for r in _answers(session)] == [p.GenericNack]
        assert session.complete_bind(events[0].pdu, status, 0.0) == []
        assert session.closed and _answers(session) == []


def test_a_request_answered_after_the_session_closed_in_the_same_read_is_dropped() -> None:
    session = SMPPSession(SessionConfig(), 0.0)
    bind = codec.encode(p.BindTransceiver(sequence_number=1, system_id="demo", password="x"))
    (requested,) = session.receive_data(bind, 0.0)
    assert isinstance(requested, BindRequested)
    session.complete_bind(requested.pdu, S.ESME_ROK, 0.0)
    _answers(session)
    submit = codec.encode(p.SubmitSm(sequence_number=7, destination_addr="13800138000", short_message=b"hi"))
    events = session.receive_data(submit + CORRUPT_HEADER, 0.0)
    assert isinstance(events[-1], CloseConnection)
    _answers(session)
    session.respond(p.SubmitSmResp(sequence_number=7, command_status=S.ESME_RTHROTTLED))
    assert _answers(session) == []
