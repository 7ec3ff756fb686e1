"""The queue of deliveries owed to accounts (smppgw.runtime.deliveries), with receivers of its own."""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet.task import Clock

from smppgw.model import Delivery, DeliveryKind
from smppgw.runtime.deliveries import DeliveryQueue


def receipt(n: int, account: str = "demo") -> Delivery:
    return Delivery(n, account, DeliveryKind.RECEIPT, f"m{n}", "8613800138000", 1, 1, "10690000", 0, 0, 4, 0,
                    b"id:m1 stat:DELIVRD", 2, 0, 0.0)  # fmt: skip


class Receiver:
    def __init__(self, room: int, on_send: Callable[[], None] = lambda: None) -> None:
        self.room = room
        self.batches: list[list[int]] = []
        self.on_send = on_send

    def delivery_capacity(self) -> int:
        return self.room - sum(len(b) for b in self.batches)

    def send_deliveries(self, deliveries: list[Delivery]) -> None:
        self.batches.append([d.delivery_id for d in deliveries])
        self.on_send()


def test_a_tick_of_deliveries_reaches_each_receiver_as_one_batch_within_its_room() -> None:
    done: list[list[Delivery]] = []
    queue = DeliveryQueue(Clock(), 10.0, done.append)
    first, second = Receiver(2), Receiver(10)
    queue.attach("demo", first)
    queue.attach("demo", second)
    queue.add_many([receipt(n) for n in range(1, 7)])
    assert first.batches == [[1, 3]] and second.batches == [[2, 4, 5, 6]]
    queue.acknowledged_many([receipt(1), receipt(2), receipt(3)])
    assert [[d.delivery_id for d in group] for group in done] == [[1, 2, 3]]
    assert queue.backlog("demo") == 3


def test_deliveries_meant_for_a_receiver_that_left_meanwhile_are_sent_at_the_next_pump() -> None:
    queue = DeliveryQueue(Clock(), 10.0, lambda group: None)
    leaving = Receiver(10)
    staying = Receiver(10, on_send=lambda: queue.detach("demo", leaving))
    queue.attach("demo", staying)
    queue.attach("demo", leaving)
    queue.add_many([receipt(1), receipt(2)])
    assert staying.batches == [[1]] and leaving.batches == []
    queue.attach("demo", Receiver(10))  # any attach, answer or new delivery pumps again
    assert staying.batches == [[1], [2]] and leaving.batches == []
    assert queue.backlog("demo") == 2  # both still owed until answered
