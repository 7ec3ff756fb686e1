"""Microseconds per call of the codec on the gateway's hot path: decode submit_sm, encode
submit_sm_resp and deliver_sm, each by its fast path and by the schema-driven reference.

    python benchmarks/codec_hot_path.py
"""

from __future__ import annotations

import timeit

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import Tag

SUBMIT = p.SubmitSm(
    sequence_number=7,
    source_addr_ton=0,
    source_addr_npi=1,
    source_addr="10690000",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr="13800138100",
    registered_delivery=1,
    short_message=b"smppgw bench 1: hello, your code is 0001",
)
RESP = p.SubmitSmResp(sequence_number=7, message_id="0000000000000a1")
DELIVER = p.DeliverSm(
    sequence_number=9,
    source_addr_ton=1,
    source_addr_npi=1,
    source_addr="13800138100",
    destination_addr="10690000",
    esm_class=4,
    short_message=b"id:0000000000000a1 sub:001 dlvrd:001 submit date:2611272200 done date:2611272200 "
    b"stat:DELIVRD err:000 text:smppgw bench 1: hel",
    tlvs=(p.cstr_tlv(Tag.RECEIPTED_MESSAGE_ID, "0000000000000a1"), p.int_tlv(Tag.MESSAGE_STATE, 2)),
)


def per_call_us(fn: object, n: int = 50_000) -> float:
    return min(timeit.repeat(fn, number=n, repeat=5)) / n * 1e6  # type: ignore[arg-type]


def main() -> None:
    wire = codec.encode(SUBMIT)
    cid = int(p.SubmitSm.command_id)
    rows = [
        ("decode submit_sm", lambda: codec.decode(wire), lambda: codec.decode_by_schema(p.SubmitSm, wire, cid, 0, 7)),
        ("encode submit_sm_resp", lambda: codec.encode(RESP), lambda: codec.encode_body(RESP)),
        ("encode deliver_sm", lambda: codec.encode(DELIVER), lambda: codec.encode_body(DELIVER)),
    ]
    print(f"{'operation':24} {'fast path us':>13} {'schema path us':>15}")
    for name, fast, reference in rows:
        print(f"{name:24} {per_call_us(fast):13.2f} {per_call_us(reference):15.2f}")


if __name__ == "__main__":
    main()
