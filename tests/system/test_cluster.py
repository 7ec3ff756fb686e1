"""Three gateway nodes as separate processes on one PostgreSQL database, driven by real smpplib
clients: receipts reach the node holding the receiver, money is exact under load from every node,
a SIGKILLed node loses nothing acknowledged, bind limits and top-ups hold across nodes."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import smpplib.client
import smpplib.exceptions
from cluster_harness import GatewayCluster, Node
from polling import wait_until
from smpp_helpers import answer, client, read_receipts, receipt_fields, submit_and_wait

from smppgw.billing.ledger import EntryKind, check_ledger
from smppgw.cli import main as cli_main
from smppgw.protocol.constants import CommandStatus as S
from smppgw.store.postgres import PostgresStore

FAST_DELIVERED = '[[scenario]]\npattern = "8888"\nstate = "DELIVRD"\ndelay_s = 0.05\n\n'


def fast(text: str) -> str:
    """Test numbers ending 8888 are DELIVRD after 50 ms; no random losses; short validity."""
    text = text.replace('[[scenario]]\npattern = "0000"', FAST_DELIVERED + '[[scenario]]\npattern = "0000"', 1)
    text = re.sub(r"(?m)^loss_percent = .*$", "loss_percent = 0", text)
    return re.sub(r"(?m)^default_validity_s = .*$", "default_validity_s = 4", text)


@pytest.fixture
def make_cluster(tmp_path: Path, pg_url: str) -> Iterator[type[GatewayCluster]]:
    made: list[GatewayCluster] = []

    def build(edit=fast) -> GatewayCluster:  # type: ignore[no-untyped-def]
        cluster = GatewayCluster(tmp_path, pg_url, edit)
        made.append(cluster)
        return cluster

    yield build  # type: ignore[misc]
    for cluster in made:
        cluster.stop()
        assert "Traceback" not in cluster.logs(), cluster.logs()


def until(predicate, timeout: float = 15.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    wait_until(predicate, timeout, what=what)


def test_a_receiver_on_node_a_gets_the_receipts_of_messages_submitted_through_node_b(make_cluster, pg_url):
    cluster = make_cluster()
    a, b, c = cluster.start(3)
    rx = client(a.smpp_port, mode="rx")
    tx = client(b.smpp_port, mode="tx")
    started = time.monotonic()
    ids = [submit_and_wait(tx, f"139{i:04d}8888", registered_delivery=1).message_id.decode() for i in range(20)]
    receipts = read_receipts(rx, 20, timeout=10)
    took = time.monotonic() - started
    assert sorted(receipt_fields(r)["id"] for r in receipts) == sorted(ids)
    assert took < 5, f"receipts took {took:.1f} s"
    # A handset's message arriving through node C takes the same path to the receiver on A.
    status, body = c.api("POST", "/api/mo", {"from": "13800138000", "to": "106900001234", "text": "hello"})
    assert status == 202, body
    (mo,) = read_receipts(rx, 1, timeout=5)
    assert (mo.esm_class, mo.short_message, mo.source_addr) == (0, b"hello", b"13800138000")
    rx.unbind()
    # With no receiver bound, a receipt waits in the outbox; any node's API says so.
    later = submit_and_wait(tx, "13900008888", registered_delivery=1).message_id.decode()
    tx.unbind()
    until(lambda: c.api("GET", f"/api/messages/{later}")[1]["receipt"] == "queued", what="receipt queued")
    rx = client(a.smpp_port, mode="rx")
    assert [receipt_fields(r)["id"] for r in read_receipts(rx, 1, timeout=10)] == [later]
    rx.unbind()
    until(lambda: c.api("GET", f"/api/messages/{later}")[1]["receipt"] == "delivered", what="receipt delivered")
    # Delivered rows leave the outbox.
    store = PostgresStore(pg_url)
    try:
        until(lambda: not store._rows("SELECT delivery_id FROM deliveries"), what="outbox emptied")
    finally:
        store.close()


def hammer(node: Node, stop_at: float, statuses: list[int], lock: threading.Lock) -> None:
    c = client(node.smpp_port, mode="tx")
    sent = done = 0
    got: list[int] = []
    while time.monotonic() < stop_at or done < sent:
        while sent - done < 10 and time.monotonic() < stop_at:
            c.send_message(source_addr="10690000", destination_addr=f"1390000{sent % 10}888", short_message=b"hot")
            sent += 1
        pdu = c.read_pdu()
        if pdu.command == "submit_sm_resp":
            done += 1
            got.append(pdu.status)
    c.unbind()
    with lock:
        statuses.extend(got)


def test_a_hot_account_hammered_from_three_nodes_ends_exact_to_the_unit(make_cluster, pg_url):
    # 100 messages of 45 li and 20 li over; no refunds, so exactly 100 submits can be accepted.
    def edit(text: str) -> str:
        text = text.replace(
            "initial_balance = 1000000\n\n[accounts.demo2]", "initial_balance = 4520\n\n[accounts.demo2]"
        )
        return fast(text).replace('refund_states = ["UNDELIV", "REJECTD"]', "refund_states = []")

    cluster = make_cluster(edit)
    nodes = cluster.start(3)
    statuses: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + 2.0
    threads = [threading.Thread(target=hammer, args=(n, stop_at, statuses, lock)) for n in nodes for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    accepted = statuses.count(0)
    assert accepted == 100, (accepted, sorted(set(statuses)))
    assert set(statuses) == {0, S.SMPPGW_RNOBALANCE}
    store = PostgresStore(pg_url)
    try:
        assert store.balances()["demo"] == 20
        entries = store.ledger("demo")
        assert sum(1 for e in entries if e.kind is EntryKind.CHARGE) == 100
        assert check_ledger(store.ledger(), store.balances()) == []
    finally:
        store.close()
    assert cli_main(["ledger", "check", "--store", pg_url]) == 0
    for node in nodes:  # every node's view comes back to the database's
        until(lambda node=node: node.balance() == 20, what=f"node {node.name} balance")


def test_sigkill_of_a_node_mid_load_loses_no_acknowledged_message(make_cluster, pg_url):
    cluster = make_cluster()
    a, b, _ = cluster.start(3)
    acked: list[str] = []
    receipts: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def submitter() -> None:
        try:
            c = client(b.smpp_port, mode="tx")
            sent = outstanding = 0
            while not stop.is_set():
                while outstanding < 20:
                    # Half DELIVRD at once, half by the carriers' mix (receipts within a second or two).
                    number = f"139{sent % 9}{sent:03d}8888"[-11:] if sent % 2 else f"1380{sent:07d}"[:11]
                    c.send_message(
                        source_addr="10690000", destination_addr=number, short_message=b"k", registered_delivery=1
                    )
                    sent += 1
                    outstanding += 1
                pdu = c.read_pdu()
                if pdu.command == "submit_sm_resp":
                    outstanding -= 1
                    if pdu.status == 0:
                        with lock:
                            acked.append(pdu.message_id.decode())
        except (smpplib.exceptions.ConnectionError, OSError):
            return  # the node died under us, as intended

    def receiver(node: Node, until_stop: threading.Event) -> None:
        try:
            c = client(node.smpp_port, mode="rx")
            c._socket.settimeout(0.5)
            while not until_stop.is_set():
                try:
                    pdu = c.read_pdu()
                except (TimeoutError, smpplib.exceptions.ConnectionError):
                    continue
                if pdu.command == "deliver_sm":
                    with lock:
                        receipts.add(receipt_fields(pdu)["id"])
                    answer(c, pdu, "deliver_sm_resp")
                elif pdu.command == "enquire_link":
                    answer(c, pdu, "enquire_link_resp")
            c.unbind()
        except (smpplib.exceptions.ConnectionError, OSError):
            return

    rx_on_b = threading.Thread(target=receiver, args=(b, stop))
    tx = threading.Thread(target=submitter)
    rx_on_b.start()
    tx.start()
    wait_until(lambda: len(acked) > 40, 15, what="traffic flowing before the kill")
    cluster.kill(b)
    stop.set()
    tx.join(timeout=20)
    rx_on_b.join(timeout=20)
    assert len(acked) > 20, "nothing acknowledged before the kill"
    # The client rebinds on node A: every acknowledged message's receipt arrives there.
    done = threading.Event()
    rx_on_a = threading.Thread(target=receiver, args=(a, done))
    rx_on_a.start()
    try:
        until(lambda: set(acked) <= receipts, timeout=30, what="every acknowledged message's receipt")
    finally:
        done.set()
        rx_on_a.join(timeout=20)
    store = PostgresStore(pg_url)
    try:
        for message_id in acked:
            message = store.get_message(message_id)
            assert message is not None and message.is_final
        entries = store.ledger()
        assert check_ledger(entries, store.balances()) == []
        charges = [e.message_id for e in entries if e.kind is EntryKind.CHARGE]
        assert len(charges) == len(set(charges))
    finally:
        store.close()
    status, body = a.api("GET", "/api/cluster")
    assert status == 200, body
    assert {n["node_id"]: n["alive"] for n in body["nodes"]} == {"a": True, "b": False, "c": True}
    assert body["adopted"] + cluster.nodes["c"].api("GET", "/api/cluster")[1]["adopted"] > 0


def test_a_bind_limit_of_two_holds_across_three_nodes(make_cluster):
    cluster = make_cluster(lambda t: re.sub(r"(?s)(\[accounts\.demo\]\n.*?)max_binds = 8", r"\1max_binds = 2", fast(t)))
    a, b, c = cluster.start(3)
    first = client(a.smpp_port)
    second = client(b.smpp_port, mode="rx")
    with pytest.raises(smpplib.exceptions.PDUError) as refused:
        client(c.smpp_port)
    assert refused.value.args[1] == S.ESME_RBINDFAIL
    with pytest.raises(smpplib.exceptions.PDUError):
        client(a.smpp_port, mode="tx")  # not on a node that holds one either
    first.unbind()
    first.disconnect()
    third = client(c.smpp_port)  # a freed slot is free everywhere
    third.unbind()
    second.unbind()


def test_a_topup_through_node_c_is_seen_by_node_a_at_once(make_cluster):
    cluster = make_cluster()
    a, _, c = cluster.start(3)
    before = a.balance()
    status, body = c.api("POST", "/api/accounts/demo/topups", {"amount": 500000, "reference": "BANK-CLUSTER-1"})
    assert status == 201, body
    started = time.monotonic()
    until(lambda: a.balance() == before + 500000, timeout=2, what="node A sees the top-up")
    assert time.monotonic() - started < 1.0
    # The same bank reference on another node is refused, as on one node.
    status, body = a.api("POST", "/api/accounts/demo/topups", {"amount": 1, "reference": "BANK-CLUSTER-1"})
    assert status == 409, body


def bind_status(port: int, system_id: str = "demo", password: str = "demo1234") -> int:
    c = smpplib.client.Client("127.0.0.1", port, timeout=5, allow_unknown_opt_params=True)
    c.connect()
    try:
        c.bind_transceiver(system_id=system_id, password=password)
    except smpplib.exceptions.PDUError as err:
        c.disconnect()
        return int(err.args[1])
    c.unbind()
    c.disconnect()
    return 0


def within(seconds: float, predicate, what: str) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    until(predicate, timeout=seconds, what=what)
    return time.monotonic() - started


def test_suspensions_lockouts_and_new_accounts_reach_every_node_within_a_second(make_cluster):
    cluster = make_cluster()
    a, b = cluster.start(2)
    # A suspension on node A unbinds the account's session on node B and refuses binds there.
    on_b = client(b.smpp_port)
    status, body = a.api("POST", "/api/accounts/demo/suspend", {"operator": "ops", "reason": "test"})
    assert status == 200, body
    within(1.0, lambda: b.api("GET", "/api/accounts/demo")[1]["status"] == "suspended", "suspended on B")
    on_b._socket.settimeout(2)
    assert on_b.read_pdu().command == "unbind"
    on_b.disconnect()
    assert bind_status(b.smpp_port) == S.ESME_RBINDFAIL
    assert a.api("POST", "/api/accounts/demo/reinstate", {})[0] == 200
    within(1.0, lambda: bind_status(b.smpp_port) == 0, "reinstated on B")

    # Five wrong passwords on node A lock demo out from this address on node B too.
    for _ in range(5):
        assert bind_status(a.smpp_port, password="wrong") == S.ESME_RINVPASWD
    within(1.0, lambda: bind_status(b.smpp_port) == S.ESME_RBINDFAIL, "locked out on B")
    assert b.api("GET", "/api/lockouts")[1]["lockouts"][0]["account"] == "demo"
    assert b.api("DELETE", "/api/lockouts/demo")[0] == 200
    within(1.0, lambda: bind_status(a.smpp_port) == 0, "lockout lifted on A")

    # An account created through node A's admin API binds on node B.
    status, body = a.api(
        "POST",
        "/api/accounts",
        {"system_id": "acme", "password": "pw123456", "balance": 5000, "source_addrs": ["10690077"]},
    )
    assert status == 201, body
    within(1.5, lambda: bind_status(b.smpp_port, "acme", "pw123456") == 0, "acme binds on B")
    assert b.balance("acme") == 5000


def test_opt_outs_and_a_reload_on_one_node_reach_the_others(make_cluster):
    cluster = make_cluster()
    a, b = cluster.start(2)
    status, body = a.api("POST", "/api/optouts", {"account": "demo", "numbers": ["13900128888"]})
    assert status < 300, body
    tx = client(b.smpp_port, mode="tx")
    try:
        within(1.0, lambda: submit_and_wait(tx, "13900128888").status == S.SMPPGW_ROPTEDOUT, "opted out on B")
    finally:
        tx.unbind()
    # Node A's file gains an account and a cheaper CMCC price; a reload through A applies A's file on B too
    # (B keeps its own ports and node id).
    late = '\n[accounts.late]\npassword = "late1234"\nsource_addrs = ["10690055"]\nrate_plan = "standard"\n'
    text = a.config.read_text(encoding="utf-8")
    assert "CMCC = 45" in text
    a.config.write_text(text.replace("CMCC = 45", "CMCC = 30", 1) + late, encoding="utf-8")
    status, body = a.api("POST", "/api/reload", {})
    assert status == 200 and body["accounts_added"] == ["late"], body
    within(1.5, lambda: bind_status(b.smpp_port, "late", "late1234") == 0, "late binds on B")
    tx = client(b.smpp_port, mode="tx")
    before = b.balance()
    assert submit_and_wait(tx, "13900138888").status == 0
    tx.unbind()
    assert before - b.balance() == 30
    # A node started after the reload joins with the shared configuration, not its file's.
    c = cluster.add("c")
    cluster.restart(c)
    within(1.5, lambda: bind_status(c.smpp_port, "late", "late1234") == 0, "late binds on a new node C")


NEW_TERM = '\n[categories.test_new_term]\nlabel = "新词"\naction = "reject"\nterms = ["新违禁词"]\n'


def test_the_route_and_keyword_files_of_a_reload_travel_with_it(make_cluster, tmp_path):
    cluster = make_cluster()
    a, b = cluster.add("a"), cluster.add("b")
    # B's configuration lives in a folder of its own, beside its own copies of the route and keyword files.
    for folder in ("routes", "content"):
        shutil.copytree(tmp_path / folder, tmp_path / "b" / folder)
    b.config = b.config.rename(tmp_path / "b" / b.config.name)
    for node in (a, b):
        cluster.restart(node)
    # Node A's number plan gets a new block and its keyword list a new prohibited term.
    with (tmp_path / "routes" / "china-number-plan.csv").open("a", encoding="utf-8") as plan:
        plan.write("194,CTCC,mobile,a block opened on node A\n")
    with (tmp_path / "content" / "keywords.toml").open("a", encoding="utf-8") as keywords:
        keywords.write(NEW_TERM)
    b_files = {p: p.read_bytes() for p in (tmp_path / "b").glob("*/*.*")}
    term = "新违禁词".encode("utf-16-be")

    tx = client(b.smpp_port, mode="tx")
    try:
        assert submit_and_wait(tx, "19400008888").status == S.ESME_RINVDSTADR
        assert submit_and_wait(tx, "13900138888", term, data_coding=8).status == 0
        status, body = a.api("POST", "/api/reload", {})
        assert status == 200, body
        # B, its own files unchanged, now routes the new block and refuses the new term.
        within(3.0, lambda: submit_and_wait(tx, "19400008888").status == 0, "the new prefix routed on B")
        assert submit_and_wait(tx, "13900138888", term, data_coding=8).status == S.SMPPGW_RCONTENT
    finally:
        tx.unbind()
    assert {p: p.read_bytes() for p in b_files} == b_files
    shared = tmp_path / "b" / "state" / "shared-config"
    assert sorted(str(p.relative_to(shared)) for p in shared.rglob("*.*")) == [
        "1/content/keywords.toml",
        "1/routes/china-number-plan.csv",
        "1/routes/international.csv",
        "1/routes/ported.csv",
    ]


def burst(c, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Send ``count`` submit_sm at once, then read their responses."""
    for i in range(count):
        c.send_message(source_addr="10690000", destination_addr=f"1390000{i % 10}888", short_message=b"b")
    statuses = []
    while len(statuses) < count:
        pdu = c.read_pdu()
        if pdu.command == "submit_sm_resp":
            statuses.append(pdu.status)
    return statuses


