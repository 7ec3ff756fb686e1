"""A pcap file of one TCP connection, written from the bytes each side sent (raw IPv4 frames,
checksums filled in), so a capture tool can decode a session no socket ever carried."""

from __future__ import annotations

import struct
from pathlib import Path

LINKTYPE_RAW = 101
CLIENT = (bytes((10, 0, 0, 1)), 50000)
SERVER = (bytes((10, 0, 0, 2)), 7890)
_SYN, _ACK, _PSH, _FIN = 0x02, 0x10, 0x08, 0x01


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f">{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(src: tuple[bytes, int], dst: tuple[bytes, int], seq: int, ack: int, flags: int, payload: bytes) -> bytes:
    tcp = struct.pack(">HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = src[0] + dst[0] + struct.pack(">BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack(">H", _checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0, src[0], dst[0])
    ip = ip[:10] + struct.pack(">H", _checksum(ip)) + ip[12:]
    return ip + tcp


def write_pcap(path: Path, segments: list[tuple[bool, bytes]]) -> None:
    """``segments``: (sent by the client?, bytes) in the order they crossed the wire."""
    seq = {True: 1000, False: 5000}
    frames = [
        _frame(CLIENT, SERVER, seq[True] - 1, 0, _SYN, b""),
        _frame(SERVER, CLIENT, seq[False] - 1, seq[True], _SYN | _ACK, b""),
        _frame(CLIENT, SERVER, seq[True], seq[False], _ACK, b""),
    ]
    for from_client, data in segments:
        src, dst = (CLIENT, SERVER) if from_client else (SERVER, CLIENT)
        frames.append(_frame(src, dst, seq[from_client], seq[not from_client], _PSH | _ACK, data))
        seq[from_client] += len(data)
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        for n, frame in enumerate(frames):
            out.write(struct.pack("<IIII", 1_764_000_000 + n, 0, len(frame), len(frame)))
            out.write(frame)
