"""The SMPP connection (smppgw.server.protocol) over a StringTransport and a task.Clock: binds,
submits answered once committed, enquire_link, unbind, the session's timers and receipt
delivery, built from the gateway's parts without a whole service."""

from __future__ import annotations

from pathlib import Path

import pytest
from adapter_parts import Connection, open_connection

from smppgw.carriers.model import profile_from_dict
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S
from smppgw.protocol.constants import Tag


@pytest.fixture
def conn(tmp_path: Path):
    connection = open_connection(tmp_path)
    yield connection
    connection.close()


def submit(seq: int, to: str = "13800138000", **fields) -> p.SubmitSm:
    return p.SubmitSm(
        sequence_number=seq,
        source_addr="10690000",
        dest_addr_ton=1,
        destination_addr=to,
        short_message=b"hello",
        **fields,
    )


def receipt_within(conn: Connection, seconds: int) -> list[p.Pdu]:
    """What the gateway sends within ``seconds`` of virtual time, its enquire_links answered and left out."""
    for _ in range(seconds):
        conn.clock.advance(1)
        out = []
        for pdu in conn.read():
            if isinstance(pdu, p.EnquireLink):
                conn.send(p.EnquireLinkResp(sequence_number=pdu.sequence_number))
            else:
                out.append(pdu)
        if out:
            return out
    return []


# ---- binds ---------------------------------------------------------------------------------


def test_a_good_bind_is_answered_and_registers_the_session(conn: Connection):
    answer = conn.bind()
    assert isinstance(answer, p.BindTransceiverResp)
    assert answer.command_status == S.ESME_ROK and answer.system_id == "smppgw"
    assert conn.factory.sessions_of("demo") == [conn.proto] and conn.proto.account == "demo"


def test_a_wrong_password_is_refused_and_closes_the_connection(conn: Connection):
    answer = conn.bind(password="wrong")
    assert answer.command_status == S.ESME_RINVPASWD
    assert conn.transport.disconnecting
    assert conn.factory.sessions_of("demo") == []


def test_failed_binds_lock_the_address_out_even_with_the_right_password(conn: Connection):
    for _ in range(5):
        proto, transport = conn.connect()
        conn.send(p.BindTransmitter(sequence_number=1, system_id="demo", password="wrong"), proto=proto)
        assert conn.read(transport)[0].command_status == S.ESME_RINVPASWD
    proto, transport = conn.connect()
    conn.send(p.BindTransmitter(sequence_number=1, system_id="demo", password="demo1234"), proto=proto)
    assert conn.read(transport)[0].command_status == S.ESME_RBINDFAIL


# ---- submits -------------------------------------------------------------------------------


def test_submit_sm_is_answered_only_once_its_charge_is_committed(tmp_path: Path):
    conn = open_connection(tmp_path, auto_commit=False)
    try:
        conn.committer.auto = True
        conn.bind()
        conn.committer.auto = False
        conn.send(submit(2))
        assert conn.read() == []  # accepted, not durable yet: no answer
        conn.committer.commit()
        [resp] = conn.read()
        assert isinstance(resp, p.SubmitSmResp) and resp.sequence_number == 2
        assert resp.command_status == S.ESME_ROK and resp.message_id
    finally:
        conn.close()


def test_the_submits_of_one_read_are_committed_together_and_answered_in_one_write(tmp_path: Path):
    conn = open_connection(tmp_path, auto_commit=False)
    try:
        conn.committer.auto = True
        conn.bind()
        conn.committer.auto = False
        writes: list[bytes] = []
        write = conn.transport.write
        conn.transport.write = lambda data: (writes.append(data), write(data))[1]  # type: ignore[method-assign]
        conn.send(submit(2), submit(3, priority_flag=4), submit(4))  # one read: two accepted, one refused
        assert [r.sequence_number for r in conn.read()] == [3]  # the refusal at once
        assert len(conn.committer.waiting) == 1  # the two accepted wait for one commit
        writes.clear()
        conn.committer.commit()
        answers = conn.read()
        assert [(r.sequence_number, r.command_status) for r in answers] == [(2, S.ESME_ROK), (4, S.ESME_ROK)]
        assert len(writes) == 1 and len({r.message_id for r in answers}) == 2
    finally:
        conn.close()


