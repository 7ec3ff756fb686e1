"""The gateway's own outbind (SMPP 3.4 section 4.1.7): for an account with an outbind target, when
deliveries wait and no receiver is bound, the gateway connects to the client's listener, sends
``outbind`` and serves the client's bind_receiver (or bind_transceiver) on that connection as it
serves any inbound bind: the same SMPP connection, session, hooks and delivery queue.  When the
listener is down it tries again with a backoff (smppgw.rig.outbind_plan)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..protocol import pdu as p
from ..protocol.codec import encode
from ..server.protocol import SMPPServerProtocol
from .outbind_plan import OutbindPlan, OutbindTargets

log = Logger()
TICK_S = 0.25  # how often waiting deliveries and the outbind connections are looked at


class Connector(Protocol):
    """Opens a TCP connection to ``host:port`` for ``proto`` (fires once connected)."""

    def __call__(self, host: str, port: int, proto: SMPPServerProtocol) -> Deferred[object]: ...


class Waiting(Protocol):
    """What the delivery queue (smppgw.runtime.deliveries) tells about an account."""

    def backlog(self, account: str | None = None) -> int: ...

    def receivers(self, account: str) -> int: ...


class Outbinder:
    def __init__(
        self,
        *,
        clock: IReactorTime,
        targets: OutbindTargets,
        deliveries: Waiting,
        new_connection: Callable[[], SMPPServerProtocol],
        connect: Connector,
    ) -> None:
        """``new_connection``: a connection of the SMPP listener (its factory's buildProtocol)."""
        self._clock = clock
        self._targets = targets
        self._deliveries = deliveries
        self._new_connection = new_connection
        self._connect = connect
        self._plans: dict[str, OutbindPlan] = {}
        self._conns: dict[str, SMPPServerProtocol] = {}
        self._call: IDelayedCall | None = None

    def start(self) -> None:
        if self._call is None:
            self._call = self._clock.callLater(TICK_S, self._tick)

    def stop(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        for proto in self._conns.values():
            proto.close()

    def plan_of(self, account: str) -> OutbindPlan | None:
        return self._plans.get(account)

    def _tick(self) -> None:
        self._call = self._clock.callLater(TICK_S, self._tick)
        now = self._clock.seconds()
        targets = dict(self._targets.items())
        for account in [a for a in self._plans if a not in targets]:
            del self._plans[account]
        for account, target in targets.items():
            plan = self._plans.get(account)
            if plan is None or plan.target != target:
                plan = self._plans[account] = OutbindPlan(target)
            proto = self._conns.get(account)
            if proto is not None:
                self._watch(account, plan, proto, now)
                continue
            waiting = self._deliveries.backlog(account)
            if plan.should_connect(now, waiting, self._deliveries.receivers(account)):
                self._open(account, plan, waiting)

    def _watch(self, account: str, plan: OutbindPlan, proto: SMPPServerProtocol, now: float) -> None:
        if proto.account is not None and not plan.bound:
            plan.client_bound()
            log.info(
                "outbind: {account} bound on the outbind connection to {address}",
                account=account,
                address=plan.target.address,
            )
        if proto.session.closed:
            del self._conns[account]
            self._ended(account, plan, now, "closed without a bind" if not plan.bound else "")

    def _ended(self, account: str, plan: OutbindPlan, now: float, why: str) -> None:
        wait = plan.closed(now)
        if why:
            log.info(
                "outbind: {address} for {account}: {why}; next try in {wait:g} s",
                address=plan.target.address,
                account=account,
                why=why,
                wait=wait,
            )

    def _open(self, account: str, plan: OutbindPlan, waiting: int) -> None:
        target = plan.target
        log.info(
            "outbind: connecting to {address} for {account} ({waiting} deliveries waiting, no receiver bound)",
            address=target.address,
            account=account,
            waiting=waiting,
        )
        plan.connecting()
        proto = self._new_connection()

        def connected(_: object) -> None:
            self._conns[account] = proto
            if proto.session.closed:
                return  # refused by the listener's limits: the next tick counts it
            proto.write_raw(encode(p.Outbind(sequence_number=1, system_id=target.system_id, password=target.password)))
            log.info(
                "outbind: sent outbind to {address} as {system_id}", address=target.address, system_id=target.system_id
            )

        def failed(failure: Failure) -> None:
            self._ended(account, plan, self._clock.seconds(), f"cannot connect ({failure.getErrorMessage()})")

        self._connect(target.host, target.port, proto).addCallbacks(connected, failed)
