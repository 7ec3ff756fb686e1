"""The PROXY protocol on the SMPP listeners, and the health check and drain mode, in process:
raw sockets send the header HAProxy's ``send-proxy-v2`` sends, naming addresses the loopback
client does not have, so the tests see which address the gateway uses.  With a real HAProxy:
tests/system/test_haproxy.py."""

from __future__ import annotations

import socket
import ssl
import struct
import time
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from conftest import DEFAULT_CONFIG
from polling import until
from smpp_helpers import Raw
from test_admin_api import call
from test_cli_admin import conn, run_cli
from test_security import edits, setting
from twisted.internet.threads import deferToThread
from twisted.logger import formatEvent, globalLogPublisher

from smppgw import config as cfg
from smppgw.protocol.constants import CommandStatus as S

V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"

PROXY_ON = setting("smpp", "proxy_protocol", "true")


def proxy_v2(source: str, port: int) -> bytes:
    """The header HAProxy sends for a TCP over IPv4 client (PROXY command, AF_INET, STREAM)."""
    addresses = socket.inet_aton(source) + socket.inet_aton("192.0.2.1") + struct.pack(">HH", port, 2775)
    return V2_SIGNATURE + bytes([0x21, 0x11]) + struct.pack(">H", len(addresses)) + addresses


def proxied(port: int, source: str, source_port: int = 40000) -> Raw:
    raw = Raw(port)
    raw.sock.sendall(proxy_v2(source, source_port))
    return raw


def bind_from(port: int, source: str, password: str = "demo1234", system_id: str = "demo") -> int:
    raw = proxied(port, source)
    try:
        return raw.bind(system_id, password).command_status
    finally:
        raw.close()


class LogLines:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __enter__(self) -> LogLines:
        globalLogPublisher.addObserver(self._observe)
        return self

    def __exit__(self, *exc: object) -> None:
        globalLogPublisher.removeObserver(self._observe)

    def _observe(self, event: dict[str, Any]) -> None:
        self.lines.append(formatEvent(event))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


# ---- configuration ----------------------------------------------------------------------------


def test_twisted_haproxy_prefix_means_proxy_protocol() -> None:
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    plain = cfg.parse(text, DEFAULT_CONFIG)
    assert (plain.listen, plain.proxy_protocol) == ("tcp:2775:interface=127.0.0.1", False)
    prefixed = cfg.parse(text.replace('listen = "tcp:2775', 'listen = "haproxy:tcp:2775', 1), DEFAULT_CONFIG)
    assert (prefixed.listen, prefixed.proxy_protocol) == ("tcp:2775:interface=127.0.0.1", True)


