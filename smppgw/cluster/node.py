"""This node among several sharing one PostgreSQL store.

- Money: after every group commit, and every heartbeat, each wallet takes the balance the database
  holds (what all nodes debited and credited) plus what this node has written but not committed.
- Receipts and MO: every delivery goes to the outbox table; a node claims rows (``FOR UPDATE SKIP
  LOCKED``) only for accounts holding a receiver or transceiver bind on it, when woken by
  ``NOTIFY smppgw_outbox`` (a listener thread) or, as a fallback, every heartbeat.  When an
  account's last receiving bind leaves, what this node claimed for it goes back to the outbox.
- Binds: counted in the ``binds`` table, so an account's ``max_binds`` holds over all nodes; the
  binds of a node whose heartbeat is older than ``node_timeout`` no longer count.
- A dead node's open messages are adopted by the first live node to notice (its carriers resume
  them), so their receipts still come.
- Suspensions and statuses changed on another node apply here at the next heartbeat (a second).
- Carrier outages switched through any node's API are stored (``carrier_outages``, the 'carriers'
  generation): every node applies them at the NOTIFY or its next heartbeat, and at start.  The
  outages of a scheduled ``[[outage]]`` or a scenario timeline follow each node's own clock and stay its own.
- A reload here stores the configuration's text and the data files it names (smppgw.shared_files);
  the other nodes apply it at their next heartbeat, reading copies of those files.

All callbacks run on the reactor thread; database work runs on the committer's database thread,
except bind counting (the reader connection: a bind needs its answer now) and the listener.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import psycopg
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorFromThreads, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from .. import shared_files
from ..billing.ledger import Wallets
from ..carriers.link import CarrierLink
from ..config import AccountConfig, ClusterConfig, ConfigError
from ..model import AccountStatus, Delivery, Message
from ..pipeline.accounts import AccountBook
from ..pipeline.compliance import Compliance
from ..pipeline.guard import BindGuard
from ..runtime.committer import GroupCommitter
from ..runtime.deliveries import DeliveryQueue
from ..runtime.runner import GatewayRunner
from ..store.ports import ClusterStore, ClusterView, GroupResult, StoredAccount
from ..store.postgres import connect
from ..writes import AccountStatusSet, OptoutAdded, OptoutRemoved, entry_of
from .binds import SharedBinds
from .sync import throughput_share


class SharedReload(Protocol):
    """Apply a configuration reloaded on another node: its text, read with this node's copies of
    the data files it names; fails (a ConfigError, already logged) when the text is refused here."""

    def __call__(self, *, shared: str, copies: Mapping[str, Path]) -> Deferred[Any]: ...


class Cluster:
    log = Logger()

    def __init__(
        self,
        *,
        store: ClusterStore,
        config: ClusterConfig,
        binds: SharedBinds,
        committer: GroupCommitter,
        deliveries: DeliveryQueue,
        accounts: AccountBook,
        wallets: Wallets,
        guard: BindGuard,
        carriers: Mapping[str, CarrierLink],
        gateway: GatewayRunner,
        compliance: Compliance,
        reactor: IReactorTime,
        threads: IReactorFromThreads,
        state_folder: Path,
        unbind_account: Callable[[str], None],
        open_stored_account: Callable[[StoredAccount], AccountConfig],
        reload: SharedReload,
        loaded_generations: Mapping[str, int],
    ) -> None:
        """``carriers``: the node's carrier links (a live view: a reload adds to it); ``state_folder``
        the folder under which the copies of shared data files go; ``unbind_account`` ends the sessions of an account
        suspended elsewhere; ``open_stored_account`` reads an account another node created through
        its admin API; ``loaded_generations`` the generations of the shared parts as the node loaded
        them at start (``Recovered.generations``)."""
        self.store = store
        self.config = config
        self.binds = binds
        self.committer = committer
        self.deliveries = deliveries
        self.accounts = accounts
        self.wallets = wallets
        self.guard = guard
        self.carriers = carriers
        self.gateway = gateway
        self.compliance = compliance
        self.reactor = reactor
        self.threads = threads  # wake-ups from the listener thread
        self.state_folder = state_folder
        self._unbind_account = unbind_account
        self._open_stored_account = open_stored_account
        self._reload = reload
        self.node_id = store.node_id
        self._receiving: set[str] = set()  # accounts with a receiving bind here
        self._claiming = False
        self._claim_again = False
        self._releases: dict[str, IDelayedCall] = {}
        self._loop: LoopingCall | None = None
        self._listener: threading.Thread | None = None
        self._stopping = threading.Event()
        self.adopted = 0
        # As last seen: at first those loaded, but the configuration, which came from this node's
        # file (a shared one, generation > 0, replaces it at the first heartbeat).
        self._generations: dict[str, int] = {**loaded_generations, "config": 0}
        self._outage_generation = -1  # the 'carriers' generation last applied (-1: none yet)
        self._outage_writes: dict[str, int] = {}  # carrier -> generation of this node's last switch of it

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        try:  # before any message is resumed or bind served: outages another node's API switched on
            self._follow_outages(*self.store.outages())
        except psycopg.Error as err:
            self.log.warn("cluster: stored carrier outages not read at start (next heartbeat): {err}", err=err)
        self._loop = LoopingCall(self._tick)
        self._loop.clock = self.reactor
        self._loop.start(self.config.heartbeat_interval, now=True).addErrback(self._log, "heartbeat loop")
        self._listener = threading.Thread(target=self._listen, name="smppgw-listen", daemon=True)
        self._listener.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        for call in self._releases.values():
            if call.active():
                call.cancel()
        await self.committer.run_on_store_thread(self.store.leave)
        if self._listener is not None:
            self._listener.join(timeout=2.0)  # it wakes every half second to see the stop

    def _log(self, failure: Failure, what: str) -> None:
        if not self._stopping.is_set():
            self.log.failure("cluster: {what} failed", failure, what=what)

    # ---- heartbeat: liveness, balances and statuses, dead nodes' messages --------------------

    def _tick(self) -> None:
        now = self.reactor.seconds()
        d = self.committer.run_on_store_thread(self.store.heartbeat, self.config.node_timeout, now)
        d.addCallback(self._beaten)
        d.addErrback(self._log, "heartbeat")
        self.claim()  # the fallback for a NOTIFY this node missed

    def _beaten(self, view: ClusterView) -> None:
        if self._stopping.is_set():
            return
        self._resync({account: stored.balance for account, stored in view.accounts.items()})
        accounts = self.accounts
        # This node's own changes not committed when the view was read: the view is older than them.
        changing = {w.system_id for w in self.committer.uncommitted() if isinstance(w, AccountStatusSet)}
        for account, stored in view.accounts.items():
            state = accounts.get(account)
            if state is None:
                self._open_shared(stored)
                continue
            if state.status != stored.status and account not in changing:
                accounts.set_status(account, stored.status)
                self.log.info(
                    "cluster: account {account} is {status} (changed on another node)",
                    account=account,
                    status=stored.status,
                )
                if stored.status != AccountStatus.ACTIVE:
                    self._unbind_account(account)
        self._follow(view.generations)
        self._follow_outages(view.generations.get("carriers", 0), view.outages)
        self._share_throughput(view.binds)
        self.guard.adopt(self.binds.lockouts(view.lockouts))
        if view.adopted:
            self._adopt(view.adopted)

    def _follow(self, generations: dict[str, int]) -> None:
        """Reload what another node changed: opt-out lists, pledges, the configuration."""
        seen, self._generations = self._generations, dict(generations)
        moved = {name for name, value in generations.items() if seen.get(name) != value}
        compliance = self.compliance
        if "optouts" in moved:
            stored = [(r.account, r.msisdn) for r in self.store.optouts()]
            compliance.optouts = {}
            compliance.restore(stored, [])
            for w in self.committer.uncommitted():  # this node's own, not stored yet
                if isinstance(w, OptoutAdded):
                    compliance.optouts.setdefault(w.account, set()).add(w.msisdn)
                elif isinstance(w, OptoutRemoved):
                    compliance.optouts.get(w.account, set()).discard(w.msisdn)
        if "pledges" in moved:
            for account in self.store.pledges():
                state = self.accounts.get(account)
                if state is not None:
                    state.pledged = True
        if "config" in moved:
            self._apply_shared_config()

    def _apply_shared_config(self) -> None:
        shared = self.store.shared_config()
        if shared is None:
            return
        # The files it names are read from this node's copies of the shared ones (a file the
        # sharing node did not send, from before files were shared, from this node's own folder).
        state = self.state_folder
        try:
            copies = shared_files.write(shared_files.folder(state, shared.generation), shared.files)
        except OSError as err:
            self.log.warn("cluster: the configuration reloaded on another node not applied: {err}", err=err)
            return
        self.log.info(
            "cluster: applying the configuration reloaded on another node (generation {generation}, {n} files)",
            generation=shared.generation,
            n=len(copies),
        )
        d = self._reload(shared=shared.text, copies=copies)
        d.addErrback(self._refused)

    def _refused(self, failure: Failure) -> None:
        if not isinstance(failure.value, ConfigError):  # a refused configuration was logged by the reload
            self._log(failure, "applying the configuration of another node")

    def config_reloaded(self, text: str, files: Mapping[str, Path]) -> None:
        """This node reloaded its configuration: every other node applies the same text, with the
        same data files."""
        try:
            contents = shared_files.read(files)
        except (OSError, shared_files.ShareRefusedError) as err:
            self.log.warn(
                "cluster: the reload applies on this node only, the other nodes keep theirs: {err}", err=str(err)
            )
            return
        try:
            value = self.store.share_config(text, contents)
        except psycopg.Error as err:
            self.log.warn("cluster: the other nodes were not told of the reload: {err}", err=err)
            return
        self._generations["config"] = value

    def _follow_outages(self, generation: int, stored: dict[str, tuple[bool, int]]) -> None:
        """Apply the outages switched through any node's API since last applied (at first, those stored
        down), so that this node's scheduled and timeline outages hold until someone switches that
        carrier through an API."""
        if generation <= self._outage_generation:
            return  # nothing new, or a view read before one already applied
        seen, self._outage_generation = self._outage_generation, generation
        for code, (down, switched) in sorted(stored.items()):
            if switched <= seen or (seen < 0 and not down):
                continue
            if switched < self._outage_writes.get(code, 0):
                continue  # read before this node's own later switch of it, which stands
            link = self.carriers.get(code)
            if link is None or link.is_up != down:
                continue  # not a carrier of this node, or already so
            link.set_down(down)
            self.log.info(
                "cluster: carrier {code} set {state} (through another node's API)",
                code=code,
                state="down" if down else "up",
            )

    def outage_switched(self, code: str, down: bool) -> None:
        """This node's API switched a carrier's outage: every other node applies it."""
        try:
            self._outage_writes[code] = self.store.set_outage(code, down)
        except psycopg.Error as err:
            self.log.warn("cluster: outage of {code} applies on this node only: {err}", code=code, err=err)

    def _open_shared(self, stored: StoredAccount) -> None:
        """An account another node created through its admin API: this node serves it too."""
        if not stored.settings:
            return  # a configured account this node's file does not have
        try:
            config = self._open_stored_account(stored)
        except ValueError as err:
            self.log.warn("cluster: account {account} not loaded: {err}", account=stored.system_id, err=err)
            return
        self.accounts.add(config, stored.status)
        if stored.system_id not in self.wallets:
            self.wallets.open(stored.system_id, stored.unit, stored.balance)
        self.log.info("cluster: account {account} created on another node", account=stored.system_id)

    def _share_throughput(self, binds: dict[str, tuple[int, int]]) -> None:
        """An account's messages/s are shared by the nodes in proportion to the binds each holds."""
        for state in self.accounts:
            limit = state.config.throughput
            if limit > 0:
                state.bucket.rate = throughput_share(limit, *binds.get(state.config.system_id, (0, 0)))

    def _adopt(self, messages: list[Message]) -> None:
        wallets = self.wallets
        for message in messages:
            wallet = wallets.get(message.account)
            if wallet is not None:
                wallet.adopt_charge(message.message_id, message.charge - message.refunded)
        self.gateway.resume(messages)
        self.adopted += len(messages)
        self.log.info("cluster: adopted {n} open messages of a node that stopped", n=len(messages))

    # ---- money ----------------------------------------------------------------------------

    def committed(self, result: GroupResult) -> None:
        """The committer's hook: a group committed, with the balances the database holds now."""
        self._resync(result.balances)

    def _resync(self, balances: dict[str, int]) -> None:
        """Stored balance plus what this node wrote and has not committed yet."""
        pending: dict[str, int] = {}
        for w in self.committer.uncommitted():
            entry = entry_of(w)
            if entry is not None:
                pending[entry.account] = pending.get(entry.account, 0) + entry.amount
        wallets = self.wallets
        for account, balance in balances.items():
            wallet = wallets.get(account)
            if wallet is not None:
                wallet.resync(max(0, balance + pending.get(account, 0)))

    # ---- binds ----------------------------------------------------------------------------

    # ---- receipts and MO -----------------------------------------------------------------------

    def deliveries_stored(self, deliveries: list[Delivery]) -> None:
        """Receipts or MO this node committed to the outbox (a commit's worth): queued here, in one
        batch, those stored claimed (a receiving bind was here then); the rest claimed by whoever
        holds one (this node included, with one claim)."""
        claimed = self.store.claimed
        here: list[Delivery] = []
        wake = False
        for delivery in deliveries:
            if delivery.delivery_id in claimed:
                claimed.discard(delivery.delivery_id)
                here.append(delivery)
            elif delivery.account in self._receiving:
                wake = True
        if here:
            self.deliveries.add_many(here)
            for account in {d.account for d in here}:
                if account not in self._receiving and account not in self._releases:
                    # The receiver left while they were being stored: hand them back like the rest.
                    self._releases[account] = self.reactor.callLater(1.0, self._release, account)
        if wake:
            self.claim()

    def receivers_changed(self, account: str, count: int) -> None:
        """The delivery queue's hook: ``account`` has ``count`` receiving binds here now."""
        if count > 0:
            self._receiving.add(account)
            self.store.receiving = frozenset(self._receiving)
            pending = self._releases.pop(account, None)
            if pending is not None and pending.active():
                pending.cancel()
            self.claim()
        elif account in self._receiving:
            self._receiving.discard(account)
            self.store.receiving = frozenset(self._receiving)
            # A client that rebinds at once keeps its receipts here; one that went elsewhere gets them there.
            self._releases[account] = self.reactor.callLater(1.0, self._release, account)

    def _release(self, account: str) -> None:
        self._releases.pop(account, None)
        if account in self._receiving:
            return
        dropped = self.deliveries.drop(account)
        if dropped:
            d = self.committer.run_on_store_thread(self.store.unclaim, account)
            d.addErrback(self._log, "handing receipts back")

    def claim(self) -> None:
        """Claim outbox rows for the accounts bound here; one claim at a time, another if woken meanwhile."""
        if not self._receiving:
            return
        if self._claiming:
            self._claim_again = True
            return
        self._claiming = True
        self._claim_again = False
        accounts = sorted(self._receiving)
        d = self.committer.run_on_store_thread(self.store.claim, accounts, self.config.node_timeout)
        d.addCallback(self._claimed)
        d.addErrback(self._log, "claiming receipts")
        d.addBoth(self._claim_done)

    def _claimed(self, deliveries: list[Delivery]) -> None:
        queue = self.deliveries
        for delivery in deliveries:
            if not queue.has(delivery.delivery_id, delivery.account):
                queue.add(delivery)
        if len(deliveries) >= 1000:
            self._claim_again = True

    def _claim_done(self, _: object) -> None:
        self._claiming = False
        if self._claim_again and not self._stopping.is_set():
            self.claim()

    def _listen(self) -> None:
        """The listener thread: LISTEN on its own connection, hand each wake-up to the reactor."""
        threads = self.threads
        while not self._stopping.is_set():
            try:
                with connect(self.store.url) as conn:
                    conn.execute("LISTEN smppgw_outbox")
                    conn.execute("LISTEN smppgw_accounts")
                    while not self._stopping.is_set():
                        for note in conn.notifies(timeout=0.5):
                            threads.callFromThread(self._notified, note.channel, note.payload)
            except psycopg.Error:
                if self._stopping.wait(1.0):  # reconnect; polling covers the gap
                    return

    def _notified(self, channel: str, payload: str) -> None:
        if self._stopping.is_set():
            return
        if channel == "smppgw_outbox":
            if payload in self._receiving:
                self.claim()
        elif self._loop is not None and self._loop.running:
            self._tick()  # a top-up or a status changed: read balances and statuses now
