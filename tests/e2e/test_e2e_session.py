"""A real smpplib client and raw sockets against the gateway over loopback."""

from __future__ import annotations

import struct

import pytest_twisted
import smpplib.consts
import smpplib.exceptions
from smpp_helpers import Raw, client
from twisted.internet.threads import deferToThread

from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S


@pytest_twisted.ensureDeferred
async def test_thousand_pipelined_submits_get_distinct_ids(gateway):
    def run():
        c = client(gateway.smpp_port)
        window, total = 10, 1000
        outstanding = sent = 0
        statuses, ids = [], []
        while len(statuses) < total:
            while outstanding < window and sent < total:
                c.send_message(
                    source_addr="10690000",
                    destination_addr=f"1390012{1000 + sent:04d}",
                    short_message=b"pipelined",
                )
                sent += 1
                outstanding += 1
            pdu = c.read_pdu()
            if pdu.command == "submit_sm_resp":
                outstanding -= 1
                statuses.append(pdu.status)
                ids.append(pdu.message_id)
        c.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=c))
        link = c.read_pdu()
        c.unbind()
        c.disconnect()
        return statuses, ids, link.command

    statuses, ids, link = await deferToThread(run)
    assert statuses == [0] * 1000
    assert len(set(ids)) == 1000
    assert link == "enquire_link_resp"


@pytest_twisted.ensureDeferred
async def test_bind_errors(gateway):
    def run():
        raw = Raw(gateway.smpp_port)
        wrong_id = raw.bind("nobody", "x").command_status
        closed_after_fail = raw.closed()
        raw2 = Raw(gateway.smpp_port)
        wrong_pw = raw2.bind("demo", "nope").command_status
        raw3 = Raw(gateway.smpp_port)
        ok = raw3.bind().command_status
        raw3.send(p.BindTransceiver(sequence_number=2, system_id="demo", password="demo1234"))
        again = raw3.read()
        raw3.send(p.Unbind(sequence_number=3))
        unbind_resp = raw3.read()
        closed_after_unbind = raw3.closed()
        return wrong_id, closed_after_fail, wrong_pw, ok, again, unbind_resp, closed_after_unbind

    wrong_id, closed_after_fail, wrong_pw, ok, again, unbind_resp, closed_after_unbind = await deferToThread(run)
    assert wrong_id == S.ESME_RINVSYSID and closed_after_fail
    assert wrong_pw == S.ESME_RINVPASWD
    assert ok == S.ESME_ROK
    assert isinstance(again, p.BindTransceiverResp) and again.command_status == S.ESME_RALYBND
    assert isinstance(unbind_resp, p.UnbindResp) and unbind_resp.sequence_number == 3
    assert closed_after_unbind


@pytest_twisted.ensureDeferred
async def test_submit_before_bind_is_refused_with_invbndsts(gateway):
    def run():
        raw = Raw(gateway.smpp_port)
        raw.send(p.SubmitSm(sequence_number=7, source_addr="10690000", destination_addr="13800138000"))
        return raw.read()

    resp = await deferToThread(run)
    assert isinstance(resp, p.SubmitSmResp)
    assert (resp.sequence_number, resp.command_status) == (7, S.ESME_RINVBNDSTS)