def test_proxy_protocol_must_be_a_boolean() -> None:
    text = setting("smpp", "proxy_protocol", '"on"')(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    with pytest.raises(cfg.ConfigError, match=r"gateway.toml:\d+: smpp.proxy_protocol: must be true or false"):
        cfg.parse(text, DEFAULT_CONFIG)


# ---- the client's address from the header -------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_allowlist_sessions_list_and_log_use_the_address_in_the_header(gateway_factory: Any) -> None:
    gw = await gateway_factory(edits(PROXY_ON, setting("accounts.demo", "ip_allowlist", '["203.0.113.0/24"]')))

    def run() -> tuple[int, int, Raw]:
        bound = proxied(gw.smpp_port, "203.0.113.7", 40001)
        assert bound.bind().command_status == S.ESME_ROK
        # The connection comes from 127.0.0.1 either way: only the header's address differs.
        return S.ESME_ROK, bind_from(gw.smpp_port, "198.51.100.9"), bound

    with LogLines() as log:
        ok, refused, bound = await deferToThread(run)
        status, sessions = await call(gw, "GET", "/api/sessions")
    try:
        assert (ok, refused) == (S.ESME_ROK, S.ESME_RBINDFAIL)
        assert status == 200
        assert [s["peer"] for s in sessions["sessions"]] == ["203.0.113.7:40001"]
        # The header as received, for a hand-off of the socket to another process.
        assert [c.transport.proxy_header for c in gw.service.factory.connections] == [proxy_v2("203.0.113.7", 40001)]
        assert "bind BindTransceiver demo from 203.0.113.7:40001" in log.text
        assert "bind BindTransceiver demo from 198.51.100.9:40000 refused" in log.text
    finally:
        bound.close()


@pytest_twisted.ensureDeferred
async def test_failed_bind_lockout_is_keyed_by_the_address_in_the_header(gateway_factory: Any) -> None:
    gw = await gateway_factory(PROXY_ON)

    def run() -> list[int]:
        guesses = [bind_from(gw.smpp_port, "198.51.100.1", f"guess{i}") for i in range(5)]
        return [*guesses, bind_from(gw.smpp_port, "198.51.100.1"), bind_from(gw.smpp_port, "198.51.100.2")]

    assert await deferToThread(run) == [S.ESME_RINVPASWD] * 5 + [S.ESME_RBINDFAIL, S.ESME_ROK]
    status, lockouts = await call(gw, "GET", "/api/lockouts")
    assert status == 200
    assert [(lk["account"], lk["address"]) for lk in lockouts["lockouts"]] == [("demo", "198.51.100.1")]


@pytest_twisted.ensureDeferred
async def test_connection_limit_per_address_counts_the_address_in_the_header(gateway_factory: Any) -> None:
    gw = await gateway_factory(edits(PROXY_ON, setting("security", "max_connections_per_address", "1")))

    def run() -> tuple[int, bool, int]:
        first = proxied(gw.smpp_port, "198.51.100.1")
        first_status = first.bind().command_status
        second = proxied(gw.smpp_port, "198.51.100.1")  # same client address: over its limit
        closed = second.closed()
        other = bind_from(gw.smpp_port, "198.51.100.2")  # all from 127.0.0.1, yet admitted
        first.close()
        second.close()
        return first_status, closed, other

    assert await deferToThread(run) == (S.ESME_ROK, True, S.ESME_ROK)


# ---- connections without a valid header ------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_connection_without_a_proxy_header_is_closed_with_a_log_line(gateway_factory: Any) -> None:
    gw = await gateway_factory(edits(PROXY_ON, setting("smpp", "session_init_timeout", "0.5")))

    def run() -> tuple[bool, bool, bool, int]:
        plain = Raw(gw.smpp_port)  # an SMPP client straight to the node, no HAProxy in front
        plain.send(b"\x00\x00\x00\x2f\x00\x00\x00\x09")
        no_header = plain.closed()
        bad = Raw(gw.smpp_port)
        bad.send(V2_SIGNATURE + b"\x21\x11\xff\xff" + b"\x00" * 8)  # truncated: waits, then times out
        garbage = Raw(gw.smpp_port)
        garbage.send(V2_SIGNATURE + b"\x99\x11\x00\x0c" + b"\x00" * 12)  # an unknown version
        silent = Raw(gw.smpp_port)  # sends nothing at all
        return no_header, garbage.closed(), silent.closed() and bad.closed(), bind_from(gw.smpp_port, "198.51.100.5")

    with LogLines() as log:
        started = time.monotonic()
        no_header, garbage, silent, after = await deferToThread(run)
    assert (no_header, garbage, silent, after) == (True, True, True, S.ESME_ROK)
    assert time.monotonic() - started < 5
    assert "closed: no PROXY protocol header (the listener has proxy_protocol = true)" in log.text
    assert "closed: no PROXY protocol header within 0.5 s" in log.text
    await until(lambda: gw.service.statistics()["connections"] == 0)  # the last client's close arrives


@pytest_twisted.ensureDeferred
async def test_connections_waiting_for_their_header_are_bounded(gateway_factory: Any) -> None:
    gw = await gateway_factory(edits(PROXY_ON, setting("security", "max_connections", "2")))

    def run() -> tuple[bool, bool, int]:
        silent = [Raw(gw.smpp_port), Raw(gw.smpp_port)]  # connected, no header yet
        third = Raw(gw.smpp_port)
        refused = third.closed()
        still_open = not silent[0].closed(timeout=0.3)
        for raw in [*silent, third]:
            raw.close()
        deadline = time.monotonic() + 5
        while True:  # once the gateway has seen those close, a new connection waits for its header again
            try:
                return refused, still_open, bind_from(gw.smpp_port, "198.51.100.6")
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    with LogLines() as log:
        assert await deferToThread(run) == (True, True, S.ESME_ROK)
    assert "closed: 2 connections already wait for their PROXY header" in log.text


@pytest_twisted.ensureDeferred
async def test_header_split_across_segments_and_v1_header(gateway_factory: Any) -> None:
    gw = await gateway_factory(PROXY_ON)

    def run() -> tuple[int, int]:
        split = Raw(gw.smpp_port)
        header = proxy_v2("198.51.100.3", 40003)
        for piece in (header[:5], header[5:14], header[14:]):
            split.send(piece)
            time.sleep(0.05)
        first = split.bind().command_status
        v1 = Raw(gw.smpp_port)
        v1.send(b"PROXY TCP4 198.51.100.4 192.0.2.1 40004 2775\r\n")
        second = v1.bind().command_status
        split.close()
        v1.close()
        return first, second

    assert await deferToThread(run) == (S.ESME_ROK, S.ESME_ROK)


@pytest_twisted.ensureDeferred
async def test_proxy_header_before_tls(gateway_factory: Any, tmp_path: Path) -> None:
    gw = await gateway_factory(edits(PROXY_ON, setting("tls", "proxy_protocol", "true")))
    context = ssl.create_default_context(cafile=str(tmp_path / "state" / "tls" / "smppgw.crt"))
    context.check_hostname = False

    def run() -> Raw:
        raw = proxied(gw.tls_port, "203.0.113.99", 40099)  # HAProxy in TCP mode: the header, then TLS
        raw.sock = context.wrap_socket(raw.sock)
        assert raw.bind().command_status == S.ESME_ROK
        return raw

    raw = await deferToThread(run)
    try:
        status, sessions = await call(gw, "GET", "/api/sessions")
        assert status == 200 and [s["peer"] for s in sessions["sessions"]] == ["203.0.113.99:40099"]
    finally:
        raw.close()


# ---- health check and drain ------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_health_check_and_drain(gateway: Any, capsys: pytest.CaptureFixture[str]) -> None:
    status, health = await call(gateway, "GET", "/health", token=None)
    assert status == 200 and health["status"] == "up"
    assert (await call(gateway, "POST", "/api/drain", token=None))[0] == 401  # draining needs the token

    assert await deferToThread(run_cli, ["drain", *conn(gateway)]) == 0
    assert "draining since" in capsys.readouterr().out
    status, health = await call(gateway, "GET", "/health", token=None)
    assert status == 404 and health["status"] == "draining"  # HAProxy's disable-on-404: no new connections
    status, state = await call(gateway, "GET", "/api/drain")
    assert status == 200 and state["draining_since"] is not None

    assert await deferToThread(run_cli, ["undrain", *conn(gateway)]) == 0
    assert capsys.readouterr().out.startswith("up:")
    status, health = await call(gateway, "GET", "/health", token=None)
    assert status == 200 and health["status"] == "up"
