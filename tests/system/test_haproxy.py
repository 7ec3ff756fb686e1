"""Gateway nodes (separate ``python -m smppgw serve`` processes) behind a real HAProxy on loopback
(tests/haproxy_cluster.py, from fixtures/haproxy.cfg), driven by real smpplib clients.

Clients connect from chosen loopback addresses (127.0.0.2, ...) while HAProxy connects to the
nodes from 127.0.0.1, so an allowlist or lockout that works here works on the client's address,
not HAProxy's.  .ci/run installs Debian's haproxy; without it these tests skip and say so."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
import smpplib.client
import smpplib.exceptions
from haproxy_cluster import HOST, REPO, TOKEN, HAProxyCluster, Node, haproxy_binary
from smpp_helpers import Raw, read_receipts, receipt_fields, submit_and_wait

from smppgw.protocol.constants import CommandStatus as S

pytestmark = pytest.mark.skipif(haproxy_binary() is None, reason="haproxy not installed (Debian package haproxy)")


def allow(account: str, network: str) -> Any:
    def edit(text: str) -> str:
        head = f"[accounts.{account}]\n"
        return text.replace(head, f'{head}ip_allowlist = ["{network}"]\n', 1)

    return edit


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HAProxyCluster]:
    """One node; demo may bind from 127.0.0.1 only (HAProxy's own address), brand from 127.0.0.2 only."""

    def edit(text: str) -> str:
        return allow("brand", "127.0.0.2/32")(allow("demo", "127.0.0.1/32")(text))

    with HAProxyCluster(tmp_path_factory.mktemp("single"), 1, edit=edit) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HAProxyCluster]:
    with HAProxyCluster(tmp_path_factory.mktemp("pair"), 2) as cluster:
        yield cluster


