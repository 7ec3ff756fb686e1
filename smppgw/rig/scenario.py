"""Scenario files: a TOML timeline of carrier events (pure: stdlib only).

name = "unicom-bad-evening"
seed = 42                      # optional: reseeds every carrier's random outcomes at start

[[event]]
at_s = 60                      # seconds after the scenario starts
carrier = "CUCC"
receipt_p95_ms = 1200000       # any [carriers.*] key: receipt delays, outcomes, loss_percent, ...
loss_percent = 3
throttle_above = 50            # msg/s to this carrier; above it submits get ESME_RTHROTTLED (0 = off)

[[event]]
at_s = 120
carrier = "CMCC"
down = true                    # an outage (false ends it)

[[event]]
at_s = 360
carrier = "CUCC"
recover = true                 # back to the configured profile, no throttle, up

[[receipts]]
at_s = 30
account = "demo"
parts = "last"                 # any receipt shape (smppgw.rig.receipts); replaces the account's shape

[[fault]]
at_s = 30
account = "demo"
bind_type = "transmitter"      # optional: only these binds of the account
throttled_percent = 20         # any protocol fault (smppgw.config.rig); replaces the faults of that
                               # account and bind type
[[fault]]
at_s = 90
account = "demo"
clear = true                   # the account's faults end (only those of bind_type when it is given)
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field

_Z95 = 1.6448536269514722
_Z99 = 2.3263478740408408
_EVENT_KEYS = frozenset({"at_s", "carrier", "down", "throttle_above", "recover", "receipt_p95_ms"})
_TOP_KEYS = frozenset({"name", "seed", "event", "receipts", "fault"})


@dataclass(frozen=True, slots=True)
class CarrierEvent:
    at: float
    carrier: str
    overrides: Mapping[str, object] = field(default_factory=dict)  # [carriers.*] keys
    down: bool | None = None
    throttle_above: float | None = None
    recover: bool = False


@dataclass(frozen=True, slots=True)
class ReceiptsEvent:
    at: float
    account: str
    settings: Mapping[str, object]  # receipt-shape keys, validated when the scenario is prepared


@dataclass(frozen=True, slots=True)
class FaultEvent:
    at: float
    account: str
    settings: Mapping[str, object]  # fault keys (smppgw.config.rig), validated when the scenario is prepared
    clear: bool = False  # end the account's faults (of settings' bind_type only, when given) instead


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    seed: int | None
    events: tuple[CarrierEvent, ...]  # in time order (file order among equal times)
    receipts: tuple[ReceiptsEvent, ...] = ()
    faults: tuple[FaultEvent, ...] = ()


def p99_from_p95(median_ms: float, p95_ms: float) -> float:
    """The log-normal p99 with the given median and p95 (profiles are given by median and p99)."""
    if p95_ms < median_ms:
        raise ValueError("receipt_p95_ms must not be below receipt_median_ms")
    sigma = (math.log(p95_ms) - math.log(median_ms)) / _Z95
    return median_ms * math.exp(sigma * _Z99)


def parse_scenario(text: str, where: str) -> Scenario:
    """Read a scenario file; errors name ``where`` and the key, e.g. ``x.toml: event[2].at_s: ...``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{where}: not valid TOML: {err}") from None
    for key in data:
        if key not in _TOP_KEYS:
            raise ValueError(f"{where}: {key}: unknown key (expected one of {', '.join(sorted(_TOP_KEYS))})")
    name = data.get("name", "scenario")
    if not isinstance(name, str):
        raise ValueError(f"{where}: name: must be a string")
    seed = data.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"{where}: seed: must be a whole number")
    raw = data.get("event", [])
    if not isinstance(raw, list):
        raise ValueError(f"{where}: event: must be an array of tables ([[event]])")
    events = [_event(entry, f"{where}: event[{i}]") for i, entry in enumerate(raw)]
    events.sort(key=lambda e: e.at)  # stable: file order among equal times
    raw_receipts = data.get("receipts", [])
    if not isinstance(raw_receipts, list):
        raise ValueError(f"{where}: receipts: must be an array of tables ([[receipts]])")
    receipts = [_receipts(entry, f"{where}: receipts[{i}]") for i, entry in enumerate(raw_receipts)]
    receipts.sort(key=lambda e: e.at)
    raw_faults = data.get("fault", [])
    if not isinstance(raw_faults, list):
        raise ValueError(f"{where}: fault: must be an array of tables ([[fault]])")
    faults = [_fault(entry, f"{where}: fault[{i}]") for i, entry in enumerate(raw_faults)]
    faults.sort(key=lambda e: e.at)
    return Scenario(name=name, seed=seed, events=tuple(events), receipts=tuple(receipts), faults=tuple(faults))


