"""``smppgw certify`` against smpplib over loopback: a transceiver answering as smpplib does (its
own deliver_sm_resp and enquire_link_resp), an application on top that resubmits throttled
messages with a growing pause; the report comes out as JUnit XML and names what smpplib misses."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import pytest_twisted
import smpplib.client
import smpplib.consts
import smpplib.exceptions
from twisted.internet.threads import deferToThread

from smppgw.cli.main import main


class ThrottleAwareApp:
    """A partner's sending loop on smpplib: one message every 0.3 s; a throttled one is sent again
    after 0.6 s, then 1.2 s, ..."""

    def __init__(self, port: int) -> None:
        self.client = smpplib.client.Client("127.0.0.1", port, timeout=0.1, allow_unknown_opt_params=True)
        self.client.connect()
        self.client.bind_transceiver(system_id="demo", password="demo1234")
        self.client.set_message_sent_handler(self._sent)
        self.client.set_error_pdu_handler(self._error)
        self.stop = threading.Event()
        self.throttled: dict[int, int] = {}  # sequence -> times throttled
        self.resend_at: float | None = None
        self.tries = 0
        self.resubmits = 0

    def _send(self) -> None:
        pdu = self.client.send_message(
            source_addr_ton=0, source_addr_npi=1, source_addr="10690000",
            dest_addr_ton=1, dest_addr_npi=1, destination_addr="13800138000",
            short_message=b"certify me", registered_delivery=1,
        )  # fmt: skip
        self.last_sequence = pdu.sequence

    def _sent(self, pdu: Any) -> None:
        if pdu.status == smpplib.consts.SMPP_ESME_ROK:  # smpplib calls it for refusals too
            self.tries = 0

    def _error(self, pdu: Any) -> None:
        if pdu.command == "submit_sm_resp" and pdu.status == smpplib.consts.SMPP_ESME_RTHROTTLED:
            self.tries += 1
            self.resend_at = time.monotonic() + 0.6 * 2 ** (self.tries - 1)

    def run(self) -> None:
        next_new = time.monotonic()
        while not self.stop.is_set():
            now = time.monotonic()
            if self.resend_at is not None and now >= self.resend_at:
                self.resend_at = None
                self.resubmits += 1
                self._send()
            elif self.resend_at is None and self.tries == 0 and now >= next_new:
                next_new = now + 0.3
                self._send()
            try:
                self.client.read_once(auto_send_enquire_link=False)
            except TimeoutError:
                continue
            except (smpplib.exceptions.PDUError, smpplib.exceptions.UnknownCommandError, AttributeError):
                continue  # smpplib cannot parse it (an unknown command): the application carries on
            except smpplib.exceptions.ConnectionError:
                return


@pytest_twisted.ensureDeferred
async def test_certifying_an_smpplib_transceiver_writes_its_junit_report(gateway_factory, tmp_path: Path):
    gw = await gateway_factory()
    app = await deferToThread(ThrottleAwareApp, gw.smpp_port)
    worker = threading.Thread(target=app.run, daemon=True)
    worker.start()
    out = tmp_path / "certification.xml"
    argv = [
        "certify", "--url", gw.admin_url, "--token", gw.service.config.admin.token, "--account", "demo",
        "--format", "junit", "--output", str(out),
        "--timeout", "1", "--submit-wait", "5", "--resubmit-wait", "6", "--min-backoff", "0.4", "--rebind-wait", "3",
    ]  # fmt: skip
    try:
        code = await deferToThread(main, argv)
    finally:
        app.stop.set()
        await deferToThread(worker.join, 5)
    suite = ET.parse(out).getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    outcome = {
        name: "fail" if c.find("failure") is not None else "skipped" if c.find("skipped") is not None else "pass"
        for name, c in cases.items()
    }
    # smpplib acknowledges every deliver_sm shape and answers enquire_link; the application backs off.
    for check in ("enquire_link", "mo.gsm7", "mo.latin1", "mo.ucs2", "mo.udh_long", "mo.message_payload",
                  "receipt.text", "receipt.tlv_only", "receipt.duplicate", "receipt.before_submit_resp",
                  "throttling", "generic_nack"):  # fmt: skip
        assert outcome[check] == "pass", (check, ET.tostring(cases[check], encoding="unicode"))
    # What smpplib itself does not do: answer an unknown command, or a gateway's unbind.
    assert outcome["unknown_command"] == "fail"
    assert outcome["unbind"] == "fail"
    assert outcome["rebind"] == "skipped"
    assert code == 1  # a failed check fails the partner's CI step
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("15", "2", "1")
    failure = cases["unbind"].find("failure")
    assert failure is not None and "no unbind_resp" in (failure.get("message") or "")
    assert app.resubmits >= 2
    throttling = cases["throttling"].findtext("system-out") or ""
    assert throttling.startswith("resubmitted after pauses of 0.6") and "(growing)" in throttling


@pytest_twisted.ensureDeferred
async def test_certify_says_why_it_cannot_start(gateway_factory, capsys: pytest.CaptureFixture[str]):
    gw = await gateway_factory()
    common = ["--url", gw.admin_url, "--token", gw.service.config.admin.token]
    code = await deferToThread(main, ["certify", *common, "--account", "demo"])
    assert code == 1
    assert (
        "refused (409): 'demo' has no receiver or transceiver bound: bind the client first" in capsys.readouterr().err
    )
    code = await deferToThread(main, ["certify", *common, "--account", "nobody"])
    assert code == 1
    assert "refused (404): no account 'nobody'" in capsys.readouterr().err
    code = await deferToThread(main, ["certify", *common, "--account", "demo", "--timeout", "0"])
    assert code == 1
    assert "response must be a positive number of seconds, got 0.0" in capsys.readouterr().err
    code = await deferToThread(main, ["certify", *common, "--account", "demo", "--timeout", "-1"])
    assert "(400): timeout must be a number of seconds from 0 to 3600" in capsys.readouterr().err
