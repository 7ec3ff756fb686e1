"""Receipt shapes that break clients, per account: receipts for only the first or last part of a
long message, duplicates, receipts out of order, a receipt before its submit_sm_resp, receipts
as data_sm, and carrier-style codes in ``err``.

Settings (admin API JSON ``/api/accounts/{id}/receipts``), every key optional::

    parts = "all"            # "first" / "last": only that part of a concatenated message gets receipts
    duplicates = 1           # extra copies of every receipt
    out_of_order = 3         # receipts are held in groups of 3 (or 1 s) and sent newest first
    before_resp = true       # a submit_sm_resp waits (up to 5 s) until its message's receipt is out
    pdu = "data_sm"          # receipts as data_sm (text in message_payload) instead of deliver_sm
    err = "carrier"          # err: carries the carrier's code (e.g. MK:0001) instead of 3 digits
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from ..model import Delivery, Message
from ..protocol import pdu as p
from ..protocol.concat import ConcatInfo, concat_info
from ..protocol.constants import Tag
from ..server.hooks import HostedConnection

_ERR_RE = re.compile(rb"(?<=err:)\S+")
_CHOICES = {"parts": ("all", "first", "last"), "pdu": ("deliver_sm", "data_sm"), "err": ("smpp", "carrier")}
_GROUP_WAIT_S = 1.0  # an incomplete out-of-order group goes out after this long
_RESP_WAIT_S = 5.0  # a held submit_sm_resp goes out after this long even without its receipt
_MEMORY = 100_000  # part numbers remembered per gateway (oldest forgotten first)


@dataclass(frozen=True, slots=True)
class ReceiptShape:
    parts: str = "all"
    duplicates: int = 0
    out_of_order: int = 0
    before_resp: bool = False
    pdu: str = "deliver_sm"
    err: str = "smpp"


def shape_from_dict(data: Mapping[str, object], where: str) -> ReceiptShape:
    """Validate receipt-shape settings; errors name ``where.key``."""
    known = {f.name for f in fields(ReceiptShape)}
    values: dict[str, object] = {}
    for key, value in data.items():
        if key not in known:
            raise ValueError(f"{where}.{key}: unknown receipt shape (expected one of {', '.join(sorted(known))})")
        if key in _CHOICES:
            if value not in _CHOICES[key]:
                raise ValueError(f"{where}.{key}: must be one of {', '.join(_CHOICES[key])}")
        elif key == "before_resp":
            if not isinstance(value, bool):
                raise ValueError(f"{where}.{key}: must be true or false")
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise ValueError(f"{where}.{key}: must be a whole number from 0 to 100")
        values[key] = value
    return ReceiptShape(**values)  # type: ignore[arg-type]


@dataclass(slots=True)
class _Group:
    items: list[tuple[HostedConnection, Delivery, p.DeliverSm]]
    call: IDelayedCall | None = None


class ReceiptShaper:
    """Called by the fault injector for each submit, each submit_sm_resp and each receipt."""

    def __init__(self, clock: IReactorTime, find_message: Callable[[str], Message | None]) -> None:
        """``find_message``: the gateway's message by id (for its carrier's code)."""
        self._clock = clock
        self._find_message = find_message
        self._shapes: dict[str, ReceiptShape] = {}
        self._submits: dict[tuple[int, int], ConcatInfo] = {}  # (session, sequence) -> part
        self._parts: OrderedDict[str, ConcatInfo] = OrderedDict()  # message id -> part
        self._held_resps: dict[str, tuple[HostedConnection, p.Pdu, IDelayedCall]] = {}
        self._groups: dict[int, _Group] = {}  # session -> receipts held for reordering

    def set(self, account: str, shape: ReceiptShape) -> None:
        self._shapes[account] = shape

    def clear(self, account: str) -> bool:
        return self._shapes.pop(account, None) is not None

    def get(self, account: str) -> ReceiptShape | None:
        return self._shapes.get(account)

    # ---- submits and their responses ------------------------------------------------------

    def note_request(self, proto: HostedConnection, pdu: p.Pdu) -> None:
        shape = self._shapes.get(proto.account or "")
        if shape is None or shape.parts == "all" or not isinstance(pdu, p.SubmitSm):
            return
        try:
            info = concat_info(pdu.esm_class, pdu.payload, pdu.tlvs)
        except ValueError:
            return  # the gateway refuses it anyway
        if info is not None:
            self._submits[(id(proto), pdu.sequence_number)] = info

    def hold_resp(self, proto: HostedConnection, response: p.Pdu) -> bool:
        """True when the response waits for its message's receipt."""
        if not isinstance(response, p.SUBMIT_RESPS):
            return False
        info = self._submits.pop((id(proto), response.sequence_number), None)
        if info is not None and response.message_id:
            self._parts[response.message_id] = info
            if len(self._parts) > _MEMORY:
                self._parts.popitem(last=False)
        shape = self._shapes.get(proto.account or "")
        if shape is None or not shape.before_resp or response.command_status or not response.message_id:
            return False
        call = self._clock.callLater(_RESP_WAIT_S, self._release_resp, response.message_id)
        self._held_resps[response.message_id] = (proto, response, call)
        return True

    def _release_resp(self, message_id: str) -> None:
        held = self._held_resps.pop(message_id, None)
        if held is None:
            return
        proto, response, call = held
        if call.active():
            call.cancel()
        proto.respond_now(response)

    # ---- receipts -------------------------------------------------------------------------

    def deliver(self, proto: HostedConnection, delivery: Delivery, pdu: p.DeliverSm) -> bool:
        """True when the shaper takes over sending this receipt (changed, later, or never)."""
        shape = self._shapes.get(delivery.account)
        if shape is None or delivery.kind != "receipt":
            return False
        info = self._parts.get(delivery.message_id)
        if info is not None and info.total > 1:
            wanted = 1 if shape.parts == "first" else info.total if shape.parts == "last" else info.seqnum
            if info.seqnum != wanted:
                # Never sent, but settled: the client is simply never told about this part.
                self._clock.callLater(0, proto.delivery_acknowledged, delivery)
                return True
        if shape.out_of_order > 1:
            group = self._groups.setdefault(id(proto), _Group([]))
            group.items.append((proto, delivery, pdu))
            if len(group.items) >= shape.out_of_order:
                self._flush_group(id(proto))
            elif group.call is None:
                group.call = self._clock.callLater(_GROUP_WAIT_S, self._flush_group, id(proto))
            return True
        self._send(proto, delivery, pdu, shape)
        return True

    def _flush_group(self, key: int) -> None:
        group = self._groups.pop(key, None)
        if group is None:
            return
        if group.call is not None and group.call.active():
            group.call.cancel()
        for proto, delivery, pdu in reversed(group.items):
            shape = self._shapes.get(delivery.account, ReceiptShape())
            self._send(proto, delivery, pdu, shape)

    def _send(self, proto: HostedConnection, delivery: Delivery, pdu: p.DeliverSm, shape: ReceiptShape) -> None:
        if not proto.session.can_receive:
            proto.delivery_failed(delivery)  # the session went away meanwhile: resent later
            return
        out: p.DeliverSm | p.DataSm = self._reshape(delivery, pdu, shape)
        proto.send_delivery_pdu(delivery, out)
        for _ in range(shape.duplicates):
            proto.send_extra(out)  # its answer is not waited for
        self._release_resp(delivery.message_id)

    def _reshape(self, delivery: Delivery, pdu: p.DeliverSm, shape: ReceiptShape) -> p.DeliverSm | p.DataSm:
        body = pdu.short_message or pdu.tlv(Tag.MESSAGE_PAYLOAD) or b""
        if shape.err == "carrier":
            message = self._find_message(delivery.message_id)
            if message is not None and message.code:
                body = _ERR_RE.sub(message.code.encode("ascii", "replace"), body, count=1)
                pdu = pdu.evolve(short_message=body)
        if shape.pdu == "deliver_sm":
            return pdu
        tlvs = tuple(t for t in pdu.tlvs if t.tag != Tag.MESSAGE_PAYLOAD)
        return p.DataSm(
            sequence_number=pdu.sequence_number,
            source_addr_ton=pdu.source_addr_ton,
            source_addr_npi=pdu.source_addr_npi,
            source_addr=pdu.source_addr,
            dest_addr_ton=pdu.dest_addr_ton,
            dest_addr_npi=pdu.dest_addr_npi,
            destination_addr=pdu.destination_addr,
            esm_class=pdu.esm_class,
            data_coding=pdu.data_coding,
            tlvs=(*tlvs, p.Tlv(Tag.MESSAGE_PAYLOAD, body)),
        )