def _timed(entry: object, path: str) -> tuple[Mapping[str, object], float]:
    """A timeline entry: a table with its time ``at_s`` (seconds from the scenario's start)."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{path}: must be a table")
    at = entry.get("at_s")
    if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at) or at < 0:
        raise ValueError(f"{path}.at_s: must be a number of seconds >= 0")
    return entry, float(at)


def _account(entry: Mapping[str, object], path: str) -> str:
    account = entry.get("account")
    if not isinstance(account, str) or not account:
        raise ValueError(f'{path}.account: must name an account, e.g. "demo"')
    return account


def _receipts(raw: object, path: str) -> ReceiptsEvent:
    entry, at = _timed(raw, path)
    account = _account(entry, path)
    settings = {k: v for k, v in entry.items() if k not in ("at_s", "account")}
    return ReceiptsEvent(at=at, account=account, settings=settings)


def _fault(raw: object, path: str) -> FaultEvent:
    entry, at = _timed(raw, path)
    account = _account(entry, path)
    clear = entry.get("clear", False)
    if not isinstance(clear, bool):
        raise ValueError(f"{path}.clear: must be true or false")
    settings = {k: v for k, v in entry.items() if k not in ("at_s", "account", "clear")}
    if clear and set(settings) - {"bind_type"}:
        extra = sorted(set(settings) - {"bind_type"})[0]
        raise ValueError(f"{path}.{extra}: a fault with clear = true takes only bind_type")
    return FaultEvent(at=at, account=account, settings=settings, clear=clear)


def _event(raw: object, path: str) -> CarrierEvent:
    entry, at = _timed(raw, path)
    carrier = entry.get("carrier")
    if not isinstance(carrier, str) or not carrier:
        raise ValueError(f'{path}.carrier: must name a carrier, e.g. "CUCC"')
    down = entry.get("down")
    if down is not None and not isinstance(down, bool):
        raise ValueError(f"{path}.down: must be true or false")
    recover = entry.get("recover", False)
    if not isinstance(recover, bool):
        raise ValueError(f"{path}.recover: must be true or false")
    throttle = entry.get("throttle_above")
    if throttle is not None and (isinstance(throttle, bool) or not isinstance(throttle, int | float) or throttle < 0):
        raise ValueError(f"{path}.throttle_above: must be messages per second >= 0")
    overrides = {k: v for k, v in entry.items() if k not in _EVENT_KEYS}
    if "receipt_p95_ms" in entry:
        p95 = entry["receipt_p95_ms"]
        median = overrides.get("receipt_median_ms")
        if isinstance(p95, bool) or not isinstance(p95, int | float) or p95 <= 0:
            raise ValueError(f"{path}.receipt_p95_ms: must be a number > 0")
        if median is None:
            raise ValueError(f"{path}.receipt_p95_ms: needs receipt_median_ms in the same event")
        if isinstance(median, bool) or not isinstance(median, int | float) or median <= 0:
            raise ValueError(f"{path}.receipt_median_ms: must be a number > 0")
        try:
            overrides["receipt_p99_ms"] = p99_from_p95(float(median), float(p95))
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from None
    return CarrierEvent(
        at=at,
        carrier=carrier.upper(),
        overrides=overrides,
        down=down,
        throttle_above=None if throttle is None else float(throttle),
        recover=recover,
    )
