"""The core with scripted outcomes: an account that opted in has its directives obeyed and stripped
before anything is counted, priced or screened; one that did not sends them as text."""

from __future__ import annotations

from core_fakes import NOW, build

from smppgw.carriers.model import Script
from smppgw.config import AccountConfig
from smppgw.model import MessageState
from smppgw.pipeline.directives import DIRECTIVE_TAG
from smppgw.pipeline.gateway import Accepted, Rejected
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus

SCRIPTED = AccountConfig("acme", "secret", source_addrs=("10690",), scripted_outcomes=True)


def test_status_answers_the_submit_and_charges_nothing() -> None:
    core = build(account=SCRIPTED)
    result = core.submit(b"#smppgw:status=0x58 hello")
    assert isinstance(result, Rejected) and result.status == CommandStatus.ESME_RTHROTTLED
    assert core.balance() == 1000 and core.gateway.active == {}


def test_the_directive_is_stripped_before_counting_and_the_carrier_gets_the_script() -> None:
    core = build(account=SCRIPTED)
    # 160 characters of text after the directive: one segment, though the whole short_message is longer.
    message = core.accept(b"#smppgw:receipt=UNDELIV,delay=2 " + b"a" * 160, registered_delivery=1)
    assert (message.body, message.segments, message.charge) == (b"a" * 160, 1, 45)
    job = core.carriers["CMCC"].jobs[message.message_id]
    assert job.script == Script(MessageState.UNDELIVERABLE, None, None, 2.0, False)
    settlement = core.report(message, MessageState.UNDELIVERABLE, NOW + 2, err=6)
    assert settlement.delivery is not None and b"#smppgw" not in settlement.delivery.body
    assert b"text:aaaa" in settlement.delivery.body
    assert core.balance() == 1000  # UNDELIV is refunded by the policy


def test_content_checks_see_the_stripped_text() -> None:
    signed = AccountConfig(
        "acme", "secret", source_addrs=("10690",), scripted_outcomes=True,
        signatures=("【演示】",), signature_required=True,
    )  # fmt: skip
    core = build(account=signed)
    text = "#smppgw:receipt=DELIVRD 【演示】您的验证码 1234"
    assert isinstance(core.submit(text.encode("utf-16-be"), data_coding=8), Accepted)


def test_a_malformed_directive_is_refused_naming_its_key() -> None:
    core = build(account=SCRIPTED)
    result = core.submit(b"#smppgw:recept=UNDELIV hello")
    assert isinstance(result, Rejected)
    assert result.status == CommandStatus.ESME_RINVOPTPARAMVAL and "recept" in result.reason
    assert core.balance() == 1000


def test_the_tlv_form() -> None:
    core = build(account=SCRIPTED)
    message = core.accept(b"hello", tlvs=(p.Tlv(DIRECTIVE_TAG, b"drop"),))
    assert core.carriers["CMCC"].jobs[message.message_id].script == Script(drop=True)
    assert message.body == b"hello"


def test_without_the_opt_in_a_directive_is_text() -> None:
    core = build()
    message = core.accept(b"#smppgw:status=0x58 hello", tlvs=(p.Tlv(DIRECTIVE_TAG, b"drop"),))
    assert message.body == b"#smppgw:status=0x58 hello"
    assert core.carriers["CMCC"].jobs[message.message_id].script is None


def test_a_message_without_a_directive_is_not_scripted() -> None:
    core = build(account=SCRIPTED)
    message = core.accept(b"hello")
    assert core.carriers["CMCC"].jobs[message.message_id].script is None
