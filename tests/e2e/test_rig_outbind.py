"""The gateway's own outbind (SMPP 3.4 section 4.1.7) to a client's listener, over loopback: the
listener here is the test's (smpplib cannot listen), speaking the project's codec on a plain socket;
the message whose receipt it gets is sent by a real smpplib client."""

from __future__ import annotations

import socket
import struct
import threading
from typing import Any

import pytest_twisted
from polling import wait_until
from ports import free_port
from smpp_helpers import client, submit_and_wait
from test_rig_scenario import CHAOS, api
from twisted.internet.threads import deferToThread

from smppgw.protocol import codec
from smppgw.protocol import pdu as p


def read_pdu(conn: socket.socket, buf: bytearray) -> p.Pdu:
    while True:
        if len(buf) >= 4:
            (length,) = struct.unpack(">I", buf[:4])
            if len(buf) >= length:
                frame = bytes(buf[:length])
                del buf[:length]
                return codec.decode(frame)
        chunk = conn.recv(65536)
        if not chunk:
            raise ConnectionError("the gateway closed the connection")
        buf += chunk


class Listener:
    """An ESME's listener for outbinds: takes one connection, expects outbind, binds as a receiver
    and answers every deliver_sm, keeping what it saw."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_server(("127.0.0.1", port))
        self.sock.settimeout(20)
        self.seen: list[p.Pdu] = []
        self.receipts: list[p.DeliverSm] = []
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
            with conn:
                conn.settimeout(20)
                buf = bytearray()
                outbind = read_pdu(conn, buf)
                self.seen.append(outbind)
                conn.sendall(codec.encode(p.BindReceiver(sequence_number=1, system_id="demo", password="demo1234")))
                while True:
                    pdu = read_pdu(conn, buf)
                    self.seen.append(pdu)
                    if isinstance(pdu, p.DeliverSm):
                        self.receipts.append(pdu)
                        conn.sendall(codec.encode(p.DeliverSmResp(sequence_number=pdu.sequence_number)))
                    elif isinstance(pdu, p.EnquireLink):
                        conn.sendall(codec.encode(p.EnquireLinkResp(sequence_number=pdu.sequence_number)))
                    if self.receipts:
                        conn.sendall(codec.encode(p.Unbind(sequence_number=2)))
                        self.seen.append(read_pdu(conn, buf))
                        return
        except BaseException as err:  # reported by the test
            self.error = err
        finally:
            self.sock.close()


@pytest_twisted.ensureDeferred
async def test_the_gateway_outbinds_to_the_clients_listener_with_backoff_and_delivers_the_receipt(gateway):
    outbinder = gateway.service.outbinder
    port = free_port()  # nothing listens there yet

    def run() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        assert api(gateway, "POST", "/api/scenario", {"toml": CHAOS.format(seed=1)})[0] == 201
        target = {"address": f"127.0.0.1:{port}", "system_id": "gw", "password": "outpw", "retry_min_s": 0.2}
        status, body = api(gateway, "POST", "/api/accounts/demo/outbind", {**target, "retry_max_s": 0.8})
        seen["set"] = (status, body)
        seen["bad"] = api(gateway, "POST", "/api/accounts/demo/outbind", {"address": "nowhere"})
        tx = client(gateway.smpp_port, mode="tx")
        resp = submit_and_wait(tx, "13900001234", registered_delivery=1)
        seen["message_id"] = resp.message_id.decode()
        tx.unbind()
        tx.disconnect()
        # No receiver and nobody listening: the gateway keeps trying, waiting longer each time.
        wait_until(lambda: (plan := outbinder.plan_of("demo")) is not None and plan.failures >= 3, timeout=15)
        listener = Listener(port)
        listener.thread.join(20)
        seen["listener"] = listener
        seen["shown"] = api(gateway, "GET", "/api/accounts/demo/outbind")
        return seen

    seen = await deferToThread(run)
    listener: Listener = seen["listener"]
    assert listener.error is None, listener.error
    status, body = seen["set"]
    assert status == 200 and body["outbind"]["address"] == f"127.0.0.1:{port}" and "password" not in body["outbind"]
    assert seen["bad"][0] == 400 and "outbind.address" in seen["bad"][1]["error"]
    outbind = listener.seen[0]
    assert isinstance(outbind, p.Outbind) and (outbind.system_id, outbind.password) == ("gw", "outpw")
    assert isinstance(listener.seen[1], p.BindReceiverResp) and listener.seen[1].command_status == 0
    receipt = listener.receipts[0]
    assert receipt.esm_class & 0x04 and f"id:{seen['message_id']} ".encode() in receipt.short_message
    assert isinstance(listener.seen[-1], p.UnbindResp)
    assert seen["shown"][1]["outbind"]["system_id"] == "gw"
    assert gateway.service.deliveries.backlog("demo") == 0  # acknowledged on the outbind connection
