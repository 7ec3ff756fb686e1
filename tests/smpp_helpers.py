"""Helpers for end-to-end tests: real smpplib clients and raw sockets, run in threads so the
reactor (which runs the gateway in the same process) keeps serving."""

from __future__ import annotations

import socket
import struct
import time
from typing import Any

import smpplib.client
import smpplib.consts

from smppgw.protocol import codec
from smppgw.protocol import pdu as p


def answer(c: Any, pdu: Any, command: str) -> None:
    """Answer ``pdu`` with ESME_ROK (smpplib's make_pdu ignores a sequence argument)."""
    resp = smpplib.smpp.make_pdu(command, client=c)
    resp.sequence = pdu.sequence
    c.send_pdu(resp)


def client(port: int, system_id: str = "demo", password: str = "demo1234", mode: str = "trx") -> Any:
    c = smpplib.client.Client("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
    c.connect()
    bind = {"trx": c.bind_transceiver, "tx": c.bind_transmitter, "rx": c.bind_receiver}[mode]
    bind(system_id=system_id, password=password)
    return c


def submit_and_wait(c: Any, destination: str, text: bytes = b"hello", **extra: Any) -> Any:
    """Send one submit_sm and return its submit_sm_resp (answering whatever else arrives)."""
    sent = c.send_message(
        source_addr_ton=0,
        source_addr_npi=1,
        source_addr=extra.pop("source_addr", "10690000"),
        dest_addr_ton=1,
        dest_addr_npi=1,
        destination_addr=destination,
        short_message=text,
        **extra,
    )
    while True:
        pdu = c.read_pdu()
        if pdu.command == "submit_sm_resp" and pdu.sequence == sent.sequence:
            return pdu
        if pdu.command == "deliver_sm":
            answer(c, pdu, "deliver_sm_resp")
            early(c).append(pdu)


def early(c: Any) -> list[Any]:
    """deliver_sm PDUs that arrived while we waited for something else."""
    if not hasattr(c, "early_deliveries"):
        c.early_deliveries = []
    kept: list[Any] = c.early_deliveries
    return kept


def read_receipts(c: Any, count: int, timeout: float = 30.0) -> list[Any]:
    """Read deliver_sm PDUs (answering each with ESME_ROK) until ``count`` arrived."""
    got: list[Any] = early(c)[:count]
    del early(c)[: len(got)]
    deadline = time.monotonic() + timeout
    c._socket.settimeout(1.0)
    while len(got) < count and time.monotonic() < deadline:
        try:
            pdu = c.read_pdu()
        except (smpplib.exceptions.ConnectionError, OSError):
            continue
        if pdu.command == "deliver_sm":
            got.append(pdu)
            answer(c, pdu, "deliver_sm_resp")
        elif pdu.command == "enquire_link":
            answer(c, pdu, "enquire_link_resp")
    return got


def receipt_fields(pdu: Any) -> dict[str, str]:
    text = pdu.short_message.decode("ascii")
    fields: dict[str, str] = {}
    for key in ("id", "sub", "dlvrd", "stat", "err"):
        marker = f"{key}:"
        start = text.index(marker) + len(marker)
        fields[key] = text[start:].split(" ", 1)[0]
    return fields


class Raw:
    """A raw SMPP socket speaking our own codec, for malformed input."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def send(self, data: bytes | p.Pdu) -> None:
        self.sock.sendall(codec.encode(data) if isinstance(data, p.Pdu) else data)

    def bind(self, system_id: str = "demo", password: str = "demo1234") -> p.Pdu:
        self.send(p.BindTransceiver(sequence_number=1, system_id=system_id, password=password))
        return self.read()

    def read(self) -> p.Pdu:
        while True:
            if len(self.buf) >= 4:
                (length,) = struct.unpack(">I", self.buf[:4])
                if len(self.buf) >= length:
                    frame, self.buf = self.buf[:length], self.buf[length:]
                    return codec.decode(frame)
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the gateway")
            self.buf += chunk

    def closed(self, timeout: float = 5.0) -> bool:
        """True once the gateway has closed the connection (after any PDUs still in flight)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()
