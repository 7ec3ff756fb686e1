"""What the core sees of the world around it: carriers, the rig's submit gate, stored messages.

Each is a Protocol the shell satisfies (``carriers.link.CarrierLink``, the rig, a store), so the
core imports none of them and a test hands it plain objects.
"""

from __future__ import annotations

from typing import Protocol

from ..carriers.model import CarrierJob, CarrierProfile
from ..model import Message


class CarrierPort(Protocol):
    """One carrier as the core uses it: is it up, is its queue full, hand it a message, take one back."""

    @property
    def is_up(self) -> bool: ...

    @property
    def queue_depth(self) -> int: ...

    @property
    def profile(self) -> CarrierProfile: ...

    def dispatch(self, job: CarrierJob) -> bool:
        """Hand the job over or queue it; False when its queue is full (nothing is kept)."""

    def resume(self, job: CarrierJob, plan_report_at: float | None) -> None:
        """Take back a job the carrier accepted before a restart."""

    def pending(self, message_id: str) -> bool:
        """True while the message is with the carrier and not reported."""

    def cancel(self, message_id: str) -> bool:
        """Forget an unreported message (it will never be reported); False if unknown."""


class SubmitGate(Protocol):
    """The rig's per-carrier gate (scripted throttling): a status to refuse a submit with, or 0."""

    def __call__(self, carrier: str, now: float) -> int: ...


def open_gate(carrier: str, now: float) -> int:
    """The gate of a gateway without a scenario: every submit passes."""
    return 0


class StoredMessages(Protocol):
    """The store's message lookup (messages no longer in memory)."""

    def get_message(self, message_id: str) -> Message | None: ...
