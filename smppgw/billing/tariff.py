"""Per-segment prices by rate plan and carrier, with price changes scheduled ahead."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from types import MappingProxyType
from typing import TypeGuard

__all__ = ["PriceList", "Tariff", "tariffs_from_toml_table"]

# The key of a plan table that holds scheduled price changes rather than a carrier's price.
_CHANGES_KEY = "changes"
_EFFECTIVE_KEY = "effective"


@dataclass(frozen=True, slots=True)
class Tariff:
    rate_plan: str
    carrier: str  # carrier code as routing names it, e.g. "CMCC"
    price: int  # 厘 (0.001 CNY) per billed segment
    effective_from: float  # epoch seconds; 0 = always

    def __post_init__(self) -> None:
        if not self.rate_plan or not self.carrier:
            raise ValueError("tariff needs a rate plan and a carrier")
        if not _is_whole(self.price) or self.price < 0:
            raise ValueError(f"tariff price must be a whole, non-negative number of 厘, got {self.price!r}")
        if isinstance(self.effective_from, bool) or not isinstance(self.effective_from, int | float):
            raise ValueError(f"tariff effective_from must be epoch seconds, got {self.effective_from!r}")
        if not math.isfinite(self.effective_from) or self.effective_from < 0:
            raise ValueError(f"tariff effective_from must be finite and >= 0, got {self.effective_from!r}")


class PriceList:
    """Immutable price lookup.

    Each (plan, carrier) keeps its tariffs sorted by effective_from, so a lookup is one dict probe
    plus a bisect: O(log n) in the number of scheduled changes.
    """

    __slots__ = ("_schedules",)

    def __init__(self, tariffs: Iterable[Tariff]) -> None:
        grouped: dict[tuple[str, str], list[Tariff]] = {}
        for tariff in tariffs:
            grouped.setdefault((tariff.rate_plan, tariff.carrier), []).append(tariff)
        schedules: dict[tuple[str, str], tuple[tuple[float, ...], tuple[int, ...]]] = {}
        for key, items in grouped.items():
            items.sort(key=lambda t: t.effective_from)
            starts = tuple(t.effective_from for t in items)
            for earlier, later in pairwise(starts):
                if earlier == later:
                    # Two prices from the same instant would make the charge depend on load order.
                    raise ValueError(f"rate plan {key[0]!r} has two {key[1]} prices effective from {later}")
            schedules[key] = (starts, tuple(t.price for t in items))
        self._schedules = MappingProxyType(schedules)

    def price(self, rate_plan: str, carrier: str, at: float) -> int | None:
        """The 厘-per-segment price in force at `at`, or None if the plan does not price that carrier then."""
        schedule = self._schedules.get((rate_plan, carrier))
        if schedule is None:
            return None
        starts, prices = schedule
        index = bisect_right(starts, at) - 1
        return prices[index] if index >= 0 else None

    def plans(self) -> set[str]:
        return {plan for plan, _ in self._schedules}


def tariffs_from_toml_table(data: Mapping[str, object], where: str, *, prefix: str = "rate_plans") -> list[Tariff]:
    """Read the parsed `[rate_plans]` table: {plan: {CARRIER: 厘, ..., changes: [{effective, CARRIER: 厘}]}}.

    `where` (usually the file name) and `prefix` (the table's key path) start every error message.
    `effective` is an ISO 8601 string or TOML datetime with a UTC offset. Floats are refused: money is
    never a float. Errors are ValueError naming the offending key, e.g.
    "gateway.toml: rate_plans.standard.CMCC must be a whole number of 厘 (0.001 CNY), got 4.5".
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: {prefix} must be a table, got {data!r}")
    tariffs: list[Tariff] = []
    for plan, table in data.items():
        path = f"{prefix}.{plan}"
        if not isinstance(plan, str) or not plan:
            raise ValueError(f"{where}: {prefix} has an empty rate plan name")
        if not isinstance(table, Mapping):
            raise ValueError(f"{where}: {path} must be a table of carrier prices, got {table!r}")
        base = {key: value for key, value in table.items() if key != _CHANGES_KEY}
        if not base:
            raise ValueError(f"{where}: {path} prices no carrier")
        tariffs.extend(_prices(plan, base, 0.0, where, path))
        changes = table.get(_CHANGES_KEY, [])
        if not isinstance(changes, list):
            raise ValueError(f"{where}: {path}.{_CHANGES_KEY} must be an array of tables ([[{path}.changes]])")
        seen: dict[float, int] = {}
        for index, change in enumerate(changes):
            change_path = f"{path}.{_CHANGES_KEY}[{index}]"
            if not isinstance(change, Mapping):
                raise ValueError(f"{where}: {change_path} must be a table, got {change!r}")
            effective = _effective(change.get(_EFFECTIVE_KEY), where, f"{change_path}.{_EFFECTIVE_KEY}")
            if effective in seen:
                earlier = f"{path}.{_CHANGES_KEY}[{seen[effective]}]"
                raise ValueError(f"{where}: {change_path}.{_EFFECTIVE_KEY} repeats the time of {earlier}")
            seen[effective] = index
            prices = {key: value for key, value in change.items() if key != _EFFECTIVE_KEY}
            if not prices:
                raise ValueError(f"{where}: {change_path} changes no price")
            tariffs.extend(_prices(plan, prices, effective, where, change_path))
    return tariffs


def _prices(plan: str, prices: Mapping[str, object], effective: float, where: str, path: str) -> list[Tariff]:
    tariffs: list[Tariff] = []
    for carrier, value in prices.items():
        key_path = f"{path}.{carrier}"
        if not isinstance(carrier, str) or not carrier:
            raise ValueError(f"{where}: {path} has an empty carrier name")
        if not _is_whole(value):
            raise ValueError(f"{where}: {key_path} must be a whole number of 厘 (0.001 CNY), got {value!r}")
        if value < 0:
            raise ValueError(f"{where}: {key_path} must not be negative, got {value!r}")
        tariffs.append(Tariff(plan, carrier, value, effective))
    return tariffs


def _effective(value: object, where: str, path: str) -> float:
    if value is None:
        raise ValueError(f"{where}: {path} is missing (when the new prices start, e.g. 2027-01-01T00:00:00+08:00)")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {path} must be an ISO 8601 date-time, got {value!r}") from exc
    elif isinstance(value, datetime):
        moment = value
    else:
        raise ValueError(f"{where}: {path} must be a date-time with a UTC offset, got {value!r}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A bare local time would mean different instants on differently configured hosts.
        raise ValueError(f"{where}: {path} needs a UTC offset (e.g. +08:00), got {value!r}")
    timestamp = moment.timestamp()
    if timestamp < 0:
        raise ValueError(f"{where}: {path} must not be before 1970, got {value!r}")
    return timestamp


def _is_whole(value: object) -> TypeGuard[int]:
    # bool is an int subclass; `true` in a price table is a mistake, not 1 厘.
    return isinstance(value, int) and not isinstance(value, bool)
