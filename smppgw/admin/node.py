"""What the admin handlers need of the running gateway, named here so that admin imports no composition root.

``Node`` lists the parts the handlers read and drive (all read-only from here: a handler never
replaces a part); the composition root satisfies it structurally.  Reloading the configuration,
an operation the root owns, reaches the handlers as a callable (``Reload``) passed when the site is
built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred
    from twisted.internet.interfaces import IReactorTime

    from ..billing.ledger import Wallets
    from ..carriers.link import CarrierLink
    from ..config import AccountHttp, ClusterConfig, GatewayConfig
    from ..handset import HandsetInbox
    from ..pipeline.accounts import AccountBook
    from ..pipeline.compliance import Compliance
    from ..rig.rig import Rig
    from ..runtime.committer import GroupCommitter
    from ..runtime.deliveries import DeliveryQueue
    from ..runtime.runner import GatewayRunner
    from ..server.cmpp.factory import CMPPServerFactory
    from ..server.factory import SMPPServerFactory
    from ..store.ports import ClusterStore
    from ..store.postgres import PostgresStore
    from ..store.sqlite import SqliteStore


class ClusterNode(Protocol):
    """This node's membership of several sharing one PostgreSQL store."""

    @property
    def node_id(self) -> str: ...

    @property
    def config(self) -> ClusterConfig: ...

    @property
    def store(self) -> ClusterStore: ...

    @property
    def adopted(self) -> int: ...

    def outage_switched(self, code: str, down: bool) -> None:
        """A carrier switched down or up here: every node's link follows."""


class Node(Protocol):
    """The running gateway, as the admin API sees it."""

    @property
    def config(self) -> GatewayConfig: ...

    @property
    def reactor(self) -> IReactorTime: ...

    @property
    def store(self) -> SqliteStore | PostgresStore: ...

    @property
    def accounts(self) -> AccountBook: ...

    @property
    def wallets(self) -> Wallets: ...

    @property
    def gateway(self) -> GatewayRunner: ...

    @property
    def deliveries(self) -> DeliveryQueue: ...

    @property
    def compliance(self) -> Compliance: ...

    @property
    def committer(self) -> GroupCommitter: ...

    @property
    def carriers(self) -> Mapping[str, CarrierLink]: ...

    @property
    def factory(self) -> SMPPServerFactory: ...

    @property
    def cmpp_factory(self) -> CMPPServerFactory: ...

    @property
    def cluster(self) -> ClusterNode | None: ...

    @property
    def rig(self) -> Rig: ...

    @property
    def handsets(self) -> HandsetInbox: ...

    def statistics(self) -> Mapping[str, int]: ...

    def set_http_access(self, system_id: str, http: AccountHttp) -> Deferred[None]:
        """Store and apply an account's access to the customer HTTP interface."""


class Reload(Protocol):
    """Re-read the configuration file and apply it: what changed, as JSON (the report's ``to_json()``);
    fails with a ConfigError when the file is refused, and the running configuration stays."""

    def __call__(self) -> Deferred[dict[str, Any]]: ...


__all__ = ["ClusterNode", "Node", "Reload"]
