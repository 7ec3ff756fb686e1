"""GET /api/cluster on a node of several: the nodes with their heartbeats, and live binds per account."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from twisted.web.server import Request

from .http import Reply, Result, Route
from .node import ClusterNode


def cluster_routes(cluster: ClusterNode) -> list[Route]:
    def show(request: Request, params: tuple[str, ...], body: dict[str, Any]) -> Result:
        timeout = cluster.config.node_timeout
        return Reply(
            200,
            {
                "node": cluster.node_id,
                "nodes": [asdict(node) for node in cluster.store.nodes(timeout)],
                "binds": cluster.store.cluster_binds(timeout),
                "adopted": cluster.adopted,
            },
        )

    return [(b"GET", ("cluster",), show)]
