"""smpplib as the third-party client over loopback: TX and RX as separate sessions, TRX, long
messages in every form clients use, the data_codings partners send, and SMPP 5.0 binds."""

from __future__ import annotations

import pytest_twisted
import smpplib.client
import smpplib.consts
import smpplib.gsm
from smpp_helpers import client, read_receipts, receipt_fields, submit_and_wait
from test_e2e_pipeline import with_fast_rule
from twisted.internet.threads import deferToThread


def udh16(ref: int, total: int, seq: int) -> bytes:
    return bytes([6, 0x08, 4, ref >> 8, ref & 0xFF, total, seq])


@pytest_twisted.ensureDeferred
async def test_tx_and_rx_sessions_udh_8bit_and_16bit_parts_each_get_a_receipt_on_rx(gateway_factory):
    gw = await gateway_factory(with_fast_rule)

    def run():
        rx = client(gw.smpp_port, mode="rx")
        tx = client(gw.smpp_port, mode="tx")
        # smpplib's own splitter: UDH with an 8-bit reference.
        parts, coding, esm = smpplib.gsm.make_parts("x" * 300)
        ids = []
        for part in parts:
            resp = submit_and_wait(tx, "13800008888", part, data_coding=coding, esm_class=esm, registered_delivery=1)
            assert resp.status == 0
            ids.append(resp.message_id.decode())
        text = "示例科技您的验证码" * 10  # 90 UCS2 characters: two parts with a 16-bit reference
        body = text.encode("utf-16-be")
        for seq, chunk in enumerate((body[:134], body[134:]), start=1):
            resp = submit_and_wait(
                tx,
                "13900008888",
                udh16(0xBEEF, 2, seq) + chunk,
                data_coding=8,
                esm_class=smpplib.consts.SMPP_GSMFEAT_UDHI,
                registered_delivery=1,
            )
            assert resp.status == 0
            ids.append(resp.message_id.decode())
        receipts = read_receipts(rx, len(ids), timeout=15)
        tx.unbind()
        tx.disconnect()
        rx.unbind()
        rx.disconnect()
        return ids, receipts, len(parts)

    ids, receipts, udh8_parts = await deferToThread(run)
    assert udh8_parts == 2
    assert sorted(receipt_fields(r)["id"] for r in receipts) == sorted(ids)
    assert all(receipt_fields(r)["stat"] == "DELIVRD" for r in receipts)
    for message_id in ids:
        message = gw.service.gateway.find(message_id)
        assert message is not None and message.segments == 1 and message.esm_class & 0x40


CODINGS = {
    0: ("hello gsm @£$", "hello gsm @£$", smpplib.gsm.gsm_encode),
    1: ("hello ascii ~", "hello ascii ~", lambda t: t.encode("ascii")),
    3: ("café crème", "caf? cr?me", lambda t: t.encode("latin-1")),
    8: ("您好 ucs2", "?? ucs2", lambda t: t.encode("utf-16-be")),
    15: ("您好 gbk", "?? gbk", lambda t: t.encode("gbk")),
}


@pytest_twisted.ensureDeferred
async def test_data_codings_0_1_3_8_15_are_accepted_and_their_receipt_quotes_the_text(gateway_factory):
    gw = await gateway_factory(with_fast_rule)

    def run():
        c = client(gw.smpp_port)
        ids = {}
        for dc, (text, _, encode) in CODINGS.items():
            resp = submit_and_wait(c, "13800008888", encode(text), data_coding=dc, registered_delivery=1)
            assert resp.status == 0, dc
            ids[resp.message_id.decode()] = dc
        # A long message in message_payload (one PDU, billed as its parts).
        resp = submit_and_wait(c, "13800008888", b"", message_payload=b"p" * 400, registered_delivery=1)
        assert resp.status == 0
        payload_id = resp.message_id.decode()
        receipts = read_receipts(c, len(ids) + 1, timeout=15)
        c.unbind()
        c.disconnect()
        return ids, payload_id, receipts

    ids, payload_id, receipts = await deferToThread(run)
    by_id = {receipt_fields(r)["id"]: r for r in receipts}
    for message_id, dc in ids.items():
        assert gw.service.gateway.find(message_id).data_coding == dc
        text = by_id[message_id].short_message.decode("ascii")
        if dc != 0:  # dc 0 is GSM 7-bit: '@' and '£' have no ASCII form in the receipt
            assert text.endswith("text:" + CODINGS[dc][1]), (dc, text)
    assert gw.service.gateway.find(payload_id).segments == 3
    assert receipt_fields(by_id[payload_id])["stat"] == "DELIVRD"


@pytest_twisted.ensureDeferred
async def test_smpp50_bind_from_smpplib_submits_and_gets_receipts(gateway_factory):
    gw = await gateway_factory(with_fast_rule)

    def run():
        c = smpplib.client.Client("127.0.0.1", gw.smpp_port, timeout=10, allow_unknown_opt_params=True)
        c.connect()
        bound = c.bind_transceiver(system_id="demo", password="demo1234", interface_version=0x50)
        resp = submit_and_wait(c, "13800008888", b"five oh", registered_delivery=1)
        receipts = read_receipts(c, 1, timeout=10)
        c.unbind()
        c.disconnect()
        return bound, resp, receipts

    bound, resp, receipts = await deferToThread(run)
    assert bound.status == 0 and resp.status == 0
    assert receipt_fields(receipts[0])["id"] == resp.message_id.decode()
    assert receipts[0].receipted_message_id.decode() == resp.message_id.decode()
