"""Faults real carriers have, as real smpplib clients see them over loopback: stale binds after a
dropped connection, the SMPP 5.0 congestion_state TLV, and carrier outcomes drawn per bind."""

from __future__ import annotations

import contextlib
import io
import struct
from pathlib import Path
from typing import Any

import pytest_twisted
import smpplib.client
import smpplib.consts
import smpplib.exceptions
import smpplib.smpp
from conftest import start_gateway
from polling import wait_until
from ports import free_port
from smpp_helpers import client, read_receipts, receipt_fields, submit_and_wait
from test_rig_scenario import CHAOS, api
from twisted.internet.threads import deferToThread
from twisted.logger import formatEvent, globalLogPublisher

from smppgw.protocol import codec
from smppgw.protocol import pdu as p
from smppgw.protocol.constants import Tag


def bind_status(port: int, mode: str) -> int:
    """The status a real smpplib client's bind gets (0: bound, then unbound cleanly)."""
    try:
        c = client(port, mode=mode)
    except smpplib.exceptions.PDUError as err:
        return int(err.args[1])
    c.unbind()
    c.disconnect()
    return 0


def drop(c: Any) -> None:
    """Lose the connection without an unbind, as a crashed client does."""
    c._socket.close()
    c._socket = None


# ---- stale binds ------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_a_bind_dropped_without_unbind_blocks_the_next_bind_of_its_type_until_it_times_out(gateway):
    logged: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        if str(event.get("log_format", "")).startswith("rig:"):
            logged.append(formatEvent(event))

    globalLogPublisher.addObserver(observe)
    factory = gateway.service.factory

    def run() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        status, _ = api(
            gateway, "POST", "/api/accounts/demo/faults", {"stale_binds": True, "stale_bind_timeout_s": 1.5}
        )
        assert status == 200
        c = client(gateway.smpp_port, mode="tx")
        drop(c)
        wait_until(lambda: not factory.sessions_of("demo"), what="the gateway saw the drop")
        seen["tx again"] = bind_status(gateway.smpp_port, "tx")
        seen["rx meanwhile"] = bind_status(gateway.smpp_port, "rx")  # another bind type is not blocked
        seen["after timeout"] = wait_until(
            lambda: bind_status(gateway.smpp_port, "tx") == 0,
            timeout=10,
            interval=0.25,
            what="the stale bind timed out",
        )
        seen["clean rebind"] = bind_status(gateway.smpp_port, "tx")  # a clean unbind leaves nothing behind
        api(gateway, "POST", "/api/accounts/demo/faults", {"stale_binds": False})
        c = client(gateway.smpp_port, mode="tx")
        drop(c)
        wait_until(lambda: not factory.sessions_of("demo"), what="the gateway saw the drop")
        seen["switched off"] = bind_status(gateway.smpp_port, "tx")
        return seen

    try:
        seen = await deferToThread(run)
    finally:
        globalLogPublisher.removeObserver(observe)
    assert seen == {"tx again": 0x05, "rx meanwhile": 0, "after timeout": True, "clean rebind": 0, "switched off": 0}
    assert any("dropped without unbind" in line and "1.5 s" in line for line in logged), logged
    assert any("answered ESME_RALYBND" in line and "bind_transmitter demo" in line for line in logged), logged


@pytest_twisted.ensureDeferred
async def test_stale_binds_from_the_configuration_and_bad_values_named(gateway_factory, tmp_path: Path):
    def stale(text: str) -> str:
        return text.replace("[accounts.demo]\n", "[accounts.demo]\nfaults = { stale_binds = true }\n", 1)

    gw = await gateway_factory(stale)

    def run() -> tuple[int, tuple[int, dict[str, Any]]]:
        drop(client(gw.smpp_port, mode="trx"))
        wait_until(lambda: not gw.service.factory.sessions_of("demo"), what="the gateway saw the drop")
        return bind_status(gw.smpp_port, "trx"), api(gw, "POST", "/api/accounts/demo/faults", {"stale_binds": "yes"})

    refused, (status, body) = await deferToThread(run)
    assert refused == 0x05  # the default timeout is 60 s
    assert status == 400 and "faults.stale_binds" in body["error"]


# ---- congestion_state --------------------------------------------------------------------------


