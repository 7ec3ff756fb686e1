"""submit_multi as the gateway takes it: one submit_sm per SME destination, one answer listing
the destinations that failed (SMPP 3.4 section 4.5).  Distribution lists are not supported."""

from __future__ import annotations

from . import pdu as p
from .constants import CommandStatus


def fan_out(pdu: p.SubmitMulti) -> list[p.SubmitSm | p.UnsuccessSme]:
    """For each destination, in order: the submit_sm to send it, or why it fails already
    (a distribution list: ESME_RCNTSUBDL)."""
    out: list[p.SubmitSm | p.UnsuccessSme] = []
    for dest in pdu.dest_addresses:
        if isinstance(dest, p.DistributionList):
            out.append(p.UnsuccessSme(0, 0, dest.name, CommandStatus.ESME_RCNTSUBDL))
            continue
        out.append(
            p.SubmitSm(
                sequence_number=pdu.sequence_number,
                service_type=pdu.service_type,
                source_addr_ton=pdu.source_addr_ton,
                source_addr_npi=pdu.source_addr_npi,
                source_addr=pdu.source_addr,
                dest_addr_ton=dest.ton,
                dest_addr_npi=dest.npi,
                destination_addr=dest.address,
                esm_class=pdu.esm_class,
                protocol_id=pdu.protocol_id,
                priority_flag=pdu.priority_flag,
                schedule_delivery_time=pdu.schedule_delivery_time,
                validity_period=pdu.validity_period,
                registered_delivery=pdu.registered_delivery,
                data_coding=pdu.data_coding,
                short_message=pdu.short_message,
                tlvs=pdu.tlvs,
            )
        )
    return out


def unsuccessful(single: p.SubmitSm, status: int) -> p.UnsuccessSme:
    """The answer's entry for a destination whose submit_sm was refused with ``status``."""
    return p.UnsuccessSme(single.dest_addr_ton, single.dest_addr_npi, single.destination_addr, status)


def submit_multi_resp(request: p.SubmitMulti, first_message_id: str, failed: list[p.UnsuccessSme]) -> p.SubmitMultiResp:
    """ESME_ROK with the first accepted message's id when any destination was accepted, else ESME_RSUBMITFAIL."""
    return p.SubmitMultiResp(
        sequence_number=request.sequence_number,
        command_status=CommandStatus.ESME_ROK if first_message_id else CommandStatus.ESME_RSUBMITFAIL,
        message_id=first_message_id,
        unsuccess_smes=tuple(failed),
    )
