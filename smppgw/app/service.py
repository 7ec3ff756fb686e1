"""The composition root: builds the gateway from a configuration and returns it as one
Twisted MultiService (store writer, carriers, SMPP listener, admin API)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from twisted.application.internet import StreamServerEndpointService
from twisted.application.service import MultiService
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import serverFromString
from twisted.internet.interfaces import IStreamServerEndpoint
from twisted.logger import Logger

from ..billing.ledger import Wallets, WalletState
from ..billing.refunds import RefundPolicy
from ..carriers.link import CarrierLink
from ..carriers.model import Outcome
from ..config import AccountConfig, ConfigError, GatewayConfig, node_id
from ..config.accounts import account_from_stored
from ..model import Delivery
from ..pipeline.accounts import AccountBook, open_account_writes
from ..pipeline.committer import GroupCommitter
from ..pipeline.compliance import Compliance, Held
from ..pipeline.deliveries import DeliveryQueue
from ..pipeline.gateway import Gateway
from ..server.factory import SMPPServerFactory
from ..server.proxy import server_endpoint
from ..store.ports import Op, StoredAccount
from ..store.sqlite import SqliteStore
from .parts import build_parts, load_content_rules

if TYPE_CHECKING:
    from ..cluster.node import Cluster
    from ..store.postgres import PostgresStore

log = Logger()


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
        parts = build_parts(config)

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
                startup_ops += open_account_writes(
                    wallets, account.system_id, account.billing_unit, account.initial_balance, now
                )
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
            router=parts.router,
            prices=parts.prices,
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
        for code, profile in parts.profiles.items():
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
        from ..admin.api import build_admin_site  # noqa: PLC0415 (the admin layer sits above this module)

        site = build_admin_site(self)
        self.admin_endpoint = serverFromString(self.reactor, self.config.admin.listen)
        self.admin_service = StreamServerEndpointService(self.admin_endpoint, site)
        self.admin_service.setServiceParent(self)

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
