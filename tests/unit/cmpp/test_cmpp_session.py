"""The gateway side of a CMPP session as a pure state machine: login, submits and their
Results, the window, duplicates, ACTIVE_TEST both ways, DELIVER, TERMINATE and every timer."""

from __future__ import annotations

import struct

import pytest
from cmpp_client import ACCOUNTS, TIMESTAMP, connect_packet, connected, lookup, read, submit

from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import encode
from smppgw.cmpp.constants import ConnectStatus, Result, Version
from smppgw.cmpp.errors import LocalProtocolError
from smppgw.cmpp.events import (
    CancelReceived,
    CloseConnection,
    Connected,
    ConnectRefused,
    DeliverAcknowledged,
    DeliverTimedOut,
    ProtocolViolation,
    QueryReceived,
    SubmitReceived,
    Terminated,
)
from smppgw.cmpp.login import authenticator_ismg
from smppgw.cmpp.session import CMPPServerSession, SessionConfig

V20, V30 = Version.V20, Version.V30
REPORT = pk.Deliver(
    dest_id="10690000",
    src_terminal_id="13800138000",
    content=pk.StatusReport(7, "DELIVRD", "2611271430", "2611271431", "13800138000", 1),
)


def kinds(events: list[object]) -> list[type]:
    return [type(e) for e in events]


# ---- login --------------------------------------------------------------------------------------


def test_a_30_client_logs_in_and_the_gateway_proves_the_secret() -> None:
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    connect = connect_packet()
    [event] = session.receive_data(encode(connect, V30), 0.0)
    assert event == Connected(ACCOUNTS["900001"], V30, 0x30)
    [resp] = read(session.data_to_send(), V30)
    assert resp == pk.ConnectResp(
        sequence_id=1,
        status=0,
        authenticator_ismg=authenticator_ismg(0, connect.authenticator_source, "demo1234", V30),
        version=0x30,
    )


def test_a_21_client_is_served_the_20_layout() -> None:
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    [event] = session.receive_data(encode(connect_packet("900002", "demo5678", 0x21), V20), 0.0)
    assert isinstance(event, Connected) and event.version is V20
    wire = session.data_to_send()
    assert len(wire) == 12 + 1 + 16 + 1  # the 1-octet status of 2.0
    assert read(wire, V20)[0].status == 0  # type: ignore[attr-defined]
    [got] = session.receive_data(encode(submit(2, src="900002", src_id="10690001"), V20), 1.0)
    assert isinstance(got, SubmitReceived)


def test_a_20_client_may_use_a_30_account() -> None:
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    [event] = session.receive_data(encode(connect_packet(version=0x20), V20), 0.0)
    assert isinstance(event, Connected) and event.version is V20


def test_asking_above_the_accounts_version_is_status_4_and_closes() -> None:
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    events = session.receive_data(encode(connect_packet("900002", "demo5678", 0x30), V30), 0.0)
    assert kinds(events) == [ConnectRefused, CloseConnection]
    [resp] = read(session.data_to_send(), V30)  # in the layout the client asked for
    assert resp == pk.ConnectResp(sequence_id=1, status=ConnectStatus.VERSION_TOO_HIGH, version=0x20)
    assert session.closed


@pytest.mark.parametrize(
    ("sp_id", "secret", "status"),
    [("900001", "wrong", ConnectStatus.AUTH_FAILED), ("999999", "demo1234", ConnectStatus.BAD_SOURCE_ADDR)],
)
def test_a_refused_login_gets_its_status_and_no_proof(sp_id: str, secret: str, status: int) -> None:
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    events = session.receive_data(encode(connect_packet(sp_id, secret), V30), 0.0)
    assert events[0] == ConnectRefused(sp_id, status)
    [resp] = read(session.data_to_send(), V30)
    assert (resp.status, resp.authenticator_ismg) == (status, bytes(16))  # type: ignore[attr-defined]


def test_a_replayed_authenticator_with_another_timestamp_fails() -> None:
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    replay = connect_packet().evolve(timestamp=TIMESTAMP + 1)
    assert kinds(session.receive_data(encode(replay, V30), 0.0))[0] is ConnectRefused


def test_an_undecodable_connect_is_status_1_and_closes() -> None:
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    wire = bytearray(encode(connect_packet(), V30))[:-1]
    wire[:4] = struct.pack(">I", len(wire))
    events = session.receive_data(bytes(wire), 0.0)
    assert kinds(events) == [ProtocolViolation, CloseConnection]
    assert read(session.data_to_send(), V30)[0].status == ConnectStatus.BAD_STRUCTURE  # type: ignore[attr-defined]


