"""The deliver_sm of a receipt or MO and the submit_multi fan-out, as pure builders."""

from __future__ import annotations

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S
from smppgw.protocol.constants import Tag
from smppgw.protocol.multi import fan_out, submit_multi_resp, unsuccessful
from smppgw.protocol.receipt import deliver_sm, receipt_tlvs


def test_receipt_tlvs_name_the_message_its_state_and_an_error_as_an_smsc_specific_code():
    assert receipt_tlvs("42", 2, 0) == (p.Tlv(Tag.RECEIPTED_MESSAGE_ID, b"42\0"), p.Tlv(Tag.MESSAGE_STATE, b"\x02"))
    *_, code = receipt_tlvs("42", 5, 0x0123)
    assert code == p.Tlv(Tag.NETWORK_ERROR_CODE, b"\x08\x01\x23")


def fields(body: bytes) -> dict[str, object]:
    return {
        "sequence_number": 9,
        "source_addr_ton": 1,
        "source_addr_npi": 1,
        "source_addr": "13800138000",
        "dest_addr_ton": 0,
        "dest_addr_npi": 0,
        "destination_addr": "10690000",
        "esm_class": 0x04,
        "data_coding": 0,
        "body": body,
        "tlvs": (p.Tlv(Tag.MESSAGE_STATE, b"\x02"),),
    }


def test_a_body_of_254_octets_fits_short_message_and_a_longer_one_goes_in_message_payload():
    short = deliver_sm(**fields(b"x" * 254))  # type: ignore[arg-type]
    assert short.short_message == b"x" * 254 and short.tlv(Tag.MESSAGE_PAYLOAD) is None
    long = deliver_sm(**fields(b"y" * 255))  # type: ignore[arg-type]
    assert long.short_message == b"" and long.tlv(Tag.MESSAGE_PAYLOAD) == b"y" * 255
    assert long.tlv(Tag.MESSAGE_STATE) == b"\x02"
    assert codec.decode(codec.encode(long)) == long


def test_submit_multi_fans_out_per_sme_in_order_and_refuses_distribution_lists():
    multi = p.SubmitMulti(
        sequence_number=5,
        source_addr="10690000",
        dest_addresses=(p.SmeAddress(1, 1, "13800138000"), p.DistributionList("team"), p.SmeAddress(1, 1, "139")),
        registered_delivery=1,
        short_message=b"hi",
    )
    first, refused, last = fan_out(multi)
    assert isinstance(first, p.SubmitSm) and first.destination_addr == "13800138000"
    assert first.sequence_number == 5 and first.short_message == b"hi" and first.registered_delivery == 1
    assert refused == p.UnsuccessSme(0, 0, "team", S.ESME_RCNTSUBDL)
    assert isinstance(last, p.SubmitSm) and last.destination_addr == "139"
    failed = [refused, unsuccessful(last, S.ESME_RINVDSTADR)]
    ok = submit_multi_resp(multi, "0001", failed)
    assert ok.command_status == S.ESME_ROK and ok.message_id == "0001" and len(ok.unsuccess_smes) == 2
    assert submit_multi_resp(multi, "", failed).command_status == S.ESME_RSUBMITFAIL
