"""Access control and abuse limits as a client sees them: real sockets and smpplib over loopback."""

from __future__ import annotations

import re
import socket
import ssl
import time
from pathlib import Path
from typing import Any

import pytest_twisted
import smpplib.client
import smpplib.smpp
from polling import until
from smpp_helpers import Raw, client, submit_and_wait
from test_admin_api import TOKEN, call
from twisted.internet.threads import deferToThread
from twisted.logger import formatEvent, globalLogPublisher

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import CommandStatus as S


def setting(section: str, key: str, value: str) -> Any:
    """An override for conftest's gateway_factory: ``key = value`` in ``[section]``."""

    def edit(text: str) -> str:
        head = f"[{section}]\n"
        start = text.index(head) + len(head)
        body = text[start:]
        line = re.compile(rf"(?m)^{re.escape(key)} = .*$")
        end = body.find("\n[")
        table = body if end < 0 else body[:end]
        rest = "" if end < 0 else body[end:]
        table = line.sub(f"{key} = {value}", table, count=1) if line.search(table) else f"{key} = {value}\n" + table
        return text[:start] + table + rest

    return edit


def edits(*changes: Any) -> Any:
    def edit(text: str) -> str:
        for change in changes:
            text = change(text)
        return text

    return edit


def bind_status(port: int, system_id: str, password: str) -> int:
    raw = Raw(port)
    try:
        return raw.bind(system_id, password).command_status
    finally:
        raw.close()


# ---- failed-bind lockout ------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_five_failed_binds_lock_the_account_for_that_address_until_lifted(gateway):
    def guess() -> list[int]:
        return [bind_status(gateway.smpp_port, "demo", f"guess{i}") for i in range(5)]

    assert await deferToThread(guess) == [S.ESME_RINVPASWD] * 5
    # Even the right password is refused now; another account from the same address is not affected.
    assert await deferToThread(bind_status, gateway.smpp_port, "demo", "demo1234") == S.ESME_RBINDFAIL
    assert await deferToThread(bind_status, gateway.smpp_port, "demo2", "demo5678") == S.ESME_ROK

    code, body = await call(gateway, "GET", "/api/lockouts")
    assert code == 200
    [lock] = body["lockouts"]
    assert (lock["account"], lock["address"]) == ("demo", "127.0.0.1")
    assert 290 < lock["seconds_left"] <= 300
    assert (await call(gateway, "GET", "/api/lockouts", token=None))[0] == 401
    assert (await call(gateway, "DELETE", "/api/lockouts/demo", token="wrong"))[0] == 401

    assert await call(gateway, "DELETE", "/api/lockouts/demo/127.0.0.1") == (200, {"lifted": 1})
    assert (await call(gateway, "DELETE", "/api/lockouts/demo"))[0] == 404
    assert (await call(gateway, "GET", "/api/lockouts"))[1] == {"lockouts": []}
    assert await deferToThread(bind_status, gateway.smpp_port, "demo", "demo1234") == S.ESME_ROK


@pytest_twisted.ensureDeferred
async def test_failures_spread_beyond_the_window_do_not_lock_and_a_success_resets(gateway_factory):
    gw = await gateway_factory(edits(setting("security", "failed_bind_limit", "3")))

    def run() -> list[int]:
        statuses = [bind_status(gw.smpp_port, "demo", "bad") for _ in range(2)]
        statuses.append(bind_status(gw.smpp_port, "demo", "demo1234"))  # resets the count
        statuses += [bind_status(gw.smpp_port, "demo", "bad") for _ in range(2)]
        statuses.append(bind_status(gw.smpp_port, "demo", "demo1234"))
        statuses += [bind_status(gw.smpp_port, "demo", "bad") for _ in range(3)]
        statuses.append(bind_status(gw.smpp_port, "demo", "demo1234"))
        return statuses

    ok, bad, fail = S.ESME_ROK, S.ESME_RINVPASWD, S.ESME_RBINDFAIL
    assert await deferToThread(run) == [bad, bad, ok, bad, bad, ok, bad, bad, bad, fail]


