"""The CMPP listener's pure parts: its settings (errors named by file, line and key), the mapping
of a SUBMIT onto the pipeline's submit_sm, of refusals onto Results, and of stored ids onto Msg_Ids."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from smppgw.cmpp import packets as pk
from smppgw.cmpp.constants import Result, Version
from smppgw.cmpp.msgid import MsgId
from smppgw.config import ConfigError, parse
from smppgw.model import Delivery, DeliveryKind
from smppgw.protocol.constants import ESM_CLASS_UDHI, CommandStatus, Tag
from smppgw.server.cmpp.mapping import (
    NO_BALANCE,
    message_id_of,
    mo_deliver_packets,
    msg_id_of,
    result_of,
    stat_of,
    submit_sms,
)

SOURCE = Path("gateway.toml")
BASE = """[admin]
token = "t0ken"

[cmpp]
listen = "tcp:7890"
gateway_code = 7

[accounts.acme]
password = "secret-1"

[accounts.acme.cmpp]
sp_id = "900009"
secret = "s3cret"
service_code = "10690009"
version = "2.0"
"""


def test_the_cmpp_settings_are_read_typed() -> None:
    config = parse(BASE, SOURCE)
    assert config.cmpp.listen == "tcp:7890" and config.cmpp.gateway_code == 7 and config.cmpp.window == 16
    login = config.accounts["acme"].cmpp
    assert login is not None and (login.sp_id, login.secret, login.service_code) == ("900009", "s3cret", "10690009")
    assert login.version is Version.V20


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ('sp_id = "900009"', 'sp_id = "9000"', r"gateway\.toml:12: accounts\.acme\.cmpp\.sp_id: must be 6 digits"),
        ('version = "2.0"', 'version = "2.1"', r"gateway\.toml:15: accounts\.acme\.cmpp\.version: must be one of"),
        ('secret = "s3cret"', 'secret = ""', r"gateway\.toml:13: accounts\.acme\.cmpp\.secret: is required"),
        ("gateway_code = 7", "gateway_code = 4194304", r"gateway\.toml:6: cmpp\.gateway_code: must fit 22 bits"),
        ('service_code = "10690009"', 'service_code = "1069x"', r"accounts\.acme\.cmpp\.service_code: must be digits"),
        ("version", "colour = 1\nversion", r"accounts\.acme\.cmpp\.colour: unknown key"),
    ],
)
def test_a_bad_cmpp_setting_is_named_by_file_line_and_key(old: str, new: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        parse(BASE.replace(old, new, 1), SOURCE)


def test_two_accounts_cannot_share_an_sp_id() -> None:
    twin = '\n[accounts.twin]\npassword = "x"\n\n[accounts.twin.cmpp]\nsp_id = "900009"\nsecret = "y"\n'
    twin += 'service_code = "1"\n'
    with pytest.raises(ConfigError, match=r"accounts\.twin\.cmpp\.sp_id: 900009 is already the SP_Id of acme"):
        parse(BASE + twin, SOURCE)


def test_a_submit_becomes_one_submit_sm_per_destination() -> None:
    submit = pk.Submit(
        sequence_id=5,
        registered_delivery=1,
        msg_fmt=0,
        dest_terminal_ids=("8613800138000", "13900139000"),
        content=b"hi",
        msg_level=9,
    )
    a, b = submit_sms(submit, "10690000")
    assert (a.destination_addr, b.destination_addr) == ("8613800138000", "13900139000")
    assert a.source_addr == "10690000" and a.data_coding == 1 and a.registered_delivery == 1  # ASCII as IA5
    assert a.priority_flag == 3 and a.short_message == b"hi" and a.tlvs == ()


def test_parts_keep_their_udh_or_carry_pk_numbers_as_sar() -> None:
    udh = pk.Submit(tp_udhi=1, msg_fmt=8, pk_total=2, pk_number=1, dest_terminal_ids=("1",), content=b"\5\0\3\1\2\1ab")
    [sm] = submit_sms(udh, "1")
    assert sm.esm_class == ESM_CLASS_UDHI and sm.data_coding == 8 and sm.tlvs == ()
    bare = pk.Submit(msg_fmt=15, pk_total=3, pk_number=2, dest_terminal_ids=("1",), content=b"x")
    [sm] = submit_sms(bare, "1")
    assert sm.esm_class == 0 and sm.data_coding == 15
    assert sm.tlv(Tag.SAR_TOTAL_SEGMENTS) == b"\3" and sm.tlv(Tag.SAR_SEGMENT_SEQNUM) == b"\2"


def test_refusals_map_to_results() -> None:
    assert result_of(CommandStatus.ESME_RTHROTTLED) == Result.FLOW_CONTROL
    assert result_of(CommandStatus.ESME_RMSGQFUL) == Result.FLOW_CONTROL
    assert result_of(CommandStatus.ESME_RINVDSTADR) == Result.BAD_DEST_TERMINAL_ID
    assert result_of(CommandStatus.ESME_RINVSRCADR) == Result.BAD_SRC_ID
    assert result_of(CommandStatus.SMPPGW_RNOBALANCE) == NO_BALANCE == 100


def test_stored_ids_and_msg_ids_convert_both_ways() -> None:
    m = MsgId(11, 27, 14, 30, 5, 1, 298)
    assert message_id_of(int(m)) == m.decimal == "1127143005000000100298"
    assert msg_id_of(m.decimal) == int(m)
    assert msg_id_of("00000000000002a") == 42  # an SMPP hex id
    assert msg_id_of("12345") == 12345  # an SMPP decimal id
    assert msg_id_of("6b7e-uuid-form", seq=9) == 9
    for value in (0, 1, 0xFFFFFFFFFFFFFFFF, int(m) + 1):  # every 64-bit value has a 22-digit form
        assert msg_id_of(message_id_of(value)) == value


@dataclass
class Coded:
    code: str


def test_stat_is_the_carrier_code_when_it_has_seven_characters() -> None:
    assert stat_of(Coded("MK:0001"), 5) == "MK:0001"  # type: ignore[arg-type]
    assert stat_of(Coded(""), 2) == "DELIVRD"  # type: ignore[arg-type]
    assert stat_of(None, 3) == "EXPIRED"


def test_a_long_mo_is_cut_into_ucs2_parts() -> None:
    text = "长" * 100
    delivery = Delivery(1, "demo", DeliveryKind.MO, "mo1", "+8613800138000", 1, 1, "10690000", 0, 1, 0, 8,
                        text.encode("utf-16-be"), 0, 0, 0.0)  # fmt: skip
    parts = mo_deliver_packets(delivery, deliver_id=7, dc0="gsm7")
    assert len(parts) == 2 and all(p.tp_udhi == 1 and p.msg_fmt == 8 for p in parts)
    assert parts[0].src_terminal_id == "8613800138000" and parts[0].dest_id == "10690000"
    assert b"".join(p.content[6:] for p in parts).decode("utf-16-be") == text
