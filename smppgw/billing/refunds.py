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
    """Refund the whole charge of a message whose final state is one of ``states``; the configuration
    names them by their receipt stat words (`refund_states`)."""

    __slots__ = ("states",)

    def __init__(self, refund_states: Iterable[str] = DEFAULT_REFUND_STATES) -> None:
        words = frozenset(word.strip().upper() for word in refund_states)
        unknown = words - REFUNDABLE_STAT_WORDS
        if unknown:
            raise ValueError(
                f"refund states must be final failure stat words ({', '.join(sorted(REFUNDABLE_STAT_WORDS))}),"
                f" got {', '.join(sorted(unknown))}"
            )
        self.states: frozenset[MessageState] = frozenset(s for s, word in STAT_WORDS.items() if word in words)

    @property
    def refund_states(self) -> frozenset[str]:
        """The stat words of the states refunded (as the configuration writes them)."""
        return frozenset(STAT_WORDS[s] for s in self.states)

    def __repr__(self) -> str:
        return f"RefundPolicy({sorted(self.refund_states)!r})"

    def refund_for(self, state: MessageState, charged: int) -> int:
        """How much of `charged` (厘 or messages) to give back for a message that ended in `state`."""
        if isinstance(charged, bool) or not isinstance(charged, int) or charged < 0:
            raise ValueError(f"charged must be a non-negative integer, got {charged!r}")
        return charged if state in self.states else 0
