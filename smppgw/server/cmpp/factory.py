"""Accepts CMPP connections: the accounts they log in as, the live sessions by account, the
Msg_Id generator of this node's gateway code and the per-day counters CMPP_QUERY answers."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Any

from twisted.internet.interfaces import IAddress, IReactorTime
from twisted.internet.protocol import ServerFactory

from ...cmpp.account import CmppAccount
from ...cmpp.msgid import MsgIdGenerator
from ...cmpp.session import SessionConfig
from ...config import CmppConfig
from ...model import AccountStatus
from ...runtime.deliveries import DeliveryQueue
from ...runtime.runner import GatewayRunner
from .counters import Counters
from .hooks import NO_CMPP_HOOKS, CmppHooks
from .ports import Connection
from .protocol import CMPPServerProtocol


def session_config(config: CmppConfig) -> SessionConfig:
    return SessionConfig(
        connect_timeout=config.connect_timeout,
        active_test_interval=config.active_test_interval,
        response_timeout=config.response_timeout,
        max_tries=config.max_tries,
        window=config.window,
        max_pending_requests=config.max_pending_requests,
    )


class CMPPServerFactory(ServerFactory):
    def __init__(
        self,
        *,
        gateway: GatewayRunner,
        deliveries: DeliveryQueue,
        config: CmppConfig,
        clock: IReactorTime,
        utc_offset_minutes: int = 480,
        first_sequence: int = 0,
        hooks: CmppHooks = NO_CMPP_HOOKS,
    ) -> None:
        """``hooks``: what rides along with every connection (the test rig's faults and scorecards)."""
        self.gateway = gateway
        self.deliveries = deliveries
        self.config = config
        self.session_config = session_config(config)
        self.clock = clock
        self.hooks = hooks
        self.utc_offset_minutes = utc_offset_minutes
        # Sequences start where the message counter is, so a restart within a second issues new ids.
        self.msg_ids = MsgIdGenerator(config.gateway_code, first_sequence)
        self.connections: set[CMPPServerProtocol] = set()
        self.bound: dict[str, list[CMPPServerProtocol]] = defaultdict(list)
        self.counters = Counters()
        self.next_session_id = 1

    def buildProtocol(self, addr: IAddress | None) -> CMPPServerProtocol:  # noqa: N802 (Twisted's name)
        return CMPPServerProtocol(self, self.clock)

    def lookup(self, sp_id: str, peer_host: str) -> CmppAccount | None:
        """The account logging in as ``sp_id`` from ``peer_host``, or None (CONNECT Status 2): none
        has that SP_Id, or it is suspended, outside its validity, at its max_binds or not allowed
        from that address."""
        now = self.clock.seconds()
        for state in self.gateway.accounts:
            cfg = state.config
            login = cfg.cmpp
            if login is None or login.sp_id != sp_id:
                continue
            if state.status is not AccountStatus.ACTIVE or state.binds >= cfg.max_binds:
                return None
            if (cfg.not_before is not None and now < cfg.not_before) or (
                cfg.not_after is not None and now > cfg.not_after
            ):
                return None
            if cfg.ip_allowlist and not _allowed(peer_host, cfg.ip_allowlist):
                return None
            return CmppAccount(login.sp_id, login.secret, login.version, login.service_code, cfg.system_id)
        return None

    def connection_opened(self, proto: Connection) -> None:
        assert isinstance(proto, CMPPServerProtocol)
        proto.session_id = self.next_session_id
        self.next_session_id += 1
        self.connections.add(proto)

    def connection_closed(self, proto: Connection) -> None:
        assert isinstance(proto, CMPPServerProtocol)
        self.connections.discard(proto)

    def session_bound(self, proto: Connection) -> None:
        account = proto.account
        assert account is not None
        state = self.gateway.accounts.get(account)
        if state is not None:
            state.binds += 1  # counted with the account's SMPP binds against max_binds
        assert isinstance(proto, CMPPServerProtocol)
        self.bound[account].append(proto)
        self.deliveries.attach(account, proto)

    def session_unbound(self, proto: Connection) -> None:
        account = proto.account
        if account is None:
            return
        assert isinstance(proto, CMPPServerProtocol)
        sessions = self.bound.get(account, [])
        if proto in sessions:
            sessions.remove(proto)
            self.gateway.accounts.release_bind(account)
        self.deliveries.detach(account, proto)

    def sessions_of(self, account: str) -> list[CMPPServerProtocol]:
        return list(self.bound.get(account, ()))

    def session_rows(self) -> list[dict[str, Any]]:
        """The logged-in sessions as the admin API lists them beside SMPP's (``since``: epoch seconds)."""
        rows = []
        for account, protos in sorted(self.bound.items()):
            for proto in protos:
                session = proto.session
                rows.append(
                    {
                        # The rig's number when there is one: the same ids as SMPP sessions' (scorecards).
                        "id": proto.tap.session_id or f"cmpp-{proto.session_id}",
                        "protocol": "cmpp",
                        "account": account,
                        "bind_type": "cmpp",
                        "peer": proto.peer,
                        "since": session.connected_at,
                        "window_in_use": session.outstanding,
                        "window": session.config.window,
                        "requests_pending": session.pending_requests,
                        "interface_version": "3.0" if session.version == 0x30 else "2.0",
                        "sp_id": proto.login.sp_id if proto.login is not None else "",
                        "client_version": f"0x{proto.requested_version:02x}",
                        "submits": proto.submits,
                        "delivers_sent": proto.delivers_sent,
                        "delivers_unanswered": proto.delivers_unanswered,
                    }
                )
        return rows


def _allowed(host: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(addr in net for net in networks)