def test_anything_but_connect_first_closes() -> None:
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    events = session.receive_data(encode(submit(1), V30), 0.0)
    assert kinds(events) == [ProtocolViolation, CloseConnection]
    assert session.data_to_send() == b""


def test_no_connect_within_the_timeout_closes() -> None:
    session = CMPPServerSession(SessionConfig(connect_timeout=30), lookup, 0.0)
    assert session.next_deadline() == 30
    assert session.handle_timers(29.9) == []
    assert kinds(session.handle_timers(30.0)) == [CloseConnection]


def test_a_second_connect_is_answered_with_status_5() -> None:
    session = connected()
    events = session.receive_data(encode(connect_packet(seq=9), V30), 1.0)
    assert kinds(events) == [ProtocolViolation]
    assert read(session.data_to_send(), V30)[0].status == ConnectStatus.OTHER  # type: ignore[attr-defined]
    assert session.connected


# ---- submits --------------------------------------------------------------------------------------


def test_submit_is_handed_to_the_host_and_answered_with_its_msg_id() -> None:
    session = connected()
    [event] = session.receive_data(encode(submit(5, content=b"hi"), V30), 1.0)
    assert isinstance(event, SubmitReceived)
    assert event.submit.content == b"hi" and event.part.is_single
    session.respond_submit(5, 0xABC, 1.0)
    assert read(session.data_to_send(), V30) == [pk.SubmitResp(sequence_id=5, msg_id=0xABC, result=0)]


def test_pipelined_submits_are_answered_in_any_order() -> None:
    session = connected()
    events = session.receive_data(b"".join(encode(submit(n), V30) for n in range(10, 20)), 1.0)
    assert [e.submit.sequence_id for e in events if isinstance(e, SubmitReceived)] == list(range(10, 20))
    for n in reversed(range(10, 20)):
        session.respond_submit(n, n, 1.0)
    assert [p.sequence_id for p in read(session.data_to_send(), V30)] == list(reversed(range(10, 20)))


def test_a_long_message_part_arrives_with_its_udh_read() -> None:
    session = connected()
    part = submit(5, tp_udhi=1, pk_total=2, pk_number=2, msg_fmt=8, content=bytes((5, 0, 3, 9, 2, 2)) + b"\0a")
    [event] = session.receive_data(encode(part, V30), 1.0)
    assert isinstance(event, SubmitReceived)
    assert (event.part.ref, event.part.total, event.part.number, event.part.body) == (9, 2, 2, b"\0a")


@pytest.mark.parametrize(
    ("bad", "result"),
    [
        (submit(5, src="900002"), Result.BAD_MSG_SRC),
        (submit(5, src_id="10691234"), Result.BAD_SRC_ID),
        (submit(5, tp_udhi=1, content=b"\x09\x00"), Result.BAD_STRUCTURE),
    ],
)
def test_a_submit_the_account_may_not_send_is_answered_by_the_session(bad: pk.Submit, result: int) -> None:
    session = connected()
    events = session.receive_data(encode(bad, V30), 1.0)
    assert kinds(events) == [ProtocolViolation]
    assert read(session.data_to_send(), V30) == [pk.SubmitResp(sequence_id=5, result=result)]
    assert session.connected and session.pending_requests == 0


def test_an_empty_src_id_is_left_to_the_gateway() -> None:
    session = connected()  # pycmpp never fills Src_Id in
    assert kinds(session.receive_data(encode(submit(5, src_id=""), V30), 1.0)) == [SubmitReceived]


def test_a_malformed_submit_gets_its_result_and_the_session_goes_on() -> None:
    session = connected()
    wire = bytearray(encode(submit(5, dest_terminal_ids=("13800138000",)), V30))
    at = wire.index(b"13800138000")
    wire[at] = ord("x")
    events = session.receive_data(bytes(wire) + encode(submit(6), V30), 1.0)
    assert kinds(events) == [ProtocolViolation, SubmitReceived]
    assert read(session.data_to_send(), V30) == [pk.SubmitResp(sequence_id=5, result=Result.BAD_DEST_TERMINAL_ID)]


