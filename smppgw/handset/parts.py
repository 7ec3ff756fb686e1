"""One accepted message as the handset receives it: who sent it, its octets and which part of a
long message it says it is (UDH with an 8- or 16-bit reference, SAR TLVs, or none)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from ..model import Message
from ..protocol.concat import concat_info, split_udh
from ..protocol.constants import ESM_CLASS_UDHI, Tag
from ..protocol.pdu import Tlv

__all__ = ["Method", "ReceivedPart", "received"]

# What a part costs to keep besides its octets (the record, its strings, the two deques' slots).
PART_OVERHEAD = 200


class Method(StrEnum):
    """How the message says which long message it belongs to (or that it is one on its own)."""

    UDH8 = "udh8"  # UDH, IEI 0x00: 8-bit reference
    UDH16 = "udh16"  # UDH, IEI 0x08: 16-bit reference
    SAR = "sar"  # sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs
    PAYLOAD = "message_payload"  # the whole text in one message_payload TLV (the gateway splits it)
    SINGLE = "single"  # one short_message


METHOD_NAMES = {
    Method.UDH8: "8-bit UDH",
    Method.UDH16: "16-bit UDH",
    Method.SAR: "SAR TLVs",
    Method.PAYLOAD: "message_payload",
    Method.SINGLE: "single",
}


@dataclass(frozen=True, slots=True)
class ReceivedPart:
    message_id: str
    account: str
    source_addr: str
    msisdn: str
    data_coding: int
    body: bytes  # the text's octets, UDH removed
    method: Method
    reference: int  # 0 unless the part is of a long message
    total: int  # 1 unless the part is of a long message
    part: int  # 1-based
    segments: int  # SMS the gateway counts for it
    at: float

    @property
    def concatenated(self) -> bool:
        return self.method in (Method.UDH8, Method.UDH16, Method.SAR)

    @property
    def size(self) -> int:
        """Bytes it holds, for the inbox's bound."""
        return len(self.body) + len(self.message_id) + len(self.account) + len(self.source_addr) + PART_OVERHEAD


def received(message: Message, tlvs: Sequence[Tlv], at: float) -> ReceivedPart:
    """The part of an accepted message (its body is the text the gateway took, directive stripped;
    ``tlvs`` are the submit's, for SAR and message_payload)."""
    body = message.body
    try:
        info = concat_info(message.esm_class, body, tlvs)
        if message.esm_class & ESM_CLASS_UDHI:
            _, body = split_udh(body)
    except ValueError:
        # The gateway refuses malformed UDH and SAR; a message that still has one is shown whole.
        info = None
    if info is None:
        payload = any(t.tag == Tag.MESSAGE_PAYLOAD for t in tlvs)
        method, reference, total, part = (Method.PAYLOAD if payload else Method.SINGLE), 0, 1, 1
    else:
        method = {8: Method.UDH8, 16: Method.UDH16}.get(info.ref_bits, Method.SAR)
        reference, total, part = info.ref, info.total, info.seqnum
    return ReceivedPart(
        message_id=message.message_id,
        account=message.account,
        source_addr=message.source_addr,
        msisdn=message.msisdn,
        data_coding=message.data_coding,
        body=body,
        method=method,
        reference=reference,
        total=total,
        part=part,
        segments=message.segments,
        at=at,
    )
