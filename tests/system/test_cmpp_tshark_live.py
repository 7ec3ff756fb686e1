"""Wireshark's CMPP dissector (``tshark``, Debian package tshark) decodes a real CMPP 3.0 session
against the running gateway with no malformed-packet warning: login, a submit with a report,
a mass send, an MO, link tests, query, cancel and logout.  The capture is the bytes the test
client saw, written as a pcap; where tshark may capture on the loopback interface, a live
capture of the same session is decoded too.  Skipped without tshark."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import pytest_twisted
from cmpp.cmpp_pcap import write_pcap  # tests/unit/cmpp
from cmpp_socket_client import logged_in
from test_e2e_pipeline import with_fast_rule
from twisted.internet import reactor
from twisted.internet.threads import deferToThread

from smppgw.cmpp import packets as pk
from smppgw.cmpp.msgid import MsgId

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark (Debian package tshark) is not installed")


def decode(capture: Path, port: int) -> str:
    result = subprocess.run(
        [TSHARK or "tshark", "-n", "-r", str(capture), "-d", f"tcp.port=={port},cmpp", "-V"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_clean(out: str) -> list[str]:
    assert "Malformed" not in out
    assert re.search(r"Expert Info \((Warning|Error)", out) is None, out
    return re.findall(r"Command Id: (CMPP_\w+)", out)


def start_live_capture(port: int, path: Path) -> subprocess.Popen[bytes] | None:
    """tshark listening on lo for the gateway's port, or None where it may not capture."""
    proc = subprocess.Popen(
        [TSHARK or "tshark", "-i", "lo", "-f", f"tcp port {port}", "-w", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None  # no permission or no such interface
        if path.exists():
            time.sleep(0.5)
            return proc
        time.sleep(0.1)
    proc.terminate()
    proc.wait(10)
    return None


@pytest_twisted.ensureDeferred
async def test_tshark_decodes_a_session_against_the_gateway(gateway_factory, tmp_path):
    gw = await gateway_factory(with_fast_rule)
    live_path = tmp_path / "live.pcapng"
    live = await deferToThread(start_live_capture, gw.cmpp_port, live_path)

    def session():
        c = logged_in(gw.cmpp_port)
        one = c.submit(
            msg_src="900001",
            dest_terminal_ids=("13800008888",),
            msg_fmt=8,
            content="验证码 123456".encode("utf-16-be"),
            link_id="L1",
        )
        mass = c.submit(msg_src="900001", dest_terminal_ids=("13900008888", "18900008888"), content=b"mass")
        c.reports(3)
        seq = c.send(pk.ActiveTest())
        c.wait_for(pk.ActiveTestResp, seq)
        return c, one, mass

    c, one, mass = await deferToThread(session)
    await gw.service.gateway.mobile_originated("13800138000", "10690000", "TD", reactor.seconds())

    def finish():
        c.wait_for(pk.Deliver, timeout=10)
        seq = c.send(pk.Query(time="20261202", query_type=0))
        c.wait_for(pk.QueryResp, seq)
        seq = c.send(pk.Cancel(msg_id=one.msg_id))
        c.wait_for(pk.CancelResp, seq)
        c.terminate()

    await deferToThread(finish)
    written = tmp_path / "session.pcap"
    write_pcap(written, c.wire)
    out = decode(written, 7890)
    (tmp_path / "session.txt").write_text(out, encoding="utf-8")
    commands = assert_clean(out)
    assert commands[:2] == ["CMPP_CONNECT", "CMPP_CONNECT_RESP"] and commands[-2:] == [
        "CMPP_TERMINATE",
        "CMPP_TERMINATE_RESP",
    ]
    assert commands.count("CMPP_SUBMIT") == 2 == commands.count("CMPP_SUBMIT_RESP")
    assert commands.count("CMPP_DELIVER") == 4 == commands.count("CMPP_DELIVER_RESP")  # 3 reports, 1 MO
    assert out.count("Deliver Report: True") == 3 and out.count("Message length: 71") == 3
    assert out.count("Deliver Status: DELIVRD") == 3
    assert "Destination Address: 13800008888" in out and "Link ID: L1" in out
    first = MsgId.from_int(one.msg_id)
    assert f"Timestamp: {first.month:02d}/{first.day:02d} {first.hour:02d}:{first.minute:02d}" in out
    assert f"Msg_Id sequence Id: {MsgId.from_int(mass.msg_id).sequence + 1}" in out  # the range's second id
    if live is not None:
        time.sleep(0.5)
        live.terminate()
        live.wait(10)
        live_out = decode(live_path, gw.cmpp_port)
        # The same packets; the two directions may interleave otherwise on the wire.
        assert sorted(assert_clean(live_out)) == sorted(commands)