def test_a_duplicate_sequence_id_is_result_3_while_waiting_and_after_the_answer() -> None:
    session = connected(SessionConfig(duplicate_memory=180))
    session.receive_data(encode(submit(5), V30), 1.0)
    assert kinds(session.receive_data(encode(submit(5), V30), 2.0)) == [ProtocolViolation]
    assert read(session.data_to_send(), V30) == [pk.SubmitResp(sequence_id=5, result=Result.DUPLICATE_SEQUENCE)]
    session.respond_submit(5, 77, 3.0)  # the first one is still answered as itself
    assert read(session.data_to_send(), V30) == [pk.SubmitResp(sequence_id=5, msg_id=77)]
    session.receive_data(encode(submit(5), V30), 60.0)  # the client's resend after T
    assert read(session.data_to_send(), V30)[0].result == Result.DUPLICATE_SEQUENCE  # type: ignore[attr-defined]
    assert kinds(session.receive_data(encode(submit(5), V30), 184.0)) == [SubmitReceived]  # long forgotten


def test_beyond_the_window_of_unanswered_requests_submits_get_result_8() -> None:
    session = connected(SessionConfig(max_pending_requests=16))
    events = session.receive_data(b"".join(encode(submit(n), V30) for n in range(1, 18)), 1.0)
    assert kinds(events) == [SubmitReceived] * 16 + [ProtocolViolation]
    assert read(session.data_to_send(), V30) == [pk.SubmitResp(sequence_id=17, result=Result.FLOW_CONTROL)]
    session.respond_submit(1, 1, 2.0)
    assert kinds(session.receive_data(encode(submit(18), V30), 2.0)) == [SubmitReceived]


def test_respond_checks_what_it_answers() -> None:
    session = connected()
    with pytest.raises(LocalProtocolError):
        session.respond_submit(5, 1, 1.0)
    session.receive_data(encode(pk.Query(sequence_id=5), V30), 1.0)
    with pytest.raises(LocalProtocolError):
        session.respond_submit(5, 1, 1.0)


def test_query_and_cancel_are_handed_to_the_host() -> None:
    session = connected()
    events = session.receive_data(
        encode(pk.Query(sequence_id=5, time="20261127"), V30) + encode(pk.Cancel(sequence_id=6, msg_id=9), V30), 1.0
    )
    assert kinds(events) == [QueryReceived, CancelReceived]
    session.respond_query(pk.QueryResp(sequence_id=5, time="20261127", mt_tlmsg=3), 1.0)
    session.respond_cancel(6, False, 1.0)
    assert read(session.data_to_send(), V30) == [
        pk.QueryResp(sequence_id=5, time="20261127", mt_tlmsg=3),
        pk.CancelResp(sequence_id=6, success_id=0),
    ]


def test_a_deliver_from_the_sp_is_result_2() -> None:
    session = connected()
    events = session.receive_data(encode(pk.Deliver(sequence_id=5, msg_id=3), V30), 1.0)
    assert kinds(events) == [ProtocolViolation]
    assert read(session.data_to_send(), V30) == [pk.DeliverResp(sequence_id=5, msg_id=3, result=Result.BAD_COMMAND)]


def test_an_unknown_command_closes() -> None:
    session = connected()
    events = session.receive_data(struct.pack(">III", 12, 0x00000009, 5), 1.0)
    assert kinds(events) == [ProtocolViolation, CloseConnection]
    assert events[0].result == Result.BAD_COMMAND  # type: ignore[union-attr]


def test_a_huge_total_length_on_a_submit_is_result_4_then_closes() -> None:
    session = connected()
    events = session.receive_data(struct.pack(">III", 1 << 20, 4, 5), 1.0)
    assert kinds(events) == [ProtocolViolation, CloseConnection]
    assert read(session.data_to_send(), V30) == [pk.SubmitResp(sequence_id=5, result=Result.BAD_LENGTH)]


# ---- ACTIVE_TEST, DELIVER, TERMINATE ----------------------------------------------------------------


def test_the_clients_active_test_is_answered() -> None:
    session = connected()
    assert session.receive_data(encode(pk.ActiveTest(sequence_id=4), V30), 1.0) == []
    assert read(session.data_to_send(), V30) == [pk.ActiveTestResp(sequence_id=4)]


