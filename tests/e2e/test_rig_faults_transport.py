"""Transport faults on an account's binds, as a real smpplib client sees them: a half-open
connection, and PDUs split across TCP segments."""

from __future__ import annotations

import struct
import time

import pytest_twisted
import smpplib.smpp
from smpp_helpers import client
from test_rig_faults import next_answer, send
from test_rig_scenario import api
from twisted.internet.threads import deferToThread


@pytest_twisted.ensureDeferred
async def test_half_open_connection_answers_nothing_and_stays_open(gateway):
    def run():
        c = client(gateway.smpp_port)
        send(c)
        before = next_answer(c)
        assert api(gateway, "POST", "/api/accounts/demo/faults", {"half_open_after_s": 0.1})[0] == 200
        time.sleep(0.3)
        c.send_pdu(smpplib.smpp.make_pdu("enquire_link", client=c))  # the write succeeds: the socket is open
        send(c)
        after = next_answer(c, timeout=1.5)
        c._socket.settimeout(0.2)
        try:
            eof = c._socket.recv(1) == b""
        except TimeoutError:
            eof = False
        api(gateway, "DELETE", "/api/accounts/demo/faults")
        other = client(gateway.smpp_port)  # the account's new binds are served
        send(other)
        fresh = next_answer(other)
        other.unbind()
        other.disconnect()
        c._socket.close()
        return before, after, eof, fresh

    before, after, eof, fresh = await deferToThread(run)
    assert before.status == 0
    assert after is None  # neither the enquire_link nor the submit_sm was answered...
    assert eof is False  # ...and the gateway did not close the connection
    assert fresh.status == 0


@pytest_twisted.ensureDeferred
async def test_pdus_split_across_tcp_segments(gateway):
    def run():
        c = client(gateway.smpp_port)
        assert api(gateway, "POST", "/api/accounts/demo/faults", {"split_bytes": 3})[0] == 200
        send(c)
        c._socket.settimeout(5)
        chunks = []
        got = b""
        while len(got) < 4 or len(got) < struct.unpack(">I", got[:4])[0]:
            chunks.append(c._socket.recv(4096))
            got += chunks[-1]
        send(c)
        whole = next_answer(c)  # smpplib reassembles the pieces
        api(gateway, "DELETE", "/api/accounts/demo/faults")
        bad = api(gateway, "POST", "/api/accounts/demo/faults", {"split_bytes": 2.5})
        c.unbind()
        c.disconnect()
        return chunks, whole, bad

    chunks, whole, bad = await deferToThread(run)
    resp = b"".join(chunks)
    assert struct.unpack(">II", resp[:8]) == (len(resp), 0x80000004)  # one whole submit_sm_resp...
    assert len(chunks) >= len(resp) // 3 - 1 and max(map(len, chunks)) <= 6  # ...read in pieces of about 3 octets
    assert whole.command == "submit_sm_resp" and whole.status == 0
    assert bad[0] == 400 and "faults.split_bytes" in bad[1]["error"]
