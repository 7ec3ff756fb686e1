"""The composition root: builds the gateway from a configuration and returns it as one
Twisted MultiService (store writer, carriers, SMPP listener, admin API).  Every part gets its
collaborators when it is built, in dependency order; nothing imports this module but the entry points."""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.endpoints import HostnameEndpoint, connectProtocol, serverFromString
from twisted.internet.interfaces import (
    IDelayedCall,
    IReactorThreads,
    IReactorTime,
    IStreamServerEndpoint,
)
from twisted.logger import Logger
from twisted.python.failure import Failure

from ..billing.ledger import Wallets, WalletState
from ..billing.refunds import RefundPolicy
from ..carriers.link import CarrierLink
from ..carriers.model import CarrierProfile, CarrierReport
from ..config import AccountConfig, AccountHttp, ConfigError, GatewayConfig, load, node_id, parse
from ..config.accounts import account_from_json, account_from_stored, account_to_json, http_json
from ..handset import HandsetInbox
from ..model import Delivery
from ..pipeline.accounts import AccountBook, open_account_writes
from ..pipeline.compliance import Compliance
from ..pipeline.gateway import Gateway
from ..pipeline.guard import BindGuard
from ..pipeline.outcomes import Effects
from ..rig.draws import BindDraws
from ..rig.outbind import Outbinder
from ..rig.rig import Rig, ScenarioGate
from ..runtime.checkpoints import WalCheckpoints
from ..runtime.committer import GroupCommitter
from ..runtime.deliveries import DeliveryQueue
from ..runtime.runner import GatewayRunner
from ..server.cmpp.factory import CMPPServerFactory
from ..server.factory import SMPPServerFactory
from ..server.http_feed import HttpFeeder, queued_seq_floor
from ..server.http_reports import HttpReports
from ..server.proxy import server_endpoint
from ..store.ports import CommitRefusedError, GroupResult, StoredAccount
from ..store.sqlite import SqliteStore
from ..writes import AccountSettingsSet, DeliveryDone, Write
from .listening import ConfiguredListening, Listening
from .parts import build_parts, load_content_rules
from .reload import ReloadPlan, ReloadReport, plan_reload

if TYPE_CHECKING:
    from ..cluster.node import Cluster
    from ..server.protocol import SMPPServerProtocol
    from ..store.postgres import PostgresStore

log = Logger()


class IGatewayReactor(IReactorTime, IReactorThreads):
    """What the gateway asks of its reactor: timers, and threads (the store writer, password hashing)."""


def open_store(config: GatewayConfig) -> SqliteStore | PostgresStore:
    """The SQLite file of ``[store] path``, or the PostgreSQL database of ``[store] url`` shared by several nodes."""
    if not config.store.url:
        return SqliteStore(config.store.path, background_checkpoints=True)
    import psycopg  # noqa: PLC0415 (only a cluster needs it)

    from ..store.postgres import PostgresStore  # noqa: PLC0415

    try:
        return PostgresStore(config.store.url, node_id(config))
    except (psycopg.Error, RuntimeError) as err:
        raise ConfigError(f"{config.source.name}: store.url: cannot open the PostgreSQL store: {err}") from None


def _opened_elsewhere(failure: Failure, report: ReloadReport) -> ReloadReport | Failure:
    """A cluster store refuses a new account's opening balance another node credited first (both
    loaded the same file): the account is there, credited once.  Any other failure goes on."""
    return report if isinstance(failure.value, CommitRefusedError) else failure


def _close(proto: SMPPServerProtocol) -> None:
    if proto.transport is not None and proto.connected:
        proto.transport.loseConnection()


