"""Which final receipt states give the customer their money back."""

from __future__ import annotations

from collections.abc import Iterable

from smppgw.model import FINAL_STATES, STAT_WORDS, MessageState

__all__ = ["DEFAULT_REFUND_STATES", "REFUNDABLE_STAT_WORDS", "RefundPolicy"]

# Only final failure states qualify: refunding on ENROUTE/ACCEPTD would pay back a message that may
# still arrive, and DELIVRD is what the customer paid for.
REFUNDABLE_STAT_WORDS = frozenset(
    STAT_WORDS[state] for state in FINAL_STATES if state in STAT_WORDS and state is not MessageState.DELIVERED
)

# Chinese aggregators usually refund messages the network refused outright; EXPIRED and UNKNOWN
# (handset off, no receipt) are commonly billed, so they are opt-in.
DEFAULT_REFUND_STATES = frozenset({"UNDELIV", "REJECTD"})


class RefundPolicy:
    """Refund the whole charge of a message whose final receipt stat word is one of `refund_states`."""

    __slots__ = ("refund_states",)

    def __init__(self, refund_states: Iterable[str] = DEFAULT_REFUND_STATES) -> None:
        states = frozenset(word.strip().upper() for word in refund_states)
        unknown = states - REFUNDABLE_STAT_WORDS
        if unknown:
            raise ValueError(
                f"refund states must be final failure stat words ({', '.join(sorted(REFUNDABLE_STAT_WORDS))}),"
                f" got {', '.join(sorted(unknown))}"
            )
        self.refund_states: frozenset[str] = states

    def __repr__(self) -> str:
        return f"RefundPolicy({sorted(self.refund_states)!r})"

    def refund_for(self, stat: str, charged: int) -> int:
        """How much of `charged` (厘 or messages) to give back for a receipt with this stat word."""
        if isinstance(charged, bool) or not isinstance(charged, int) or charged < 0:
            raise ValueError(f"charged must be a non-negative integer, got {charged!r}")
        return charged if stat.strip().upper() in self.refund_states else 0
