"""Hot reload: re-read the configuration file and apply what can change while running (accounts,
routes, tariffs, carrier profiles, refund policy, failover, keyword rules, the test rig's account
faults and scorecard thresholds) without touching bound sessions or messages in flight.  A configuration
that does not load is refused and the old one stays."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..billing.refunds import RefundPolicy
from ..carriers.link import CarrierLink
from ..config import ConfigError, GatewayConfig, load, parse
from ..store.ports import CommitRefusedError, Op

if TYPE_CHECKING:
    from .service import GatewayService

log = Logger()

# Settings read only at start: a change is reported, and takes effect at the next restart.
_RESTART_ONLY = (
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


def reload(
    service: GatewayService,
    path: Path | None = None,
    *,
    shared: str | None = None,
    copies: Mapping[str, Path] | None = None,
) -> Deferred[ReloadReport]:
    """Load ``path`` (default: the file the service was started from) and apply it.  Fails with a
    ConfigError before anything changes when the new configuration is invalid.  On a cluster the
    text and the data files it names go to the other nodes, which apply it as ``shared`` (read as
    if it were their own file, keeping their own listen addresses, store and node id), reading the
    ``copies`` of those files (path as written -> this node's copy) instead of their own."""
    from .service import build_parts, load_content_rules  # noqa: PLC0415 (service imports nothing from here)

    try:
        source = Path(path or service.config.source)
        if shared is None:
            new = load(source)
            text = source.read_text(encoding="utf-8")  # what the other nodes of a cluster apply
        else:
            new, text = parse(shared, service.config.source, copies), shared
        new = service.shape_config(new)  # a worker of serve --workers keeps only its own accounts
        router, prices, profiles = build_parts(new)
        rules = load_content_rules(new)
        refunds = RefundPolicy(new.refund_states)
    except (ConfigError, ValueError, OSError) as err:
        log.warn("reload refused, the running configuration stays: {error}", error=str(err))
        return fail(ConfigError(str(err)))
    old = service.config
    gateway = service.gateway
    now = service.reactor.seconds()

    # Money first: new accounts get their wallet and opening balance through the store.
    added = tuple(sorted(a for a in new.accounts if a not in service.accounts))
    ops: list[Op] = []
    for system_id in added:
        account = new.accounts[system_id]
        if system_id not in service.wallets:
            ops += service._open_account(system_id, account.billing_unit, account.initial_balance, now)
        service.accounts.add(account)
    updated = tuple(
        sorted(
            a
            for a, account in new.accounts.items()
            if a not in added and (state := service.accounts.get(a)) is not None and state.config != account
        )
    )
    for system_id in updated:
        service.accounts.update(new.accounts[system_id])
    kept = tuple(sorted(a for a in old.accounts if a not in new.accounts))

    carriers_added: list[str] = []
    carriers_updated: list[str] = []
    for code, profile in profiles.items():
        link = service.carriers.get(code)
        if link is None:
            rng = random.Random(f"{new.seed}:{code}")
            link = CarrierLink(profile, service.reactor, rng, service._on_report, service._on_accept)
            service.carriers[code] = link
            carriers_added.append(code)
        elif link.profile != profile:
            link.set_profile(profile)
            carriers_updated.append(code)
    gateway.carriers = service.carriers
    gateway.router = router
    gateway.prices = prices
    gateway.refunds = refunds
    gateway.when_all_down = new.routing.when_all_down
    service.compliance.configure(new.content, rules)
    service.rig.reconfigure(old, new)

    # Another node's file names its own addresses and node id: this node keeps its own, silently.
    restart = () if shared is not None else tuple(n for n in _RESTART_ONLY if getattr(old, n) != getattr(new, n))
    # Keep what only a restart changes, so the running service describes itself truthfully.
    service.config = _keep_restart_only(new, old)
    report = ReloadReport(
        source=str(new.source),
        accounts_added=added,
        accounts_updated=updated,
        accounts_kept=kept,
        carriers_added=tuple(carriers_added),
        carriers_updated=tuple(carriers_updated),
        routes=len(router.table),
        rate_plans_changed=old.rate_plans != new.rate_plans,
        keyword_rules=0 if rules is None else len(rules),
        restart_needed=restart,
    )
    log.info(
        "configuration reloaded from {source}: accounts +{added} ~{updated}, carriers +{cadded} ~{cupdated}, "
        "{routes} routes, rate plans {plans}, {keywords} keyword rules{restart}",
        source=report.source,
        added=len(added),
        updated=len(updated),
        cadded=len(carriers_added),
        cupdated=len(carriers_updated),
        routes=report.routes,
        plans="changed" if report.rate_plans_changed else "unchanged",
        keywords=report.keyword_rules,
        restart=f"; restart needed for {', '.join(restart)}" if restart else "",
    )
    if shared is None and service.cluster is not None:
        service.cluster.config_reloaded(text, new.files)
    done: Deferred[None] = service.committer.write(ops) if ops else succeed(None)
    return done.addCallbacks(lambda _: report, lambda failure: _opened_elsewhere(failure, report))


def _opened_elsewhere(failure: Failure, report: ReloadReport) -> ReloadReport:
    """A cluster store refuses a new account's opening balance another node credited first (both
    loaded the same file): the account is there, credited once."""
    if isinstance(failure.value, CommitRefusedError):
        return report
    failure.raiseException()
    raise AssertionError("unreachable")


def _keep_restart_only(new: GatewayConfig, old: GatewayConfig) -> GatewayConfig:
    return replace(new, **{name: getattr(old, name) for name in _RESTART_ONLY})
