"""The composition root: builds the gateway from a configuration and returns it as one
Twisted MultiService (store writer, carriers, SMPP listener, admin API)."""

from __future__ import annotations

import dataclasses
import json
import random
import socket
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import Logger

from ..billing.ledger import MONEY, LedgerEntry, Wallets, WalletState
from ..billing.refunds import RefundPolicy
from ..billing.tariff import PriceList, tariffs_from_toml_table
from ..carriers.link import CarrierLink
from ..carriers.model import Outcome, profile_from_dict, scenario_rules_from_list
from ..config import AccountConfig, ConfigError, GatewayConfig
from ..content import ContentRules, ContentRulesError
from ..model import Delivery
from ..pipeline.accounts import AccountBook
from ..pipeline.committer import GroupCommitter
from ..pipeline.compliance import Compliance, Held
from ..pipeline.deliveries import DeliveryQueue
from ..pipeline.gateway import Gateway
from ..routing.loader import load_ported_csv
from ..routing.router import Router
from ..routing.table import RouteTable
from ..server.factory import SMPPServerFactory
from ..server.proxy import server_endpoint
from ..store.ports import Op, StoredAccount
from ..store.sqlite import SqliteStore, ledger_row

if TYPE_CHECKING:
    from ..cluster.node import Cluster
    from ..store.postgres import PostgresStore

log = Logger()

INITIAL_BALANCE_REFERENCE = "initial-balance:{}"


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
        return PriceList(tariffs_from_toml_table(config.rate_plans, config.source.name))
    except ValueError as err:
        raise ConfigError(str(err)) from None


def build_profiles(config: GatewayConfig) -> dict[str, Any]:
    name = config.source.name
    try:
        shared_rules = scenario_rules_from_list(list(config.scenario), name)
        profiles = {}
        for code, table in config.carriers.items():
            profile = profile_from_dict(code, table, name)
            # Scenario rules of the whole gateway come before a carrier's own.
            profiles[code] = dataclasses.replace(profile, rules=shared_rules + profile.rules)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return profiles


def load_content_rules(config: GatewayConfig) -> ContentRules | None:
    """The keyword rules of ``[content] keywords`` (at start and on reload); a ConfigError names the file's fault."""
    if config.content.keywords is None:
        return None
    try:
        return ContentRules.from_toml(config.content.keywords)
    except (ContentRulesError, ValueError, OSError) as err:
        raise ConfigError(f"{config.source.name}: content.keywords: {err}") from None


def build_parts(config: GatewayConfig) -> tuple[Router, PriceList, dict[str, Any]]:
    """Routes, tariffs and carrier profiles of a configuration, checked against each other
    (at start, on reload and by ``config check``); a ConfigError names what is wrong."""
    router = build_router(config)
    prices = build_prices(config)
    profiles = build_profiles(config)
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
    return router, prices, profiles


def node_id(config: GatewayConfig) -> str:
    """This node's name among several: ``[cluster] node_id``, else the host name."""
    return config.cluster.node_id or socket.gethostname()


def open_store(config: GatewayConfig) -> SqliteStore | PostgresStore:
    """The SQLite file of ``[store] path``, or the PostgreSQL database of ``[store] url`` shared by several nodes."""
    if not config.store.url:
        return SqliteStore(config.store.path)
    import psycopg  # noqa: PLC0415 (only a cluster needs it)

    from ..store.postgres import PostgresStore  # noqa: PLC0415

    try:
        return PostgresStore(config.store.url, node_id(config))
    except (psycopg.Error, RuntimeError) as err:
        raise ConfigError(f"{config.source.name}: store.url: cannot open the PostgreSQL store: {err}") from None


def _close(proto: Any) -> None:
    if proto.transport is not None and proto.connected:
        proto.transport.loseConnection()