@pytest_twisted.ensureDeferred
async def test_passwords_and_the_admin_token_never_reach_the_log(gateway):
    lines: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        lines.append(formatEvent(event) + " " + repr(sorted(event.items(), key=lambda kv: kv[0])))

    globalLogPublisher.addObserver(observe)
    try:

        def run() -> None:
            for password in ("hunter22", "demo1234", "pw-Zz9"):
                bind_status(gateway.smpp_port, "demo", password)
            bind_status(gateway.smpp_port, "nosuchid", "s3cr3tX")
            c = client(gateway.smpp_port)
            submit_and_wait(c, "13800138000")
            c.unbind()

        await deferToThread(run)
        await call(gateway, "GET", "/api/accounts/demo")
        await call(gateway, "POST", "/api/accounts", {"system_id": "acme", "password": "Acme#pw1"})
        await call(gateway, "GET", "/api/accounts", token="wrong-token-123")
    finally:
        globalLogPublisher.removeObserver(observe)
    text = "\n".join(lines)
    assert "bind BindTransceiver demo from" in text  # the log was captured
    for secret in ("hunter22", "demo1234", "pw-Zz9", "s3cr3tX", "Acme#pw1", TOKEN, "wrong-token-123"):
        assert secret not in text, secret


# ---- one account never sees another's messages ----------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_another_accounts_message_id_is_answered_exactly_like_an_unknown_one(gateway):
    def run() -> dict[str, list[Any]]:
        owner = client(gateway.smpp_port)
        mine = submit_and_wait(owner, "13900000003", registered_delivery=1).message_id.decode()  # final after 10 s
        other = Raw(gateway.smpp_port)
        assert other.bind("demo2", "demo5678").command_status == S.ESME_ROK
        answers: dict[str, list[Any]] = {}
        seq = 10
        for label, message_id in (("foreign", mine), ("unknown", "ffffffffffffff0")):
            got = []
            for request in (
                p.QuerySm(message_id=message_id, source_addr="10690000"),
                p.QuerySm(message_id=message_id, source_addr="10690001"),
                p.CancelSm(message_id=message_id, source_addr="10690000", destination_addr="13900000003"),
                p.CancelSm(message_id=message_id, source_addr="10690001"),
                p.ReplaceSm(message_id=message_id, source_addr="10690000", short_message=b"changed"),
            ):
                seq += 1
                other.send(request.evolve(sequence_number=seq))
                resp = other.read()
                assert resp.sequence_number == seq
                got.append(resp.evolve(sequence_number=0))
            answers[label] = got
        other.close()
        owner.send_pdu(smpplib.smpp.make_pdu("query_sm", client=owner, message_id=mine, source_addr="10690000"))
        answers["owner"] = [owner.read_pdu().status]
        owner.unbind()
        return answers

    answers = await deferToThread(run)
    assert answers["foreign"] == answers["unknown"]
    assert {resp.command_status for resp in answers["foreign"]} == {S.ESME_RINVMSGID}
    assert answers["owner"] == [S.ESME_ROK]  # untouched by the other account's cancel and replace


# ---- limits -----------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_allowlist_is_checked_before_the_password(gateway_factory):
    gw = await gateway_factory(setting("accounts.demo", "ip_allowlist", '["10.0.0.0/8"]'))

    def run() -> tuple[int, int]:
        return bind_status(gw.smpp_port, "demo", "wrong"), bind_status(gw.smpp_port, "demo", "demo1234")

    # The same answer with either password: an address outside the list learns nothing about it.
    assert await deferToThread(run) == (S.ESME_RBINDFAIL, S.ESME_RBINDFAIL)


