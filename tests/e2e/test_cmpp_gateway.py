"""The CMPP listener end to end: a real socket client (tests/cmpp_socket_client.py, on the
gateway's own codec) against the running gateway, on the same pipeline as SMPP."""

from __future__ import annotations

import pytest_twisted
from cmpp_socket_client import logged_in
from test_e2e_pipeline import with_fast_rule
from twisted.internet.threads import deferToThread

from smppgw.cmpp.msgid import MsgId

DEMO_SRC = "900001"


@pytest_twisted.ensureDeferred
async def test_submit_gets_a_msg_id_and_a_status_report(gateway_factory):
    gw = await gateway_factory(with_fast_rule)

    def run():
        c = logged_in(gw.cmpp_port)
        resp = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800008888",), content=b"hello")
        [report] = c.reports(1)
        c.terminate()
        return resp, report, c.delivers

    resp, report, delivers = await deferToThread(run)
    assert resp.result == 0
    msg_id = MsgId.from_int(resp.msg_id)
    assert msg_id.gateway == 1
    message = gw.service.gateway.find(msg_id.decimal)
    assert message is not None and message.account == "demo" and message.source_addr == "10690000"
    assert report.msg_id == resp.msg_id and report.stat == "DELIVRD" and report.dest_terminal_id == "13800008888"
    assert delivers[0].dest_id == "10690000"
