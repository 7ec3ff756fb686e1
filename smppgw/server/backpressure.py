"""A peer that stops reading its socket must not make the gateway buffer without bound.

The session registers a ``WriteStall`` as the producer of its transport.  When more than
``write_buffer`` bytes wait for the peer, the transport pauses it: the session then stops reading
the peer's requests (every request makes an answer to write) and takes no more deliveries.  If the
peer has not drained the buffer within ``timeout`` seconds it is dropped; its unacknowledged
deliveries go back to the queue for another session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IPushProducer, IReactorTime
from zope.interface import implementer


def socket_transport(transport: Any) -> Any:
    """The transport that owns the socket buffer (TLS wraps a TCP transport)."""
    while not hasattr(transport, "bufferSize") and getattr(transport, "transport", None) is not None:
        transport = transport.transport
    return transport


@implementer(IPushProducer)
class WriteStall:
    def __init__(
        self, clock: IReactorTime, timeout: float, on_resume: Callable[[], None], on_stalled: Callable[[], None]
    ) -> None:
        self.clock = clock
        self.timeout = timeout
        self.on_resume = on_resume
        self.on_stalled = on_stalled
        self.paused = False
        self.stalls = 0  # how often the peer made us pause (for statistics and tests)
        self._transport: Any = None
        self._timer: IDelayedCall | None = None

    def attach(self, transport: Any, write_buffer: int) -> None:
        self._transport = transport
        socket_transport(transport).bufferSize = write_buffer
        transport.registerProducer(self, True)

    def detach(self) -> None:
        """Before closing: a transport with a paused producer would wait for it forever."""
        self._cancel()
        if self._transport is not None:
            self._transport.unregisterProducer()
            self._transport = None

    # ---- IPushProducer (called by the transport) ----------------------------------------

    def pauseProducing(self) -> None:  # noqa: N802 (Twisted's name)
        if self.paused or self._transport is None:
            return
        self.paused = True
        self.stalls += 1
        socket_transport(self._transport).pauseProducing()  # stop reading the peer's requests
        self._timer = self.clock.callLater(self.timeout, self._stalled)

    def resumeProducing(self) -> None:  # noqa: N802
        if not self.paused:
            return
        self.paused = False
        self._cancel()
        if self._transport is not None:
            socket_transport(self._transport).resumeProducing()
        self.on_resume()

    def stopProducing(self) -> None:  # noqa: N802
        self._cancel()
        self._transport = None

    def _stalled(self) -> None:
        self._timer = None
        if self.paused:
            self.on_stalled()

    def _cancel(self) -> None:
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
