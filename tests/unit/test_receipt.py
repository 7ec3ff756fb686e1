from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smppgw.model import STAT_WORDS
from smppgw.protocol.receipt import ReceiptText, format_receipt, parse_receipt

# 2025-01-01 12:30 and 12:34 Beijing time (UTC+8).
SUBMITTED = 1735705800.0
DONE = 1735706040.0

JASMIN_ID = re.compile(r"id:([\dA-Za-z\-_]+)")
JASMIN_STAT = re.compile(r"stat:(\w{7})")
JASMIN_ERR = re.compile(r"err:(\w{1,3})")
# Kannel: sscanf "id:%64[^ ] sub:%d dlvrd:%d submit date:%14[0-9] done date:%14[0-9] stat:%15[^ ] err:%3[^ ]"
KANNEL = re.compile(
    r"id:([^ ]{1,64}) sub:(\d+) dlvrd:(\d+) submit date:(\d{1,14}) done date:(\d{1,14})"
    r" stat:([^ ]{1,15}) err:([^ ]{1,3})"
)


def receipt(**overrides: object) -> bytes:
    args: dict[str, object] = {
        "submitted_at": SUBMITTED,
        "done_at": DONE,
        "stat": "DELIVRD",
        "err": 0,
        "text": "Your code is 123456",
    }
    args.update(overrides)
    message_id = str(args.pop("message_id", "0123456789"))
    return format_receipt(message_id, **args)  # type: ignore[arg-type]


def test_delivered_receipt_is_byte_exact() -> None:
    assert receipt() == (
        b"id:0123456789 sub:001 dlvrd:001 submit date:2501011230 done date:2501011234"
        b" stat:DELIVRD err:000 text:Your code is 123456"
    )


def test_failed_receipt_has_nothing_delivered_and_padded_err() -> None:
    data = receipt(stat="UNDELIV", err=5)
    assert b" dlvrd:000 " in data
    assert b" stat:UNDELIV err:005 " in data


def test_err_given_as_text() -> None:
    assert b" err:024 " in receipt(stat="REJECTD", err="24")
    assert b" err:E12 " in receipt(stat="REJECTD", err="E12")


def test_dates_follow_the_utc_offset() -> None:
    data = receipt(utc_offset_minutes=0)
    assert b"submit date:2501010430 done date:2501010434 " in data


def test_text_is_first_20_chars_in_printable_ascii() -> None:
    data = receipt(text="【某某银行】您的验证码是123456,5分钟内有效")
    assert data.endswith(b" text:????????????123456,5")
    data = receipt(text="line one\nline two and more")
    assert data.endswith(b" text:line one line two an")
    assert data.decode("ascii").isprintable()


def test_empty_text() -> None:
    assert receipt(text="").endswith(b" err:000 text:")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"stat": "MK:0001"}, "stat"),
        ({"stat": "DELIV"}, "stat"),
        ({"err": "MK:0005"}, "err"),
        ({"err": 1000}, "err"),
        ({"err": -1}, "err"),
        ({"message_id": "has space"}, "message id"),
        ({"message_id": ""}, "message id"),
        ({"sub": 1000}, "sub"),
    ],
)
def test_format_refuses_what_clients_cannot_parse(overrides: dict[str, object], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        receipt(**overrides)


def test_jasmin_and_kannel_patterns_match() -> None:
    for stat in STAT_WORDS.values():
        text = receipt(message_id="5f1c-9A_b", stat=stat, err=0 if stat == "DELIVRD" else 12).decode("ascii")
        id_match, stat_match, err_match = JASMIN_ID.search(text), JASMIN_STAT.search(text), JASMIN_ERR.search(text)
        assert id_match and id_match.group(1) == "5f1c-9A_b"
        assert stat_match and stat_match.group(1) == stat
        assert err_match and err_match.group(1) == ("000" if stat == "DELIVRD" else "012")
        kannel = KANNEL.match(text)
        assert kannel is not None
        assert kannel.group(1, 6, 7) == ("5f1c-9A_b", stat, err_match.group(1))


def test_parse_our_receipt() -> None:
    assert parse_receipt(receipt()) == ReceiptText(
        message_id="0123456789",
        sub=1,
        dlvrd=1,
        submit_date="2501011230",
        done_date="2501011234",
        stat="DELIVRD",
        err="000",
        text="Your code is 123456",
    )


def test_parse_is_case_insensitive_and_tolerates_missing_fields() -> None:
    parsed = parse_receipt(
        b"id:ABC123 Sub:1 DLVRD:0 Submit date:2501011230 Done date:250101123455 Stat:EXPIRED Err:1 Text:hi"
    )
    assert (parsed.message_id, parsed.sub, parsed.dlvrd, parsed.stat, parsed.err) == ("ABC123", 1, 0, "EXPIRED", "1")
    assert (parsed.done_date, parsed.text) == ("250101123455", "hi")
    # Jasmin's own receipts carry no sub, dlvrd or text.
    jasmin = parse_receipt(b"id:1a2b submit date:2501011230 done date:2501011234 stat:DELIVRD err:000")
    assert (jasmin.message_id, jasmin.sub, jasmin.dlvrd, jasmin.text) == ("1a2b", 0, 0, "")


def test_parse_does_not_read_fields_out_of_the_text() -> None:
    parsed = parse_receipt(receipt(text="id:evil stat:REJECTD"))
    assert (parsed.message_id, parsed.stat, parsed.text) == ("0123456789", "DELIVRD", "id:evil stat:REJECTD")


@pytest.mark.parametrize("data", [b"sub:001 stat:DELIVRD err:000", b"id:123 sub:001 err:000", b"hello", b""])
def test_parse_rejects_non_receipts(data: bytes) -> None:
    with pytest.raises(ValueError, match=r"no (id|stat)"):
        parse_receipt(data)


@given(
    message_id=st.from_regex(r"[0-9A-Za-z_-]{1,64}", fullmatch=True),
    stat=st.sampled_from(sorted(STAT_WORDS.values())),
    err=st.integers(0, 999),
    text=st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20),
    submitted=st.integers(946_684_800, 4_000_000_000),
    delay=st.integers(0, 7 * 86400),
)
def test_round_trip(message_id: str, stat: str, err: int, text: str, submitted: int, delay: int) -> None:
    data = format_receipt(message_id, submitted_at=submitted, done_at=submitted + delay, stat=stat, err=err, text=text)
    parsed = parse_receipt(data)
    assert parsed.message_id == message_id
    assert parsed.stat == stat
    assert int(parsed.err) == err
    assert parsed.text == text
    assert parsed.dlvrd == (1 if stat == "DELIVRD" else 0)
    assert len(parsed.submit_date) == len(parsed.done_date) == 10
    assert parsed.done_date >= parsed.submit_date
