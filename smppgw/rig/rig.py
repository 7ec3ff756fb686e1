"""The rig of one gateway: the scenario that is running (if any) and its hooks into every SMPP
connection (smppgw.server.hooks.ConnectionHooks): faults, receipt shapes and scorecards."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from twisted.internet.interfaces import IReactorTime
from twisted.logger import Logger

from ..carriers.link import CarrierLink
from ..config import AccountConfig, GatewayConfig
from ..model import Delivery, Message
from ..pipeline.accounts import AccountBook
from ..protocol import pdu as p
from ..protocol.constants import INTERFACE_VERSION_50, CommandStatus, Tag
from ..server.hooks import HostedConnection, WireTap
from .certification import Certifications
from .cmpp import CmppRig
from .congestion import Load, bucket_tokens_at, congestion_state
from .draws import BindDraws
from .faults import FaultInjector
from .linkfacts import link_probe
from .outbind_plan import OutbindTargets
from .receipts import ReceiptShaper
from .scenario import parse_scenario
from .scorecard import Scorecard, Scorecards
from .stale import StaleBinds
from .timeline import ScenarioRun

log = Logger()
_BIND_TYPE_OF: dict[type[p.Pdu], str] = {
    p.BindTransmitter: "transmitter",
    p.BindReceiver: "receiver",
    p.BindTransceiver: "transceiver",
}


def _nothing_queued(account: str) -> int:
    return 0


class _CardLog:
    """The scorecards' lines (smppgw.rig.scorecard.CardLog), into the gateway's log."""

    __slots__ = ()

    def info(self, text: str) -> None:
        log.info("{text}", text=text)

    def warn(self, text: str) -> None:
        log.warn("{text}", text=text)


class ScenarioGate:
    """The gateway's gate on submits (smppgw.pipeline.ports.SubmitGate): the running scenario's
    carrier throttles, a status to refuse with, or 0.  Built before the gateway, which is given it."""

    __slots__ = ("scenario",)

    def __init__(self) -> None:
        self.scenario: ScenarioRun | None = None

    def __call__(self, carrier: str, now: float) -> int:
        return self.scenario.gate(carrier, now) if self.scenario is not None else 0


class Rig:
    def __init__(
        self,
        *,
        clock: IReactorTime,
        gate: ScenarioGate,
        find_message: Callable[[str], Message | None],
        accounts: AccountBook,
        carriers: Mapping[str, CarrierLink],
        config: GatewayConfig,
        backlog: Callable[[str], int] | None = None,
        draws: BindDraws | None = None,
    ) -> None:
        """``gate``: the gate the gateway was built with (the rig puts its scenario there);
        ``find_message``: the gateway's message by id; ``carriers``: the gateway's live carrier links
        (a scenario acts on them); ``config``: the running configuration (its seed, scorecard rules,
        carrier tables and accounts' faults); ``backlog``: the receipts and MO queued for an account
        (the delivery queue's), which a scorecard shows as evidence of a client not reading;
        ``draws``: the per-bind generators the carrier links were given
        (smppgw.carriers.link.DrawSource), or None: outcomes are never drawn per bind."""
        self._clock = clock
        self._gate = gate
        self._accounts = accounts
        self._carriers = carriers
        self._carrier_tables = config.carriers
        self._seed = config.seed
        self.receipts = ReceiptShaper(clock, find_message)
        self.faults = FaultInjector(clock, random.Random(f"{config.seed}:faults"), self.receipts)
        self.scorecards = Scorecards(config.scorecard, clock=clock.seconds, log=_CardLog())
        self._backlog = backlog or _nothing_queued
        self.stale = StaleBinds()
        self.outbinds = OutbindTargets()  # where the gateway outbinds to (smppgw.rig.outbind)
        self.draws = draws if draws is not None else BindDraws(config.seed)
        self._per_bind_everywhere = config.per_bind_outcomes
        # The same faults and scorecards on the CMPP listener's connections (its hooks).
        self.cmpp = CmppRig(
            clock, random.Random(f"{config.seed}:cmpp-faults"), self.faults, self.scorecards, config.cmpp.window
        )
        self._cards: dict[HostedConnection, Scorecard] = {}
        self.certifications = Certifications(clock)
        for state in accounts:
            self.account_added(state.config)

    def account_added(self, account: AccountConfig) -> None:
        """An account's own ``faults`` are in force from its start (or its creation through the API)."""
        if account.faults is not None:
            self.faults.set(account.system_id, account.faults)
        if account.outbind is not None:
            self.outbinds.set(account.system_id, account.outbind)

    def reconfigure(self, old: GatewayConfig, new: GatewayConfig) -> None:
        """A reload: sessions opened from now on are graded by the new thresholds, and an account whose
        ``faults`` table changed gets the new one in place of every fault in force on it."""
        self.scorecards.rules = new.scorecard
        self._per_bind_everywhere = new.per_bind_outcomes
        self._carrier_tables = new.carriers
        for system_id, account in new.accounts.items():
            before = old.accounts.get(system_id)
            if (None if before is None else before.faults) != account.faults:
                self.faults.clear(system_id)
                if account.faults is not None:
                    self.faults.set(system_id, account.faults)
            if (None if before is None else before.outbind) != account.outbind:
                self.outbinds.clear(system_id)
                if account.outbind is not None:
                    self.outbinds.set(system_id, account.outbind)

    @property
    def scenario(self) -> ScenarioRun | None:
        """The scenario that is running, if any."""
        return self._gate.scenario

    # ---- the connection hooks (smppgw.server.hooks.ConnectionHooks) -------------------------

    def opened(self, conn: HostedConnection, now: float) -> WireTap:
        self.faults.opened(conn)
        probe = link_probe(conn, self._accounts, self._backlog)
        card = self._cards[conn] = self.scorecards.open(conn.peer, conn.peer_host, now, lambda: conn.account, probe)
        return self.certifications.tap(conn, card)

    def ended(self, conn: HostedConnection, now: float) -> None:
        self.faults.ended(conn)
        self.draws.ended(conn)
        self.certifications.ended(conn, now)
        card = self._cards.pop(conn, None)
        if card is not None:
            self.scorecards.ended(card, now)

    def received(self, conn: HostedConnection, size: int) -> None:
        self.faults.received(conn, size)  # the slow reader
        self.certifications.received(conn)

    def outgoing(self, conn: HostedConnection, data: bytes) -> bool:
        return self.faults.outgoing(conn, data)

    def intercept(self, conn: HostedConnection, pdu: p.Pdu) -> p.Pdu | None:
        if isinstance(pdu, p.SUBMITS):
            self.draws.request(conn, pdu.sequence_number, self._per_bind(conn))
        # A certification run's own answers (its throttling phase) come before the account's faults.
        answer = self.certifications.intercept(conn, pdu)
        injected = answer if answer is not None else self.faults.intercept(conn, pdu)
        if isinstance(injected, p.SUBMIT_RESPS):
            return self.annotate(conn, injected)
        if injected is not None:
            self.draws.refused(conn, pdu.sequence_number)
        return injected

    def hold(self, conn: HostedConnection, response: p.Pdu) -> bool:
        if isinstance(response, p.SUBMIT_RESPS) and not response.command_status:
            self.draws.answered(conn, response.sequence_number, response.message_id)
        return self.certifications.hold(conn, response) or self.faults.hold(conn, response)

    def deliver(self, conn: HostedConnection, delivery: Delivery, pdu: p.DeliverSm) -> bool:
        return self.faults.deliver(conn, delivery, pdu)

    def binding(self, conn: HostedConnection, bind: p.BindRequest, now: float) -> int:
        """Stale binds: a bind of a type whose last bind dropped without unbind, not timed out yet,
        is answered ESME_RALYBND (smppgw.rig.stale)."""
        account, bind_type = bind.system_id, _BIND_TYPE_OF[type(bind)]
        faults = self.faults.for_bind(account, bind_type)
        stale = self.stale.blocking(account, bind_type, now) if faults is not None and faults.stale_binds else None
        if stale is not None:
            log.info(
                "rig: bind_{kind} {account} from {peer} answered ESME_RALYBND: the {kind} bind from {old} "
                "dropped without unbind {ago:.1f} s ago and is still registered for {left:.1f} s",
                kind=bind_type,
                account=account,
                peer=conn.peer,
                old=stale.peer,
                ago=now - stale.dropped_at,
                left=stale.until - now,
            )
            return CommandStatus.ESME_RALYBND
        self.draws.bound(conn, account, bind_type)
        return 0

    def dropped(self, conn: HostedConnection, account: str, bind_type: str, now: float) -> None:
        faults = self.faults.for_bind(account, bind_type)
        if faults is None or not faults.stale_binds:
            return
        stale = self.stale.dropped(account, bind_type, conn.peer, now, faults.stale_bind_timeout_s)
        log.info(
            "rig: {account} ({kind}) from {peer} dropped without unbind: its bind stays registered for "
            "{timeout:g} s, new {kind} binds are answered ESME_RALYBND until then",
            account=account,
            kind=bind_type,
            peer=conn.peer,
            timeout=stale.until - now,
        )

    def annotate(self, conn: HostedConnection, response: p.SubmitSmResp | p.DataSmResp) -> p.Pdu:
        """congestion_state on the answers to submits of SMPP 5.0 binds (smppgw.rig.congestion);
        never to 3.3 or 3.4 binds, whose clients may not know the TLV."""
        if response.command_status:
            self.draws.refused(conn, response.sequence_number)
        account = conn.account
        if account is None or conn.session.interface_version != INTERFACE_VERSION_50:
            return response
        faults = self.faults.of(conn)
        if faults is None or not faults.congestion_state:
            return response
        level = congestion_state(self.load(conn, account))
        return response.evolve(tlvs=(*response.tlvs, p.int_tlv(Tag.CONGESTION_STATE, level)))

    def load(self, conn: HostedConnection, account: str) -> Load:
        """The gateway's state a congestion_state figure is made of, as it is now."""
        state = self._accounts.get(account)
        bucket = state.bucket if state is not None else None
        now = self._clock.seconds()
        return Load(
            unanswered=conn.session.pending_requests,
            window=self.scorecards.rules.window,
            bucket_rate=bucket.rate if bucket is not None else 0.0,
            bucket_tokens=bucket_tokens_at(bucket.rate, bucket.tokens, bucket.last, now) if bucket else 0.0,
            queues=tuple((link.queue_depth, link.profile.queue_limit) for link in self._carriers.values()),
        )

    def _per_bind(self, conn: HostedConnection) -> bool:
        if self._per_bind_everywhere:
            return True
        faults = self.faults.of(conn)
        return faults is not None and faults.per_bind_outcomes

    # ---- scenarios ---------------------------------------------------------------------------

    def prepare(self, text: str, where: str) -> ScenarioRun:
        """Parse and validate a scenario (ValueError naming ``where`` and the key)."""
        accounts = self._accounts
        return ScenarioRun(
            parse_scenario(text, where),
            carriers=self._carriers,
            tables=self._carrier_tables,
            clock=self._clock,
            default_seed=self._seed,
            where=where,
            shaper=self.receipts,
            injector=self.faults,
            known_account=lambda system_id: accounts.get(system_id) is not None,
        )

    def start(self, run: ScenarioRun) -> None:
        """Start ``run``, stopping (and undoing) the one before."""
        self.stop()
        self._gate.scenario = run
        run.start()

    def start_file(self, path: Path) -> ScenarioRun:
        run = self.prepare(path.read_text(encoding="utf-8"), path.name)
        self.start(run)
        return run

    def stop(self) -> bool:
        run = self._gate.scenario
        if run is None:
            return False
        run.stop()
        self._gate.scenario = None
        return True

    def connections(self) -> list[HostedConnection]:
        """Every SMPP connection open now."""
        return list(self._cards)

    def status(self) -> dict[str, Any]:
        return {"scenario": None if self.scenario is None else self.scenario.status()}