class GatewayService(MultiService):
    def __init__(self, config: GatewayConfig, reactor: Any, message_seq_floor: int = 1) -> None:
        """``message_seq_floor``: where message ids start (a worker of ``serve --workers`` counts in its own range)."""
        super().__init__()  # type: ignore[no-untyped-call]
        self.config = config
        # What a reload does to a freshly loaded file first (a worker keeps only its own accounts).
        self.shape_config: Callable[[GatewayConfig], GatewayConfig] = lambda loaded: loaded
        self.reactor = reactor
        router, prices, profiles = build_parts(config)

        self.store = open_store(config)
        recovered = self.store.load()
        self.accounts = AccountBook()
        open_charges: dict[str, dict[str, int]] = {}
        for m in recovered.open_messages:
            open_charges.setdefault(m.account, {})[m.message_id] = m.charge - m.refunded
        wallets = Wallets.restore(
            [
                WalletState(a.system_id, a.unit, a.balance, open_charges.get(a.system_id, {}))
                for a in recovered.accounts.values()
            ],
            recovered.topup_references,
            recovered.next_entry_id,
        )
        self.wallets = wallets
        now = reactor.seconds()
        startup_ops: list[Op] = []
        for account in config.accounts.values():
            stored = recovered.accounts.get(account.system_id)
            self.accounts.add(account, stored.status if stored else None)
            if stored is None:
                startup_ops += self._open_account(account.system_id, account.billing_unit, account.initial_balance, now)
        for stored_account in recovered.accounts.values():
            # Accounts created through the admin API live only in the store, with their settings.
            if stored_account.settings and stored_account.system_id not in config.accounts:
                self.accounts.add(self._stored_account(stored_account), stored_account.status)
        if startup_ops:
            self.store.apply(startup_ops)

        self.committer = GroupCommitter(
            self.store,
            reactor,
            reactor,
            interval=config.store.commit_interval,
            max_batch=config.store.commit_max_batch,
        )
        self.compliance = self._build_compliance(config, reactor)
        self.deliveries = DeliveryQueue(reactor, config.receipt_retry_interval, self._delivered)
        self.carriers: dict[str, CarrierLink] = {}
        self.gateway = Gateway(
            clock=reactor,
            store=self.store,
            committer=self.committer,
            accounts=self.accounts,
            wallets=wallets,
            router=router,
            prices=prices,
            refunds=RefundPolicy(config.refund_states),
            carriers=self.carriers,
            deliver=self._delivery_stored,
            next_message_seq=max(recovered.next_message_seq, message_seq_floor),
            next_delivery_id=recovered.next_delivery_id,
            when_all_down=config.routing.when_all_down,
            dc0=config.dc0,
            utc_offset_minutes=config.utc_offset_minutes,
            compliance=self.compliance,
        )
        self.compliance.gateway = self.gateway
        for code, profile in profiles.items():
            self.carriers[code] = CarrierLink(
                profile,
                reactor,
                random.Random(f"{config.seed}:{code}"),
                self._on_report,
                self._on_accept,
            )
        self.gateway.carriers = self.carriers
        self._recovered = recovered
        self.factory = SMPPServerFactory(
            gateway=self.gateway,
            deliveries=self.deliveries,
            session_config=config.session,
            clock=reactor,
            receipt_window=config.receipt_window,
            security=config.security,
        )
        self.smpp_endpoint = self._listener(config.listen, config.proxy_protocol)
        self.smpp_service = StreamServerEndpointService(self.smpp_endpoint, self.factory)
        self.smpp_service.setServiceParent(self)
        self.tls_service: StreamServerEndpointService | None = None
        if config.tls.listen:
            self._build_tls()
        self.cluster: Cluster | None = None
        if config.store.url:
            from ..cluster.node import Cluster  # noqa: PLC0415 (only a cluster needs it)

            assert not isinstance(self.store, SqliteStore)
            self.cluster = Cluster(self, self.store, config.cluster)
        self.admin_service: Any = None
        self._timers: list[Any] = []  # IDelayedCalls to cancel on stop
        from ..rig.rig import Rig  # noqa: PLC0415 (the rig hooks into what is built above)

        self.rig = Rig(self)
        self._build_admin()

    def _build_compliance(self, config: GatewayConfig, reactor: Any) -> Compliance:
        compliance = Compliance(
            config=config.content,
            rules=load_content_rules(config),
            clock=reactor,
            accounts=self.accounts,
            write=self.committer.write_later,
            dc0=config.dc0,
            utc_offset_minutes=config.utc_offset_minutes,
            next_incident_id=self.store.next_incident_id(),
            next_refusal_id=self.store.next_decision_id(),
        )
        held = [
            Held(str(r["message_id"]), str(r["account"]), str(r["kind"]), str(r["grp"]), str(r["category"]),
                 str(r["term"]), float(r["held_at"]), float(r["deadline"]))  # type: ignore[arg-type]
            for r in self.store.held()
        ]  # fmt: skip
        compliance.restore([(str(r["account"]), str(r["msisdn"])) for r in self.store.optouts()], held)
        for account in self.store.pledges():
            state = self.accounts.get(account)
            if state is not None:
                state.pledged = True
        compliance.on_suspend = self._unbind_account
        return compliance

    def _unbind_account(self, account: str) -> None:
        """A suspended account's sessions are unbound now, and closed a second later if still open."""
        for proto in self.factory.sessions_of(account):
            proto.unbind()
            self.reactor.callLater(1.0, _close, proto)

    def _build_tls(self) -> None:
        from ..server.tls import load_certificate, tls_factory  # noqa: PLC0415 (pyOpenSSL only when TLS is on)

        certificate, made = load_certificate(self.config.tls)
        if made:
            log.info("smppgw: made a self-signed TLS certificate {path}", path=self.config.tls.certificate)
        endpoint = self._listener(self.config.tls.listen, self.config.tls.proxy_protocol)
        self.tls_service = StreamServerEndpointService(endpoint, tls_factory(self.factory, certificate))
        self.tls_service.setServiceParent(self)

    def _listener(self, listen: str, proxy_protocol: bool) -> IStreamServerEndpoint:
        # A connection sending no PROXY header within session_init_timeout did not bind; those still
        # waiting for theirs count towards no other limit, so they get max_connections of their own.
        config = self.config
        timeout, most = config.session.session_init_timeout, config.security.max_connections
        return server_endpoint(self.reactor, listen, proxy_protocol, timeout, most)

    def _build_admin(self) -> None:
        from ..admin.site import build_admin_site  # noqa: PLC0415 (twisted.web is loaded when the site is built)
        from .reload import reload  # noqa: PLC0415 (reload builds on this module)

        def reload_now() -> Deferred[dict[str, Any]]:
            return reload(self).addCallback(lambda report: report.to_json())

        site = build_admin_site(self, open_account=self._open_account, reload=reload_now, parent=self)
        self.admin_endpoint = serverFromString(self.reactor, self.config.admin.listen)
        self.admin_service = StreamServerEndpointService(self.admin_endpoint, site)
        self.admin_service.setServiceParent(self)

    def _stored_account(self, stored: StoredAccount) -> AccountConfig:
        from ..admin.accounts import account_from_json  # noqa: PLC0415 (the admin layer sits above this module)

        try:
            return account_from_json(json.loads(stored.settings))
        except ValueError as err:
            raise ConfigError(f"{self.config.store.path}: stored account {stored.system_id}: {err}") from None

    def _schedule_outages(self) -> None:
        now = self.reactor.seconds()
        for outage in self.config.outages:
            begin = outage.start - now if outage.start is not None else outage.start_after or 0.0
            end = begin + outage.duration
            if end <= 0:
                continue  # already over
            link = self.carriers[outage.carrier]
            self._timers.append(self.reactor.callLater(max(begin, 0.0), link.set_down, True))
            self._timers.append(self.reactor.callLater(end, link.set_down, False))

    def _open_account(self, system_id: str, unit: str, initial: int, now: float) -> list[Op]:
        """A new account gets a wallet at 0 and, when it has one, its opening balance as a top-up
        entry, so that balance == sum of ledger entries from the start."""
        self.wallets.open(system_id, unit or MONEY, 0)
        ops = [Op("account", (system_id, 0, unit, "active", "", now))]
        if initial > 0:
            entry = self.wallets[system_id].topup(initial, INITIAL_BALANCE_REFERENCE.format(system_id), "config", now)
            assert isinstance(entry, LedgerEntry)
            ops += [Op("ledger", ledger_row(entry)), Op("balance", (entry.balance_after, system_id))]
        return ops

    def _on_report(self, message_id: str, outcome: Outcome, at: float) -> None:
        self.gateway.on_carrier_report(message_id, outcome, at)

    def _on_accept(self, message_id: str, at: float) -> None:
        self.gateway.on_carrier_accept(message_id, at)

    def _delivery_stored(self, delivery: Delivery) -> None:
        """A receipt or MO is committed: deliver it here, or (several nodes) through the shared outbox."""
        if self.cluster is not None:
            self.cluster.delivery_stored(delivery)
        else:
            self.deliveries.add(delivery)

    def _delivered(self, delivery: Delivery) -> None:
        self.committer.write_later([Op("delivery_done", (delivery.delivery_id,))])

    # ---- lifecycle ----------------------------------------------------------------------

    def startService(self) -> None:  # noqa: N802 (Twisted's name)
        self.committer.start()
        if self.cluster is not None:
            self.cluster.start()
        self.gateway.resume(self._recovered.open_messages)
        for delivery in self._recovered.deliveries:
            self.deliveries.add(delivery)
        self._schedule_outages()
        log.info(
            "smppgw: {accounts} accounts, {open} messages resumed, {deliveries} deliveries pending",
            accounts=len(self.config.accounts),
            open=len(self._recovered.open_messages),
            deliveries=len(self._recovered.deliveries),
        )
        super().startService()  # type: ignore[no-untyped-call]

    def stopService(self) -> Deferred[None]:  # noqa: N802
        d: Deferred[None] = Deferred.fromCoroutine(self._stop())
        return d

    async def _stop(self) -> None:
        for proto in list(self.factory.connections):
            proto.close()
        await super().stopService()  # type: ignore[no-untyped-call]
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        for link in self.carriers.values():
            link.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        await self.committer.flush()
        self.committer.stop()
        self.store.close()

    def statistics(self) -> Mapping[str, int]:
        return {
            "connections": len(self.factory.connections),
            "bound": sum(len(v) for v in self.factory.bound.values()),
            "active_messages": len(self.gateway.active),
            "pending_deliveries": self.deliveries.backlog(),
            "submitted": self.gateway.submitted,
            "rejected": self.gateway.rejected,
        }
