"""What a submit would cost before it is made: carrier, parts and price of one message, and
whether a balance covers a whole batch (the customer HTTP interface checks a request's money as a
whole before it accepts any of it).  Pure: reads the gateway's routes and tariffs, changes nothing."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..billing.ledger import MESSAGES
from ..protocol import pdu as p
from ..protocol.coding import count_segments
from ..protocol.concat import concat_info
from ..protocol.constants import CommandStatus
from ..routing.router import NoRoute
from .gateway import Gateway
from .outcomes import Rejected


@dataclass(frozen=True, slots=True)
class Quote:
    carrier: str
    segments: int
    unit_price: int  # 厘 per segment
    cost: int  # what the charge takes: segments x price in 厘, or segments on a message-count account


def quote(core: Gateway, account_id: str, pdu: p.SubmitSm, now: float) -> Quote | Rejected:
    """The carrier, parts and price ``core.submit`` would charge for ``pdu`` (refusals of routing and tariff)."""
    state = core.accounts.get(account_id)
    if state is None:
        return Rejected(CommandStatus.ESME_RINVSYSID, "no such account")
    decision = core.router.route(pdu.destination_addr, core.carrier_up)
    if isinstance(decision, NoRoute):
        return Rejected(CommandStatus.ESME_RINVDSTADR, f"no route: {decision.reason}")
    price = core.prices.price(state.config.rate_plan, decision.carrier, now)
    if price is None:
        return Rejected(CommandStatus.ESME_RSUBMITFAIL, f"no tariff for {decision.carrier}")
    try:
        concat = concat_info(pdu.esm_class, pdu.payload, pdu.tlvs)
    except ValueError as err:
        return Rejected(CommandStatus.ESME_RINVOPTPARAMVAL, str(err))
    segments = count_segments(pdu.data_coding, pdu.payload, has_udh=concat is not None)
    wallet = core.wallets.get(account_id)
    by_count = wallet is not None and wallet.unit == MESSAGES
    return Quote(decision.carrier, segments, price, segments if by_count else segments * price)


def covers(balance: int, quotes: Iterable[Quote]) -> bool:
    """Whether ``balance`` pays for every quoted message at once (all or nothing)."""
    return sum(q.cost for q in quotes) <= balance
