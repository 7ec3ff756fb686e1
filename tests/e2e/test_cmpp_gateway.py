"""The CMPP listener end to end: a real socket client (tests/cmpp_socket_client.py, on the
gateway's own codec) against the running gateway, on the same pipeline as SMPP."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest_twisted
from cmpp_socket_client import CmppClient, logged_in
from polling import until
from test_admin_api import call
from test_e2e_pipeline import with_fast_rule
from twisted.internet import reactor
from twisted.internet.defer import gatherResults
from twisted.internet.threads import deferToThread

from smppgw.cli import main as cli_main
from smppgw.cmpp import packets as pk
from smppgw.cmpp.constants import ConnectStatus, Result
from smppgw.cmpp.msgid import MsgId

DEMO_SRC = "900001"


@pytest_twisted.ensureDeferred
async def test_submit_gets_a_msg_id_and_a_status_report(gateway_factory):
    gw = await gateway_factory(with_fast_rule)

    def run():
        c = logged_in(gw.cmpp_port)
        resp = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800008888",), content=b"hello")
        [report] = c.reports(1)
        c.terminate()
        return resp, report, c.delivers

    resp, report, delivers = await deferToThread(run)
    assert resp.result == 0
    msg_id = MsgId.from_int(resp.msg_id)
    assert msg_id.gateway == 1
    message = gw.service.gateway.find(msg_id.decimal)
    assert message is not None and message.account == "demo" and message.source_addr == "10690000"
    assert report.msg_id == resp.msg_id and report.stat == "DELIVRD" and report.dest_terminal_id == "13800008888"
    assert delivers[0].dest_id == "10690000"


def demo2_on_20(text: str) -> str:
    """demo2 logs in over CMPP 2.0 at most (its [accounts.demo2.cmpp] version)."""
    marker = "[accounts.demo2.cmpp]"
    head, tail = text.split(marker, 1)
    return head + marker + tail.replace('version = "3.0"', 'version = "2.0"', 1)


@pytest_twisted.ensureDeferred
async def test_connect_checks_the_secret_and_the_version(gateway_factory):
    gw = await gateway_factory(demo2_on_20)

    def run():
        out = {}
        for name, sp_id, secret, version in (
            ("good30", "900001", "demo1234", 0x30),
            ("good20", "900001", "demo1234", 0x20),
            ("good21", "900002", "demo5678", 0x21),
            ("bad_secret", "900001", "wrong", 0x30),
            ("unknown", "999999", "demo1234", 0x30),
            ("above", "900002", "demo5678", 0x30),
        ):
            c = CmppClient(gw.cmpp_port, version=version)
            resp = c.connect(sp_id, secret)
            out[name] = (resp.status, resp.version, c.read_packet(0.5) is None and c.closed)
            c.close()
        return out

    out = await deferToThread(run)
    assert out["good30"][:2] == (ConnectStatus.OK, 0x30)
    assert out["good20"][:2] == (ConnectStatus.OK, 0x20)  # a 2.0 client on a 3.0 account: 2.0 layout
    assert out["good21"][:2] == (ConnectStatus.OK, 0x21)
    assert out["bad_secret"] == (ConnectStatus.AUTH_FAILED, 0x30, True)
    assert out["unknown"][0] == ConnectStatus.BAD_SOURCE_ADDR and out["unknown"][2]
    assert out["above"] == (ConnectStatus.VERSION_TOO_HIGH, 0x20, True)  # the account's ceiling named


@pytest_twisted.ensureDeferred
async def test_mass_send_takes_consecutive_ids_charges_each_and_reports_each(gateway_factory):
    gw = await gateway_factory(with_fast_rule)
    before = gw.service.wallets["demo"].balance
    numbers = ("13800008888", "13900008888", "18900008888")

    def run():
        c = logged_in(gw.cmpp_port)
        resp = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=numbers, content=b"mass")
        reports = c.reports(3)
        c.terminate()
        return resp, reports

    resp, reports = await deferToThread(run)
    assert resp.result == 0
    ids = [resp.msg_id + k for k in range(3)]
    assert sorted(r.msg_id for r in reports) == ids
    assert {r.msg_id: r.dest_terminal_id for r in reports} == dict(zip(ids, numbers, strict=True))
    messages = [gw.service.gateway.find(MsgId.from_int(i).decimal) for i in ids]
    assert [m.destination_addr for m in messages] == list(numbers)
    assert [m.charge for m in messages] == [45, 45, 40]  # China Mobile, China Mobile, China Telecom
    assert gw.service.wallets["demo"].balance == before - 130 + sum(m.refunded for m in messages)


@pytest_twisted.ensureDeferred
async def test_long_message_parts_over_two_connections_each_charged(gateway_factory):
    gw = await gateway_factory(with_fast_rule)
    text = "您好，这是一条很长的短信。" * 12  # 156 characters: three UCS2 parts
    body = text.encode("utf-16-be")
    chunks = [body[i : i + 134] for i in range(0, len(body), 134)]
    parts = [bytes((5, 0, 3, 0x42, len(chunks), n)) + chunk for n, chunk in enumerate(chunks, 1)]

    def run():
        a, b = logged_in(gw.cmpp_port), logged_in(gw.cmpp_port, version=0x20)
        resps = []
        for n, part in enumerate(parts):  # parts out of order and over both connections
            client = (a, b)[n % 2]
            resps.append(
                client.submit(
                    msg_src=DEMO_SRC,
                    dest_terminal_ids=("13800008888",),
                    msg_fmt=8,
                    tp_udhi=1,
                    pk_total=len(parts),
                    pk_number=n + 1,
                    content=part,
                )
            )
        a.terminate()
        b.terminate()
        return resps

    resps = await deferToThread(run)
    assert len(parts) == 3 and all(r.result == 0 for r in resps)
    messages = [gw.service.gateway.find(MsgId.from_int(r.msg_id).decimal) for r in resps]
    assert all(m is not None and m.segments == 1 and m.charge == 45 for m in messages)
    assert b"".join(m.body[6:] for m in messages).decode("utf-16-be") == text


@pytest_twisted.ensureDeferred
async def test_every_msg_fmt_is_taken_and_billed_by_its_coding(gateway_factory):
    gw = await gateway_factory(with_fast_rule)
    cases = {
        0: b"plain ascii text",
        8: "验证码 123456".encode("utf-16-be"),
        15: "验证码 123456".encode("gbk"),
        4: bytes(range(100)),
    }

    def run():
        c = logged_in(gw.cmpp_port)
        out = {fmt: c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800008888",), msg_fmt=fmt, content=body)
               for fmt, body in cases.items()}  # fmt: skip
        c.terminate()
        return out

    out = await deferToThread(run)
    for fmt, resp in out.items():
        assert resp.result == 0, fmt
        message = gw.service.gateway.find(MsgId.from_int(resp.msg_id).decimal)
        assert message.body == cases[fmt] and message.segments == 1
        assert message.data_coding == (1 if fmt == 0 else fmt)  # ASCII is IA5, never GSM 7-bit


@pytest_twisted.ensureDeferred
async def test_mo_to_the_service_number_arrives_as_deliver(gateway_factory):
    gw = await gateway_factory()

    def login():
        return logged_in(gw.cmpp_port)

    c = await deferToThread(login)
    d = gw.service.gateway.mobile_originated("13800138000", "106900001234", "查询余额", reactor.seconds())
    await d

    def read():
        c.wait_for(pk.Deliver, timeout=10)
        c.read_packet(0.3)  # lets our DELIVER_RESP reach the gateway
        c.terminate()
        return c.mos()

    [mo] = await deferToThread(read)
    assert mo.dest_id == "106900001234" and mo.src_terminal_id == "13800138000"
    assert mo.msg_fmt == 8 and mo.content.decode("utf-16-be") == "查询余额"
    assert gw.service.deliveries.backlog("demo") == 0  # acknowledged: nothing owed any more


@pytest_twisted.ensureDeferred
async def test_query_counts_the_days_traffic_and_cancel_answers(gateway_factory):
    gw = await gateway_factory()

    def run():
        c = logged_in(gw.cmpp_port)
        ok = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800000003", "13900000003"), service_id="SVC1")
        refused = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("12345",), service_id="SVC1")
        day = datetime.now(timezone(timedelta(hours=8))).strftime("%Y%m%d")
        seq = c.send(pk.Query(time=day, query_type=0))
        totals = c.wait_for(pk.QueryResp, seq)
        seq = c.send(pk.Cancel(msg_id=ok.msg_id))  # ...0003 is delivered only after 10 s: still cancellable
        cancelled = c.wait_for(pk.CancelResp, seq)
        seq = c.send(pk.Cancel(msg_id=12345))
        unknown = c.wait_for(pk.CancelResp, seq)
        c.terminate()
        return ok, refused, totals, cancelled, unknown

    ok, refused, totals, cancelled, unknown = await deferToThread(run)
    assert ok.result == 0 and refused.result == Result.BAD_DEST_TERMINAL_ID
    assert (totals.mt_tlmsg, totals.mt_tlusr, totals.mt_scs, totals.mt_fl) == (2, 3, 2, 1)
    assert cancelled.success_id == 1 and unknown.success_id == 0
    message = gw.service.gateway.find(MsgId.from_int(ok.msg_id).decimal)
    assert message.state == 4  # DELETED


@pytest_twisted.ensureDeferred
async def test_active_test_is_answered_and_the_gateway_tests_an_idle_link(gateway_factory):
    gw = await gateway_factory(lambda t: t.replace("active_test_interval = 180", "active_test_interval = 0.5"))

    def run():
        c = logged_in(gw.cmpp_port)
        seq = c.send(pk.ActiveTest())
        answer = c.wait_for(pk.ActiveTestResp, seq)
        ours = c.wait_for(pk.ActiveTest, timeout=5)  # the client answers it itself
        still = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",), registered_delivery=0)
        c.terminate()
        return answer, ours, still

    answer, ours, still = await deferToThread(run)
    assert isinstance(answer, pk.ActiveTestResp) and isinstance(ours, pk.ActiveTest) and still.result == 0


@pytest_twisted.ensureDeferred
async def test_over_the_rate_and_over_the_window_is_result_8(gateway_factory):
    def slow(text: str) -> str:
        return text.replace("throughput = 0                   # messages/s; 0 = unlimited", "throughput = 2", 1)

    gw = await gateway_factory(slow)

    def run():
        c = logged_in(gw.cmpp_port)
        seqs = [c.send_submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",)) for _ in range(40)]
        results = [c.wait_for(pk.SubmitResp, s).result for s in seqs]
        c.terminate()
        return results

    results = await deferToThread(run)
    assert results.count(0) >= 2
    assert set(results) == {0, Result.FLOW_CONTROL}
    assert results.count(Result.FLOW_CONTROL) >= 30  # 2 a second, 40 sent at once


@pytest_twisted.ensureDeferred
async def test_a_20_and_a_30_client_share_one_balance_and_the_ledger_holds(gateway_factory):
    gw = await gateway_factory(with_fast_rule)
    before = gw.service.wallets["demo"].balance

    def load(version: int, n: int):
        c = logged_in(gw.cmpp_port, version=version)
        window, sent, done, results = 16, 0, 0, []
        pending = set()
        while done < n:
            while len(pending) < window and sent < n:
                number = "13800000000" if sent % 10 == 0 else f"13{sent % 10}00008888"
                pending.add(c.send_submit(msg_src=DEMO_SRC, dest_terminal_ids=(number,), content=b"load"))
                sent += 1
            packet = c.read_packet(10)
            if isinstance(packet, pk.SubmitResp):
                pending.discard(packet.sequence_id)
                results.append(packet.result)
                done += 1
        c.read_packet(1.0)
        c.terminate()
        return results

    results = await gatherResults([deferToThread(load, 0x20, 150), deferToThread(load, 0x30, 150)])
    assert all(r == 0 for batch in results for r in batch)
    await until(lambda: not gw.service.gateway.active, timeout=30)
    await gw.service.committer.flush()
    spent = before - gw.service.wallets["demo"].balance
    assert 0 < spent <= 300 * 45
    code = await deferToThread(cli_main, ["ledger", "check", "--store", gw.store_arg])
    assert code == 0


@pytest_twisted.ensureDeferred
async def test_compliance_answers_cmpp_with_its_vendor_results_and_suspension_terminates(gateway_factory):
    gw = await gateway_factory()

    def run():
        brand = logged_in(gw.cmpp_port, account="brand")
        ucs2 = {"msg_src": "900003", "dest_terminal_ids": ("13800138000",), "msg_fmt": 8, "registered_delivery": 0}
        unsigned = brand.submit(**ucs2, content="您的验证码是 123456".encode("utf-16-be"))
        signed = brand.submit(**ucs2, content="【演示】您的验证码是 123456".encode("utf-16-be"))
        demo = logged_in(gw.cmpp_port)
        banned = demo.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",), msg_fmt=8,
                             content="代开发票".encode("utf-16-be"))  # fmt: skip
        suspending = demo.submit(msg_src=DEMO_SRC, dest_terminal_ids=("13800138000",), msg_fmt=8,
                                 content="颠覆国家政权".encode("utf-16-be"))  # fmt: skip
        terminate = demo.wait_for(pk.Terminate, timeout=5)  # the gateway ends the suspended account's session
        demo.send(pk.TerminateResp(sequence_id=terminate.sequence_id))
        again = CmppClient(gw.cmpp_port)
        refused = again.connect("900001", "demo1234")
        again.close()
        brand.terminate()
        return unsigned, signed, banned, suspending, refused

    unsigned, signed, banned, suspending, refused = await deferToThread(run)
    assert unsigned.result == 101 and signed.result == 0
    assert banned.result == 102 and suspending.result == 102
    assert refused.status == ConnectStatus.BAD_SOURCE_ADDR  # a suspended account cannot log in


@pytest_twisted.ensureDeferred
async def test_mass_send_with_some_destinations_refused_answers_0_and_rejects_only_those(gateway_factory):
    gw = await gateway_factory(with_fast_rule)
    opted_out, invalid = "13900007777", "12345"
    status, _ = await call(gw, "POST", "/api/optouts", {"account": "demo", "numbers": [opted_out]})
    assert status == 200
    before = gw.service.wallets["demo"].balance
    numbers = ("13800008888", opted_out, invalid, "18900008888")

    def run():
        c = logged_in(gw.cmpp_port)
        resp = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=numbers, content=b"mass")
        reports = c.reports(4)
        c.terminate()
        return resp, reports

    resp, reports = await deferToThread(run)
    assert resp.result == 0  # some were taken: the range's first Msg_Id
    ids = [resp.msg_id + k for k in range(4)]
    by_id = {r.msg_id: (r.dest_terminal_id, r.stat) for r in reports}
    assert by_id == {
        ids[0]: ("13800008888", "DELIVRD"),
        ids[1]: (opted_out, "REJECTD"),
        ids[2]: (invalid, "REJECTD"),
        ids[3]: ("18900008888", "DELIVRD"),
    }
    found = [gw.service.gateway.find(MsgId.from_int(i).decimal) for i in ids]
    assert found[1] is None and found[2] is None  # never accepted, never stored
    charged = [m.charge for m in (found[0], found[3])]
    assert charged == [45, 40]
    await until(lambda: not gw.service.gateway.active, timeout=30)
    await gw.service.committer.flush()
    assert gw.service.wallets["demo"].balance == before - 85 + found[0].refunded + found[3].refunded
    assert await deferToThread(cli_main, ["ledger", "check", "--store", gw.store_arg]) == 0


@pytest_twisted.ensureDeferred
async def test_mass_send_with_every_destination_refused_answers_the_first_refusal_and_sends_no_report(
    gateway_factory,
):
    gw = await gateway_factory(with_fast_rule)
    before = gw.service.wallets["demo"].balance

    def run():
        c = logged_in(gw.cmpp_port)
        resp = c.submit(msg_src=DEMO_SRC, dest_terminal_ids=("12345", "99"), content=b"mass")
        late = c.read_packet(1.0)
        c.terminate()
        return resp, late

    resp, late = await deferToThread(run)
    assert (resp.result, resp.msg_id) == (Result.BAD_DEST_TERMINAL_ID, 0) and late is None
    assert gw.service.wallets["demo"].balance == before
