"""The handset's view: what each destination number's phone would show of the messages accepted
for it, long messages put together from their parts, decoded in their coding, broken ones flagged
with the cause.  Pure: no Twisted, times are arguments."""

from .inbox import HandsetInbox
from .parts import Method, ReceivedPart, received
from .reassembly import Cause, Problem, ShownMessage, reassemble

__all__ = ["Cause", "HandsetInbox", "Method", "Problem", "ReceivedPart", "ShownMessage", "reassemble", "received"]
