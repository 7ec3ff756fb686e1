"""CMPP clients nobody here wrote, over real sockets against the running gateway: ``pycmpp`` 2.0.2
(CMPP 2.0, Version 0x21, never answers a DELIVER) and ``cmppy`` 0.3 (CMPP 3.0, one short
connection per request).  Skipped when the packages (the test extras) are not installed."""

from __future__ import annotations

import socket
from typing import Any

import pytest
import pytest_twisted
from cmpp_socket_client import logged_in
from polling import until
from test_e2e_pipeline import with_fast_rule
from twisted.internet import reactor
from twisted.internet.threads import deferToThread

from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import peek_header
from smppgw.cmpp.constants import CommandId
from smppgw.cmpp.msgid import MsgId

FAST_RESENDS = "response_timeout = 0.3            # T"


def quick_resends(text: str) -> str:
    """DELIVERs unanswered for 0.3 s are resent (3 tries in all), then retried 1 s later."""
    text = with_fast_rule(text)
    text = text.replace("response_timeout = 60            # T", FAST_RESENDS, 1)
    return text.replace("receipt_retry_interval = 10 ", "receipt_retry_interval = 1 ", 1)


def read_frame(sock: socket.socket) -> bytes:
    header = b""
    while len(header) < 12:
        chunk = sock.recv(12 - len(header))
        assert chunk, "the gateway closed the connection"
        header += chunk
    length = int.from_bytes(header[:4], "big")
    body = b""
    while len(header) + len(body) < length:
        chunk = sock.recv(length - 12 - len(body))
        assert chunk, "the gateway closed the connection"
        body += chunk
    return header + body


@pytest_twisted.ensureDeferred
async def test_pycmpp_submits_and_is_sent_its_reports_and_mo_which_it_never_answers(gateway_factory):
    cmpp = pytest.importorskip("pycmpp.cmpp")
    response = pytest.importorskip("pycmpp.response")
    gw = await gateway_factory(quick_resends)

    def login_and_submit() -> tuple[Any, int, int]:
        client = cmpp.Cmpp("127.0.0.1", gw.cmpp_port, sp_id="900002", sp_secret="demo5678", src_id="", delivery=1)
        client.so.settimeout(10)
        client.connect()
        client.auth()
        connect = response.ConnectResponseInstance()
        connect.resolve(read_frame(client.so))
        client.submit("您的验证码是 123456", ["13800008888"])
        resp = response.SubmitResponseInstance()
        resp.resolve(read_frame(client.so))
        return client, connect.status, resp

    client, status, resp = await deferToThread(login_and_submit)
    assert status == 0 and resp.status == 0
    message = gw.service.gateway.find(MsgId.from_int(resp.msg_id).decimal)
    assert message is not None and message.account == "demo2"
    assert message.source_addr == "10690001"  # pycmpp's empty Src_Id: the account's service code
    await gw.service.gateway.mobile_originated("13900139000", "10690001", "TD", reactor.seconds())

    def read_delivers(count: int) -> list[bytes]:
        return [f for f in (read_frame(client.so) for _ in range(count)) if peek_header(f)[1] == CommandId.DELIVER]

    # The report and the MO, each written three times with its Sequence_Id (T = 0.3 s, N = 3).
    frames = await deferToThread(read_delivers, 6)
    seqs = [peek_header(f)[2] for f in frames]
    assert len(set(seqs)) == 2 and all(seqs.count(s) == 3 for s in set(seqs))
    await until(lambda: sum(p.delivers_unanswered for p in gw.service.cmpp_factory.connections) >= 2, timeout=5)
    # Given up on this connection, not lost: still owed, and sent again after the retry interval.
    assert gw.service.deliveries.backlog("demo2") == 2
    again = await deferToThread(read_delivers, 2)
    assert len(again) == 2
    client.close()

    def collect():
        c = logged_in(gw.cmpp_port, account="demo2")
        c.wait_for(pk.Deliver, timeout=10)
        c.wait_for(pk.Deliver, timeout=10)
        c.read_packet(0.3)
        c.terminate()
        return c

    c = await deferToThread(collect)
    assert c.report_by_id()[resp.msg_id].stat == "DELIVRD"
    assert [m.content for m in c.mos()] == [b"TD"]
    await until(lambda: gw.service.deliveries.backlog("demo2") == 0, timeout=5)


@pytest_twisted.ensureDeferred
async def test_cmppy_submits_on_short_connections_with_its_src_id_overridden(gateway_factory):
    request = pytest.importorskip("cmppy.request")
    response = pytest.importorskip("cmppy.response")
    gw = await gateway_factory(with_fast_rule)

    def short_connection(*requests: Any) -> list[Any]:
        with socket.create_connection(("127.0.0.1", gw.cmpp_port), timeout=10) as sock:
            out = []
            for req in (request.ConnectReq("900001", "demo1234"), *requests, request.TerminateReq()):
                sock.sendall(req.message)
                out.append(response.parse_response(read_frame(sock)))
            return out

    def run():
        default = short_connection(request.SubmitReq("900001", "x"))  # Src_Id 1064899103013: not ours
        ours = short_connection(
            request.SubmitReq(
                "900001", "测试", src_id="106900001", dest_terminal_id=["8613800008888"], registered_delivery=1
            ),
            request.SubmitReq(
                "900001", "再测", src_id="106900001", dest_terminal_id=["8613900008888"], registered_delivery=1
            ),
        )
        return default, ours

    default, ours = await deferToThread(run)
    assert default[0].status == 0 and default[1].result == 10  # bad Src_Id
    assert ours[0].status == 0 and [r.result for r in ours[1:3]] == [0, 0]
    assert isinstance(ours[3], response.TerminateRes)
    for resp in ours[1:3]:
        message = gw.service.gateway.find(MsgId.from_int(resp.msg_id).decimal)
        assert message is not None and message.source_addr == "106900001" and message.account == "demo"
    # cmppy reads no DELIVER: its reports wait until a session of the account can take them.
    await until(lambda: gw.service.deliveries.backlog("demo") == 2, timeout=10)

    def collect():
        c = logged_in(gw.cmpp_port)
        reports = c.reports(2)
        c.terminate()
        return reports

    reports = await deferToThread(collect)
    assert {r.msg_id for r in reports} == {r.msg_id for r in ours[1:3]}
