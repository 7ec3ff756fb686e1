"""A slow reader on the gateway's side, as a real smpplib client sees it: its submits are answered
only once the gateway reads again, then it is served as before, and nothing it sent is lost."""

from __future__ import annotations

import socket
import time

import pytest_twisted
from smpp_helpers import Raw, client
from test_rig_faults import next_answer, send
from test_rig_scenario import api
from twisted.internet.threads import deferToThread

from smppgw.protocol import codec
from smppgw.protocol import pdu as p


@pytest_twisted.ensureDeferred
async def test_paused_reading_answers_submits_only_after_the_pause(gateway):
    def run():
        c = client(gateway.smpp_port)
        send(c)
        assert next_answer(c).status == 0
        before = gateway.service.gateway.submitted
        started = time.monotonic()
        assert api(gateway, "POST", "/api/accounts/demo/faults", {"pause_reading_s": 1.0})[0] == 200
        sent = [send(c).sequence for _ in range(5)]  # the client's writes succeed: they wait in the socket
        early = next_answer(c, timeout=0.5)
        answers = [next_answer(c) for _ in range(5)]
        waited = time.monotonic() - started
        resumed = time.monotonic()
        send(c)
        after = next_answer(c)
        quick = time.monotonic() - resumed
        accepted = gateway.service.gateway.submitted - before
        c.unbind()
        c.disconnect()
        return sent, early, answers, waited, after, quick, accepted

    sent, early, answers, waited, after, quick, accepted = await deferToThread(run)
    assert early is None  # nothing answered while the gateway does not read
    assert [a.sequence for a in answers] == sent and {a.status for a in answers} == {0}
    assert waited >= 0.95
    assert after.status == 0 and quick < 0.5  # reading again: answered at once
    assert accepted == 6  # nothing lost


@pytest_twisted.ensureDeferred
async def test_slow_reader_spaces_reads_by_the_byte_rate_until_cleared(gateway):
    rate = 400  # octets a second

    def timed_submits(c, count: int) -> tuple[float, int, list[int]]:
        started = time.monotonic()
        statuses = []
        size = 0
        for _ in range(count):
            size = len(send(c).generate())
            statuses.append(next_answer(c).status)
        return time.monotonic() - started, size, statuses

    def run():
        c = client(gateway.smpp_port)
        assert api(gateway, "POST", "/api/accounts/demo/faults", {"slow_read_bytes_per_s": rate})[0] == 200
        slow, size, slow_statuses = timed_submits(c, 6)
        assert api(gateway, "DELETE", "/api/accounts/demo/faults")[0] == 200
        fast, _, fast_statuses = timed_submits(c, 6)
        bad = api(gateway, "POST", "/api/accounts/demo/faults", {"slow_read_bytes_per_s": -1})
        c.unbind()
        c.disconnect()
        return slow, size, slow_statuses, fast, fast_statuses, bad

    slow, size, slow_statuses, fast, fast_statuses, bad = await deferToThread(run)
    assert slow_statuses == fast_statuses == [0] * 6
    # Each read of a submit is followed by a pause of size / rate: the next one waits for it.
    assert slow >= 5 * size / rate * 0.9
    assert fast < slow / 2
    assert bad[0] == 400 and "faults.slow_read_bytes_per_s" in bad[1]["error"]


@pytest_twisted.ensureDeferred
async def test_client_writes_back_up_while_the_gateway_does_not_read(gateway):
    """A raw client with a small send buffer fills the socket during the pause (its send would
    block), and every request it wrote is answered once the gateway reads again."""
    enquire = codec.encode(p.EnquireLink(sequence_number=2))

    def run():
        raw = Raw(gateway.smpp_port)
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)  # fixed: no autotuning
        assert raw.bind().command_status == 0
        assert api(gateway, "POST", "/api/accounts/demo/faults", {"pause_reading_s": 1.5})[0] == 200
        started = time.monotonic()
        raw.sock.setblocking(False)
        sent = 0
        blocked = False
        while sent < 8 << 20 and time.monotonic() - started < 1.0:
            try:
                sent += raw.sock.send(enquire * 256)
            except BlockingIOError:
                blocked = True
                break
        raw.sock.setblocking(True)
        raw.sock.settimeout(10)
        rest = (-sent) % len(enquire)
        raw.sock.sendall(enquire[len(enquire) - rest :] if rest else b"")  # finish the last frame
        frames = (sent + rest) // len(enquire)
        answered = 0
        first_at = None
        while answered < frames:
            pdu = raw.read()
            first_at = first_at or time.monotonic() - started
            answered += isinstance(pdu, p.EnquireLinkResp)
        raw.close()
        return blocked, frames, answered, first_at

    blocked, frames, answered, first_at = await deferToThread(run)
    assert blocked  # the client's writes backed up...
    assert first_at >= 1.3  # ...nothing was answered before the gateway read again...
    assert answered == frames  # ...and then every request was
