"""Scripted outcomes end to end: a real smpplib client (and a raw socket for the TLV form) drives
a message's submit status, receipt and delay by its ``#smppgw:`` directive, on the demo account
(which opts in); demo2 does not, so there a directive is only text."""

from __future__ import annotations

import contextlib
import io
import time
from pathlib import Path

import pytest_twisted
from smpp_helpers import Raw, client, read_receipts, receipt_fields, submit_and_wait
from twisted.internet.threads import deferToThread

from smppgw.model import MessageState
from smppgw.pipeline.directives import DIRECTIVE_TAG
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S

NUMBER = "13900128888"  # China Mobile; no scenario rule: its own outcome would be drawn


@pytest_twisted.ensureDeferred
async def test_status_answers_the_submit_and_nothing_is_charged(gateway):
    wallets = gateway.service.wallets
    before = wallets["demo"].balance

    def run():
        c = client(gateway.smpp_port)
        resp = submit_and_wait(c, NUMBER, b"#smppgw:status=0x58 hello", registered_delivery=1)
        c.unbind()
        return resp.status

    assert await deferToThread(run) == S.ESME_RTHROTTLED
    assert wallets["demo"].balance == before


@pytest_twisted.ensureDeferred
async def test_receipt_and_delay_are_scripted_refunded_and_the_directive_never_shows(gateway):
    wallets = gateway.service.wallets
    before = wallets["demo"].balance

    def run():
        c = client(gateway.smpp_port)
        resp = submit_and_wait(c, NUMBER, b"#smppgw:receipt=UNDELIV,delay=2 Your code 1234", registered_delivery=1)
        sent = time.monotonic()
        charged = before - wallets["demo"].balance
        (receipt,) = read_receipts(c, 1, timeout=10)
        waited = time.monotonic() - sent
        c.unbind()
        return resp, charged, receipt, waited

    resp, charged, receipt, waited = await deferToThread(run)
    assert resp.status == 0 and charged == 45
    fields = receipt_fields(receipt)
    assert (fields["id"], fields["stat"], fields["err"]) == (resp.message_id.decode(), "UNDELIV", "006")
    assert 1.8 <= waited < 6.0
    assert b"#smppgw" not in receipt.short_message and b"text:Your code" in receipt.short_message
    message = gateway.service.gateway.find(resp.message_id.decode())
    assert message is not None and message.body == b"Your code 1234"
    assert wallets["demo"].balance == before  # UNDELIV is refunded (billing.refund_states)


@pytest_twisted.ensureDeferred
async def test_drop_gives_no_receipt(gateway):
    def run():
        c = client(gateway.smpp_port)
        dropped = submit_and_wait(c, NUMBER, b"#smppgw:drop lost", registered_delivery=1)
        control = submit_and_wait(c, NUMBER, b"#smppgw:receipt=DELIVRD,delay=0.5 here", registered_delivery=1)
        receipts = read_receipts(c, 2, timeout=4)
        c.unbind()
        return dropped.message_id.decode(), control.message_id.decode(), receipts

    dropped, control, receipts = await deferToThread(run)
    assert [receipt_fields(r)["id"] for r in receipts] == [control]
    message = gateway.service.gateway.find(dropped)
    assert message is not None and message.state is not MessageState.DELIVERED and not message.is_final


@pytest_twisted.ensureDeferred
async def test_an_account_without_the_opt_in_sends_the_directive_as_text(gateway):
    def run():
        c = client(gateway.smpp_port, system_id="demo2", password="demo5678")
        resp = submit_and_wait(c, NUMBER, b"#smppgw:status=0x58 hello", source_addr="10690001")
        c.unbind()
        return resp

    resp = await deferToThread(run)
    assert resp.status == 0
    message = gateway.service.gateway.find(resp.message_id.decode())
    assert message is not None and message.body == b"#smppgw:status=0x58 hello"


@pytest_twisted.ensureDeferred
async def test_the_tlv_form_and_a_malformed_directive(gateway):
    def run():
        raw = Raw(gateway.smpp_port)
        assert raw.bind().command_status == 0
        answers = []
        for seq, tlv in ((2, b"status=0x45"), (3, b"receipt=SOON")):
            raw.send(
                p.SubmitSm(
                    sequence_number=seq,
                    source_addr="10690000",
                    destination_addr=NUMBER,
                    short_message=b"hello",
                    tlvs=(p.Tlv(DIRECTIVE_TAG, tlv),),
                )
            )
            answers.append(raw.read().command_status)
        raw.close()
        return answers

    assert await deferToThread(run) == [S.ESME_RSUBMITFAIL, S.ESME_RINVOPTPARAMVAL]


@pytest_twisted.ensureDeferred
async def test_the_readme_example_runs_as_written(gateway):
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Outcomes chosen by the message itself") :]
    code = section[section.index("```python\n") + 10 :]
    code = code[: code.index("```")].replace("2775", str(gateway.smpp_port))
    out = io.StringIO()

    def run():
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {})

    await deferToThread(run)
    lines = out.getvalue().splitlines()
    assert lines[:2] == ["0x58", "0"]
    assert "stat:UNDELIV err:006 text:Your code is 1234" in lines[2]