@pytest_twisted.ensureDeferred
async def test_max_binds_per_account(gateway_factory):
    gw = await gateway_factory(setting("accounts.demo", "max_binds", "2"))

    def run() -> tuple[int, int]:
        first, second = Raw(gw.smpp_port), Raw(gw.smpp_port)
        statuses = (first.bind().command_status, second.bind().command_status)
        third = bind_status(gw.smpp_port, "demo", "demo1234")
        first.send(p.Unbind(sequence_number=2))
        first.read()
        first.closed()
        return (*statuses, third), bind_status(gw.smpp_port, "demo", "demo1234")

    statuses, after_unbind = await deferToThread(run)
    assert statuses == (S.ESME_ROK, S.ESME_ROK, S.ESME_RBINDFAIL)
    assert after_unbind == S.ESME_ROK


@pytest_twisted.ensureDeferred
async def test_connection_limits_in_total_and_per_address(gateway_factory):
    gw = await gateway_factory(
        edits(setting("security", "max_connections_per_address", "3"), setting("security", "max_connections", "5"))
    )

    def run() -> tuple[list[bool], bool, int]:
        held = [Raw(gw.smpp_port) for _ in range(3)]
        for raw in held:
            raw.send(p.EnquireLink(sequence_number=1))
            raw.read()
        try:
            fourth = Raw(gw.smpp_port)
        except ConnectionResetError:  # refused so fast the reset came before connect() returned
            refused = [True]
        else:
            refused = [fourth.closed(2.0)]
        held.pop().close()
        deadline = time.monotonic() + 5  # a loaded machine may take a while to see the close
        while gw.service.factory.limits.total > 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        again = Raw(gw.smpp_port)
        again.send(p.EnquireLink(sequence_number=2))
        served = isinstance(again.read(), p.EnquireLinkResp)
        status = again.bind().command_status
        return refused, served, status

    refused, served, status = await deferToThread(run)
    assert refused == [True] and served and status == S.ESME_ROK
    assert gw.service.factory.limits.total <= 3


@pytest_twisted.ensureDeferred
async def test_unanswered_requests_beyond_the_limit_get_msgqful(gateway_factory):
    # Commits wait 300 ms for company, so the first submits stay unanswered meanwhile.
    gw = await gateway_factory(
        edits(setting("smpp", "max_pending_requests", "3"), setting("store", "commit_interval_ms", "300"))
    )

    def run() -> list[int]:
        raw = Raw(gw.smpp_port)
        raw.bind()
        for seq in range(10, 16):
            raw.send(p.SubmitSm(sequence_number=seq, source_addr="10690000", destination_addr="13800138000"))
        answers = sorted((r.sequence_number, r.command_status) for r in (raw.read() for _ in range(6)))
        return [status for _, status in answers]

    assert await deferToThread(run) == [S.ESME_ROK] * 3 + [S.ESME_RMSGQFUL] * 3


@pytest_twisted.ensureDeferred
async def test_a_connection_that_never_binds_is_closed_after_session_init_timeout(gateway_factory):
    gw = await gateway_factory(setting("smpp", "session_init_timeout", "0.3"))

    def run() -> tuple[bool, float]:
        raw = Raw(gw.smpp_port)
        started = time.monotonic()
        return raw.closed(5.0), time.monotonic() - started

    closed, after = await deferToThread(run)
    assert closed and 0.2 < after < 3


@pytest_twisted.ensureDeferred
async def test_command_length_above_max_pdu_size_closes(gateway_factory):
    gw = await gateway_factory(setting("smpp", "max_pdu_size", "1024"))

    def run() -> tuple[p.Pdu, bool]:
        raw = Raw(gw.smpp_port)
        raw.bind()
        raw.send(b"\x00\x00\x04\x01\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x09" + b"\x00" * 1009)
        return raw.read(), raw.closed()

    nack, closed = await deferToThread(run)
    assert isinstance(nack, p.GenericNack) and nack.command_status == S.ESME_RINVCMDLEN and closed