@pytest_twisted.ensureDeferred
async def test_malformed_input_gets_nack_or_close_and_others_keep_working(gateway):
    def run():
        results = {}
        # Unknown command id: generic_nack ESME_RINVCMDID, session survives.
        raw = Raw(gateway.smpp_port)
        raw.bind()
        raw.send(struct.pack(">IIII", 16, 0x00000777, 0, 42))
        results["unknown"] = raw.read()
        raw.send(p.EnquireLink(sequence_number=43))
        results["still_alive"] = raw.read()
        # Truncated body (submit_sm whose fields stop early): nack, session survives.
        raw.send(struct.pack(">IIII", 20, 0x00000004, 0, 44) + b"\x00\x00\x00\x00")
        results["truncated"] = raw.read()
        raw.send(p.EnquireLink(sequence_number=45))
        results["alive_after_truncated"] = raw.read()
        # command_length 0x7FFFFFFF: generic_nack ESME_RINVCMDLEN and close.
        raw.send(struct.pack(">IIII", 0x7FFFFFFF, 0x00000004, 0, 46))
        results["huge"] = raw.read()
        results["huge_closed"] = raw.closed()
        # Garbage bytes: the length they spell is out of range -> nack and close.
        garbage = Raw(gateway.smpp_port)
        garbage.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        results["garbage"] = garbage.read()
        results["garbage_closed"] = garbage.closed()
        # Another client is served all the while.
        c = client(gateway.smpp_port)
        results["other"] = c.send_message(source_addr="10690000", destination_addr="13800138123", short_message=b"x")
        results["other_resp"] = c.read_pdu().status
        c.unbind()
        return results

    r = await deferToThread(run)
    assert isinstance(r["unknown"], p.GenericNack)
    assert (r["unknown"].command_status, r["unknown"].sequence_number) == (S.ESME_RINVCMDID, 42)
    assert isinstance(r["still_alive"], p.EnquireLinkResp)
    assert isinstance(r["truncated"], p.GenericNack) and r["truncated"].command_status == S.ESME_RINVCMDLEN
    assert r["truncated"].sequence_number == 44
    assert isinstance(r["alive_after_truncated"], p.EnquireLinkResp)
    assert isinstance(r["huge"], p.GenericNack) and r["huge"].command_status == S.ESME_RINVCMDLEN
    assert r["huge_closed"]
    assert isinstance(r["garbage"], p.GenericNack) and r["garbage"].command_status == S.ESME_RINVCMDLEN
    assert r["garbage_closed"]
    assert r["other_resp"] == 0


@pytest_twisted.ensureDeferred
async def test_bad_field_values_get_their_own_status(gateway):
    def run():
        raw = Raw(gateway.smpp_port)
        raw.bind()
        out = {}
        raw.send(p.SubmitSm(sequence_number=10, source_addr="10699999", destination_addr="13800138000"))
        out["source"] = raw.read()
        raw.send(p.SubmitSm(sequence_number=11, source_addr="10690000", destination_addr="15412345678"))
        out["dest"] = raw.read()
        raw.send(
            p.SubmitSm(sequence_number=12, source_addr="10690000", destination_addr="13800138000", priority_flag=9)
        )
        out["priority"] = raw.read()
        raw.send(
            p.SubmitSm(sequence_number=13, source_addr="10690000", destination_addr="13800138000", validity_period="xx")
        )
        out["validity"] = raw.read()
        raw.send(
            p.SubmitSm(
                sequence_number=14, source_addr="10690000", destination_addr="13800138000", registered_delivery=0x80
            )
        )
        out["regdel"] = raw.read()
        return out

    out = await deferToThread(run)
    assert out["source"].command_status == S.ESME_RINVSRCADR
    assert out["dest"].command_status == S.ESME_RINVDSTADR
    assert out["priority"].command_status == S.ESME_RINVPRTFLG
    assert out["validity"].command_status == S.ESME_RINVEXPIRY
    assert out["regdel"].command_status == S.ESME_RINVREGDLVFLG


@pytest_twisted.ensureDeferred
async def test_smpp33_bind_gets_no_tlvs_and_50_bind_is_answered_as_34(gateway):
    def run():
        raw = Raw(gateway.smpp_port)
        raw.send(p.BindTransceiver(sequence_number=1, system_id="demo", password="demo1234", interface_version=0x33))
        legacy = raw.read()
        raw5 = Raw(gateway.smpp_port)
        raw5.send(p.BindTransceiver(sequence_number=1, system_id="demo", password="demo1234", interface_version=0x50))
        v5 = raw5.read()
        return legacy, v5

    legacy, v5 = await deferToThread(run)
    assert legacy.command_status == 0 and legacy.tlvs == ()
    assert v5.command_status == 0 and v5.tlv_int(0x0210) == 0x34
