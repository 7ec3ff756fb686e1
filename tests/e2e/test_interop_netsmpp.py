"""Net::SMPP (Perl) as a transceiver: short messages, long ones as SAR-TLV parts and in
message_payload, receipts read and acknowledged; an SMPP 3.3 bind gets no TLVs anywhere."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest_twisted
from interop import need_perl_module
from test_e2e_pipeline import with_fast_rule
from twisted.internet.threads import deferToThread

from smppgw.protocol.constants import Tag
from smppgw.protocol.receipt import parse_receipt

SCRIPT = Path(__file__).resolve().parents[1] / "clients" / "netsmpp_client.pl"


def run_client(port: int, version: str, receipts: int) -> list[list[str]]:
    out = subprocess.run(
        ["perl", str(SCRIPT), str(port), version, str(receipts)],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return [line.split("\t") for line in out.stdout.splitlines()]


@pytest_twisted.ensureDeferred
async def test_netsmpp_transceiver_sar_and_payload_long_messages(gateway_factory):
    need_perl_module("Net::SMPP", "libnet-smpp-perl")
    gw = await gateway_factory(with_fast_rule)
    lines = await deferToThread(run_client, gw.smpp_port, "34", 4)
    assert lines[0][:2] == ["BIND", "0"]
    submits = {line[1]: line for line in lines if line[0] == "SUBMIT"}
    assert set(submits) == {"short", "sar1", "sar2", "payload"}
    assert all(line[2] == "0" for line in submits.values())
    receipts = [line for line in lines if line[0] == "RECEIPT"]
    assert len(receipts) == 4
    ids = {line[3] for line in submits.values()}
    for _, rid, text, tlvs in receipts:
        parsed = parse_receipt(text.encode())
        assert parsed.stat == "DELIVRD"
        assert rid == parsed.message_id and rid in ids
        assert str(Tag.RECEIPTED_MESSAGE_ID) in tlvs.split(",")
    # The gateway saw each SAR part as one segment and the payload message as its parts.
    sar = gw.service.gateway.find(submits["sar1"][3])
    payload = gw.service.gateway.find(submits["payload"][3])
    assert sar is not None and sar.segments == 1 and sar.data_coding == 8
    assert payload is not None and payload.segments == 3


@pytest_twisted.ensureDeferred
async def test_netsmpp_smpp33_bind_gets_no_tlvs_in_responses_or_receipts(gateway_factory):
    need_perl_module("Net::SMPP", "libnet-smpp-perl")
    gw = await gateway_factory(with_fast_rule)
    lines = await deferToThread(run_client, gw.smpp_port, "33", 1)
    bind = lines[0]
    assert bind[:2] == ["BIND", "0"] and bind[2] == ""  # no sc_interface_version TLV
    (receipt,) = [line for line in lines if line[0] == "RECEIPT"]
    assert receipt[1] == "" and receipt[3] == ""  # no receipted_message_id, no TLV at all
    assert parse_receipt(receipt[2].encode()).stat == "DELIVRD"