class Smpp50Client(smpplib.client.Client):  # type: ignore[misc]
    """smpplib binding as SMPP 5.0 (its bind PDUs always say 0x34), keeping every octet it reads."""

    def __init__(self, port: int, interface_version: int) -> None:
        super().__init__("127.0.0.1", port, timeout=10, allow_unknown_opt_params=True)
        self.interface_version = interface_version
        self.received = bytearray()

    def _bind(self, command_name: str, **kwargs: Any) -> Any:
        pdu = smpplib.smpp.make_pdu(command_name, client=self, **kwargs)
        pdu.interface_version = self.interface_version
        self.send_pdu(pdu)
        resp = self.read_pdu()
        if resp.is_error():
            raise smpplib.exceptions.PDUError("bind refused", int(resp.status))
        return resp

    def _recv_exact(self, exact_size: int) -> bytes:
        data: bytes = super()._recv_exact(exact_size)
        self.received += data
        return data

    def pdus(self) -> list[p.Pdu]:
        out, raw, at = [], bytes(self.received), 0
        while at + 4 <= len(raw):
            (length,) = struct.unpack(">I", raw[at : at + 4])
            out.append(codec.decode(raw[at : at + length]))
            at += length
        return out


def congestion(pdu: p.Pdu) -> int | None:
    found = [t.value for t in pdu.tlvs if t.tag == Tag.CONGESTION_STATE]
    return found[0][0] if found else None


def submit_burst(c: Any, count: int) -> list[int | None]:
    """Send ``count`` submits before reading any answer; the congestion_state of each answer, in order."""
    c.received.clear()
    for i in range(count):
        c.send_message(
            source_addr="10690000",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=f"1380000{i:04d}",
            short_message=b"x",
        )
    got = 0
    while got < count:
        if c.read_pdu().command == "submit_sm_resp":
            got += 1
    return [congestion(pdu) for pdu in c.pdus() if isinstance(pdu, p.SubmitSmResp)]


@pytest_twisted.ensureDeferred
async def test_congestion_state_rises_with_load_on_5_0_binds_only(gateway):
    def run() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        c50 = Smpp50Client(gateway.smpp_port, 0x50)
        c50.connect()
        c50.bind_transmitter(system_id="demo", password="demo1234")
        c34 = Smpp50Client(gateway.smpp_port, 0x34)
        c34.connect()
        c34.bind_transmitter(system_id="demo", password="demo1234")
        seen["off"] = submit_burst(c50, 1)
        api(gateway, "POST", "/api/accounts/demo/faults", {"congestion_state": True})
        seen["idle"] = submit_burst(c50, 1)
        # Answers held back: the client's window fills up, the figure rises to 100 and falls back.
        api(gateway, "POST", "/api/accounts/demo/faults", {"congestion_state": True, "resp_delay_s": 0.3})
        seen["burst"] = submit_burst(c50, 11)
        seen["3.4"] = submit_burst(c34, 11)
        c50.unbind()
        c34.unbind()
        return seen

    seen = await deferToThread(run)
    assert seen["off"] == [None]
    assert seen["idle"] == [0]
    burst = seen["burst"]
    assert None not in burst and max(burst) == 100 and min(burst) <= 20, burst
    assert seen["3.4"] == [None] * 11  # never to a 3.4 session, however loaded


# ---- per-bind deterministic outcomes ------------------------------------------------------------

PER_BIND = 8


def outcomes_per_bind(gw: Any, interleaved: bool, per_bind: bool) -> tuple[list[str], list[str]]:
    status, body = api(gw, "POST", "/api/scenario", {"toml": CHAOS.format(seed=3)})
    assert status == 201, body
    if per_bind:
        assert api(gw, "POST", "/api/accounts/demo/faults", {"per_bind_outcomes": True})[0] == 200
    a = client(gw.smpp_port, mode="tx")
    b = client(gw.smpp_port, mode="tx")
    rx = client(gw.smpp_port, mode="rx")
    ids: dict[str, list[str]] = {"a": [], "b": []}

    def send(who: str, i: int) -> None:
        conn, number = (a, f"1390000{i:04d}") if who == "a" else (b, f"1370000{i:04d}")
        resp = submit_and_wait(conn, number, registered_delivery=1)
        assert resp.status == 0
        ids[who].append(resp.message_id.decode())

    order = (
        [(w, i) for i in range(PER_BIND) for w in ("a", "b")]
        if interleaved
        else [("a", i) for i in range(PER_BIND)] + [("b", i) for i in range(PER_BIND)]
    )
    for who, i in order:
        send(who, i)
    receipts = read_receipts(rx, 2 * PER_BIND, timeout=20)
    for c in (a, b, rx):
        c.unbind()
        c.disconnect()
    stat = {receipt_fields(r)["id"]: receipt_fields(r)["stat"] + "/" + receipt_fields(r)["err"] for r in receipts}
    return [stat.get(i, "none") for i in ids["a"]], [stat.get(i, "none") for i in ids["b"]]