def test_an_accounts_throughput_is_shared_in_proportion_to_the_binds_each_node_holds(make_cluster):
    # demo may send 20 messages/s over all its binds; with one bind on each of two nodes each gets 10.
    cluster = make_cluster(
        lambda t: re.sub(r"(?s)(\[accounts\.demo\]\n.*?)throughput = 0", r"\1throughput = 20", fast(t))
    )
    a, b = cluster.start(2)
    on_a, on_b = client(a.smpp_port, mode="tx"), client(b.smpp_port, mode="tx")
    time.sleep(1.0)  # a few heartbeats: each node has seen both binds, and the buckets have refilled
    shared = burst(on_a, 40).count(0)
    assert 8 <= shared <= 13, shared
    on_b.unbind()
    time.sleep(1.5)  # node A holds every bind now: the whole rate, and a full bucket
    alone = burst(on_a, 40).count(0)
    assert 17 <= alone <= 23, alone
    on_a.unbind()


SLOW_DELIVERED = '[[scenario]]\npattern = "7777"\nstate = "DELIVRD"\ndelay_s = 2\n\n'


def test_a_node_killed_and_restarted_under_its_id_finishes_each_open_message_once(make_cluster, pg_url):
    cluster = make_cluster(lambda t: fast(t).replace("[[scenario]]\n", SLOW_DELIVERED + "[[scenario]]\n", 1))
    a, b = cluster.start(2)
    rx = client(a.smpp_port, mode="rx")
    tx = client(b.smpp_port, mode="tx")
    ids = [submit_and_wait(tx, f"13900{i:02d}7777", registered_delivery=1).message_id.decode() for i in range(10)]
    cluster.kill(b)  # its ten messages are still at its carriers
    cluster.restart(b)  # under the same node id: it takes them back, unless node A adopted them first
    receipts = [receipt_fields(r)["id"] for r in read_receipts(rx, 10, timeout=20)]
    assert sorted(receipts) == sorted(ids)
    assert read_receipts(rx, 1, timeout=2) == []  # no message finished twice
    rx.unbind()
    store = PostgresStore(pg_url)
    try:
        entries = store.ledger()
        assert check_ledger(entries, store.balances()) == []
        assert all(store.get_message(i).is_final for i in ids)  # type: ignore[union-attr]
    finally:
        store.close()


