"""What a configuration builds before anything runs: the router, the price list, the carrier
profiles and the keyword rules, checked against each other.

Pure (files are read, nothing is started): the service at start, a reload, ``config check`` and the
supervisor of ``serve --workers`` all build the same parts, so a file is refused by one rule everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..billing.tariff import PriceList
from ..carriers.model import CarrierProfile
from ..config import ConfigError, GatewayConfig
from ..content import ContentRules, ContentRulesError
from ..routing.loader import load_ported_csv
from ..routing.router import Router
from ..routing.table import RouteTable


@dataclass(frozen=True, slots=True)
class Parts:
    router: Router
    prices: PriceList
    profiles: Mapping[str, CarrierProfile]


def build_router(config: GatewayConfig) -> Router:
    tables = []
    if config.routing.number_plan is not None:
        tables.append(RouteTable.from_csv(config.routing.number_plan, country_code="86"))
    if config.routing.international is not None:
        tables.append(RouteTable.from_csv(config.routing.international))
    ported = load_ported_csv(config.routing.ported) if config.routing.ported is not None else {}
    return Router(RouteTable.merge(*tables), ported, config.routing.failover)


def build_prices(config: GatewayConfig) -> PriceList:
    try:
        return PriceList(config.rate_plans)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def load_content_rules(config: GatewayConfig) -> ContentRules | None:
    """The keyword rules of ``[content] keywords`` (at start and on reload); a ConfigError names the file's fault."""
    if config.content.keywords is None:
        return None
    try:
        return ContentRules.from_toml(config.content.keywords)
    except (ContentRulesError, ValueError, OSError) as err:
        raise ConfigError(f"{config.source.name}: content.keywords: {err}") from None


def build_parts(config: GatewayConfig) -> Parts:
    """Routes, tariffs and carrier profiles of a configuration, checked against each other
    (at start, on reload and by ``config check``); a ConfigError names what is wrong."""
    router = build_router(config)
    prices = build_prices(config)
    profiles = config.profiles
    routed = {entry.carrier for entry in router.table}
    missing = routed - profiles.keys()
    if missing:
        raise ConfigError(f"{config.source.name}: carriers: no profile for {', '.join(sorted(missing))}")
    for index, outage in enumerate(config.outages):
        if outage.carrier not in profiles:
            raise ConfigError(f"{config.source.name}: outage[{index}].carrier: no carrier {outage.carrier!r}")
    for account in config.accounts.values():
        if account.rate_plan not in prices.plans():
            raise ConfigError(
                f"{config.source.name}: accounts.{account.system_id}.rate_plan: no rate plan {account.rate_plan!r}"
            )
    return Parts(router, prices, profiles)
