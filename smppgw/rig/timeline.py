"""Runs a scenario's timeline on the gateway's clock: changes carrier profiles, outages,
per-carrier throttles, receipt shapes and protocol faults at the scripted times, and undoes all
of it when stopped."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from ..carriers.link import CarrierLink
from ..carriers.model import CarrierProfile, profile_from_dict
from ..config.rig import BindFaults, faults_from_dict
from ..pipeline.accounts import TokenBucket
from ..protocol.constants import CommandStatus
from .faults import FaultInjector
from .receipts import ReceiptShape, ReceiptShaper, shape_from_dict
from .scenario import CarrierEvent, Scenario

log = Logger()


@dataclass(frozen=True, slots=True)
class _Applied:
    profile: CarrierProfile
    down: bool | None
    throttle: float | None


class ScenarioRun:
    """One started scenario.  Every event's profile is built (and so validated) before it starts."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        carriers: Mapping[str, CarrierLink],
        tables: Mapping[str, Mapping[str, Any]],
        clock: IReactorTime,
        default_seed: int,
        where: str,
        shaper: ReceiptShaper | None = None,
        injector: FaultInjector | None = None,
        known_account: Callable[[str], bool] = lambda _: True,
    ) -> None:
        self.scenario = scenario
        self._carriers = carriers
        self._clock = clock
        self._seed = scenario.seed if scenario.seed is not None else default_seed
        self._base = {code: link.profile for code, link in carriers.items()}
        self._plan: list[tuple[CarrierEvent, _Applied]] = []
        stacked: dict[str, dict[str, object]] = {}
        for index, event in enumerate(scenario.events):
            if event.carrier not in carriers:
                known = ", ".join(sorted(carriers))
                raise ValueError(f"{where}: event[{index}].carrier: no carrier {event.carrier!r} (one of {known})")
            own = stacked.setdefault(event.carrier, {})
            if event.recover:
                own.clear()
            own.update(event.overrides)
            table = {**tables.get(event.carrier, {}), **own}
            table.pop("rules", None)  # the configured rules stay as they are
            try:
                profile = profile_from_dict(event.carrier, table, f"{where}: event[{index}]")
            except ValueError as err:
                raise ValueError(str(err)) from None
            profile = replace(profile, rules=self._base[event.carrier].rules)
            self._plan.append((event, _Applied(profile, event.down, event.throttle_above)))
        self._shaper = shaper
        self._shapes: list[tuple[float, str, ReceiptShape]] = []
        for index, change in enumerate(scenario.receipts):
            path = f"{where}: receipts[{index}]"
            if not known_account(change.account):
                raise ValueError(f"{path}.account: no account {change.account!r}")
            self._shapes.append((change.at, change.account, shape_from_dict(change.settings, path)))
        self._shapes_before: dict[str, ReceiptShape | None] = {}
        self._injector = injector
        self._faults: list[tuple[float, str, BindFaults, bool]] = []  # (at, account, faults, clear)
        for index, fault in enumerate(scenario.faults):
            path = f"{where}: fault[{index}]"
            if not known_account(fault.account):
                raise ValueError(f"{path}.account: no account {fault.account!r}")
            self._faults.append((fault.at, fault.account, faults_from_dict(fault.settings, path), fault.clear))
        self._faults_before: dict[str, list[BindFaults]] = {}
        self._calls: list[IDelayedCall] = []
        self._throttles: dict[str, TokenBucket] = {}
        self.started_at: float | None = None
        self.applied = 0

    def start(self) -> None:
        self.started_at = self._clock.seconds()
        for code, link in self._carriers.items():
            # Same seed and same scenario: the same outcome for the n-th message of each carrier.
            link.reseed(random.Random(f"{self._seed}:{code}"))
        for event, applied in self._plan:
            if event.at <= 0:
                self._apply(event, applied)
            else:
                self._calls.append(self._clock.callLater(event.at, self._apply, event, applied))
        shaper = self._shaper
        if shaper is not None:
            for at, account, shape in self._shapes:
                self._shapes_before.setdefault(account, shaper.get(account))
                self._calls.append(self._clock.callLater(at, shaper.set, account, shape))
        injector = self._injector
        if injector is not None:
            for at, account, faults, clear in self._faults:
                self._faults_before.setdefault(account, injector.all_of(account))
                self._calls.append(self._clock.callLater(at, self._fault, account, faults, clear))
        log.info("scenario {name} started: {n} events", name=self.scenario.name, n=len(self._plan))

    def _apply(self, event: CarrierEvent, applied: _Applied) -> None:
        link = self._carriers[event.carrier]
        link.set_profile(applied.profile)
        if event.recover:
            self._throttles.pop(event.carrier, None)
            link.set_down(False)
        if applied.down is not None:
            link.set_down(applied.down)
        if applied.throttle is not None:
            if applied.throttle > 0:
                now = self._clock.seconds()
                self._throttles[event.carrier] = TokenBucket(applied.throttle, applied.throttle, now)
            else:
                self._throttles.pop(event.carrier, None)
        self.applied += 1
        log.info(
            "scenario {name}: t={at:g}s {carrier} changed", name=self.scenario.name, at=event.at, carrier=event.carrier
        )

    def _fault(self, account: str, faults: BindFaults, clear: bool) -> None:
        assert self._injector is not None
        if clear:
            self._injector.clear(account, faults.bind_type or None)  # no bind_type: every one of them
        else:
            self._injector.set(account, faults)
        log.info(
            "scenario {name}: faults on {account} {what}",
            name=self.scenario.name,
            account=account,
            what="cleared" if clear else "set",
        )

    def stop(self) -> None:
        """Cancel what has not happened and put every carrier back as configured."""
        for call in self._calls:
            if call.active():
                call.cancel()
        self._calls.clear()
        self._throttles.clear()
        for code, link in self._carriers.items():
            link.set_profile(self._base[code])
            link.set_down(False)
        if self._shaper is not None:
            for account, shape in self._shapes_before.items():
                if shape is None:
                    self._shaper.clear(account)
                else:
                    self._shaper.set(account, shape)
        if self._injector is not None:
            for account, before in self._faults_before.items():
                self._injector.clear(account)
                for faults in before:
                    self._injector.set(account, faults)

    def gate(self, carrier: str, now: float) -> int:
        """ESME_RTHROTTLED when the carrier's scripted throttle is exceeded, else 0."""
        bucket = self._throttles.get(carrier)
        if bucket is not None and not bucket.take(now):
            return int(CommandStatus.ESME_RTHROTTLED)
        return 0

    def status(self) -> dict[str, Any]:
        now = self._clock.seconds()
        return {
            "name": self.scenario.name,
            "seed": self._seed,
            "elapsed_s": None if self.started_at is None else round(now - self.started_at, 3),
            "events": len(self._plan),
            "fault_events": len(self._faults),
            "applied": self.applied,
            "throttled_carriers": sorted(self._throttles),
        }
