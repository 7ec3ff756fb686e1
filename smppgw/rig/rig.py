"""The rig of one gateway: the scenario that is running (if any) and its hooks into every SMPP
connection (smppgw.server.hooks.ConnectionHooks): faults, receipt shapes and scorecards."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from twisted.internet.interfaces import IReactorTime

from ..carriers.link import CarrierLink
from ..config import AccountConfig, GatewayConfig
from ..model import Delivery, Message
from ..pipeline.accounts import AccountBook
from ..protocol import pdu as p
from ..server.hooks import HostedConnection, WireTap
from .cmpp import CmppRig
from .faults import FaultInjector
from .receipts import ReceiptShaper
from .scenario import parse_scenario
from .scorecard import Scorecard, Scorecards
from .timeline import ScenarioRun


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
    ) -> None:
        """``gate``: the gate the gateway was built with (the rig puts its scenario there);
        ``find_message``: the gateway's message by id; ``carriers``: the gateway's live carrier links
        (a scenario acts on them); ``config``: the running configuration (its seed, scorecard rules,
        carrier tables and accounts' faults)."""
        self._clock = clock
        self._gate = gate
        self._accounts = accounts
        self._carriers = carriers
        self._carrier_tables = config.carriers
        self._seed = config.seed
        self.receipts = ReceiptShaper(clock, find_message)
        self.faults = FaultInjector(clock, random.Random(f"{config.seed}:faults"), self.receipts)
        self.scorecards = Scorecards(config.scorecard)
        # The same faults and scorecards on the CMPP listener's connections (its hooks).
        self.cmpp = CmppRig(
            clock, random.Random(f"{config.seed}:cmpp-faults"), self.faults, self.scorecards, config.cmpp.window
        )
        self._cards: dict[HostedConnection, Scorecard] = {}
        for state in accounts:
            self.account_added(state.config)

    def account_added(self, account: AccountConfig) -> None:
        """An account's own ``faults`` are in force from its start (or its creation through the API)."""
        if account.faults is not None:
            self.faults.set(account.system_id, account.faults)

    def reconfigure(self, old: GatewayConfig, new: GatewayConfig) -> None:
        """A reload: sessions opened from now on are graded by the new thresholds, and an account whose
        ``faults`` table changed gets the new one in place of every fault in force on it."""
        self.scorecards.rules = new.scorecard
        self._carrier_tables = new.carriers
        for system_id, account in new.accounts.items():
            before = old.accounts.get(system_id)
            if (None if before is None else before.faults) != account.faults:
                self.faults.clear(system_id)
                if account.faults is not None:
                    self.faults.set(system_id, account.faults)

    @property
    def scenario(self) -> ScenarioRun | None:
        """The scenario that is running, if any."""
        return self._gate.scenario

    # ---- the connection hooks (smppgw.server.hooks.ConnectionHooks) -------------------------

    def opened(self, conn: HostedConnection, now: float) -> WireTap:
        self.faults.opened(conn)
        card = self._cards[conn] = self.scorecards.open(conn.peer, conn.peer_host, now, lambda: conn.account)
        return card

    def ended(self, conn: HostedConnection, now: float) -> None:
        self.faults.ended(conn)
        card = self._cards.pop(conn, None)
        if card is not None:
            self.scorecards.ended(card, now)

    def received(self, conn: HostedConnection, size: int) -> None:
        self.faults.received(conn, size)  # the slow reader

    def outgoing(self, conn: HostedConnection, data: bytes) -> bool:
        return self.faults.outgoing(conn, data)

    def intercept(self, conn: HostedConnection, pdu: p.Pdu) -> p.Pdu | None:
        return self.faults.intercept(conn, pdu)

    def hold(self, conn: HostedConnection, response: p.Pdu) -> bool:
        return self.faults.hold(conn, response)

    def deliver(self, conn: HostedConnection, delivery: Delivery, pdu: p.DeliverSm) -> bool:
        return self.faults.deliver(conn, delivery, pdu)

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

    def status(self) -> dict[str, Any]:
        return {"scenario": None if self.scenario is None else self.scenario.status()}
