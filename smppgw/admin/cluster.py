"""GET /api/cluster on a node of several: the nodes with their heartbeats, and live binds per account."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from twisted.web.server import Request

from .api import Handler, Reply, Result

if TYPE_CHECKING:
    from ..cluster.node import Cluster


def cluster_routes(cluster: Cluster) -> list[tuple[bytes, tuple[str, ...], Handler]]:
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