def test_a_failed_commit_answers_with_an_error_and_forgets_the_message(tmp_path: Path):
    conn = open_connection(tmp_path, auto_commit=False)
    try:
        conn.committer.auto = True
        conn.bind()
        conn.committer.auto = False
        conn.send(submit(2))
        conn.committer.fail_next = True
        conn.committer.commit()
        [resp] = conn.read()
        assert resp.command_status == S.ESME_RSYSERR and resp.message_id == ""
        assert conn.gateway.active == {}
    finally:
        conn.close()


def test_a_refused_submit_is_answered_at_once_with_its_status(conn: Connection):
    conn.bind()
    conn.send(submit(2, priority_flag=4))  # SMPP 3.4 has priorities 0 to 3
    [resp] = conn.read()
    assert isinstance(resp, p.SubmitSmResp) and resp.command_status == S.ESME_RINVPRTFLG
    assert conn.gateway.rejected == 1


def test_submit_multi_answers_once_and_names_the_destinations_that_failed(conn: Connection):
    conn.bind()
    conn.send(
        p.SubmitMulti(
            sequence_number=2,
            source_addr="10690000",
            dest_addresses=(
                p.SmeAddress(1, 1, "13800138000"),
                p.DistributionList("friends"),
                p.SmeAddress(1, 1, "13900139000"),
            ),
            short_message=b"hi all",
        )
    )
    [resp] = conn.read()
    assert isinstance(resp, p.SubmitMultiResp) and resp.command_status == S.ESME_ROK and resp.message_id
    assert resp.unsuccess_smes == (p.UnsuccessSme(0, 0, "friends", S.ESME_RCNTSUBDL),)
    assert conn.gateway.submitted == 2


def test_a_submit_before_binding_is_refused_by_the_session(conn: Connection):
    conn.send(submit(2))
    [resp] = conn.read()
    assert resp.command_status == S.ESME_RINVBNDSTS
    assert conn.gateway.submitted == 0


# ---- enquire_link, unbind and the timers -----------------------------------------------------


def test_enquire_link_is_answered(conn: Connection):
    conn.send(p.EnquireLink(sequence_number=7))
    [resp] = conn.read()
    assert isinstance(resp, p.EnquireLinkResp) and resp.sequence_number == 7


def test_an_unbind_is_answered_closes_and_frees_the_account(conn: Connection):
    conn.bind()
    conn.send(p.Unbind(sequence_number=2))
    [resp] = conn.read()
    assert isinstance(resp, p.UnbindResp) and resp.sequence_number == 2
    assert conn.transport.disconnecting
    assert conn.factory.sessions_of("demo") == []


def test_a_connection_that_never_binds_is_closed_after_session_init_timeout(conn: Connection):
    conn.clock.advance(29)
    assert not conn.transport.disconnecting
    conn.clock.advance(1)
    assert conn.transport.disconnecting


def test_an_idle_link_is_probed_and_a_dead_one_dropped(conn: Connection):
    conn.bind()
    conn.clock.advance(30)
    [probe] = conn.read()
    assert isinstance(probe, p.EnquireLink)
    conn.clock.advance(59)
    assert not conn.transport.disconnecting
    conn.clock.advance(1)
    assert conn.transport.disconnecting


def test_the_gateway_unbinds_a_session_and_closes_once_answered(conn: Connection):
    conn.bind()
    conn.proto.unbind()
    [unbind] = conn.read()
    assert isinstance(unbind, p.Unbind)
    conn.send(p.UnbindResp(sequence_number=unbind.sequence_number))
    assert conn.transport.disconnecting
    assert conn.factory.sessions_of("demo") == []


