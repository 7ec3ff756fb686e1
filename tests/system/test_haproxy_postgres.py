"""Three nodes on one PostgreSQL behind one address (a real HAProxy with PROXY protocol v2): a
receiver bound through HAProxy gets the receipts of messages that other connections, spread over the
other nodes, submitted; when its node is killed it binds again through the same address, lands on a
live node and gets the receipts of what is submitted next.  Needs Debian's haproxy and postgresql
(.ci/run installs both)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from haproxy_cluster import HAProxyCluster, haproxy_binary, on_postgres
from polling import wait_until
from smpp_helpers import client, read_receipts, receipt_fields, submit_and_wait
from test_cluster import fast

pytestmark = pytest.mark.skipif(haproxy_binary() is None, reason="haproxy not installed (Debian package haproxy)")


def node_of(cluster: HAProxyCluster, connection: Any) -> str:
    """The node that serves this client connection, found by the client's own address, which each node
    learns from HAProxy's PROXY header."""
    local = "{}:{}".format(*connection._socket.getsockname()[:2])

    def serving() -> str | None:
        for node in cluster.nodes:
            if node.process is not None and node.process.poll() is None and local in node.peers():
                return node.name
        return None

    return wait_until(serving, 5, what=f"a node listing the session of {local}")


def test_receipts_reach_a_receiver_bound_through_haproxy_whichever_node_took_the_submits(
    tmp_path: Path, pg_url: str
) -> None:
    def per_node(name: str, text: str) -> str:
        return on_postgres(pg_url, name)(text) + "heartbeat_interval_s = 0.25\nnode_timeout_s = 1.5\n"

    with HAProxyCluster(tmp_path, nodes_wanted=3, edit=fast, node_edit=per_node) as cluster:
        rx = client(cluster.port, mode="rx")
        senders = [client(cluster.port, mode="tx") for _ in range(3)]
        rx_node = node_of(cluster, rx)
        sender_nodes = [node_of(cluster, tx) for tx in senders]
        assert set(sender_nodes) - {rx_node}, (rx_node, sender_nodes)  # leastconn spread them

        ids = [
            submit_and_wait(senders[i % 3], f"139{i:04d}8888", registered_delivery=1).message_id.decode()
            for i in range(30)
        ]
        receipts = read_receipts(rx, len(ids), timeout=15)
        assert sorted(receipt_fields(r)["id"] for r in receipts) == sorted(ids)

        # The receiver's node dies; the receiver binds again through the same address.
        (dead,) = [node for node in cluster.nodes if node.name == rx_node]
        assert dead.process is not None
        dead.process.kill()
        dead.process.wait()
        cluster.wait_states({dead.name: "DOWN"})
        rx = client(cluster.port, mode="rx")
        assert node_of(cluster, rx) != rx_node
        alive = [tx for tx, name in zip(senders, sender_nodes, strict=True) if name != rx_node]
        later = [
            submit_and_wait(alive[i % len(alive)], f"139{i:04d}8888", registered_delivery=1).message_id.decode()
            for i in range(100, 110)
        ]
        receipts = read_receipts(rx, len(later), timeout=15)
        assert sorted(receipt_fields(r)["id"] for r in receipts) == sorted(later)
        for connection in [rx, *alive]:
            connection.unbind()
        for node in cluster.nodes:
            if node.name != rx_node:
                assert "Traceback" not in node.log(), node.log()
