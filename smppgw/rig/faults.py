"""Protocol faults injected on an account's binds: error answers by share, generic_nack bursts,
delayed or dropped submit_sm_resp, and an unbind from the gateway's side.

Settings (admin API JSON or a scenario's ``[[fault]]`` table), every key optional::

    throttled_percent = 10     # share of submits answered ESME_RTHROTTLED (nothing accepted)
    msgqful_percent = 5        # ... ESME_RMSGQFUL
    syserr_percent = 1         # ... ESME_RSYSERR
    generic_nack_burst = 3     # the next 3 requests get generic_nack ESME_RSYSERR
    resp_delay_s = 2.5         # submit_sm_resp of accepted messages held back this long
    drop_resp_percent = 5      # share of accepted messages whose submit_sm_resp is never sent
    unbind_after_s = 30        # the gateway unbinds each bind this long after the faults are set
    half_open_after_s = 5      # ... stops reading and writing on each bind, leaving it open
    split_bytes = 3            # what the gateway sends goes out in TCP segments of 3 octets
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING
from weakref import WeakSet

from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger

from ..model import Delivery
from ..protocol import pdu as p
from ..protocol.constants import CommandStatus
from .receipts import ReceiptShaper

if TYPE_CHECKING:
    from ..server.protocol import SMPPServerProtocol

log = Logger()
S = CommandStatus


@dataclass(frozen=True, slots=True)
class BindFaults:
    throttled_percent: float = 0.0
    msgqful_percent: float = 0.0
    syserr_percent: float = 0.0
    generic_nack_burst: int = 0
    resp_delay_s: float = 0.0
    drop_resp_percent: float = 0.0
    unbind_after_s: float | None = None
    half_open_after_s: float | None = None
    split_bytes: int = 0


_CHUNK_GAP_S = 0.005  # between the chunks of a split write: long enough for each to leave as its own segment
_WHOLE = frozenset({"generic_nack_burst", "split_bytes"})
_PERCENTS = ("throttled_percent", "msgqful_percent", "syserr_percent", "drop_resp_percent")


def faults_from_dict(data: Mapping[str, object], where: str) -> BindFaults:
    """Validate fault settings; errors name ``where.key``."""
    known = {f.name for f in fields(BindFaults)}
    values: dict[str, object] = {}
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown fault (expected one of {', '.join(sorted(known))})")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{where}.{key}: must be a number >= 0")
        if key in _PERCENTS and value > 100:
            raise ValueError(f"{where}.{key}: must be at most 100")
        if key in _WHOLE and not isinstance(value, int):
            raise ValueError(f"{where}.{key}: must be a whole number")
        values[key] = value if key in _WHOLE else float(value)
    faults = BindFaults(**values)  # type: ignore[arg-type]
    if faults.throttled_percent + faults.msgqful_percent + faults.syserr_percent > 100:
        raise ValueError(f"{where}: throttled_percent + msgqful_percent + syserr_percent must be at most 100")
    return faults


class _Armed:
    """The faults of one account, with what is left of its nack burst and its unbind timer."""

    def __init__(self, faults: BindFaults) -> None:
        self.faults = faults
        self.nacks_left = faults.generic_nack_burst
        self.unbind_call: IDelayedCall | None = None
        self.half_open_call: IDelayedCall | None = None


class FaultInjector:
    """Consulted by the SMPP protocol for each request and each response it is about to send."""

    def __init__(self, clock: IReactorTime, rng: random.Random, receipts: ReceiptShaper) -> None:
        self._clock = clock
        self._rng = rng
        self._armed: dict[str, _Armed] = {}
        self.receipts = receipts
        self._silent: WeakSet[SMPPServerProtocol] = WeakSet()  # half-open: nothing read, nothing written
        self._chunks: dict[SMPPServerProtocol, deque[bytes]] = {}  # split writes not yet sent

    def set(self, account: str, faults: BindFaults, sessions_of: Callable[[str], list[SMPPServerProtocol]]) -> None:
        self.clear(account)
        armed = self._armed[account] = _Armed(faults)
        if faults.unbind_after_s is not None:
            armed.unbind_call = self._clock.callLater(faults.unbind_after_s, self._unbind, account, sessions_of)
        if faults.half_open_after_s is not None:
            armed.half_open_call = self._clock.callLater(
                faults.half_open_after_s, self._half_open, account, sessions_of
            )
        log.info("rig: faults on {account}: {faults}", account=account, faults=faults)

    def clear(self, account: str) -> bool:
        armed = self._armed.pop(account, None)
        if armed is None:
            return False
        for call in (armed.unbind_call, armed.half_open_call):
            if call is not None and call.active():
                call.cancel()
        return True

    def get(self, account: str) -> BindFaults | None:
        armed = self._armed.get(account)
        return None if armed is None else armed.faults

    def _unbind(self, account: str, sessions_of: Callable[[str], list[SMPPServerProtocol]]) -> None:
        for proto in sessions_of(account):
            proto.unbind()

    def _half_open(self, account: str, sessions_of: Callable[[str], list[SMPPServerProtocol]]) -> None:
        # Clearing the faults does not revive these connections: a half-open peer stays dead.
        for proto in sessions_of(account):
            log.info("rig: {peer} ({account}) goes half-open", peer=proto.peer, account=account)
            self._silent.add(proto)
            if proto.transport is not None:
                proto.transport.pauseProducing()  # type: ignore[attr-defined]

    def outgoing(self, proto: SMPPServerProtocol, data: bytes) -> bool:
        """True when the rig takes over writing ``data`` (in small chunks, or not at all)."""
        if proto in self._silent:
            return True
        armed = self._armed.get(proto.account or "")
        size = armed.faults.split_bytes if armed is not None else 0
        queue = self._chunks.get(proto)
        if not size and queue is None:
            return False
        if queue is None:
            queue = self._chunks[proto] = deque()
            self._clock.callLater(0, self._drip, proto)
        step = size or len(data)  # faults cleared while chunks wait: what follows keeps its place
        queue.extend(data[i : i + step] for i in range(0, len(data), step))
        return True

    def _drip(self, proto: SMPPServerProtocol) -> None:
        queue = self._chunks.get(proto)
        if queue and proto.transport is not None and proto not in self._silent:
            proto.transport.write(queue.popleft())
            if queue:
                self._clock.callLater(_CHUNK_GAP_S, self._drip, proto)
                return
        self._chunks.pop(proto, None)

    def intercept(self, proto: SMPPServerProtocol, pdu: p.Pdu) -> p.Pdu | None:
        """The answer to send instead of handling ``pdu``, or None to handle it normally."""
        self.receipts.note_request(proto, pdu)
        armed = self._armed.get(proto.account or "")
        if armed is None:
            return None
        if armed.nacks_left > 0:
            armed.nacks_left -= 1
            return p.GenericNack(sequence_number=pdu.sequence_number, command_status=S.ESME_RSYSERR)
        if not isinstance(pdu, p.SubmitSm | p.DataSm):
            return None
        f = armed.faults
        roll = self._rng.random() * 100
        for share, status in (
            (f.throttled_percent, S.ESME_RTHROTTLED),
            (f.msgqful_percent, S.ESME_RMSGQFUL),
            (f.syserr_percent, S.ESME_RSYSERR),
        ):
            if roll < share:
                resp_cls = p.SubmitSmResp if isinstance(pdu, p.SubmitSm) else p.DataSmResp
                return resp_cls(sequence_number=pdu.sequence_number, command_status=status)
            roll -= share
        return None

    def hold(self, proto: SMPPServerProtocol, response: p.Pdu) -> bool:
        """True when the rig takes over sending ``response`` (later, or never)."""
        armed = self._armed.get(proto.account or "")
        if armed is None or not isinstance(response, p.SubmitSmResp | p.DataSmResp) or response.command_status:
            return self.receipts.hold_resp(proto, response)
        f = armed.faults
        if f.drop_resp_percent and self._rng.random() * 100 < f.drop_resp_percent:
            return True
        if f.resp_delay_s > 0:
            self._clock.callLater(f.resp_delay_s, proto.respond_now, response)
            return True
        return self.receipts.hold_resp(proto, response)

    def deliver(self, proto: SMPPServerProtocol, delivery: Delivery, pdu: p.DeliverSm) -> bool:
        """True when the rig takes over sending a receipt (see smppgw.rig.receipts)."""
        return self.receipts.deliver(proto, delivery, pdu)
