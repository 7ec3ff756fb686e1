"""Where the gateway listens and what accepts there: the seam between the composition root and a
worker of ``serve --workers``, which listens on inherited sockets through its hand-off sorter."""

from __future__ import annotations

from typing import Protocol

from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.internet.protocol import Factory

from ..config import GatewayConfig
from ..server.factory import SMPPServerFactory


class Listening(Protocol):
    """Where the gateway listens and what accepts there.  By default (ConfiguredListening) the
    addresses of the configuration and the SMPP factory itself; a worker of ``serve --workers``
    listens on sockets it inherited, through a factory that hands connections to their owner."""

    first_session_id: int  # the rig's scorecards number sessions from here

    def shape(self, config: GatewayConfig) -> GatewayConfig:
        """What a configuration read at start or on reload becomes here (a worker keeps its own accounts)."""
        ...

    def smpp(
        self, factory: SMPPServerFactory, configured: IStreamServerEndpoint
    ) -> tuple[IStreamServerEndpoint, Factory]: ...

    def tls(
        self, factory: SMPPServerFactory, configured: IStreamServerEndpoint
    ) -> tuple[IStreamServerEndpoint, Factory]:
        """The TLS port's endpoint and the factory inside TLS."""
        ...

    def admin(self, configured: IStreamServerEndpoint) -> IStreamServerEndpoint: ...


class ConfiguredListening:
    """Listen where the configuration says."""

    first_session_id = 1

    def shape(self, config: GatewayConfig) -> GatewayConfig:
        return config

    def smpp(
        self, factory: SMPPServerFactory, configured: IStreamServerEndpoint
    ) -> tuple[IStreamServerEndpoint, Factory]:
        return configured, factory

    def tls(
        self, factory: SMPPServerFactory, configured: IStreamServerEndpoint
    ) -> tuple[IStreamServerEndpoint, Factory]:
        return configured, factory

    def admin(self, configured: IStreamServerEndpoint) -> IStreamServerEndpoint:
        return configured