@pytest_twisted.ensureDeferred
async def test_per_bind_outcomes_do_not_depend_on_how_binds_interleave(tmp_path: Path):
    runs = {}
    for name, interleaved, per_bind in (
        ("ab", True, True),
        ("aabb", False, True),
        ("shared-ab", True, False),
        ("shared-aabb", False, False),
    ):
        gw = await start_gateway(tmp_path / name)
        try:
            runs[name] = await deferToThread(outcomes_per_bind, gw, interleaved, per_bind)
        finally:
            await gw.service.stopService()
    assert "none" not in runs["ab"][0] + runs["ab"][1]
    assert len({o.split("/")[0] for o in runs["ab"][0] + runs["ab"][1]}) >= 2  # a real mix, not all DELIVRD
    assert runs["ab"] == runs["aabb"]
    # Drawn from the carrier's one generator, the same binds get other outcomes in the other order.
    assert runs["shared-ab"] != runs["shared-aabb"]


# ---- the README's examples ------------------------------------------------------------------


def readme_examples() -> list[str]:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Faults real carriers have") :]
    section = section[: section.index("\n## ")]
    blocks = section.split("```python\n")[1:]
    return [block[: block.index("```")] for block in blocks]


@pytest_twisted.ensureDeferred
async def test_the_readme_examples_work(gateway):
    stale, outbind, _ = readme_examples()
    port = free_port()

    def ported(code: str) -> str:
        return (
            code.replace("2776", str(port))
            .replace("2775", str(gateway.smpp_port))
            .replace("8775", str(gateway.admin_port))
        )

    out = io.StringIO()

    def run() -> None:
        assert api(gateway, "POST", "/api/scenario", {"toml": CHAOS.format(seed=1)})[0] == 201  # receipts in ms
        with contextlib.redirect_stdout(out):
            exec(compile(ported(stale), "README.md", "exec"), {})
            exec(compile(ported(outbind), "README.md", "exec"), {})

    await deferToThread(run)
    lines = out.getvalue().splitlines()
    assert lines[:4] == ["bind refused with 0x5", "submit_sm_resp 0", "submit_sm_resp 0", "submit_sm_resp 0"]
    assert lines[5].startswith("Outbind(") and "system_id='smppgw'" in lines[5]
    assert lines[6].startswith("BindReceiverResp(") and "command_status=0" in lines[6]
    assert lines[7].startswith("b'id:")


def run_example(gw: Any, code: str) -> list[str]:
    out = io.StringIO()
    ported = code.replace("2775", str(gw.smpp_port)).replace("8775", str(gw.admin_port))
    with contextlib.redirect_stdout(out):
        exec(compile(ported, "README.md", "exec"), {})
    return out.getvalue().splitlines()


@pytest_twisted.ensureDeferred
async def test_the_readme_per_bind_example_prints_the_same_whatever_the_order(tmp_path: Path):
    example = readme_examples()[2]
    shared = example.replace('admin("/api/accounts/demo/faults", {"per_bind_outcomes": True})', "")
    assert shared != example
    printed = {}
    for name, code in (
        ("interleaved", example),
        ("other-first", example.replace("OTHER_FIRST = False", "OTHER_FIRST = True")),
        ("shared-interleaved", shared),
        ("shared-other-first", shared.replace("OTHER_FIRST = False", "OTHER_FIRST = True")),
    ):
        gw = await start_gateway(tmp_path / name)
        try:
            printed[name] = await deferToThread(run_example, gw, code)
        finally:
            await gw.service.stopService()
    shown = [line.removeprefix("# ") for line in example.splitlines() if line.startswith(("# a ", "# b "))]
    assert printed["interleaved"] == printed["other-first"] == shown
    assert len({word for line in printed["interleaved"] for word in line.split()[1:]}) >= 2  # a mix
    assert printed["shared-interleaved"] != printed["shared-other-first"]
