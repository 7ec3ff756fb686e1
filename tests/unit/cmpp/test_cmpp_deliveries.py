"""The DELIVERs the gateway builds: a status report per destination, and MO messages."""

from __future__ import annotations

from datetime import datetime

import pytest

from smppgw.cmpp import packets as pk
from smppgw.cmpp.codec import decode, encode
from smppgw.cmpp.constants import Version
from smppgw.cmpp.deliveries import mo_delivers, status_report
from smppgw.cmpp.longmsg import part_of
from smppgw.cmpp.text import decode_text

SUBMIT = pk.Submit(service_id="MI", src_id="106900001", dest_terminal_ids=("13800138000", "13900139000"))
AT = datetime(2026, 11, 27, 14, 30, 5)


def test_status_report_for_one_destination_of_a_mass_send() -> None:
    deliver = status_report(
        SUBMIT, 1, 0x1235, stat="MK:0005", submitted=AT, done=datetime(2026, 11, 27, 14, 31), smsc_sequence=3
    )
    assert deliver.report == pk.StatusReport(0x1235, "MK:0005", "2611271430", "2611271431", "13900139000", 3)
    assert (deliver.dest_id, deliver.src_terminal_id, deliver.service_id) == ("106900001", "13900139000", "MI")
    for version in Version:
        assert decode(encode(deliver, version), version) == deliver


@pytest.mark.parametrize("stat", ["DELIVERED", "", "成功"])
def test_stat_must_be_at_most_seven_ascii_characters(stat: str) -> None:
    with pytest.raises(ValueError):
        status_report(SUBMIT, 0, 1, stat=stat, submitted=AT, done=AT)


def test_a_short_mo_is_one_deliver() -> None:
    [one] = mo_delivers("TD", "13800138000", "10690000", ref=1)
    assert (one.msg_fmt, one.tp_udhi, one.content, one.report) == (0, 0, b"TD", None)
    [chinese] = mo_delivers("退订" * 35, "13800138000", "10690000", ref=1)  # 70 characters fit one
    assert (chinese.msg_fmt, chinese.tp_udhi) == (8, 0)


def test_a_long_mo_is_cut_into_ucs2_parts_with_one_reference() -> None:
    parts = mo_delivers("退订" * 40, "13800138000", "10690000", ref=7)  # 80 characters: parts of <= 67
    assert [p.tp_udhi for p in parts] == [1, 1]
    got = [part_of(p.tp_udhi, 0, 0, p.content) for p in parts if isinstance(p.content, bytes)]
    assert [(g.ref, g.total, g.number) for g in got] == [(7, 2, 1), (7, 2, 2)]
    assert decode_text(8, b"".join(g.body for g in got)) == "退订" * 40
    for part in parts:
        assert decode(encode(part, Version.V20), Version.V20) == part