def test_after_3_minutes_of_silence_we_test_the_link_3_times_then_drop_it() -> None:
    session = connected(SessionConfig(active_test_interval=180, response_timeout=60, max_tries=3))
    assert session.next_deadline() == 180
    assert session.handle_timers(180) == []
    [test] = read(session.data_to_send(), V30)
    assert isinstance(test, pk.ActiveTest)
    assert session.next_deadline() == 240
    session.handle_timers(240)
    session.handle_timers(300)
    assert read(session.data_to_send(), V30) == [test, test]  # resent with the same Sequence_Id
    assert kinds(session.handle_timers(360)) == [CloseConnection]


def test_an_answered_active_test_keeps_the_session() -> None:
    session = connected()
    session.handle_timers(180)
    [test] = read(session.data_to_send(), V30)
    session.receive_data(encode(pk.ActiveTestResp(sequence_id=test.sequence_id), V30), 200)
    assert session.next_deadline() == 380
    assert session.handle_timers(379) == [] and session.connected


def test_pycmpps_malformed_active_test_resp_does_not_break_the_stream() -> None:
    session = connected()
    session.handle_timers(180)
    [test] = read(session.data_to_send(), V30)
    # pycmpp sends Total_Length 13 followed by the four ASCII octets "0x00".
    quirk = struct.pack(">III", 13, 0x80000008, test.sequence_id) + b"0x00"
    stream = quirk + encode(submit(5), V30)
    events = session.receive_data(stream[:14], 181) + session.receive_data(stream[14:], 181)
    assert kinds(events) == [SubmitReceived]
    assert session.outstanding == 0


def test_a_status_report_is_acknowledged() -> None:
    session = connected()
    seq = session.send_deliver(REPORT, 1.0)
    assert read(session.data_to_send(), V30) == [REPORT.evolve(sequence_id=seq)]
    [event] = session.receive_data(encode(pk.DeliverResp(sequence_id=seq, msg_id=0), V30), 2.0)
    assert event == DeliverAcknowledged(REPORT.evolve(sequence_id=seq), 0)


def test_an_unanswered_deliver_is_resent_then_given_up() -> None:
    session = connected(SessionConfig(response_timeout=60, max_tries=3))
    seq = session.send_deliver(REPORT, 0.0)
    session.data_to_send()
    assert session.handle_timers(60) == [] and session.handle_timers(120) == []
    assert [p.sequence_id for p in read(session.data_to_send(), V30)] == [seq, seq]
    assert session.handle_timers(180) == [DeliverTimedOut(REPORT.evolve(sequence_id=seq))]
    assert session.connected


def test_the_deliver_window_is_kept() -> None:
    session = connected(SessionConfig(window=2))
    session.send_deliver(REPORT, 0.0)
    session.send_deliver(REPORT, 0.0)
    assert not session.window_open
    with pytest.raises(LocalProtocolError):
        session.send_deliver(REPORT, 0.0)


def test_the_clients_terminate_is_answered_and_closes() -> None:
    session = connected()
    seq = session.send_deliver(REPORT, 0.0)
    session.data_to_send()
    events = session.receive_data(encode(pk.Terminate(sequence_id=8), V30), 1.0)
    assert events == [Terminated(by_peer=True), DeliverTimedOut(REPORT.evolve(sequence_id=seq)), CloseConnection(
        "terminated by the client")]  # fmt: skip
    assert read(session.data_to_send(), V30) == [pk.TerminateResp(sequence_id=8)]


def test_our_terminate_closes_when_answered_and_refuses_new_submits() -> None:
    session = connected()
    session.terminate(1.0)
    [term] = read(session.data_to_send(), V30)
    session.receive_data(encode(submit(5), V30), 1.5)
    assert read(session.data_to_send(), V30)[0].result == Result.FLOW_CONTROL  # type: ignore[attr-defined]
    events = session.receive_data(encode(pk.TerminateResp(sequence_id=term.sequence_id), V30), 2.0)
    assert kinds(events) == [Terminated, CloseConnection]
    assert session.closed and session.next_deadline() is None


def test_a_closed_session_is_silent() -> None:
    session = connected()
    session.connection_lost()
    assert session.receive_data(encode(pk.ActiveTest(sequence_id=1), V30), 1.0) == []
    assert session.handle_timers(1000) == [] and session.data_to_send() == b""


def test_the_hosts_late_answer_after_the_connection_went_away_is_dropped() -> None:
    session = connected()
    session.receive_data(encode(submit(5), V30), 1.0)
    session.connection_lost()
    session.respond_submit(5, 1, 2.0)  # the pipeline finished after the client left
    assert session.data_to_send() == b""
