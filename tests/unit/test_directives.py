"""The ``#smppgw:`` directive: how its text and TLV forms are read and stripped, what a malformed
one says, and how a script changes a carrier's plan without shifting anyone else's draws."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smppgw.carriers.model import LOST_OUTCOME, Outcome, Script, plan, profile_from_dict, scenario_rules_from_list
from smppgw.model import MessageState
from smppgw.pipeline.directives import (
    DIRECTIVE_TAG,
    Directive,
    DirectiveError,
    format_directive,
    parse_directive,
    split_text,
    take_directive,
)
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import ESM_CLASS_UDHI, Tag

STATES = [
    MessageState.DELIVERED,
    MessageState.UNDELIVERABLE,
    MessageState.REJECTED,
    MessageState.EXPIRED,
    MessageState.UNKNOWN,
]

directives = st.builds(
    Directive,
    status=st.none() | st.integers(0, 0xFFFFFFFF),
    receipt=st.none() | st.sampled_from(STATES),
    err=st.none() | st.integers(0, 999),
    code=st.none() | st.from_regex(r"[A-Za-z0-9:_.-]{1,16}", fullmatch=True),
    delay=st.none() | st.integers(0, 10**6).map(lambda ms: ms / 1000),
    drop=st.just(False),
).filter(lambda d: format_directive(d) != "")


@given(directives)
def test_a_directive_reads_back_as_it_was_written(directive: Directive) -> None:
    assert parse_directive(format_directive(directive)) == directive


@given(directives, st.text(max_size=40))
def test_the_text_after_the_directive_is_the_message(directive: Directive, text: str) -> None:
    found = split_text(f"#smppgw:{format_directive(directive)} {text}")
    assert found == (format_directive(directive), text)


def test_the_documented_examples() -> None:
    assert parse_directive("status=0x58") == Directive(status=0x58)
    assert parse_directive("status=88") == Directive(status=0x58)
    assert parse_directive("receipt=UNDELIV,delay=5") == Directive(receipt=MessageState.UNDELIVERABLE, delay=5.0)
    assert parse_directive("receipt=undeliv,err=7,code=MK:0005").script == Script(
        MessageState.UNDELIVERABLE, 7, "MK:0005", None, False
    )
    assert parse_directive("drop") == parse_directive("drop=1") == Directive(drop=True)
    assert parse_directive("drop=0").script is None
    assert parse_directive("status=0").script is None


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        ("", ""),
        ("statos=0x58", "statos"),
        ("status=0x", "status"),
        ("status=fast", "status"),
        ("status=0x100000000", "status"),
        ("status=", "status"),
        ("receipt=DELIVERED", "receipt"),
        ("receipt=ENROUTE", "receipt"),
        ("receipt=DELIVRD,receipt=UNDELIV", "receipt"),
        ("err=1000", "err"),
        ("err=-1", "err"),
        ("delay=soon", "delay"),
        ("delay=-1", "delay"),
        ("delay=1e3", "delay"),
        ("code=way too long a carrier code", "code"),
        ("drop=maybe", "drop"),
        ("drop,receipt=DELIVRD", "drop"),
        ("receipt=DELIVRD,", ""),
    ],
)
def test_a_malformed_directive_names_its_bad_key(fields: str, key: str) -> None:
    with pytest.raises(DirectiveError) as caught:
        parse_directive(fields)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"directive {key}:" if key else "directive:")


def test_the_directive_ends_at_the_first_space_or_line_break() -> None:
    assert split_text("#smppgw:drop hello world") == ("drop", "hello world")
    assert split_text("#smppgw:drop\nhello") == ("drop", "hello")
    assert split_text("#smppgw:drop\r\nhello") == ("drop", "hello")
    assert split_text("#smppgw:drop") == ("drop", "")
    assert split_text("hello #smppgw:drop") is None
    assert split_text(" #smppgw:drop") is None


def _submit(body: bytes, data_coding: int = 0, **fields: object) -> p.SubmitSm:
    return p.SubmitSm(destination_addr="13800138000", short_message=body, data_coding=data_coding, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data_coding", "codec"),
    [(0, None), (3, "latin-1"), (8, "utf-16-be"), (0x0F, "gb18030")],
)
def test_the_text_form_is_read_in_the_messages_data_coding(data_coding: int, codec: str | None) -> None:
    text = (
        "#smppgw:receipt=UNDELIV,delay=2 验证码 1234"
        if codec in ("utf-16-be", "gb18030")
        else ("#smppgw:receipt=UNDELIV,delay=2 Code 1234 é")
    )
    rest = text.split(" ", 1)[1]
    if codec is None:  # GSM 7-bit, one septet per octet: the ASCII letters and digits are the same octets
        text, rest = "#smppgw:receipt=UNDELIV,delay=2 Code 1234", "Code 1234"
        body, want = text.encode("ascii"), rest.encode("ascii")
    else:
        body, want = text.encode(codec), rest.encode(codec)
    stripped, directive = take_directive(_submit(body, data_coding))
    assert directive == Directive(receipt=MessageState.UNDELIVERABLE, delay=2.0)
    assert stripped.payload == want


def test_without_a_prefix_nothing_changes() -> None:
    pdu = _submit(b"hello #smppgw:drop")
    assert take_directive(pdu) == (pdu, None)


def test_the_first_part_of_a_long_message_carries_it_and_keeps_its_udh() -> None:
    udh1, udh2 = bytes([5, 0, 3, 7, 2, 1]), bytes([5, 0, 3, 7, 2, 2])
    first = _submit(udh1 + b"#smppgw:drop part one", esm_class=ESM_CLASS_UDHI)
    stripped, directive = take_directive(first)
    assert directive == Directive(drop=True)
    assert stripped.payload == udh1 + b"part one"
    # A later part's text is the middle of the message: a "#smppgw:" there is just text.
    second = _submit(udh2 + b"#smppgw:drop part two", esm_class=ESM_CLASS_UDHI)
    assert take_directive(second) == (second, None)


def test_message_payload_is_stripped_in_its_tlv() -> None:
    pdu = _submit(b"", tlvs=(p.Tlv(Tag.MESSAGE_PAYLOAD, b"#smppgw:status=0x58 hi"),))
    stripped, directive = take_directive(pdu)
    assert directive == Directive(status=0x58)
    assert stripped.payload == b"hi"


def test_the_tlv_form_leaves_the_text_alone_and_is_removed() -> None:
    pdu = _submit(b"#hashtag news", tlvs=(p.Tlv(DIRECTIVE_TAG, b"receipt=REJECTD\0"), p.Tlv(0x1502, b"x")))
    stripped, directive = take_directive(pdu)
    assert directive == Directive(receipt=MessageState.REJECTED)
    assert stripped.payload == b"#hashtag news"
    assert stripped.tlvs == (p.Tlv(0x1502, b"x"),)


def test_a_directive_in_both_forms_is_refused() -> None:
    pdu = _submit(b"#smppgw:drop hi", tlvs=(p.Tlv(DIRECTIVE_TAG, b"drop"),))
    with pytest.raises(DirectiveError, match="both"):
        take_directive(pdu)


# ---- the carrier's plan ---------------------------------------------------------------------

PROFILE = profile_from_dict("CMCC", {"loss_percent": 5, "submit_latency_ms": 20}, "test")


def _plans(scripts: dict[int, Script], seed: int = 7, count: int = 60) -> list[tuple[float, Outcome, bool]]:
    rng = random.Random(seed)
    out = []
    for i in range(count):
        planned = plan(PROFILE, msisdn="8613800138000", now=100.0, validity_until=None, rng=rng, script=scripts.get(i))
        out.append((planned.report_at, planned.outcome, planned.lost))
    return out


@pytest.mark.parametrize(
    "script",
    [
        Script(state=MessageState.UNDELIVERABLE, delay=2.0),
        Script(drop=True),
        Script(err=9),
        Script(state=MessageState.EXPIRED),
    ],
)
def test_a_script_leaves_every_other_messages_draw_as_it_was(script: Script) -> None:
    plain = _plans({})
    scripted = _plans({3: script, 17: script, 40: script})
    for i, (was, now) in enumerate(zip(plain, scripted, strict=True)):
        if i not in (3, 17, 40):
            assert now == was, i


def test_a_script_sets_state_err_code_and_time() -> None:
    rng = random.Random(1)
    undeliv = plan(
        PROFILE, msisdn="8613800138000", now=100.0, validity_until=None, rng=rng,
        script=Script(state=MessageState.UNDELIVERABLE, delay=2.0),
    )  # fmt: skip
    assert (undeliv.report_at, undeliv.outcome, undeliv.lost) == (
        pytest.approx(102.02),
        Outcome(MessageState.UNDELIVERABLE, 6, "MK:0001"),
        False,
    )
    by_code = plan(
        PROFILE, msisdn="8613800138000", now=100.0, validity_until=None, rng=rng,
        script=Script(state=MessageState.UNDELIVERABLE, code="DB:0141"),
    )  # fmt: skip
    assert by_code.outcome == Outcome(MessageState.UNDELIVERABLE, 5, "DB:0141")
    dropped = plan(PROFILE, msisdn="8613800138000", now=100.0, validity_until=130.0, rng=rng, script=Script(drop=True))
    assert (dropped.report_at, dropped.outcome, dropped.lost) == (130.0, LOST_OUTCOME, True)
    expired = plan(
        PROFILE, msisdn="8613800138000", now=100.0, validity_until=None, rng=rng,
        script=Script(state=MessageState.EXPIRED, delay=1.0),
    )  # fmt: skip
    assert expired.report_at == pytest.approx(101.02) and expired.outcome.state is MessageState.EXPIRED
    # The validity still bounds a scripted message: past its end it expires there.
    late = plan(
        PROFILE, msisdn="8613800138000", now=100.0, validity_until=105.0, rng=rng,
        script=Script(state=MessageState.DELIVERED, delay=60.0),
    )  # fmt: skip
    assert (late.report_at, late.outcome.state) == (105.0, MessageState.EXPIRED)


def test_a_script_wins_over_a_scenario_rule() -> None:
    rules = scenario_rules_from_list([{"pattern": "0000", "state": "UNDELIV"}, {"pattern": "0002", "lost": True}], "t")
    profile = profile_from_dict("CMCC", {}, "test")
    ruled = replace(profile, rules=rules)
    rng = random.Random(3)
    delivered = plan(
        ruled, msisdn="8613800000000", now=0.0, validity_until=None, rng=rng,
        script=Script(state=MessageState.DELIVERED, delay=1.0),
    )  # fmt: skip
    assert delivered.outcome == Outcome(MessageState.DELIVERED, 0, "")
    revived = plan(
        ruled, msisdn="8613800000002", now=0.0, validity_until=None, rng=rng,
        script=Script(state=MessageState.DELIVERED),
    )  # fmt: skip
    assert (revived.lost, revived.report_at) == (False, pytest.approx(0.02 + profile.receipt_median))
    untouched = plan(ruled, msisdn="8613800000000", now=0.0, validity_until=None, rng=rng)
    assert untouched.outcome.state is MessageState.UNDELIVERABLE
