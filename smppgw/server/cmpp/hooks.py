"""The seams between a CMPP connection and whatever rides along with it (the carrier-integration
test rig): what may be hooked into a connection, and what may be asked of it.

The CMPP twin of smppgw.server.hooks (whose WireTap it shares: frames in and out, here CMPP
packets with their 12-byte header).  The listener publishes these and imports nothing that
implements them; ``NoCmppHooks`` is the default.
"""

from __future__ import annotations

from typing import Protocol

from twisted.internet.interfaces import ITransport

from ...cmpp import packets as pk
from ..hooks import NO_TAP, WireTap


class CmppConnection(Protocol):
    """What the hooks may ask of one CMPP connection."""

    @property
    def account(self) -> str | None:
        """The gateway account it is logged in as, None before CONNECT or after it ended."""

    @property
    def peer(self) -> str:
        """``host:port`` of the client."""

    @property
    def peer_host(self) -> str: ...

    @property
    def transport(self) -> ITransport | None: ...

    def respond_submit_now(self, sequence_id: int, msg_id: int, result: int) -> None:
        """Send a SUBMIT_RESP that a hook held back."""

    def unbind(self) -> None:
        """End the session from the gateway's side (CMPP_TERMINATE)."""

    def close(self) -> None:
        """Drop the connection without a TERMINATE."""


class CmppHooks(Protocol):
    """What may be hooked into every connection of the CMPP listener."""

    def opened(self, conn: CmppConnection, now: float) -> WireTap:
        """A connection was accepted: the tap that sees its packets until ``ended``."""

    def ended(self, conn: CmppConnection, now: float) -> None: ...

    def connected(self, conn: CmppConnection, now: float) -> None:
        """The connection's CONNECT was accepted (``conn.account`` is set)."""

    def refuse_submit(self, conn: CmppConnection, submit: pk.Submit) -> int | None:
        """The Result to answer ``submit`` with instead of handling it (nothing is charged), or None."""

    def hold_submit_resp(self, conn: CmppConnection, sequence_id: int, msg_id: int, result: int) -> bool:
        """True when the hook takes over sending this SUBMIT_RESP (``respond_submit_now``, or never)."""


class NoCmppHooks:
    """Hooks that do nothing: the listener handles everything itself."""

    __slots__ = ()

    def opened(self, conn: CmppConnection, now: float) -> WireTap:
        return NO_TAP

    def ended(self, conn: CmppConnection, now: float) -> None:
        pass

    def connected(self, conn: CmppConnection, now: float) -> None:
        pass

    def refuse_submit(self, conn: CmppConnection, submit: pk.Submit) -> int | None:
        return None

    def hold_submit_resp(self, conn: CmppConnection, sequence_id: int, msg_id: int, result: int) -> bool:
        return False


NO_CMPP_HOOKS: CmppHooks = NoCmppHooks()
