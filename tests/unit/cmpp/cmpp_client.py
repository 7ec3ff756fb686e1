"""A test-side CMPP client: packets in the layout the session speaks, and reading back what it wrote."""

from __future__ import annotations

from smppgw.cmpp import packets as pk
from smppgw.cmpp.account import CmppAccount
from smppgw.cmpp.codec import decode, encode
from smppgw.cmpp.constants import Version
from smppgw.cmpp.framing import FrameBuffer
from smppgw.cmpp.login import authenticator_source
from smppgw.cmpp.session import CMPPServerSession, SessionConfig

ACCOUNTS = {
    "900001": CmppAccount("900001", "demo1234", Version.V30, "10690000", "demo"),
    "900002": CmppAccount("900002", "demo5678", Version.V20, "10690001", "demo2"),
}
TIMESTAMP = 1127093000


def lookup(sp_id: str) -> CmppAccount | None:
    return ACCOUNTS.get(sp_id)


def connect_packet(sp_id: str = "900001", secret: str = "demo1234", version: int = 0x30, seq: int = 1) -> pk.Connect:
    return pk.Connect(
        sequence_id=seq,
        source_addr=sp_id,
        authenticator_source=authenticator_source(sp_id, secret, TIMESTAMP),
        version=version,
        timestamp=TIMESTAMP,
    )


def read(data: bytes, version: Version) -> list[pk.Packet]:
    frames = FrameBuffer()
    frames.feed(data)
    out = []
    while (frame := frames.next_frame()) is not None:
        out.append(decode(frame, version))
    assert len(frames) == 0, "a partial packet was written"
    return out


def submit(seq: int, *, src: str = "900001", **fields: object) -> pk.Submit:
    values: dict[str, object] = {"msg_src": src, "src_id": "10690000", "dest_terminal_ids": ("13800138000",)}
    values.update(fields)
    return pk.Submit(sequence_id=seq, **values)  # type: ignore[arg-type]


def connected(
    config: SessionConfig | None = None, *, sp_id: str = "900001", version: int = 0x30, now: float = 0.0
) -> CMPPServerSession:
    session = CMPPServerSession(config or SessionConfig(), lookup, now)
    account = ACCOUNTS[sp_id]
    session.receive_data(encode(connect_packet(sp_id, account.secret, version), Version.V30), now)
    assert session.connected
    session.data_to_send()
    return session
