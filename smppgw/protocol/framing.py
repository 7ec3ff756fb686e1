"""Split a byte stream into whole PDUs, bounded by a maximum command_length."""

from __future__ import annotations

from .codec import HEADER, HEADER_SIZE
from .errors import FramingError

DEFAULT_MAX_PDU_SIZE = 64 * 1024


class FrameBuffer:
    """Accumulates bytes and hands out complete PDUs.

    A command_length below 16 or above ``max_pdu_size`` raises FramingError: after
    that the stream cannot be re-synchronised and the connection must close.
    """

    __slots__ = ("_buf", "_pos", "max_pdu_size")

    def __init__(self, max_pdu_size: int = DEFAULT_MAX_PDU_SIZE) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.max_pdu_size = max_pdu_size

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def __len__(self) -> int:
        return len(self._buf) - self._pos

    def next_frame(self) -> bytes | None:
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_SIZE:
            return None
        length, _cid, _status, seq = HEADER.unpack_from(buf, pos)
        if length < HEADER_SIZE or length > self.max_pdu_size:
            raise FramingError(f"command_length {length} outside 16..{self.max_pdu_size}", sequence_number=seq)
        if len(buf) - pos < length:
            return None
        self._pos = pos + length
        return bytes(buf[pos : pos + length])
