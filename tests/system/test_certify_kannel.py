"""``smppgw certify`` against Kannel (bearerbox + smsbox, one transceiver bind): messages keep
coming in through smsbox's sendsms interface while the probe runs, so the throttling and
early-receipt checks have submits to work on; the report is written as JUnit XML and JSON."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from urllib.parse import quote
from urllib.request import urlopen
from xml.etree import ElementTree as ET

import pytest_twisted
from interop import kannel_config, need_program, wait_port
from polling import wait_until
from twisted.internet.threads import deferToThread

from smppgw.cli.main import main


@pytest_twisted.ensureDeferred
async def test_certifying_kannel_writes_its_reports(gateway_factory, tmp_path: Path):
    bearerbox = need_program("bearerbox", "kannel")
    smsbox = need_program("smsbox", "kannel")
    gw = await gateway_factory()
    conf, ports = kannel_config(tmp_path, gw.smpp_port)
    procs: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()

    def start(program: str) -> None:
        log = (tmp_path / f"{Path(program).name}.out").open("wb")
        procs.append(subprocess.Popen([program, str(conf)], stdout=log, stderr=subprocess.STDOUT))

    def keep_sending() -> None:
        n = 0
        while not stop.wait(0.5):
            n += 1
            query = f"username=rig&password=rigpass&from=10690000&to=13800138000&text={quote(f'certify {n}')}"
            try:
                with urlopen(f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms?{query}", timeout=5) as resp:
                    resp.read()
            except OSError:
                pass  # smsbox busy or restarting: the next one goes

    def bound() -> bool:
        return any(s.account == "demo" and s.session.can_receive for s in gw.service.factory.connections)

    def run() -> int:
        start(bearerbox)
        assert wait_port(ports["smsbox"], 15), "bearerbox did not open its smsbox port"
        start(smsbox)
        assert wait_port(ports["sendsms"], 15), "smsbox did not open its sendsms port"
        wait_until(bound, 15, what="Kannel bound to the gateway")
        sender = threading.Thread(target=keep_sending, daemon=True)
        sender.start()
        common = ["--url", gw.admin_url, "--token", gw.service.config.admin.token, "--account", "demo",
                  "--timeout", "3", "--submit-wait", "10", "--resubmit-wait", "15", "--rebind-wait", "20"]  # fmt: skip
        try:
            code = main(["certify", *common, "--format", "junit", "--output", str(tmp_path / "kannel.xml")])
        finally:
            stop.set()
            sender.join(10)
        # The same run, as JSON, from the API (the CLI printed it as JUnit).
        with urlopen(_request(gw, "/api/certifications"), timeout=5) as resp:
            (tmp_path / "kannel.json").write_bytes(resp.read())
        return code

    try:
        code = await deferToThread(run)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    suite = ET.parse(tmp_path / "kannel.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "15"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    report = json.loads((tmp_path / "kannel.json").read_text(encoding="utf-8"))["certifications"][0]
    outcome = {c["check"]: c["outcome"] for c in report["checks"]}
    print(json.dumps(outcome, indent=1))
    assert list(cases) == list(outcome)
    assert report["bind"] == "bind_transceiver" and report["state"] == "done"
    for check in ("enquire_link", "mo.gsm7", "mo.ucs2", "receipt.text", "receipt.tlv_only", "receipt.duplicate"):
        assert outcome[check] == "pass", (check, report["checks"])
    assert code == (0 if report["passed"] else 1)


def _request(gw, path: str):  # type: ignore[no-untyped-def]
    from urllib.request import Request  # noqa: PLC0415

    return Request(gw.admin_url + path, headers={"Authorization": f"Bearer {gw.service.config.admin.token}"})
