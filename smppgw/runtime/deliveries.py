"""Deliveries owed to accounts (receipts and mobile-originated messages): kept in order, spread
over the account's bound receiver/transceiver sessions, resent when not acknowledged, and
deleted from the store only after a deliver_sm_resp with ESME_ROK."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Protocol

from ..model import Delivery
from ..protocol.constants import ESM_CLASS_RECEIPT
from ..timers import Clock


class Receiver(Protocol):
    """A bound RX/TRX session as the queue sees it."""

    def delivery_capacity(self) -> int:
        """How many more deliveries it may have in flight now."""

    def send_deliveries(self, deliveries: list[Delivery]) -> None:
        """Send these (no more than its capacity allowed), in order: one write for them all."""


@dataclass(slots=True)
class _Outbox:
    pending: dict[int, Delivery] = field(default_factory=dict)
    ready: list[int] = field(default_factory=list)  # heap of delivery ids: oldest first
    in_flight: set[int] = field(default_factory=set)
    receivers: list[Receiver] = field(default_factory=list)
    turn: int = 0


class DeliveryQueue:
    def __init__(
        self,
        clock: Clock,
        retry_interval: float,
        on_done: Callable[[list[Delivery]], None],
        *,
        on_receivers: Callable[[str, int], None] | None = None,
    ) -> None:
        self._clock = clock
        self._retry_interval = retry_interval
        self._on_done = on_done
        self._boxes: dict[str, _Outbox] = {}
        # Told how many receivers an account has here after each attach and detach (a cluster node
        # claims only the receipts it can deliver).
        self.on_receivers = on_receivers

    def _box(self, account: str) -> _Outbox:
        box = self._boxes.get(account)
        if box is None:
            box = self._boxes[account] = _Outbox()
        return box

    # ---- what is owed -------------------------------------------------------------------

    def add(self, delivery: Delivery) -> None:
        self.add_many((delivery,))

    def add_many(self, deliveries: Iterable[Delivery]) -> None:
        """Deliveries now owed (a timer tick's receipts): each account's receivers are offered
        them once, so a receiver gets its share in one batch."""
        accounts: dict[str, None] = {}
        for delivery in deliveries:
            box = self._box(delivery.account)
            box.pending[delivery.delivery_id] = delivery
            heapq.heappush(box.ready, delivery.delivery_id)
            accounts[delivery.account] = None
        for account in accounts:
            self.pump(account)

    def backlog(self, account: str | None = None) -> int:
        if account is not None:
            box = self._boxes.get(account)
            return len(box.pending) if box else 0
        return sum(len(b.pending) for b in self._boxes.values())

    # ---- who can take them ----------------------------------------------------------------

    def attach(self, account: str, receiver: Receiver) -> None:
        self._box(account).receivers.append(receiver)
        if self.on_receivers is not None:
            self.on_receivers(account, self.receivers(account))
        self.pump(account)

    def detach(self, account: str, receiver: Receiver) -> None:
        box = self._boxes.get(account)
        if box is not None and receiver in box.receivers:
            box.receivers.remove(receiver)
            if self.on_receivers is not None:
                self.on_receivers(account, len(box.receivers))

    def receipt_pending(self, account: str, message_id: str) -> bool:
        """A receipt of the message is stored and not yet acknowledged by the account's client."""
        box = self._boxes.get(account)
        return box is not None and any(
            d.kind == "receipt" and d.message_id == message_id and d.esm_class & ESM_CLASS_RECEIPT
            for d in box.pending.values()
        )

    def has(self, delivery_id: int, account: str) -> bool:
        box = self._boxes.get(account)
        return box is not None and delivery_id in box.pending

    def drop(self, account: str) -> list[Delivery]:
        """Forget what is owed to ``account`` here (another node will deliver it); returns it."""
        box = self._boxes.get(account)
        if box is None:
            return []
        dropped = list(box.pending.values())
        box.pending.clear()
        box.ready.clear()
        box.in_flight.clear()
        return dropped

    def receivers(self, account: str) -> int:
        box = self._boxes.get(account)
        return len(box.receivers) if box else 0

    # ---- outcomes -------------------------------------------------------------------------

    def acknowledged(self, delivery: Delivery) -> None:
        self.acknowledged_many((delivery,))

    def acknowledged_many(self, deliveries: Iterable[Delivery]) -> None:
        """Answered with ESME_ROK (the deliver_sm_resp of one socket read): done as one group."""
        done: list[Delivery] = []
        accounts: dict[str, None] = {}
        for delivery in deliveries:
            box = self._box(delivery.account)
            box.in_flight.discard(delivery.delivery_id)
            if box.pending.pop(delivery.delivery_id, None) is not None:
                done.append(delivery)
            accounts[delivery.account] = None
        if done:
            self._on_done(done)
        for account in accounts:
            self.pump(account)

    def failed(self, delivery: Delivery) -> None:
        """Refused, timed out, or its session went away: try again after the retry interval."""
        box = self._box(delivery.account)
        box.in_flight.discard(delivery.delivery_id)
        if delivery.delivery_id in box.pending:
            self._clock.callLater(self._retry_interval, self._requeue, delivery)

    def _requeue(self, delivery: Delivery) -> None:
        box = self._box(delivery.account)
        if delivery.delivery_id in box.pending and delivery.delivery_id not in box.in_flight:
            heapq.heappush(box.ready, delivery.delivery_id)
            self.pump(delivery.account)

    def pump(self, account: str) -> None:
        box = self._boxes.get(account)
        if box is None or not box.receivers:
            return
        receivers = list(box.receivers)  # a receiver may go away while it sends
        n = len(receivers)
        room = [receiver.delivery_capacity() for receiver in receivers]
        batches: list[list[Delivery]] = [[] for _ in receivers]
        idle = 0
        while box.ready and idle < n:
            turn = box.turn % n
            box.turn += 1
            if room[turn] <= 0:
                idle += 1
                continue
            idle = 0
            delivery_id = heapq.heappop(box.ready)
            delivery = box.pending.get(delivery_id)
            if delivery is None or delivery_id in box.in_flight:
                continue
            box.in_flight.add(delivery_id)
            room[turn] -= 1
            batches[turn].append(delivery)
        for receiver, batch in zip(receivers, batches, strict=True):
            if not batch:
                continue
            if receiver in box.receivers:
                receiver.send_deliveries(batch)
            else:  # it went away while another receiver sent: these wait for the next pump
                for delivery in batch:
                    box.in_flight.discard(delivery.delivery_id)
                    heapq.heappush(box.ready, delivery.delivery_id)
