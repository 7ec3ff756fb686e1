"""Choose the carrier for a destination: prefix, then number portability, then failover."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from .numbers import InvalidNumber, normalise_msisdn
from .table import RouteTable

__all__ = ["NoRoute", "RouteDecision", "Router"]


@dataclass(slots=True, init=False)
class RouteDecision:
    msisdn: str  # E.164 digits without "+"
    carrier: str  # carrier to send to
    home_carrier: str  # carrier of record of the prefix block
    ported: bool  # the portability table moved the number off its home carrier
    failover_from: str | None  # carrier that was down, when a secondary was chosen
    kind: str  # block type from the route table ("mobile", "MVNO", ...)
    # Primary and every secondary are down; the caller decides whether to queue or reject.
    all_down: bool = False

    # Written out, not generated: compiled, it costs a tenth of the generated one (smppgw/compiled.py).
    def __init__(  # noqa: PLR0917 (the fields in order, as the generated one takes them)
        self,
        msisdn: str,
        carrier: str,
        home_carrier: str,
        ported: bool,
        failover_from: str | None,
        kind: str,
        all_down: bool = False,
    ) -> None:
        self.msisdn = msisdn
        self.carrier = carrier
        self.home_carrier = home_carrier
        self.ported = ported
        self.failover_from = failover_from
        self.kind = kind
        self.all_down = all_down


@dataclass(slots=True)
class NoRoute:
    # "invalid_number:<why>", "no_route", or a rejected block kind in lower case ("iot").
    reason: str


class Router:
    """Immutable routing policy; a configuration reload builds a new Router."""

    __slots__ = ("_failover", "_ported", "_reject_kinds", "_table")

    def __init__(
        self,
        table: RouteTable,
        ported: Mapping[str, str] | None = None,
        failover: Mapping[str, Sequence[str]] | None = None,
        reject_kinds: frozenset[str] = frozenset({"IoT"}),
    ) -> None:
        self._table = table
        # Keys are normalised so a portability file may list numbers in any accepted form.
        self._ported: Mapping[str, str] = MappingProxyType(
            {normalise_msisdn(msisdn): carrier for msisdn, carrier in (ported or {}).items()}
        )
        self._failover: Mapping[str, tuple[str, ...]] = MappingProxyType(
            {carrier: tuple(alternates) for carrier, alternates in (failover or {}).items()}
        )
        self._reject_kinds = frozenset(kind.casefold() for kind in reject_kinds)

    @property
    def table(self) -> RouteTable:
        return self._table

    def route(self, destination: str, is_up: Callable[[str], bool]) -> RouteDecision | NoRoute:
        """Route `destination` (any accepted written form); `is_up(carrier)` reports carrier health."""
        try:
            msisdn = normalise_msisdn(destination)
        except InvalidNumber as exc:
            return NoRoute("iot" if exc.reason == "iot" else f"invalid_number:{exc.reason}")
        entry = self._table.lookup(msisdn)
        if entry is None:
            return NoRoute("no_route")
        if entry.kind.casefold() in self._reject_kinds:
            return NoRoute(entry.kind.casefold())
        home = entry.carrier
        current = self._ported.get(msisdn, home)
        base = RouteDecision(
            msisdn=msisdn,
            carrier=current,
            home_carrier=home,
            ported=current != home,
            failover_from=None,
            kind=entry.kind,
        )
        if is_up(current):
            return base
        for alternate in self._failover.get(current, ()):
            if alternate != current and is_up(alternate):
                return RouteDecision(
                    msisdn=msisdn,
                    carrier=alternate,
                    home_carrier=home,
                    ported=base.ported,
                    failover_from=current,
                    kind=entry.kind,
                )
        return RouteDecision(
            msisdn=msisdn,
            carrier=current,
            home_carrier=home,
            ported=base.ported,
            failover_from=None,
            kind=entry.kind,
            all_down=True,
        )
