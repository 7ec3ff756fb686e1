"""Errors of the CMPP layer, split by whose fault they are (as the SMPP layer does)."""

from __future__ import annotations

from .constants import result_name


class CmppDecodeError(Exception):
    """The peer sent bytes that are not a valid CMPP packet.

    ``result`` is the Result to answer with (1 bad structure, 2 bad command, 4 bad length,
    6 too long, 7 bad Service_Id, 10 bad Src_Id, 11 bad Msg_src, 13 bad Dest_terminal_Id ...).
    ``command_id`` and ``sequence_id`` are set when the header could be read, so an answer can
    echo them.
    """

    def __init__(
        self,
        result: int,
        detail: str,
        *,
        command_id: int | None = None,
        sequence_id: int | None = None,
    ) -> None:
        super().__init__(f"{result_name(result)}: {detail}")
        self.result = result
        self.detail = detail
        self.command_id = command_id
        self.sequence_id = sequence_id


class FramingError(CmppDecodeError):
    """Total_Length is outside the allowed range: the stream can no longer be framed."""


class LocalProtocolError(Exception):
    """Our own code asked for something CMPP cannot carry or does not allow (a bug)."""
