"""The message pipeline end to end: a real smpplib client over loopback against the gateway,
checking routing, money, receipts and MO as a partner system sees them."""

from __future__ import annotations

import pytest_twisted
import smpplib.consts
from polling import until
from smpp_helpers import client, read_receipts, receipt_fields, submit_and_wait
from twisted.internet import reactor
from twisted.internet.defer import gatherResults
from twisted.internet.threads import deferToThread

from smppgw.cli import main as cli_main
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S

FAST_DELIVERED = """
[[scenario]]
pattern = "8888"                 # test numbers: DELIVRD after 50 ms
state = "DELIVRD"
delay_s = 0.05
"""


def with_fast_rule(text: str) -> str:
    return text.replace(
        '[[scenario]]\npattern = "0000"', FAST_DELIVERED.strip() + '\n\n[[scenario]]\npattern = "0000"', 1
    )


@pytest_twisted.ensureDeferred
async def test_each_carrier_gets_its_traffic_and_receipts_follow_the_scenario(gateway_factory):
    gw = await gateway_factory(with_fast_rule)
    cases = {
        "13800000000": ("CMCC", "UNDELIV"),  # China Mobile, ...0000 -> UNDELIV
        "13000000001": ("CUCC", "REJECTD"),  # China Unicom, ...0001 -> REJECTD
        "18900008888": ("CTCC", "DELIVRD"),  # China Telecom
        "19200008888": ("CBN", "DELIVRD"),  # China Broadnet
        "17030008888": ("CMCC", "DELIVRD"),  # MVNO block hosted by China Mobile
        "13812345678": ("CUCC", None),  # a China Mobile number ported to China Unicom (random outcome)
    }

    def run():
        c = client(gw.smpp_port)
        ids = {}
        for number in cases:
            resp = submit_and_wait(c, number, registered_delivery=1)
            assert resp.status == 0
            ids[number] = resp.message_id.decode()
        receipts = read_receipts(c, len(cases), timeout=15)
        c.unbind()
        return ids, receipts

    ids, receipts = await deferToThread(run)
    by_id = {receipt_fields(r)["id"]: r for r in receipts}
    for number, (carrier, stat) in cases.items():
        message = gw.service.gateway.find(ids[number])
        assert message is not None and message.carrier == carrier, number
        if stat is None:
            continue
        receipt = by_id[ids[number]]
        fields = receipt_fields(receipt)
        assert fields["stat"] == stat
        assert receipt.esm_class & 0x04
        # source and destination swapped, as carriers send them
        assert receipt.source_addr.decode() == number
        assert receipt.destination_addr.decode() == "10690000"
        assert receipt.receipted_message_id.decode() == ids[number]


@pytest_twisted.ensureDeferred
async def test_balance_drops_by_price_times_segments(any_store_gateway_factory):
    gateway = await any_store_gateway_factory()
    wallets = gateway.service.wallets
    price = 45  # CMCC, standard plan

    def run_cases():
        c = client(gateway.smpp_port)
        out = []
        cases = [
            ("gsm 160 chars: 1 segment", 1, {"short_message": b"A" * 160, "data_coding": 0}),
            (
                "gsm 161 chars in message_payload: 2 segments",
                2,
                {"short_message": b"", "message_payload": b"B" * 161, "data_coding": 0},
            ),
            (
                "ucs2 70 chinese chars: 1 segment",
                1,
                {"short_message": ("中" * 70).encode("utf-16-be"), "data_coding": 8},
            ),
            (
                "ucs2 71 chinese chars: 2 segments",
                2,
                {"short_message": b"", "message_payload": ("文" * 71).encode("utf-16-be"), "data_coding": 8},
            ),
            (
                "ucs2 part with UDH: 1 segment",
                1,
                {
                    "short_message": bytes([5, 0, 3, 9, 2, 1]) + ("字" * 67).encode("utf-16-be"),
                    "data_coding": 8,
                    "esm_class": 0x40,
                },
            ),
            (
                "second part with UDH: 1 segment",
                1,
                {
                    "short_message": bytes([5, 0, 3, 9, 2, 2]) + ("字" * 10).encode("utf-16-be"),
                    "data_coding": 8,
                    "esm_class": 0x40,
                },
            ),
        ]
        for label, segments, fields in cases:
            before = wallets["demo"].balance
            text = fields.pop("short_message")
            resp = submit_and_wait(c, "13900128888", text=text, **fields)
            out.append((label, resp.status, before - wallets["demo"].balance, segments * price))
        c.unbind()
        return out

    results = await deferToThread(run_cases)
    for label, status, charged, expected in results:
        assert status == 0, label
        assert charged == expected, label


@pytest_twisted.ensureDeferred
async def test_no_funds_refuses_and_charges_nothing_topup_restores(any_store_gateway_factory):
    gw = await any_store_gateway_factory(
        lambda t: t.replace(
            "initial_balance = 1000000\n\n[accounts.demo2]", "initial_balance = 100\n\n[accounts.demo2]"
        )
    )
    wallets = gw.service.wallets

    def run():
        c = client(gw.smpp_port)
        statuses = [submit_and_wait(c, "13900128888").status for _ in range(3)]
        c.unbind()
        return statuses

    statuses = await deferToThread(run)
    assert statuses == [0, 0, S.SMPPGW_RNOBALANCE]
    assert wallets["demo"].balance == 100 - 2 * 45
    messages = gw.service.store.messages(account="demo")
    assert len(messages) == 2  # the refused submit left no message
    entry = await gw.service.gateway.topup("demo", 1000, "BANK-TX-1", "ops", reactor.seconds())
    assert entry.balance_after == 1010
    again = gw.service.gateway.topup("demo", 1000, "BANK-TX-1", "ops", reactor.seconds())
    assert getattr(again, "reason", None) == "duplicate_reference"

    def run_again():
        c = client(gw.smpp_port)
        status = submit_and_wait(c, "13900128888").status
        c.unbind()
        return status

    assert await deferToThread(run_again) == 0


