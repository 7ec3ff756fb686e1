"""The seams between an SMPP connection and whatever rides along with it (the carrier-integration
test rig): what may be hooked into a connection, what sees its frames, and what may be asked of it.

The server publishes these and imports nothing that implements them.  ``NoHooks`` is the default:
a gateway without a rig pays one no-op call per hook point and has no ``None`` checks.
"""

from __future__ import annotations

from typing import Protocol

from twisted.internet.interfaces import ITransport

from ..model import Delivery
from ..protocol import pdu as p
from ..protocol.session import SMPPSession


class HostedConnection(Protocol):
    """What the hooks may ask of one SMPP connection."""

    @property
    def account(self) -> str | None:
        """The system_id it is bound as, None before a bind or after an unbind."""

    @property
    def peer(self) -> str:
        """``host:port`` of the client."""

    @property
    def peer_host(self) -> str: ...

    @property
    def session(self) -> SMPPSession:
        """The sans-IO session (its state, whether it may be sent deliveries)."""

    @property
    def transport(self) -> ITransport | None: ...

    @property
    def writes_paused(self) -> bool:
        """True while the client reads too slowly to take what is written (back-pressure)."""

    def pause_reading(self) -> None:
        """Stop reading the client's socket (TLS included) until ``resume_reading``."""

    def resume_reading(self) -> None: ...

    def write_raw(self, data: bytes) -> None:
        """Write octets to the socket as they are: no tap sees them, no hook reshapes them."""

    def respond_now(self, response: p.Pdu) -> None:
        """Send a response that a hook held back."""

    def unbind(self) -> None:
        """Unbind from the gateway's side."""

    def send_delivery_pdu(self, delivery: Delivery, pdu: p.DeliverSm | p.DataSm) -> None:
        """Send ``delivery`` as ``pdu``; its answer settles the delivery as usual."""

    def send_extra(self, pdu: p.Pdu) -> None:
        """Send a request whose answer nobody waits for."""

    def delivery_acknowledged(self, delivery: Delivery) -> None:
        """Settle ``delivery`` as if the client had acknowledged it (a hook that never sends it)."""

    def delivery_failed(self, delivery: Delivery) -> None:
        """Give ``delivery`` back to the queue, to be sent again later."""


class WireTap(Protocol):
    """Sees every frame of one connection, as the session cut it from the byte stream (in) or
    encoded it (out), including those the session refused or answered by itself."""

    @property
    def session_id(self) -> int | None:
        """The number the tap gives this connection (the console shows it), None if none."""

    def frame_in(self, frame: bytes, now: float) -> None: ...

    def frame_out(self, frame: bytes, now: float) -> None: ...


class ConnectionHooks(Protocol):
    """What may be hooked into every connection of a listener, around the gateway's own handling."""

    def opened(self, conn: HostedConnection, now: float) -> WireTap:
        """A connection was admitted: the tap that sees its frames until ``ended``."""

    def ended(self, conn: HostedConnection, now: float) -> None:
        """An admitted connection closed."""

    def received(self, conn: HostedConnection, size: int) -> None:
        """``size`` octets were just read from ``conn`` (and handled)."""

    def outgoing(self, conn: HostedConnection, data: bytes) -> bool:
        """True when the hook takes over writing ``data`` (later, in pieces, or never)."""

    def intercept(self, conn: HostedConnection, pdu: p.Pdu) -> p.Pdu | None:
        """The answer to send instead of handling the request ``pdu``, or None to handle it."""

    def hold(self, conn: HostedConnection, response: p.Pdu) -> bool:
        """True when the hook takes over sending ``response`` (through ``respond_now``, or never)."""

    def deliver(self, conn: HostedConnection, delivery: Delivery, pdu: p.DeliverSm) -> bool:
        """True when the hook takes over sending ``delivery`` (through ``send_delivery_pdu``, or never)."""

    def binding(self, conn: HostedConnection, bind: p.BindRequest, now: float) -> int:
        """A bind the gateway would accept: the status to refuse it with instead, or 0 to let it bind."""

    def dropped(self, conn: HostedConnection, account: str, bind_type: str, now: float) -> None:
        """A bound connection was lost without an unbind (``bind_type``: transmitter, receiver, transceiver)."""

    def annotate(self, conn: HostedConnection, response: p.SubmitSmResp | p.DataSmResp) -> p.Pdu:
        """The answer to a submission as it is to be sent (with TLVs added, say)."""


class _NoTap:
    __slots__ = ()

    @property
    def session_id(self) -> int | None:
        return None

    def frame_in(self, frame: bytes, now: float) -> None:
        pass

    def frame_out(self, frame: bytes, now: float) -> None:
        pass


NO_TAP: WireTap = _NoTap()


class NoHooks:
    """Hooks that do nothing: the gateway handles everything itself."""

    __slots__ = ()

    def opened(self, conn: HostedConnection, now: float) -> WireTap:
        return NO_TAP

    def ended(self, conn: HostedConnection, now: float) -> None:
        pass

    def received(self, conn: HostedConnection, size: int) -> None:
        pass

    def outgoing(self, conn: HostedConnection, data: bytes) -> bool:
        return False

    def intercept(self, conn: HostedConnection, pdu: p.Pdu) -> p.Pdu | None:
        return None

    def hold(self, conn: HostedConnection, response: p.Pdu) -> bool:
        return False

    def deliver(self, conn: HostedConnection, delivery: Delivery, pdu: p.DeliverSm) -> bool:
        return False

    def binding(self, conn: HostedConnection, bind: p.BindRequest, now: float) -> int:
        return 0

    def dropped(self, conn: HostedConnection, account: str, bind_type: str, now: float) -> None:
        pass

    def annotate(self, conn: HostedConnection, response: p.SubmitSmResp | p.DataSmResp) -> p.Pdu:
        return response


NO_HOOKS: ConnectionHooks = NoHooks()
