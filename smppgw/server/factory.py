"""Accepts SMPP connections and keeps the registry of live sessions by account."""

from __future__ import annotations

from collections import defaultdict

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import ServerFactory

from ..config import SecurityConfig
from ..pipeline.guard import BindGuard, ConnectionLimits
from ..protocol.session import SessionConfig
from ..protocol.traffic import Traffic
from ..runtime.deliveries import DeliveryQueue
from ..runtime.runner import GatewayRunner
from .hooks import NO_HOOKS, ConnectionHooks
from .protocol import SMPPServerProtocol


class SMPPServerFactory(ServerFactory):
    def __init__(
        self,
        *,
        gateway: GatewayRunner,
        deliveries: DeliveryQueue,
        session_config: SessionConfig,
        clock: IReactorTime,
        receipt_window: int = 100,
        security: SecurityConfig | None = None,
        guard: BindGuard | None = None,
        hooks: ConnectionHooks = NO_HOOKS,
    ) -> None:
        """``hooks``: what rides along with every connection (the test rig's faults and scorecards)."""
        self.gateway = gateway
        self.deliveries = deliveries
        self.session_config = session_config
        self.clock = clock
        self.receipt_window = receipt_window
        self.connections: set[SMPPServerProtocol] = set()
        self.bound: dict[str, list[SMPPServerProtocol]] = defaultdict(list)
        self.traffic = Traffic()  # shared by every session: what the metrics and the console read
        self.hooks = hooks
        self.security = security = security or SecurityConfig()
        self.guard = guard or BindGuard(security.failed_bind_limit, security.failed_bind_window, security.lockout)
        self.limits = ConnectionLimits(security.max_connections, security.max_connections_per_address)

    def buildProtocol(self, addr: IAddress | None) -> SMPPServerProtocol:  # noqa: N802 (Twisted's name)
        return SMPPServerProtocol(self, self.clock)

    def connection_opened(self, proto: SMPPServerProtocol) -> str | None:
        """Admit a connection, or say why it is refused (the connection limits)."""
        refused = self.limits.admit(proto.peer_host)
        if refused is None:
            self.connections.add(proto)
        return refused

    def connection_closed(self, proto: SMPPServerProtocol) -> None:
        if proto in self.connections:
            self.connections.discard(proto)
            self.limits.release(proto.peer_host)

    def session_bound(self, proto: SMPPServerProtocol) -> None:
        assert proto.account is not None
        self.bound[proto.account].append(proto)
        if proto.session.can_receive:
            self.deliveries.attach(proto.account, proto)

    def session_unbound(self, proto: SMPPServerProtocol) -> None:
        account = proto.account
        if account is None:
            return
        sessions = self.bound.get(account, [])
        if proto in sessions:
            sessions.remove(proto)
            self.gateway.accounts.release_bind(account)
        self.deliveries.detach(account, proto)

    def sessions_of(self, account: str) -> list[SMPPServerProtocol]:
        return list(self.bound.get(account, ()))
