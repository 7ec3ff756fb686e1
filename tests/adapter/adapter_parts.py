"""One SMPP connection of the gateway over a StringTransport and a task.Clock, built from the real
parts (the core and its runner, accounts, wallets, router, prices, carrier links, delivery queue) on
an in-memory SQLite store, without a whole service.  The only stand-in is the committer: the real one writes
on a database thread, which a task.Clock cannot wait for; this one commits when told to."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conftest import DEFAULT_CONFIG, config_text
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport

from smppgw import config as cfg
from smppgw.app.parts import build_parts
from smppgw.billing.ledger import Wallets
from smppgw.billing.refunds import RefundPolicy
from smppgw.carriers.link import CarrierLink
from smppgw.carriers.model import CarrierReport
from smppgw.model import Delivery
from smppgw.pipeline.accounts import AccountBook
from smppgw.pipeline.gateway import Gateway
from smppgw.pipeline.outcomes import Effects
from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.framing import FrameBuffer
from smppgw.rig.rig import Rig, ScenarioGate
from smppgw.runtime.deliveries import DeliveryQueue
from smppgw.runtime.runner import GatewayRunner
from smppgw.server.factory import SMPPServerFactory
from smppgw.server.hooks import NO_HOOKS, ConnectionHooks
from smppgw.server.protocol import SMPPServerProtocol
from smppgw.store.sqlite import SqliteStore


class ManualCommitter:
    """Commits to the store when ``commit()`` is called (at once with ``auto``); ``fail_next``
    makes the next commit fail as a database error would."""

    def __init__(self, store: SqliteStore, *, auto: bool) -> None:
        self.store = store
        self.auto = auto
        self.fail_next = False
        self.waiting: list[tuple[Sequence[object], Deferred[None]]] = []

    def write(self, ops: Sequence[object]) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self.waiting.append((ops, d))
        if self.auto:
            self.commit()
        return d

    def write_groups(self, groups: Sequence[Sequence[object]]) -> Deferred[dict[int, str]]:
        """A socket read's submits: one waiter; a SQLite store refuses none of them."""
        refused: Deferred[dict[int, str]] = self.write([op for group in groups for op in group]).addCallback(
            lambda _: {}
        )
        return refused

    def write_later(self, ops: Sequence[object]) -> None:
        self.write(ops)

    def commit(self) -> None:
        waiting, self.waiting = self.waiting, []
        for ops, d in waiting:
            if self.fail_next:
                self.fail_next = False
                d.errback(OSError("disk I/O error"))
                continue
            self.store.apply(ops)  # type: ignore[arg-type]
            d.callback(None)


def decode_all(data: bytes) -> list[p.Pdu]:
    frames = FrameBuffer()
    frames.feed(data)
    out = []
    while (frame := frames.next_frame()) is not None:
        out.append(codec.decode(frame))
    return out


@dataclass
class Connection:
    clock: Clock
    factory: SMPPServerFactory
    gateway: GatewayRunner
    deliveries: DeliveryQueue
    committer: ManualCommitter
    done: list[Delivery]  # deliveries the client acknowledged
    done_groups: list[int]  # how many were done together, group by group
    rig: Rig | None
    proto: SMPPServerProtocol = field(init=False)
    transport: StringTransport = field(init=False)

    def __post_init__(self) -> None:
        self.proto, self.transport = self.connect()

    def connect(self) -> tuple[SMPPServerProtocol, StringTransport]:
        proto = self.factory.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        return proto, transport

    def send(self, *pdus: p.Pdu, proto: SMPPServerProtocol | None = None) -> None:
        (proto or self.proto).dataReceived(b"".join(codec.encode(pdu) for pdu in pdus))

    def read(self, transport: StringTransport | None = None) -> list[p.Pdu]:
        """What the gateway wrote since the last read."""
        transport = transport or self.transport
        out = decode_all(transport.value())
        transport.clear()
        return out

    def bind(self, cls: type[p.Pdu] = p.BindTransceiver, system_id: str = "demo", password: str = "demo1234") -> p.Pdu:
        self.send(cls(sequence_number=1, system_id=system_id, password=password))
        [answer] = self.read()
        return answer

    def close(self) -> None:
        for link in self.gateway.core.carriers.values():
            link.stop()  # type: ignore[attr-defined]
        self.committer.store.close()


def open_connection(
    tmp_path: Path,
    *,
    hooks: ConnectionHooks = NO_HOOKS,
    rig: bool = False,
    auto_commit: bool = True,
    overrides=None,
) -> Connection:
    clock = Clock()
    clock.advance(1_750_000_000)  # a date receipts can print
    config = cfg.parse(config_text(tmp_path / "unused.db", overrides=overrides), DEFAULT_CONFIG)
    parts = build_parts(config)
    router, prices, profiles = parts.router, parts.prices, parts.profiles
    store = SqliteStore(":memory:")
    committer = ManualCommitter(store, auto=auto_commit)
    accounts = AccountBook()
    wallets = Wallets()
    for account in config.accounts.values():
        accounts.add(account)
        wallets.open(account.system_id, account.billing_unit, account.initial_balance)
    done: list[Delivery] = []
    done_groups: list[int] = []

    def on_done(group: list[Delivery]) -> None:
        done.extend(group)
        done_groups.append(len(group))

    deliveries = DeliveryQueue(clock, config.receipt_retry_interval, on_done)
    gateway: GatewayRunner | None = None  # the links report to it once it is built

    def report(reports: list[CarrierReport]) -> None:
        assert gateway is not None
        gateway.on_carrier_reports(reports)

    def accept(message_id: str, at: float) -> None:
        assert gateway is not None
        gateway.on_carrier_accept(message_id, at)

    carriers = {code: CarrierLink(prof, clock, random.Random(code), report, accept) for code, prof in profiles.items()}
    gate = ScenarioGate()
    core = Gateway(
        store=store,
        accounts=accounts,
        wallets=wallets,
        router=router,
        prices=prices,
        refunds=RefundPolicy(config.refund_states),
        carriers=carriers,
        effects=Effects(),
        submit_gate=gate,
        utc_offset_minutes=config.utc_offset_minutes,
    )
    gateway = GatewayRunner(core, committer, clock, deliver=deliveries.add_many, on_suspend=lambda account: None)
    the_rig = None
    if rig:  # the test rig's own hooks, built from the same parts as the service builds it
        the_rig = hooks = Rig(
            clock=clock, gate=gate, find_message=gateway.find, accounts=accounts, carriers=carriers, config=config
        )
    factory = SMPPServerFactory(
        gateway=gateway,
        deliveries=deliveries,
        session_config=config.session,
        clock=clock,
        receipt_window=config.receipt_window,
        security=config.security,
        hooks=hooks,
    )
    return Connection(clock, factory, gateway, deliveries, committer, done, done_groups, the_rig)
