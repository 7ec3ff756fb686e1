"""The rig of one gateway: the scenario that is running (if any) and its hooks."""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .faults import FaultInjector
from .receipts import ReceiptShaper
from .scenario import parse_scenario
from .scorecard import Scorecards
from .timeline import ScenarioRun

if TYPE_CHECKING:
    from ..app.service import GatewayService
    from ..config import AccountConfig, GatewayConfig


class Rig:
    def __init__(self, service: GatewayService) -> None:
        self._service = service
        self.scenario: ScenarioRun | None = None
        service.gateway.submit_gate = self._gate
        self.receipts = ReceiptShaper(service.reactor, service.gateway)
        rng = random.Random(f"{service.config.seed}:faults")
        self.faults = FaultInjector(service.reactor, rng, self.receipts, service.factory.sessions_of)
        service.factory.injector = self.faults
        self.scorecards = service.factory.scorecards = Scorecards(service.config.scorecard)
        for state in service.accounts:
            self.account_added(state.config)

    def account_added(self, account: AccountConfig) -> None:
        """An account's own ``faults`` are in force from its start (or its creation through the API)."""
        if account.faults is not None:
            self.faults.set(account.system_id, account.faults)

    def reconfigure(self, old: GatewayConfig, new: GatewayConfig) -> None:
        """A reload: sessions opened from now on are graded by the new thresholds, and an account whose
        ``faults`` table changed gets the new one in place of every fault in force on it."""
        self.scorecards.rules = new.scorecard
        for system_id, account in new.accounts.items():
            before = old.accounts.get(system_id)
            if (None if before is None else before.faults) != account.faults:
                self.faults.clear(system_id)
                if account.faults is not None:
                    self.faults.set(system_id, account.faults)

    def _gate(self, carrier: str, now: float) -> int:
        return self.scenario.gate(carrier, now) if self.scenario is not None else 0

    def prepare(self, text: str, where: str) -> ScenarioRun:
        """Parse and validate a scenario (ValueError naming ``where`` and the key)."""
        service = self._service
        return ScenarioRun(
            parse_scenario(text, where),
            carriers=service.carriers,
            tables=service.config.carriers,
            clock=service.reactor,
            default_seed=service.config.seed,
            where=where,
            shaper=self.receipts,
            injector=self.faults,
            known_account=lambda system_id: service.accounts.get(system_id) is not None,
        )

    def start(self, run: ScenarioRun) -> None:
        """Start ``run``, stopping (and undoing) the one before."""
        self.stop()
        self.scenario = run
        run.start()

    def start_file(self, path: Path) -> ScenarioRun:
        run = self.prepare(path.read_text(encoding="utf-8"), path.name)
        self.start(run)
        return run

    def stop(self) -> bool:
        if self.scenario is None:
            return False
        self.scenario.stop()
        self.scenario = None
        return True

    def status(self) -> dict[str, Any]:
        return {"scenario": None if self.scenario is None else self.scenario.status()}