# ---- receipts ---------------------------------------------------------------------------------


def test_a_receipt_is_delivered_and_settled_by_its_deliver_sm_resp(conn: Connection):
    conn.bind()
    conn.send(submit(2, registered_delivery=1))
    [resp] = conn.read()
    [deliver] = receipt_within(conn, 120)
    assert isinstance(deliver, p.DeliverSm) and deliver.esm_class == 0x04
    assert deliver.tlv(Tag.RECEIPTED_MESSAGE_ID) == resp.message_id.encode() + b"\0"
    assert deliver.short_message.startswith(f"id:{resp.message_id} ".encode())
    assert conn.done == []
    conn.send(p.DeliverSmResp(sequence_number=deliver.sequence_number))
    assert [d.message_id for d in conn.done] == [resp.message_id]


def test_the_receipts_of_one_carrier_tick_go_out_in_one_write_and_their_answers_are_done_together(
    conn: Connection,
):
    data = {"submit_latency_ms": 0, "receipt_median_ms": 1000, "receipt_p99_ms": 1000, "outcomes": {"DELIVRD": 100}}
    data |= {"loss_percent": 0, "throughput": 0, "queue_limit": 1000}
    data["rules"] = [{"pattern": "*", "state": "DELIVRD", "delay_s": 1}]  # all three due in one tick
    conn.gateway.core.carriers["CMCC"].set_profile(profile_from_dict("CMCC", data, "test"))  # type: ignore[attr-defined]
    conn.bind()
    conn.send(*(submit(seq, f"1380013800{seq}", registered_delivery=1) for seq in (2, 3, 4)))
    answers = conn.read()
    assert [a.command_status for a in answers] == [S.ESME_ROK] * 3
    writes: list[bytes] = []
    write = conn.transport.write
    conn.transport.write = lambda data: (writes.append(data), write(data))[1]  # type: ignore[method-assign]
    for _ in range(20):
        conn.clock.advance(0.1)
    receipts = conn.read()
    assert len(writes) == 1  # three deliver_sm, one write
    assert sorted(r.tlv(Tag.RECEIPTED_MESSAGE_ID) for r in receipts) == sorted(
        a.message_id.encode() + b"\0" for a in answers
    )
    conn.send(*(p.DeliverSmResp(sequence_number=r.sequence_number) for r in receipts))  # one read
    assert conn.done_groups == [3]
    assert conn.deliveries.backlog("demo") == 0


def test_an_unanswered_receipt_is_sent_again_after_the_retry_interval(conn: Connection):
    conn.bind()
    conn.send(submit(2, registered_delivery=1))
    conn.read()
    [first] = receipt_within(conn, 120)
    conn.send(p.DeliverSmResp(sequence_number=first.sequence_number, command_status=S.ESME_RSYSERR))
    assert conn.read() == [] and conn.done == []
    [again] = receipt_within(conn, 11)
    assert isinstance(again, p.DeliverSm) and again.short_message == first.short_message
    assert again.sequence_number != first.sequence_number


def test_a_transmitter_is_sent_no_receipts(conn: Connection):
    conn.bind(p.BindTransmitter)
    conn.send(submit(2, registered_delivery=1))
    conn.read()
    assert receipt_within(conn, 120) == []
    assert conn.deliveries.backlog("demo") == 1


def test_a_receipt_not_answered_within_response_timeout_is_sent_again(conn: Connection):
    conn.bind()
    conn.send(submit(2, registered_delivery=1))
    conn.read()
    [first] = receipt_within(conn, 120)
    assert receipt_within(conn, 59) == []  # its answer may still come
    [again] = receipt_within(conn, 12)  # timed out at 60 s, resent 10 s later
    assert isinstance(again, p.DeliverSm) and again.short_message == first.short_message
    conn.send(p.DeliverSmResp(sequence_number=again.sequence_number))
    assert len(conn.done) == 1
