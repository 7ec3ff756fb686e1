"""Split a byte stream into whole CMPP packets, bounded by a maximum Total_Length."""

from __future__ import annotations

from .codec import HEADER
from .constants import HEADER_SIZE, Result
from .errors import FramingError

# The longest packet an SP sends is a SUBMIT to 99 destinations: 3.0 needs 12 + 129 + 99 * 32 +
# 1 + 1 + 159 + 20 = 3490 octets.  Anything much longer is not CMPP.
DEFAULT_MAX_PACKET_SIZE = 4096


class FrameBuffer:
    """Accumulates bytes and hands out complete packets.

    A Total_Length below 12 or above ``max_packet_size`` raises FramingError: after that the
    stream cannot be re-synchronised and the connection must close.
    """

    __slots__ = ("_buf", "_pos", "max_packet_size")

    def __init__(self, max_packet_size: int = DEFAULT_MAX_PACKET_SIZE) -> None:
        self._buf = bytearray()
        self._pos = 0
        self.max_packet_size = max_packet_size

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def __len__(self) -> int:
        return len(self._buf) - self._pos

    def peek(self, n: int) -> bytes:
        """Up to ``n`` buffered octets, left in the buffer."""
        return bytes(self._buf[self._pos : self._pos + n])

    def skip(self, n: int) -> None:
        self._pos = min(self._pos + n, len(self._buf))

    def next_frame(self) -> bytes | None:
        buf, pos = self._buf, self._pos
        if len(buf) - pos < HEADER_SIZE:
            return None
        length, command_id, seq = HEADER.unpack_from(buf, pos)
        if length < HEADER_SIZE or length > self.max_packet_size:
            raise FramingError(
                Result.BAD_LENGTH,
                f"Total_Length {length} outside {HEADER_SIZE}..{self.max_packet_size}",
                command_id=command_id,
                sequence_id=seq,
            )
        if len(buf) - pos < length:
            return None
        self._pos = pos + length
        return bytes(buf[pos : pos + length])
