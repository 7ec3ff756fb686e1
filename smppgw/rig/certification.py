"""Runs certification probes (smppgw.rig.certify) on the reactor: picks the client's receiving
bind, carries out the probe's actions through the connection (smppgw.server.hooks.HostedConnection)
and feeds it the connection's frames, submits, closes and binds as the rig's hooks see them."""

from __future__ import annotations

from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from ..protocol import pdu as p
from ..protocol.errors import LocalProtocolError
from ..protocol.session import SessionState
from ..server.hooks import HostedConnection, WireTap
from .certify import Action, Addresses, Probe, Release, Send, SendRaw, Timings, Unbind
from .certify_report import report_json

_BIND_OF = {
    SessionState.BOUND_RX: "bind_receiver",
    SessionState.BOUND_TRX: "bind_transceiver",
    SessionState.BOUND_TX: "bind_transmitter",
}


class CertificationError(Exception):
    """A run that cannot start (no receiving bind, one already running), said for the operator."""


class _Run:
    def __init__(self, run_id: int, probe: Probe, peer: str) -> None:
        self.run_id = run_id
        self.probe = probe
        self.peer = peer
        self.conns: dict[int, HostedConnection] = {}
        self.bound: set[int] = set()
        self.timer: IDelayedCall | None = None


class Certifications:
    """Every certification run of the gateway, by id; at most one running per account."""

    log = Logger()

    def __init__(self, clock: IReactorTime) -> None:
        self._clock = clock
        self._runs: dict[int, _Run] = {}
        self._active: dict[str, _Run] = {}  # account -> its running probe
        self._numbers: dict[HostedConnection, int] = {}
        self._next_id = 1
        self._next_conn = 1

    @property
    def active(self) -> bool:
        return bool(self._active)

    def report(self, run_id: int) -> dict[str, Any] | None:
        run = self._runs.get(run_id)
        return None if run is None else report_json(run.probe, run_id=run.run_id, peer=run.peer)

    def reports(self) -> list[dict[str, Any]]:
        return [report_json(r.probe, run_id=r.run_id, peer=r.peer) for r in self._runs.values()]

    def start(self, account: str, connections: list[HostedConnection], timings: Timings, addresses: Addresses) -> int:
        """Probe the account's receiving bind (the first one, when it has several)."""
        if account in self._active:
            raise CertificationError(f"a certification of {account!r} is running (id {self._active[account].run_id})")
        bound = [c for c in connections if c.account == account and c.session.can_receive]
        if not bound:
            raise CertificationError(f"{account!r} has no receiver or transceiver bound: bind the client first")
        conn = bound[0]
        now = self._clock.seconds()
        number = self._number(conn)
        probe = Probe(
            account=account,
            conn=number,
            bind=_BIND_OF[conn.session.state],
            now=now,
            timings=timings,
            addresses=addresses,
        )
        run = _Run(self._next_id, probe, conn.peer)
        self._next_id += 1
        for other in connections:
            if other.account == account:
                n = self._number(other)
                run.conns[n] = other
                run.bound.add(n)
        self._runs[run.run_id] = run
        self._active[account] = run
        self.log.info(
            "certification {id} of {account} on {peer} started", id=run.run_id, account=account, peer=conn.peer
        )
        self._act(run, probe.start(now))
        return run.run_id

    # ---- what the rig's hooks see ---------------------------------------------------------------

    def tap(self, conn: HostedConnection, inner: WireTap) -> WireTap:
        return _Tap(inner, self, conn)

    def frame_in(self, conn: HostedConnection, frame: bytes, now: float) -> None:
        run = self._active.get(conn.account or "")
        if run is not None:
            self._act(run, run.probe.frame_in(self._number(conn), frame, now))

    def received(self, conn: HostedConnection) -> None:
        """After a read: a connection of an account under certification may have just bound."""
        if not self._active or conn.account is None:
            return
        run = self._active.get(conn.account)
        if run is None:
            return
        number = self._number(conn)
        if number not in run.bound and conn.session.is_bound:
            run.bound.add(number)
            run.conns[number] = conn
            self._act(run, run.probe.bound(number, _BIND_OF[conn.session.state], self._clock.seconds()))

    def intercept(self, conn: HostedConnection, pdu: p.Pdu) -> p.Pdu | None:
        run = self._active.get(conn.account or "") if self._active else None
        if run is None or not isinstance(pdu, p.SubmitSm):
            return None
        return run.probe.submitted(self._number(conn), pdu, self._clock.seconds())

    def hold(self, conn: HostedConnection, response: p.Pdu) -> bool:
        run = self._active.get(conn.account or "") if self._active else None
        if run is None:
            return False
        number = self._number(conn)
        run.conns[number] = conn
        held, actions = run.probe.submit_answered(number, response, self._clock.seconds())
        self._act(run, actions)
        return held

    def ended(self, conn: HostedConnection, now: float) -> None:
        number = self._numbers.pop(conn, None)
        if number is None:
            return
        for run in list(self._active.values()):
            if number in run.conns:
                run.conns.pop(number, None)
                self._act(run, run.probe.closed(number, now))

    # ---- carrying out the probe's actions -------------------------------------------------------

    def _number(self, conn: HostedConnection) -> int:
        number = self._numbers.get(conn)
        if number is None:
            number = self._numbers[conn] = self._next_conn
            self._next_conn += 1
        return number

    def _act(self, run: _Run, actions: list[Action]) -> None:
        probe = run.probe
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            now = self._clock.seconds()
            target = run.conns.get(probe.conn)
            try:
                if isinstance(action, Release):
                    held = run.conns.get(action.conn)
                    if held is not None:
                        held.respond_now(action.response)
                elif target is None:
                    pending += probe.abort(now, "the client's connection is gone")
                elif isinstance(action, Send):
                    seq = target.session.next_sequence
                    target.send_extra(action.pdu)
                    pending += probe.sent(action.pdu.evolve(sequence_number=seq), now)
                elif isinstance(action, SendRaw):
                    target.write_raw(action.frame)
                elif isinstance(action, Unbind):
                    seq = target.session.next_sequence
                    target.unbind()
                    pending += probe.sent(p.Unbind(sequence_number=seq), now)
            except LocalProtocolError as err:
                pending += probe.abort(now, f"the gateway could not send: {err}")
        self._rearm(run)

    def _rearm(self, run: _Run) -> None:
        if run.timer is not None and run.timer.active():
            run.timer.cancel()
        run.timer = None
        if run.probe.done:
            if self._active.get(run.probe.account) is run:
                del self._active[run.probe.account]
                counts = report_json(run.probe, run_id=run.run_id, peer=run.peer)["counts"]
                self.log.info(
                    "certification {id} of {account} done: {passed} passed, {failed} failed",
                    id=run.run_id,
                    account=run.probe.account,
                    passed=counts["pass"],
                    failed=counts["fail"],
                )
            return
        deadline = run.probe.next_deadline()
        if deadline is not None:
            delay = max(0.0, deadline - self._clock.seconds())
            run.timer = self._clock.callLater(delay, self._tick, run)

    def _tick(self, run: _Run) -> None:
        run.timer = None
        self._act(run, run.probe.tick(self._clock.seconds()))


class _Tap:
    """The connection's own tap, and the certification's view of what the client sends."""

    __slots__ = ("_certifications", "_conn", "_inner")

    def __init__(self, inner: WireTap, certifications: Certifications, conn: HostedConnection) -> None:
        self._inner = inner
        self._certifications = certifications
        self._conn = conn

    @property
    def session_id(self) -> int | None:
        return self._inner.session_id

    def frame_in(self, frame: bytes, now: float) -> None:
        self._inner.frame_in(frame, now)
        if self._certifications.active:
            self._certifications.frame_in(self._conn, frame, now)

    def frame_out(self, frame: bytes, now: float) -> None:
        self._inner.frame_out(frame, now)


__all__ = ["CertificationError", "Certifications"]
