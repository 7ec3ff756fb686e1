"""The admin port's HTTP site: the API's routes put together, a root that hands unknown names to
the console files, and a structured access log of every change made through the API (who did
what, from where)."""

from __future__ import annotations

from twisted.application.service import IServiceCollection
from twisted.internet.interfaces import IReactorThreads
from twisted.logger import Logger
from twisted.web import http
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from .account_routes import AccountEndpoints
from .carriers import CarrierEndpoints
from .certifications import CertificationEndpoints
from .cluster import cluster_routes
from .compliance import ComplianceEndpoints
from .console import ConsoleApi, ConsoleFiles
from .handsets import HandsetEndpoints
from .health import Drain, HealthResource
from .http import AdminResource, Route, operator_of
from .http_access import HttpAccessEndpoints
from .lockouts import LockoutEndpoints
from .messages import MessageEndpoints
from .metrics import MetricsResource, build_registry
from .node import Node, Reload
from .overview import Overview
from .rig import RigEndpoints
from .views import Views

access_log = Logger(namespace="smppgw.admin.access")


class Root(Resource):
    def __init__(self, files: Resource) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.files = files

    def getChild(self, path: bytes, request: Request) -> Resource:  # noqa: N802 (Twisted's name)
        return self.files


class AdminSite(Site):
    def log(self, request: http.Request) -> None:
        """Every request that changes something, and every refused token, as one structured event."""
        if request.method == b"GET" and request.code != 401:
            return
        address = request.getClientAddress()
        access_log.info(
            "admin access: {operator}@{peer} {method} {path} -> {status}",
            operator=operator_of(request),
            peer=getattr(address, "host", "unknown"),
            method=request.method.decode("ascii", "replace"),
            path=request.uri.decode("utf-8", "replace"),
            status=request.code,
            admin_access=True,
        )


def api_routes(node: Node, threads: IReactorThreads, overview: Overview, drain: Drain, reload: Reload) -> list[Route]:
    """Every /api route, in the order they are matched (and named in a 405's Allow header)."""
    views = Views(node)
    routes = [
        *AccountEndpoints(node, views, threads).routes(),
        *HttpAccessEndpoints(node, views).routes(),
        *MessageEndpoints(node, views).routes(),
        *CarrierEndpoints(node.carriers, node.cluster).routes(),
        *ComplianceEndpoints(node, views).routes(),
        *LockoutEndpoints(node).routes(),
        *RigEndpoints(node.rig, node.accounts).routes(),
        *CertificationEndpoints(node.rig, node.accounts).routes(),
        *HandsetEndpoints(node, node.handsets).routes(),
    ]
    if node.cluster is not None:  # a node of several: GET /api/cluster
        routes += cluster_routes(node.cluster)
    routes += ConsoleApi(node, views, overview, reload).routes()
    routes += drain.routes()
    return routes


def build_admin_site(node: Node, *, threads: IReactorThreads, reload: Reload, parent: IServiceCollection) -> Site:
    """The admin port: /api (token), /metrics (Prometheus), /health, and the web console at /.

    ``threads`` runs the slow work (password hashing); ``parent`` runs the console overview's sampler
    (one sample a second while the gateway runs).
    """
    overview = Overview(node.factory.traffic, node.reactor)
    overview.sampler().setServiceParent(parent)
    drain = Drain(node)
    root = Root(ConsoleFiles())
    routes = api_routes(node, threads, overview, drain, reload)
    root.putChild(b"api", AdminResource(routes, node.config.admin.token))
    root.putChild(b"metrics", MetricsResource(build_registry(node)))
    root.putChild(b"health", HealthResource(drain))
    site = AdminSite(root)  # type: ignore[no-untyped-call]
    site.noisy = False
    site.displayTracebacks = False
    return site


__all__ = ["AdminSite", "Root", "api_routes", "build_admin_site"]
