"""Hot reload as a plan: what a new configuration changes against the running one (accounts, routes,
tariffs, carrier profiles, refund policy, failover, keyword rules, the test rig's account faults and
scorecard thresholds), worked out without touching anything.  GatewayService.apply_reload carries it
out without touching bound sessions or messages in flight.  A configuration that does not load is
refused before a plan is made, and the old one stays."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..billing.refunds import RefundPolicy
from ..carriers.model import CarrierProfile
from ..config import AccountConfig, GatewayConfig
from ..content import ContentRules
from .parts import Parts

# Settings read only at start: a change is reported, and takes effect at the next restart.
RESTART_ONLY = (
    "listen",
    "proxy_protocol",
    "session",
    "store",
    "cluster",
    "admin",
    "seed",
    "utc_offset_minutes",
    "dc0",
    "receipt_window",
    "http_api",
)


@dataclass(frozen=True, slots=True)
class ReloadReport:
    source: str
    accounts_added: tuple[str, ...] = ()
    accounts_updated: tuple[str, ...] = ()
    accounts_kept: tuple[str, ...] = ()  # gone from the file: kept until restart (they may hold money)
    carriers_added: tuple[str, ...] = ()
    carriers_updated: tuple[str, ...] = ()
    routes: int = 0
    rate_plans_changed: bool = False
    keyword_rules: int = 0  # terms in the keyword file read again (0: no content checks)
    restart_needed: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "accounts_added": list(self.accounts_added),
            "accounts_updated": list(self.accounts_updated),
            "accounts_kept": list(self.accounts_kept),
            "carriers_added": list(self.carriers_added),
            "carriers_updated": list(self.carriers_updated),
            "routes": self.routes,
            "rate_plans_changed": self.rate_plans_changed,
            "keyword_rules": self.keyword_rules,
            "restart_needed": list(self.restart_needed),
        }


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    """What applying a new configuration changes.  ``config`` is the one to run from now on: the new
    file with the running values of what only a restart changes, so the service describes itself truthfully."""

    config: GatewayConfig
    parts: Parts
    content_rules: ContentRules | None
    refunds: RefundPolicy
    accounts_added: tuple[AccountConfig, ...]
    accounts_updated: tuple[AccountConfig, ...]
    accounts_kept: tuple[str, ...]
    carriers_added: Mapping[str, CarrierProfile]
    carriers_updated: Mapping[str, CarrierProfile]
    rate_plans_changed: bool
    restart_needed: tuple[str, ...]
    seed: int  # the new file's: where a new carrier's randomness starts

    def report(self) -> ReloadReport:
        return ReloadReport(
            source=str(self.config.source),
            accounts_added=tuple(a.system_id for a in self.accounts_added),
            accounts_updated=tuple(a.system_id for a in self.accounts_updated),
            accounts_kept=self.accounts_kept,
            carriers_added=tuple(self.carriers_added),
            carriers_updated=tuple(self.carriers_updated),
            routes=len(self.parts.router.table),
            rate_plans_changed=self.rate_plans_changed,
            keyword_rules=0 if self.content_rules is None else len(self.content_rules),
            restart_needed=self.restart_needed,
        )


def plan_reload(
    old: GatewayConfig,
    new: GatewayConfig,
    parts: Parts,
    content_rules: ContentRules | None,
    *,
    accounts: Mapping[str, AccountConfig],
    carriers: Mapping[str, CarrierProfile],
    shared: bool = False,
) -> ReloadPlan:
    """The plan for running ``new`` (with its built ``parts`` and keyword rules) in place of ``old``.

    ``accounts`` are the running accounts' settings (those made through the admin API included),
    ``carriers`` the running carriers' profiles.  ``shared``: ``new`` is another node's file, whose own
    listen addresses and node id this node ignores silently (no restart is asked for them).
    """
    added = tuple(new.accounts[a] for a in sorted(new.accounts) if a not in accounts)
    updated = tuple(
        account
        for a, account in sorted(new.accounts.items())
        if (running := accounts.get(a)) is not None and running != account
    )
    carriers_added = {code: p for code, p in parts.profiles.items() if code not in carriers}
    carriers_updated = {code: p for code, p in parts.profiles.items() if code in carriers and carriers[code] != p}
    restart = () if shared else tuple(n for n in RESTART_ONLY if getattr(old, n) != getattr(new, n))
    return ReloadPlan(
        config=replace(new, **{name: getattr(old, name) for name in RESTART_ONLY}),
        parts=parts,
        content_rules=content_rules,
        refunds=RefundPolicy(new.refund_states),
        accounts_added=added,
        accounts_updated=updated,
        accounts_kept=tuple(sorted(a for a in old.accounts if a not in new.accounts)),
        carriers_added=carriers_added,
        carriers_updated=carriers_updated,
        rate_plans_changed=old.rate_plans != new.rate_plans,
        restart_needed=restart,
        seed=new.seed,
    )
