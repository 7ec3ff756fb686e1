"""Errors of the SMPP layer, split by whose fault they are (as h11 does)."""

from __future__ import annotations

from .constants import CommandStatus, status_name


class PduDecodeError(Exception):
    """The peer sent bytes that are not a valid PDU.

    Carries the command_status the server must answer with, and the command_id and
    sequence_number when they could be read, so the answer can echo them.
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        command_id: int | None = None,
        sequence_number: int | None = None,
    ) -> None:
        super().__init__(f"{status_name(status)}: {detail}")
        self.status = status
        self.detail = detail
        self.command_id = command_id
        self.sequence_number = sequence_number


class FramingError(PduDecodeError):
    """command_length is outside the allowed range: the stream can no longer be framed."""

    def __init__(self, detail: str, *, sequence_number: int | None = None) -> None:
        super().__init__(CommandStatus.ESME_RINVCMDLEN, detail, sequence_number=sequence_number)


class LocalProtocolError(Exception):
    """Our own code asked the session to do something SMPP does not allow (a bug)."""