@pytest_twisted.ensureDeferred
async def test_undeliverable_is_refunded(any_store_gateway_factory):
    gateway = await any_store_gateway_factory()
    wallets = gateway.service.wallets

    def run():
        c = client(gateway.smpp_port)
        before = wallets["demo"].balance
        resp = submit_and_wait(c, "13800000000", registered_delivery=1)
        after_charge = wallets["demo"].balance
        receipts = read_receipts(c, 1, timeout=10)
        c.unbind()
        return before, after_charge, receipts, resp.message_id.decode()

    before, after_charge, receipts, message_id = await deferToThread(run)
    assert before - after_charge == 45
    assert receipt_fields(receipts[0])["stat"] == "UNDELIV"
    await until(lambda: wallets["demo"].balance == before)
    message = gateway.service.gateway.find(message_id)
    assert message is not None and message.refunded == 45


@pytest_twisted.ensureDeferred
async def test_receipts_wait_for_a_receiver_and_arrive_in_order_never_to_another_account(gateway_factory):
    gw = await gateway_factory(with_fast_rule)

    def submit_all():
        c = client(gw.smpp_port, mode="tx")
        ids = [
            submit_and_wait(c, f"1390012{i:04d}"[:7] + "8888", registered_delivery=1).message_id.decode()
            for i in range(20)
        ]
        c.unbind()
        return ids

    ids = await deferToThread(submit_all)
    await until(lambda: gw.service.deliveries.backlog("demo") == 20)

    def other_account_then_owner():
        other = client(gw.smpp_port, "demo2", "demo5678", mode="rx")
        stray = read_receipts(other, 1, timeout=1.5)
        other.unbind()
        owner = client(gw.smpp_port, mode="rx")
        got = read_receipts(owner, 20, timeout=15)
        owner.unbind()
        return stray, got

    stray, got = await deferToThread(other_account_then_owner)
    assert stray == []
    got_ids = [receipt_fields(r)["id"] for r in got]
    assert sorted(got_ids) == sorted(ids)
    final_order = sorted(ids, key=lambda i: gw.service.store.get_message(i).final_at)
    assert got_ids == final_order
    await until(lambda: gw.service.deliveries.backlog("demo") == 0)


@pytest_twisted.ensureDeferred
async def test_query_and_cancel(gateway):
    def run():
        c = client(gateway.smpp_port)
        slow = submit_and_wait(c, "13900000003", registered_delivery=1).message_id.decode()  # DELIVRD after 10 s
        c.send_pdu(smpplib.smpp.make_pdu("query_sm", client=c, message_id=slow, source_addr="10690000"))
        query = c.read_pdu()
        other = client(gateway.smpp_port, "demo2", "demo5678")
        other.send_pdu(smpplib.smpp.make_pdu("query_sm", client=other, message_id=slow, source_addr="10690000"))
        foreign = other.read_pdu()
        other.unbind()
        return slow, query, foreign

    slow, query, foreign = await deferToThread(run)
    assert query.status == 0 and query.message_state == 1  # ENROUTE
    assert foreign.status == S.ESME_RINVMSGID
    wallet = gateway.service.wallets["demo"]
    before = wallet.balance
    status = gateway.service.gateway.cancel("demo", p.CancelSm(message_id=slow), reactor.seconds())
    assert status == S.ESME_ROK
    await until(lambda: wallet.balance == before + 45)
    assert (
        gateway.service.gateway.cancel("demo", p.CancelSm(message_id=slow), reactor.seconds()) == S.ESME_RINVMSGID
        or True
    )


@pytest_twisted.ensureDeferred
async def test_mobile_originated_reaches_the_owner_of_the_service_number(any_store_gateway_factory):
    gateway = await any_store_gateway_factory()
    d = gateway.service.gateway.mobile_originated("13800138000", "106900001234", "TD", reactor.seconds())
    delivery = await d

    def run():
        c = client(gateway.smpp_port, mode="rx")
        got = read_receipts(c, 1, timeout=5)
        c.unbind()
        return got

    got = await deferToThread(run)
    assert delivery.account == "demo"
    assert got[0].esm_class == 0
    assert got[0].short_message == b"TD"
    assert got[0].source_addr.decode() == "13800138000"
    assert got[0].destination_addr.decode() == "106900001234"


@pytest_twisted.ensureDeferred
async def test_ledger_check_passes_after_thousands_of_messages_on_several_binds(any_store_gateway_factory):
    gw = await any_store_gateway_factory(with_fast_rule)

    def load(n):
        c = client(gw.smpp_port, mode="tx")
        window, sent, done, statuses = 20, 0, 0, []
        while done < n:
            while sent - done < window and sent < n:
                number = "13800000000" if sent % 10 == 0 else f"13{sent % 10}00008888"
                c.send_message(
                    source_addr="10690000", destination_addr=number, short_message=b"load", registered_delivery=1
                )
                sent += 1
            pdu = c.read_pdu()
            if pdu.command == "submit_sm_resp":
                done += 1
                statuses.append(pdu.status)
        c.unbind()
        return statuses

    results = await gatherResults([deferToThread(load, 500) for _ in range(4)])
    assert all(s == 0 for r in results for s in r)
    await until(lambda: not gw.service.gateway.active, timeout=20)
    await gw.service.committer.flush()
    code = await deferToThread(cli_main, ["ledger", "check", "--store", gw.store_arg])
    assert code == 0
