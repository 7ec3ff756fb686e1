"""What a CMPP connection asks of its listener (the factory), as a seam: the connection module
does not import the factory that builds it."""

from __future__ import annotations

from typing import Protocol

from ...cmpp.account import CmppAccount
from ...cmpp.msgid import MsgIdGenerator
from ...cmpp.session import SessionConfig
from ...runtime.deliveries import DeliveryQueue
from ...runtime.runner import GatewayRunner
from .counters import Counters
from .hooks import CmppHooks


class Connection(Protocol):
    session_id: int
    account: str | None
    peer_host: str


class CmppHost(Protocol):
    gateway: GatewayRunner
    deliveries: DeliveryQueue
    session_config: SessionConfig
    utc_offset_minutes: int
    msg_ids: MsgIdGenerator
    counters: Counters
    hooks: CmppHooks

    def lookup(self, sp_id: str, peer_host: str) -> CmppAccount | None: ...

    def connection_opened(self, proto: Connection) -> None: ...

    def connection_closed(self, proto: Connection) -> None: ...

    def session_bound(self, proto: Connection) -> None: ...

    def session_unbound(self, proto: Connection) -> None: ...
