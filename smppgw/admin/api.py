"""The admin HTTP API (JSON, bearer token)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.web.resource import Resource
from twisted.web.server import Site

if TYPE_CHECKING:
    from ..service import GatewayService


def build_admin_site(service: GatewayService) -> Site:
    root = Resource()
    return Site(root)