class GatewayService(MultiService):
    def __init__(
        self,
        config: GatewayConfig,
        reactor: IGatewayReactor,
        message_seq_floor: int = 1,
        listening: Listening | None = None,
    ) -> None:
        """``message_seq_floor``: where message ids start (a worker of ``serve --workers`` counts in its
        own range); ``listening``: where to listen (default: the configuration's addresses)."""
        super().__init__()  # type: ignore[no-untyped-call]
        self.config = config
        self.reactor = reactor
        self.listening: Listening = listening or ConfiguredListening()
        # Whose queued HTTP messages are whose after a restart: this node, and this worker of it.
        self._http_owner = f"{node_id(config)}/{message_seq_floor}"
        parts = build_parts(config)

        self.store = open_store(config)
        recovered = self.store.load()
        open_charges: dict[str, dict[str, int]] = {}
        for m in recovered.open_messages:
            open_charges.setdefault(m.account, {})[m.message_id] = m.charge - m.refunded
        self.wallets = wallets = Wallets.restore(
            [
                WalletState(a.system_id, a.unit, a.balance, open_charges.get(a.system_id, {}))
                for a in recovered.accounts.values()
            ],
            recovered.topup_references,
            recovered.next_entry_id,
        )
        # Several nodes count binds and share lockouts through their store.
        binds = None
        if config.store.url:
            from ..cluster.binds import SharedBinds  # noqa: PLC0415 (only a cluster needs psycopg)

            assert not isinstance(self.store, SqliteStore)
            binds = SharedBinds(self.store, config.cluster, reactor)
        self.accounts = AccountBook(
            bind_gate=binds.bind_gate if binds else None, on_release=binds.bind_released if binds else None
        )
        now = reactor.seconds()
        startup_ops: list[Write] = []
        # HTTP access of configured accounts changed through the admin API (fronts, API secret).
        self._http_overrides: dict[str, AccountHttp] = {}
        for account in config.accounts.values():
            stored = recovered.accounts.get(account.system_id)
            if stored is not None and stored.settings:
                self._http_overrides[account.system_id] = self._stored_http(account, stored.settings)
            self.accounts.add(self._with_http_override(account), stored.status if stored else None)
            if stored is None:
                startup_ops += self._open_account(account.system_id, account.billing_unit, account.initial_balance, now)
        for stored_account in recovered.accounts.values():
            # Accounts created through the admin API live only in the store, with their settings.
            if stored_account.settings and stored_account.system_id not in config.accounts:
                self.accounts.add(self._stored_account(stored_account), stored_account.status)
        if startup_ops:
            self.store.apply(startup_ops)

        self.cluster: Cluster | None = None  # built last: it keeps all of the below in step with the other nodes
        self.committer = GroupCommitter(
            self.store,
            reactor,
            reactor,
            interval=config.store.commit_interval,
            max_batch=config.store.commit_max_batch,
            on_result=self._committed if binds else None,
        )
        self.checkpoints: WalCheckpoints | None = None
        if isinstance(self.store, SqliteStore) and self.store.checkpoints_in_background:
            committer = self.committer
            self.checkpoints = WalCheckpoints(self.store.checkpoint, lambda: committer.commits)
        effects = Effects()  # what the core and compliance leave for the runner
        self.compliance = self._build_compliance(config, effects)
        self.deliveries = DeliveryQueue(
            reactor,
            config.receipt_retry_interval,
            self._delivered,
            on_receivers=self._receivers_changed if binds else None,
        )
        self.draws = BindDraws(config.seed)  # the rig's per-bind outcomes, which the carrier links draw from
        self.carriers: dict[str, CarrierLink] = {
            code: self._carrier_link(code, profile, config.seed) for code, profile in parts.profiles.items()
        }
        gate = ScenarioGate()  # the rig's: a running scenario's carrier throttles
        core = Gateway(
            store=self.store,
            accounts=self.accounts,
            wallets=wallets,
            router=parts.router,
            prices=parts.prices,
            refunds=RefundPolicy(config.refund_states),
            carriers=self.carriers,
            effects=effects,
            compliance=self.compliance,
            submit_gate=gate,
            # Ids reserved for HTTP messages accepted but not submitted before a restart stay theirs.
            next_message_seq=max(
                recovered.next_message_seq,
                message_seq_floor,
                queued_seq_floor(recovered.report_routes, self._http_owner),
            ),
            next_delivery_id=recovered.next_delivery_id,
            when_all_down=config.routing.when_all_down,
            dc0=config.dc0,
            utc_offset_minutes=config.utc_offset_minutes,
        )
        # What each number's phone would show of the messages accepted for it, from every front.
        self.handsets = HandsetInbox(dc0=config.dc0)
        self.gateway = GatewayRunner(
            core,
            self.committer,
            reactor,
            deliver=self._deliveries_stored,
            on_suspend=self._unbind_account,
            observer=self.handsets,
        )
        self._recovered = recovered
        self.rig = Rig(
            clock=reactor,
            gate=gate,
            find_message=self.gateway.find,
            accounts=self.accounts,
            carriers=self.carriers,
            config=config,
            backlog=self.deliveries.backlog,
            draws=self.draws,
        )
        if self.listening.first_session_id != 1:
            # Session ids name one session across the workers (the front asks them all for one).
            self.rig.scorecards.number_from(self.listening.first_session_id)
        security = config.security
        guard = BindGuard(
            security.failed_bind_limit,
            security.failed_bind_window,
            security.lockout,
            on_lock=binds.locked_out if binds else None,
            on_lift=binds.lifted if binds else None,
        )
        self.factory = SMPPServerFactory(
            gateway=self.gateway,
            deliveries=self.deliveries,
            session_config=config.session,
            clock=reactor,
            receipt_window=config.receipt_window,
            security=security,
            guard=guard,
            hooks=self.rig,
        )
        self.outbinder = Outbinder(
            clock=reactor,
            targets=self.rig.outbinds,
            deliveries=self.deliveries,
            new_connection=lambda: self.factory.buildProtocol(None),
            connect=lambda host, port, proto: connectProtocol(HostnameEndpoint(reactor, host, port, timeout=5), proto),
        )
        self.smpp_endpoint, smpp_factory = self.listening.smpp(
            self.factory, self._listener(config.listen, config.proxy_protocol)
        )
        self.smpp_service = StreamServerEndpointService(self.smpp_endpoint, smpp_factory)
        self.smpp_service.setServiceParent(self)
        self.tls_service: StreamServerEndpointService | None = None
        if config.tls.listen:
            self._build_tls()
        self.cmpp_factory = CMPPServerFactory(
            gateway=self.gateway,
            deliveries=self.deliveries,
            config=config.cmpp,
            clock=reactor,
            utc_offset_minutes=config.utc_offset_minutes,
            first_sequence=core.next_message_seq,
            hooks=self.rig.cmpp,
        )
        self.cmpp_service: StreamServerEndpointService | None = None
        if config.cmpp.listen:
            self.cmpp_service = StreamServerEndpointService(
                serverFromString(reactor, config.cmpp.listen), self.cmpp_factory
            )
            self.cmpp_service.setServiceParent(self)
        self.http_reports: HttpReports | None = None
        self.http_feeder: HttpFeeder | None = None
        self.http_service: StreamServerEndpointService | None = None
        self._build_http(recovered.report_routes, guard)
        if binds is not None:
            from ..cluster.node import Cluster  # noqa: PLC0415 (only a cluster needs it)

            assert not isinstance(self.store, SqliteStore)
            self.cluster = Cluster(
                store=self.store,
                config=config.cluster,
                binds=binds,
                committer=self.committer,
                deliveries=self.deliveries,
                accounts=self.accounts,
                wallets=wallets,
                guard=guard,
                carriers=self.carriers,
                gateway=self.gateway,
                compliance=self.compliance,
                reactor=reactor,
                threads=reactor,
                state_folder=Path(config.store.path).parent,
                unbind_account=self._unbind_account,
                open_stored_account=self._stored_account,
                reload=self.reload,
                loaded_generations=recovered.generations,
            )
        self._timers: list[IDelayedCall] = []  # to cancel on stop
        self._build_admin()

    def _build_compliance(self, config: GatewayConfig, effects: Effects) -> Compliance:
        compliance = Compliance(
            config=config.content,
            rules=load_content_rules(config),
            accounts=self.accounts,
            effects=effects,
            dc0=config.dc0,
            utc_offset_minutes=config.utc_offset_minutes,
            next_incident_id=self.store.next_incident_id(),
            next_refusal_id=self.store.next_decision_id(),
        )
        compliance.restore([(r.account, r.msisdn) for r in self.store.optouts()], self.store.held())
        for account in self.store.pledges():
            state = self.accounts.get(account)
            if state is not None:
                state.pledged = True
        return compliance

    def _carrier_link(self, code: str, profile: CarrierProfile, seed: int) -> CarrierLink:
        return CarrierLink(
            profile, self.reactor, random.Random(f"{seed}:{code}"), self._on_reports, self._on_accept, draws=self.draws
        )

    def _build_tls(self) -> None:
        from ..server.tls import load_certificate, tls_factory  # noqa: PLC0415 (pyOpenSSL only when TLS is on)

        certificate, made = load_certificate(self.config.tls)
        if made:
            log.info("smppgw: made a self-signed TLS certificate {path}", path=self.config.tls.certificate)
        endpoint, inner = self.listening.tls(
            self.factory, self._listener(self.config.tls.listen, self.config.tls.proxy_protocol)
        )
        self.tls_service = StreamServerEndpointService(endpoint, tls_factory(inner, certificate))
        self.tls_service.setServiceParent(self)

    def _build_http(self, routes: dict[str, str], guard: BindGuard) -> None:
        """The customer HTTP interface (``[http_api]``): its reports always (receipts of messages it
        sent before a restart still go out), its listener when ``listen`` names one."""
        from ..httpapi.accounts import Limits  # noqa: PLC0415
        from ..httpapi.retry import RetryPolicy  # noqa: PLC0415
        from ..server.http import (  # noqa: PLC0415
            AccountLookup,
            CustomerSite,
            HttpApiResource,
            HttpGateway,
            account_push,
        )
        from ..server.http_client import agent_sender  # noqa: PLC0415

        config, api = self.config, self.config.http_api
        limits = Limits(
            max_recipients=api.max_recipients,
            max_body_bytes=api.max_body_bytes,
            utc_offset_minutes=config.utc_offset_minutes,
        )
        self.http_reports = HttpReports(
            clock=self.reactor,
            send=agent_sender(self.reactor, api.webhook_timeout),
            message=lambda message_id: self.gateway.find(message_id) or self.store.get_message(message_id),
            account=account_push(self.gateway),
            done=lambda delivery: self._delivered([delivery]),
            policy=RetryPolicy(api.webhook_backoff, api.webhook_give_up_after),
            limits=limits,
            concurrency=api.webhook_concurrency,
            routes=routes,
            dc0=config.dc0,
        )
        # Built whether or not the listener is on: batches accepted before a restart are fed again.
        self.http_feeder = HttpFeeder(
            gateway=self.gateway,
            committer=self.committer,
            reports=self.http_reports,
            clock=self.reactor,
            stored_message=self.store.get_message,
            owner=self._http_owner,
        )
        if not api.listen:
            return
        core = HttpGateway(
            gateway=self.gateway,
            wallets=self.wallets,
            committer=self.committer,
            reports=self.http_reports,
            clock=self.reactor,
            ledger=self.store.ledger,
            stored_message=self.store.get_message,
            feeder=self.http_feeder,
        )
        resource = HttpApiResource(core, AccountLookup(self.gateway, self.reactor), limits, guard, self.reactor)
        site = CustomerSite(resource)  # type: ignore[no-untyped-call]
        site.displayTracebacks = False
        self.http_endpoint = serverFromString(self.reactor, api.listen)
        self.http_service = StreamServerEndpointService(self.http_endpoint, site)
        self.http_service.setServiceParent(self)

    def _listener(self, listen: str, proxy_protocol: bool) -> IStreamServerEndpoint:
        # A connection sending no PROXY header within session_init_timeout did not bind; those still
        # waiting for theirs count towards no other limit, so they get max_connections of their own.
        config = self.config
        timeout, most = config.session.session_init_timeout, config.security.max_connections
        return server_endpoint(self.reactor, listen, proxy_protocol, timeout, most)

    def _build_admin(self) -> None:
        from ..admin.site import build_admin_site  # noqa: PLC0415 (twisted.web is loaded when the site is built)

        def reload_now() -> Deferred[dict[str, Any]]:
            return self.reload().addCallback(lambda report: report.to_json())

        site = build_admin_site(self, threads=self.reactor, reload=reload_now, parent=self)
        self.admin_endpoint = self.listening.admin(serverFromString(self.reactor, self.config.admin.listen))
        self.admin_service = StreamServerEndpointService(self.admin_endpoint, site)
        self.admin_service.setServiceParent(self)

    def _open_account(self, system_id: str, unit: str, initial: int, now: float) -> list[Write]:
        """A new account's wallet, and what stores it (at start, on reload, through the admin API)."""
        return open_account_writes(self.wallets, system_id, unit, initial, now)

    def _stored_http(self, account: AccountConfig, settings: str) -> AccountHttp:
        """The HTTP access a configured account's stored row holds ({"http": {...}})."""
        try:
            overlay = json.loads(settings)["http"]
            return account_from_json({**account_to_json(account), "http": overlay}).http
        except (ValueError, KeyError, TypeError) as err:
            where = str(self.config.store.path)
            raise ConfigError(f"{where}: stored HTTP access of account {account.system_id}: {err}") from None

    def _with_http_override(self, account: AccountConfig) -> AccountConfig:
        http = self._http_overrides.get(account.system_id)
        return account if http is None else dataclasses.replace(account, http=http)

    def set_http_access(self, system_id: str, http: AccountHttp) -> Deferred[None]:
        """The admin API changed an account's HTTP access: stored (a configured account keeps only
        this part in the store, over its file's), then in force."""
        state = self.accounts.get(system_id)
        assert state is not None
        account = dataclasses.replace(state.config, http=http)
        if system_id in self.config.accounts:
            settings = json.dumps({"http": http_json(http)}, ensure_ascii=False, sort_keys=True)
        else:
            settings = json.dumps(account_to_json(account), ensure_ascii=False, sort_keys=True)

        def stored(_: None) -> None:
            if system_id in self.config.accounts:
                self._http_overrides[system_id] = http
            self.accounts.update(account)

        return self.committer.write([AccountSettingsSet(system_id, settings)]).addCallback(stored)

    def _stored_account(self, stored: StoredAccount) -> AccountConfig:
        return account_from_stored(stored.settings, stored.system_id, str(self.config.store.path))

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

    # ---- what the parts tell each other (through this root, so no part holds a handle on another) ----

    def _on_reports(self, reports: list[CarrierReport]) -> None:
        self.gateway.on_carrier_reports(reports)

    def _on_accept(self, message_id: str, at: float) -> None:
        self.gateway.on_carrier_accept(message_id, at)

    def _deliveries_stored(self, deliveries: list[Delivery]) -> None:
        """Receipts or MO committed: delivered here, or (several nodes) through the shared outbox."""
        here: list[Delivery] = []
        for delivery in deliveries:
            if self.http_reports is not None and self.http_reports.takes(delivery):
                self.http_reports.add(delivery)  # the customer HTTP interface's: pulled or pushed
            else:
                here.append(delivery)
        if here and self.cluster is not None:
            self.cluster.deliveries_stored(here)
        elif here:
            self.deliveries.add_many(here)

    def _delivered(self, deliveries: list[Delivery]) -> None:
        self.committer.write_with_next([DeliveryDone(delivery.delivery_id) for delivery in deliveries])

    def _committed(self, result: GroupResult) -> None:
        if self.cluster is not None:
            self.cluster.committed(result)

    def _receivers_changed(self, account: str, count: int) -> None:
        if self.cluster is not None:
            self.cluster.receivers_changed(account, count)

    def _unbind_account(self, account: str) -> None:
        """A suspended account's sessions are unbound now, and closed a second later if still open."""
        for proto in self.factory.sessions_of(account):
            proto.unbind()
            self.reactor.callLater(1.0, _close, proto)
        for cmpp in self.cmpp_factory.sessions_of(account):
            cmpp.unbind()  # CMPP_TERMINATE
            self.reactor.callLater(1.0, cmpp.close)

    # ---- reload -------------------------------------------------------------------------

    def reload(
        self, path: Path | None = None, *, shared: str | None = None, copies: Mapping[str, Path] | None = None
    ) -> Deferred[ReloadReport]:
        """Load ``path`` (default: the file the service was started from) and apply it.  Fails with a
        ConfigError before anything changes when the new configuration is invalid.  On a cluster the
        text and the data files it names go to the other nodes, which apply it as ``shared`` (read as
        if it were their own file, keeping their own listen addresses, store and node id), reading the
        ``copies`` of those files (path as written -> this node's copy) instead of their own."""
        try:
            source = Path(path or self.config.source)
            if shared is None:
                new = load(source)
                text: str | None = source.read_text(encoding="utf-8")  # what the other nodes of a cluster apply
            else:
                new, text = parse(shared, self.config.source, copies), None
            new = self.listening.shape(new)
            new = dataclasses.replace(new, accounts={k: self._with_http_override(a) for k, a in new.accounts.items()})
            plan = plan_reload(
                self.config,
                new,
                build_parts(new),
                load_content_rules(new),
                accounts={state.config.system_id: state.config for state in self.accounts},
                carriers={code: link.profile for code, link in self.carriers.items()},
                shared=shared is not None,
            )
        except (ConfigError, ValueError, OSError) as err:
            log.warn("reload refused, the running configuration stays: {error}", error=str(err))
            return fail(ConfigError(str(err)))
        return self.apply_reload(plan, share=text)

    def apply_reload(self, plan: ReloadPlan, share: str | None = None) -> Deferred[ReloadReport]:
        """Carry out ``plan``; ``share``: the file's text, for the other nodes of a cluster to apply."""
        old, now = self.config, self.reactor.seconds()
        # Money first: new accounts get their wallet and opening balance through the store.
        ops: list[Write] = []
        for account in plan.accounts_added:
            if account.system_id not in self.wallets:
                ops += self._open_account(account.system_id, account.billing_unit, account.initial_balance, now)
            self.accounts.add(account)
        for account in plan.accounts_updated:
            self.accounts.update(account)
        for code, profile in plan.carriers_added.items():
            self.carriers[code] = self._carrier_link(code, profile, plan.seed)
        for code, profile in plan.carriers_updated.items():
            self.carriers[code].set_profile(profile)
        self.gateway.reconfigure(
            router=plan.parts.router,
            prices=plan.parts.prices,
            refunds=plan.refunds,
            when_all_down=plan.config.routing.when_all_down,
            carriers=self.carriers,
        )
        self.compliance.configure(plan.config.content, plan.content_rules)
        self.rig.reconfigure(old, plan.config)
        self.config = plan.config
        report = plan.report()
        restart = report.restart_needed
        log.info(
            "configuration reloaded from {source}: accounts +{added} ~{updated}, carriers +{cadded} ~{cupdated}, "
            "{routes} routes, rate plans {plans}, {keywords} keyword rules{restart}",
            source=report.source,
            added=len(report.accounts_added),
            updated=len(report.accounts_updated),
            cadded=len(report.carriers_added),
            cupdated=len(report.carriers_updated),
            routes=report.routes,
            plans="changed" if report.rate_plans_changed else "unchanged",
            keywords=report.keyword_rules,
            restart=f"; restart needed for {', '.join(restart)}" if restart else "",
        )
        if share is not None and self.cluster is not None:
            self.cluster.config_reloaded(share, plan.config.files)
        done: Deferred[None] = self.committer.write(ops) if ops else succeed(None)
        return done.addCallbacks(lambda _: report, _opened_elsewhere, errbackArgs=(report,))

    # ---- lifecycle ----------------------------------------------------------------------

    def startService(self) -> None:  # noqa: N802 (Twisted's name)
        self.committer.start()
        if self.checkpoints is not None:
            self.checkpoints.start()
        if self.cluster is not None:
            self.cluster.start()
        self.gateway.resume(self._recovered.open_messages)
        for delivery in self._recovered.deliveries:
            if self.http_reports is not None and self.http_reports.takes(delivery):
                self.http_reports.add(delivery)
            else:
                self.deliveries.add(delivery)
        if self.http_feeder is not None:
            self.http_feeder.resume()
        self._schedule_outages()
        self.outbinder.start()
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
        self.outbinder.stop()
        for proto in list(self.factory.connections):
            proto.close()
        for cmpp in list(self.cmpp_factory.connections):
            cmpp.close()
        await super().stopService()  # type: ignore[no-untyped-call]
        for timer in self._timers:
            if timer.active():
                timer.cancel()
        for link in self.carriers.values():
            link.stop()
        if self.http_feeder is not None:
            self.http_feeder.stop()
        self.gateway.stop()
        if self.cluster is not None:
            await self.cluster.stop()
        await self.committer.flush()
        self.committer.stop()
        if self.checkpoints is not None:
            self.checkpoints.stop()
        self.store.close()

    def statistics(self) -> Mapping[str, int]:
        return {
            "connections": len(self.factory.connections) + len(self.cmpp_factory.connections),
            "bound": sum(len(v) for v in self.factory.bound.values())
            + sum(len(v) for v in self.cmpp_factory.bound.values()),
            "active_messages": len(self.gateway.active),
            "pending_deliveries": self.deliveries.backlog() + (self.http_reports.backlog() if self.http_reports else 0),
            "submitted": self.gateway.submitted,
            "rejected": self.gateway.rejected,
        }