def carrier_up(node: Node, code: str) -> bool:
    status, body = node.api("GET", "/api/carriers")
    assert status == 200, body
    return bool(next(c for c in body["carriers"] if c["code"] == code)["up"])


def test_an_outage_switched_through_any_nodes_api_holds_on_every_node(make_cluster):
    cluster = make_cluster()
    a, b, c = cluster.start(3)
    tx = client(b.smpp_port, mode="tx")
    status, body = a.api("POST", "/api/carriers/CMCC/outage", {"down": True})
    assert status == 200 and body["up"] is False, body
    within(1.0, lambda: not carrier_up(b, "CMCC") and not carrier_up(c, "CMCC"), "CMCC down on B and C")
    # A China Mobile number submitted through node B fails over to China Unicom ([routing.failover]).
    down = submit_and_wait(tx, "13900008888").message_id.decode()
    assert b.api("GET", f"/api/messages/{down}")[1]["carrier"] == "CUCC"
    # A node starting later applies the stored outage before it serves anyone.
    d = cluster.add("d")
    cluster.restart(d)
    assert not carrier_up(d, "CMCC")
    assert carrier_up(d, "CUCC")
    # Back up through node C: node B routes to China Mobile again.
    status, body = c.api("POST", "/api/carriers/CMCC/outage", {"down": False})
    assert status == 200 and body["up"] is True, body
    within(1.0, lambda: carrier_up(b, "CMCC") and carrier_up(a, "CMCC") and carrier_up(d, "CMCC"), "CMCC up")
    up = submit_and_wait(tx, "13900018888").message_id.decode()
    assert b.api("GET", f"/api/messages/{up}")[1]["carrier"] == "CMCC"
    tx.unbind()
    # A node's own scheduled outage is its own: CMCC stored up does not end it...
    cluster.edit = lambda text: fast(text) + '\n[[outage]]\ncarrier = "CMCC"\nstart_after_s = 0\nduration_s = 600\n'
    e = cluster.add("e")
    cluster.restart(e)
    time.sleep(0.6)  # two heartbeats
    assert not carrier_up(e, "CMCC")
    assert carrier_up(b, "CMCC")
    # ...until someone switches CMCC through an API.
    assert a.api("POST", "/api/carriers/CMCC/outage", {"down": True})[0] == 200
    assert a.api("POST", "/api/carriers/CMCC/outage", {"down": False})[0] == 200
    within(1.0, lambda: carrier_up(e, "CMCC"), "CMCC up on E")