# ---- a client that stops reading ------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_client_that_stops_reading_pauses_the_session_and_is_dropped(gateway_factory):
    gw = await gateway_factory(
        edits(setting("security", "stalled_write_timeout", "1"), setting("security", "write_buffer", "4096"))
    )
    factory = gw.service.factory

    def flood() -> tuple[int, float | None]:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", gw.smpp_port))
        sock.settimeout(0.5)
        frame = b"".join(codec.encode(p.EnquireLink(sequence_number=i + 1)) for i in range(1000))
        sent = 0
        # Never read: the answers pile up until the gateway stops reading us, so our sends block.
        try:
            for _ in range(20_000):
                sock.sendall(frame)
                sent += len(frame)
        except (TimeoutError, OSError):
            pass
        blocked = time.monotonic()
        dropped_after = None
        while time.monotonic() < blocked + 10 and dropped_after is None:
            try:
                sock.send(frame)
            except (BlockingIOError, TimeoutError):
                time.sleep(0.1)
            except OSError:  # reset: the gateway dropped us
                dropped_after = time.monotonic() - blocked
            else:
                time.sleep(0.1)
        sock.close()
        return sent, dropped_after

    sent, dropped_after = await deferToThread(flood)
    # The gateway stopped reading long before 20 000 x 16 KB: the sends blocked.
    assert sent < 20_000 * 16_000
    # ...and dropped us (while we still held the socket open) about stalled_write_timeout later.
    assert dropped_after is not None and dropped_after < 5
    await until(lambda: not factory.connections, timeout=10)
    assert factory.limits.total == 0


@pytest_twisted.ensureDeferred
async def test_a_paused_session_takes_no_deliveries_until_it_reads_again(gateway_factory):
    gw = await gateway_factory(setting("security", "stalled_write_timeout", "30"))
    await deferToThread(lambda: None)
    raw = await deferToThread(Raw, gw.smpp_port)
    await deferToThread(raw.bind)
    await until(lambda: len(gw.service.factory.connections) == 1)
    [proto] = gw.service.factory.connections
    assert proto.delivery_capacity() > 0
    proto.writes.pauseProducing()  # what the transport does when the peer stops reading
    assert proto.delivery_capacity() == 0
    proto.writes.resumeProducing()
    assert proto.delivery_capacity() > 0
    await deferToThread(raw.close)


# ---- SMPP over TLS --------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_smpp_over_tls_with_a_real_tls_client(gateway):
    assert gateway.tls_port
    cert = Path(gateway.store_path).parent / "tls" / "smppgw.crt"
    assert cert.exists()  # made on first start

    def run() -> tuple[int, str, bytes, str]:
        context = ssl.create_default_context(cafile=str(cert))  # verifies the certificate and its name

        class Named:  # smpplib wraps without a server name; give it one so the name is checked too
            def wrap_socket(self, sock: socket.socket) -> ssl.SSLSocket:
                return context.wrap_socket(sock, server_hostname="localhost")

        c = smpplib.client.Client(
            "localhost", gateway.tls_port, timeout=10, allow_unknown_opt_params=True, ssl_context=Named()
        )
        c.connect()
        version = c._socket.version()
        c.bind_transceiver(system_id="demo", password="demo1234")
        resp = submit_and_wait(c, "13800138000")
        c.unbind()
        c.disconnect()
        # A plain SMPP client on the TLS port gets nowhere.
        raw = socket.create_connection(("127.0.0.1", gateway.tls_port), timeout=5)
        raw.sendall(codec.encode(p.EnquireLink(sequence_number=1)))
        try:
            answer = raw.recv(100)
        except OSError:
            answer = b""
        raw.close()
        return resp.status, version, answer, resp.message_id.decode()

    status, version, plain, message_id = await deferToThread(run)
    assert status == S.ESME_ROK and message_id
    assert version in ("TLSv1.2", "TLSv1.3")
    assert b"\x80\x00\x00\x15" not in plain  # no enquire_link_resp to plain SMPP on the TLS port
    assert gateway.service.gateway.find(message_id) is not None
