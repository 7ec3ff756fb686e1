"""The two CMPP clients on PyPI against the pure session, byte for byte, with no socket:
``pycmpp`` 2.0.2 (CMPP 2.0, Version octet 0x21) and ``cmppy`` 0.3 (CMPP 3.0, one connection per
request).  What they write is fed to the session; what the session writes is read back with
their own response parsers.  Skipped when the packages are not installed."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cmpp_client import ACCOUNTS, lookup

from smppgw.cmpp.constants import Result, Version
from smppgw.cmpp.events import Connected, SubmitReceived
from smppgw.cmpp.longmsg import Reassembler
from smppgw.cmpp.session import CMPPServerSession, SessionConfig
from smppgw.cmpp.text import decode_text


class FakeSocket:
    """Stands in for the socket pycmpp makes in its constructor: records what it sends."""

    def __init__(self, *args: object) -> None:
        self.sent: list[bytes] = []

    def send(self, data: bytes) -> int:
        self.sent.append(data)
        return len(data)


@pytest.fixture
def pycmpp_client(monkeypatch: pytest.MonkeyPatch) -> Any:
    cmpp = pytest.importorskip("pycmpp.cmpp")
    monkeypatch.setattr(cmpp.socket, "socket", FakeSocket)
    return cmpp.Cmpp("127.0.0.1", 7890, sp_id="900002", sp_secret="demo5678", src_id="10690001", delivery=1)


def drain(client: Any) -> bytes:
    data = b"".join(client.so.sent)
    client.so.sent.clear()
    return data


def test_pycmpp_logs_in_as_20_and_its_long_message_is_put_back_together(pycmpp_client: Any) -> None:
    response = pytest.importorskip("pycmpp.response")
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    pycmpp_client.auth()
    [event] = session.receive_data(drain(pycmpp_client), 0.0)
    assert event == Connected(ACCOUNTS["900002"], Version.V20, 0x21)
    resp = response.ConnectResponseInstance()
    resp.resolve(session.data_to_send())
    assert resp.status == 0

    text = "您的验证码是" * 25  # 150 characters: pycmpp cuts at 64, three UCS2 parts with an 8-bit UDH
    pycmpp_client.submit(text, ["13800138000"])
    events = session.receive_data(drain(pycmpp_client), 1.0)
    submits = [e for e in events if isinstance(e, SubmitReceived)]
    assert len(submits) == 3 == len(events)
    assembler = Reassembler()
    whole = None
    for e in submits:
        assert e.submit.msg_fmt == 8 and e.submit.tp_udhi == 1 and e.submit.registered_delivery == 1
        assert e.submit.src_id == ""  # pycmpp never fills Src_Id in: the gateway must use the service code
        assert (e.part.total, e.part.ref_bits) == (3, 8)
        whole = assembler.add(("900002", e.part.ref), e.part, 1.0) or whole
        session.respond_submit(e.submit.sequence_id, 1000 + e.part.number, 1.0)
    assert whole is not None and decode_text(8, whole) == text
    wire = session.data_to_send()
    got = []
    while wire:
        resp = response.SubmitResponseInstance()
        resp.resolve(wire[:21])  # 2.0: Msg_Id 8 + Result 1
        got.append((resp.msg_id, resp.status))
        wire = wire[21:]
    assert got == [(1001, 0), (1002, 0), (1003, 0)]


def test_pycmpps_answer_to_our_active_test_is_tolerated(pycmpp_client: Any) -> None:
    handlers = pytest.importorskip("pycmpp.handlers")
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    pycmpp_client.auth()
    session.receive_data(drain(pycmpp_client), 0.0)
    session.data_to_send()
    session.handle_timers(180.0)
    handlers.CmppActiveTestReqHandler(pycmpp_client, session.data_to_send())()
    answer = drain(pycmpp_client)
    assert answer[:4] == b"\0\0\0\x0d" and len(answer) == 16  # says 13 octets, sends 16
    pycmpp_client.submit("hi", ["13800138000"])
    events = session.receive_data(answer + drain(pycmpp_client), 181.0)
    assert [type(e) for e in events] == [SubmitReceived]
    assert session.outstanding == 0 and session.connected


def test_pycmpps_wrong_secret_is_status_3() -> None:
    request = pytest.importorskip("pycmpp.request")
    response = pytest.importorskip("pycmpp.response")
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    session.receive_data(request.ConnectRequestInstance().create("900002", "wrong"), 0.0)
    resp = response.ConnectResponseInstance()
    resp.resolve(session.data_to_send())
    assert resp.status == 3 and session.closed


def test_cmppy_logs_in_as_30_submits_and_checks_the_gateways_proof() -> None:
    request = pytest.importorskip("cmppy.request")
    response = pytest.importorskip("cmppy.response")
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    connect = request.ConnectReq("900001", "demo1234")
    [event] = session.receive_data(connect.message, 0.0)
    assert isinstance(event, Connected) and event.version is Version.V30
    resp = response.parse_response(session.data_to_send())
    assert resp.status == 0
    # cmppy's own (commented-out) check: MD5(raw 4-octet Status + AuthenticatorSource + secret)
    assert resp.authenticator_ISMG == hashlib.md5(resp.raw_status + connect.authenticator_source + b"demo1234").digest()

    submit = request.SubmitReq("900001", "测试", src_id="106900001", dest_terminal_id=["8613800138000"])
    [event] = session.receive_data(submit.message, 1.0)
    assert isinstance(event, SubmitReceived)
    assert decode_text(event.submit.msg_fmt, event.submit.content) == "测试"
    assert event.submit.service_id == "MI" and event.submit.dest_terminal_ids == ("8613800138000",)
    session.respond_submit(event.submit.sequence_id, 0xBDB9E14DBBA1002A, 1.0)
    resp = response.parse_response(session.data_to_send())
    assert (resp.msg_id, resp.result) == (0xBDB9E14DBBA1002A, 0)

    session.receive_data(request.TerminateReq().message, 2.0)
    assert isinstance(response.parse_response(session.data_to_send()), response.TerminateRes)
    assert session.closed


def test_cmppys_default_src_id_is_refused_with_result_10() -> None:
    request = pytest.importorskip("cmppy.request")
    response = pytest.importorskip("cmppy.response")
    session = CMPPServerSession(SessionConfig(), lookup, 0.0)
    session.receive_data(request.ConnectReq("900001", "demo1234").message, 0.0)
    session.data_to_send()
    session.receive_data(request.SubmitReq("900001", "x").message, 1.0)  # Src_Id 1064899103013
    assert response.parse_response(session.data_to_send()).result == Result.BAD_SRC_ID