def connect_from(port: int, source: str = HOST) -> Any:
    """An smpplib client whose connection comes from ``source`` (any 127.x.y.z is loopback)."""
    c = smpplib.client.Client(HOST, port, timeout=10, allow_unknown_opt_params=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(10)
    sock.bind((source, 0))
    c._socket = sock
    c.connect()
    return c


def bind(port: int, source: str, system_id: str, password: str) -> tuple[int, Any]:
    """The bind_resp status, and the bound client (None when refused)."""
    c = connect_from(port, source)
    try:
        c.bind_transceiver(system_id=system_id, password=password)
    except smpplib.exceptions.PDUError as err:
        c.disconnect()
        return int(err.args[1]), None
    return S.ESME_ROK, c


def local(c: Any) -> str:
    host, port = c._socket.getsockname()
    return f"{host}:{port}"


def close(*clients: Any) -> None:
    for c in clients:
        with contextlib.suppress(smpplib.exceptions.ConnectionError, smpplib.exceptions.PDUError, OSError):
            c.unbind()
        c.disconnect()


def cli(node: Node, *argv: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    command = [sys.executable, "-m", "smppgw", *argv, "--url", node.admin_url, "--token", TOKEN]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=30, check=False)


# ---- the client's real address ------------------------------------------------------------------


def test_allowlist_sees_the_clients_address_through_haproxy(single: HAProxyCluster) -> None:
    node = single.nodes[0]
    status, from_1 = bind(single.port, "127.0.0.1", "demo", "demo1234")
    assert status == S.ESME_ROK  # admitted: its allowlist holds 127.0.0.1
    # From 127.0.0.2 demo is refused, though HAProxy reaches the node from 127.0.0.1 either way...
    assert bind(single.port, "127.0.0.2", "demo", "demo1234")[0] == S.ESME_RBINDFAIL
    # ...and brand, which may bind from 127.0.0.2 only, is admitted.
    status, from_2 = bind(single.port, "127.0.0.2", "brand", "brand123")
    assert status == S.ESME_ROK
    try:
        # The node lists each session with the client's own address and port.
        assert sorted(node.peers()) == sorted([local(from_1), local(from_2)])
        assert f"bind BindTransceiver brand from {local(from_2)}" in node.log()
        assert submit_and_wait(from_1, "13900139000", registered_delivery=1).status == S.ESME_ROK
        assert len(read_receipts(from_1, 1, timeout=15)) == 1
    finally:
        close(from_1, from_2)


def test_failed_bind_lockout_is_keyed_by_the_clients_address(single: HAProxyCluster) -> None:
    node = single.nodes[0]
    guesses = [bind(single.port, "127.0.0.3", "demo2", f"guess{i}")[0] for i in range(5)]
    assert guesses == [S.ESME_RINVPASWD] * 5
    assert bind(single.port, "127.0.0.3", "demo2", "demo5678")[0] == S.ESME_RBINDFAIL  # locked out
    status, other = bind(single.port, "127.0.0.4", "demo2", "demo5678")  # another client of demo2
    assert status == S.ESME_ROK
    close(other)
    status, lockouts = node.api("GET", "/api/lockouts")
    assert status == 200
    assert [(lk["account"], lk["address"]) for lk in lockouts["lockouts"]] == [("demo2", "127.0.0.3")]
    assert "bind lockout: demo2 from 127.0.0.3" in node.log()
    assert node.api("DELETE", "/api/lockouts/demo2")[0] == 200


def test_a_connection_without_proxy_header_is_closed_and_the_node_keeps_serving(single: HAProxyCluster) -> None:
    node = single.nodes[0]
    raw = Raw(node.smpp_port)  # straight to the node, around HAProxy
    try:
        raw.send(b"\x00\x00\x00\x10\x00\x00\x00\x15\x00\x00\x00\x00\x00\x00\x00\x01")  # an enquire_link
        assert raw.closed()
    finally:
        raw.close()
    assert "closed: no PROXY protocol header (the listener has proxy_protocol = true)" in node.log()
    assert "Traceback" not in node.log()
    status, c = bind(single.port, "127.0.0.1", "demo", "demo1234")
    assert status == S.ESME_ROK
    close(c)


# ---- several nodes: spread and drain --------------------------------------------------------------


def test_leastconn_spreads_binds_and_a_drained_node_keeps_its_sessions(pair: HAProxyCluster) -> None:
    node1, node2 = pair.nodes
    clients = [bind(pair.port, HOST, "demo", "demo1234")[1] for _ in range(4)]
    try:
        assert all(clients)
        assert (len(node1.peers()), len(node2.peers())) == (2, 2)
        on_node1 = next(c for c in clients if local(c) in node1.peers())

        drained = cli(node1, "drain")
        assert drained.returncode == 0, drained.stderr
        assert "draining since" in drained.stdout
        pair.wait_states({"node1": "NOLB", "node2": "UP"})  # HAProxy read the 404 of /health

        clients += [bind(pair.port, HOST, "demo", "demo1234")[1] for _ in range(3)]
        assert (len(node1.peers()), len(node2.peers())) == (2, 5)  # nothing new for the drained node

        # The drained node's sessions keep working: a submit, and its receipt.
        resp = submit_and_wait(on_node1, "13900139000", registered_delivery=1)
        assert resp.status == S.ESME_ROK
        receipts = read_receipts(on_node1, 1, timeout=15)
        assert [receipt_fields(r)["id"] for r in receipts] == [resp.message_id.decode()]

        undrained = cli(node1, "undrain")
        assert undrained.returncode == 0, undrained.stderr
        pair.wait_states({"node1": "UP", "node2": "UP"})
        clients.append(bind(pair.port, HOST, "demo", "demo1234")[1])
        assert (len(node1.peers()), len(node2.peers())) == (3, 5)  # back in: it has the fewest
    finally:
        close(*[c for c in clients if c])


def test_a_killed_node_is_taken_out_and_binds_go_to_the_others(pair: HAProxyCluster) -> None:
    node1, node2 = pair.nodes
    assert node2.process is not None
    node2.process.kill()  # SIGKILL: no goodbye to HAProxy or the clients
    node2.process.wait()
    # At once, before any health check has noticed: a refused connection is tried on node1 (redispatch).
    clients = [bind(pair.port, HOST, "demo2", "demo5678") for _ in range(3)]
    try:
        assert [status for status, _ in clients] == [S.ESME_ROK] * 3
        assert {local(c) for _, c in clients} <= set(node1.peers())
        pair.wait_states({"node1": "UP", "node2": "DOWN"})
    finally:
        close(*[c for _, c in clients if c])
