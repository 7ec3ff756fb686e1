"""The web console in a real headless Chromium (Debian's chromium + chromium-driver via Selenium):
log in, watch the throughput move while smpplib submits, take a carrier down and see the failover
in a message's history, top up an account, certify a bound smpplib receiver.

Set SMPPGW_SCREENSHOTS=<folder> to save screenshots of each step (docs/screenshots was made so;
Chinese text needs a CJK font in the browser's system, e.g. Debian's fonts-wqy-zenhei)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
import pytest_twisted
import smpplib.exceptions
from conftest import RunningGateway
from smpp_helpers import client, submit_and_wait
from twisted.internet.threads import deferToThread

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no headless browser: install the Debian packages chromium and chromium-driver (.ci/run does)",
)
TOKEN = "demo-admin-token"
SHOTS = os.environ.get("SMPPGW_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def shot(driver: Any, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(SHOTS) / f"{name}.png"))


def wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 10.0) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def log_in(driver: Any, gw: RunningGateway) -> None:
    driver.get(gw.admin_url + "/")
    driver.execute_script("sessionStorage.clear()")
    driver.get(gw.admin_url + "/")
    wait(driver, ec.visibility_of_element_located((By.ID, "login-token")))
    driver.find_element(By.ID, "login-token").send_keys(TOKEN)
    driver.find_element(By.ID, "login-operator").send_keys("alice")
    driver.find_element(By.ID, "login-button").click()
    wait(driver, ec.visibility_of_element_located((By.ID, "view-overview")))


def click(driver: Any, selector: str) -> None:
    """Click what ``selector`` finds; the live tables are redrawn every second, so a row found a
    moment ago may be gone: find it again."""

    def attempt(d: Any) -> bool:
        try:
            d.find_element(By.CSS_SELECTOR, selector).click()
        except StaleElementReferenceException:
            return False
        return True

    wait(driver, attempt)


def go(driver: Any, view: str) -> None:
    driver.find_element(By.CSS_SELECTOR, f'#nav a[data-view="{view}"]').click()
    wait(driver, ec.visibility_of_element_located((By.ID, f"view-{view}")))


def submit_load(gw: RunningGateway, stop: threading.Event, sent: list[int]) -> None:
    """Submits until ``stop``, a little over 100/s, on one transceiver bind (receipts answered as they come)."""
    c = client(gw.smpp_port)
    try:
        i = 0
        while not stop.is_set():
            suffix = ("0000", "0001")[i % 2] if i % 10 == 9 else f"{i % 9000 + 1000:04d}"
            # Now and then a number no carrier serves, so the chart shows more than one status.
            destination = "12345" if i % 25 == 24 else f"1380013{suffix}"
            submit_and_wait(c, destination, registered_delivery=1)
            sent[0] += 1
            i += 1
            time.sleep(0.008)
    finally:
        c.unbind()
        c.disconnect()


@pytest_twisted.ensureDeferred
async def test_login_is_required_and_a_wrong_token_is_refused(gateway: RunningGateway, browser: Any) -> None:
    def scenario() -> None:
        browser.get(gateway.admin_url + "/")
        browser.execute_script("sessionStorage.clear()")
        browser.get(gateway.admin_url + "/")
        wait(browser, ec.visibility_of_element_located((By.ID, "login-token")))
        shot(browser, "console-login")
        browser.find_element(By.ID, "login-token").send_keys("wrong")
        browser.find_element(By.ID, "login-button").click()
        wait(browser, ec.text_to_be_present_in_element((By.ID, "login-error"), "refused"))
        assert not browser.find_element(By.ID, "app").is_displayed()

    await deferToThread(scenario)


@pytest_twisted.ensureDeferred
async def test_throughput_moves_while_a_client_submits(gateway: RunningGateway, browser: Any) -> None:
    await deferToThread(log_in, browser, gateway)
    assert await deferToThread(lambda: browser.find_element(By.ID, "submits-rate").text) == "0"
    stop, sent = threading.Event(), [0]
    load = deferToThread(submit_load, gateway, stop, sent)

    def watch() -> int:
        try:
            wait(browser, lambda d: int(d.find_element(By.ID, "submits-rate").text.replace(",", "")) > 10)
            wait(browser, lambda d: int(d.find_element(By.ID, "bound-count").text) == 1)
            if SHOTS:
                time.sleep(40)  # a long stretch of chart for the screenshots
            # The chart has drawn the accepted submits once its legend names their status.
            wait(browser, lambda d: "ESME_ROK" in d.find_element(By.ID, "legend").text)
            shot(browser, "console-overview")
            if SHOTS:
                go(browser, "sessions")
                time.sleep(1.5)
                shot(browser, "console-sessions")
                go(browser, "overview")
            return int(browser.find_element(By.ID, "submits-rate").text.replace(",", ""))
        finally:
            stop.set()

    rate = await deferToThread(watch)
    await load
    assert rate > 10 and sent[0] > 0
    # The chart's legend names the statuses it drew.
    legend = await deferToThread(lambda: browser.find_element(By.ID, "legend").text)
    assert "ESME_ROK" in legend


@pytest_twisted.ensureDeferred
async def test_carrier_down_shows_failover_in_the_message_history(gateway: RunningGateway, browser: Any) -> None:
    await deferToThread(log_in, browser, gateway)

    def take_down() -> None:
        go(browser, "carriers")
        row = '#carriers tr[data-carrier="CMCC"]'
        wait(browser, ec.element_to_be_clickable((By.CSS_SELECTOR, f"{row} button.toggle")))
        click(browser, f"{row} button.toggle")
        wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{row} .pill"), "down"))

    await deferToThread(take_down)
    assert not gateway.service.carriers["CMCC"].is_up

    def submit() -> str:
        c = client(gateway.smpp_port)
        try:
            return str(submit_and_wait(c, "13800138009", registered_delivery=1).message_id.decode())
        finally:
            c.unbind()
            c.disconnect()

    message_id = await deferToThread(submit)

    def find_history() -> str:
        go(browser, "messages")
        browser.find_element(By.ID, "search-id").send_keys(message_id)
        browser.find_element(By.ID, "search-button").click()
        wait(browser, ec.text_to_be_present_in_element((By.ID, "history-id"), message_id))
        wait(browser, ec.text_to_be_present_in_element((By.ID, "history"), "failover"))
        shot(browser, "console-message-history")
        text: str = browser.find_element(By.ID, "history").text
        return text

    history = await deferToThread(find_history)
    assert "failover: CMCC was down, sent to CUCC" in history
    assert "-42 li" in history  # charged at China Unicom's price

    def bring_up() -> None:
        go(browser, "carriers")
        row = '#carriers tr[data-carrier="CMCC"]'
        wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{row} button.toggle"), "Bring up"))
        click(browser, f"{row} button.toggle")
        wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, f"{row} .pill"), "up"))
        shot(browser, "console-carriers")

    await deferToThread(bring_up)
    assert gateway.service.carriers["CMCC"].is_up


@pytest_twisted.ensureDeferred
async def test_top_up_an_account(gateway: RunningGateway, browser: Any) -> None:
    await deferToThread(log_in, browser, gateway)

    def top_up() -> str:
        go(browser, "accounts")
        balance = '#accounts tr[data-account="demo2"] .balance'
        wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, balance), "1,000.000 CNY"))
        Select(browser.find_element(By.ID, "topup-account")).select_by_value("demo2")
        browser.find_element(By.ID, "topup-amount").send_keys("12.5")
        browser.find_element(By.ID, "topup-reference").send_keys("BANK-2026-0042")
        browser.find_element(By.ID, "topup-submit").click()
        wait(browser, ec.text_to_be_present_in_element((By.ID, "topup-result"), "Credited"))
        wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, balance), "1,012.500 CNY"))
        shot(browser, "console-accounts")
        result: str = browser.find_element(By.ID, "topup-result").text
        return result

    result = await deferToThread(top_up)
    assert result == "Credited 12.500 CNY to demo2: balance 1,012.500 CNY"
    assert gateway.service.wallets["demo2"].balance == 1_012_500
    entry = gateway.service.store.ledger("demo2")[-1]
    assert entry.reference == "BANK-2026-0042" and entry.operator == "alice"

    def same_reference_again() -> str:
        browser.find_element(By.ID, "topup-amount").clear()
        browser.find_element(By.ID, "topup-amount").send_keys("1")
        browser.find_element(By.ID, "topup-reference").send_keys("BANK-2026-0042")
        browser.find_element(By.ID, "topup-submit").click()
        wait(browser, ec.text_to_be_present_in_element((By.ID, "topup-result"), "already credited"))
        text: str = browser.find_element(By.ID, "topup-result").text
        return text

    assert "BANK-2026-0042" in await deferToThread(same_reference_again)
    assert gateway.service.wallets["demo2"].balance == 1_012_500


@pytest_twisted.ensureDeferred
async def test_http_access_fronts_and_a_new_api_secret(gateway: RunningGateway, browser: Any) -> None:
    await deferToThread(log_in, browser, gateway)

    def set_fronts() -> str:
        go(browser, "accounts")
        wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, '#iface-account option[value="demo2"]')))
        Select(browser.find_element(By.ID, "iface-account")).select_by_value("demo2")
        box = '#iface-fronts input[value="v1"]'
        wait(browser, ec.element_located_to_be_selected((By.CSS_SELECTOR, box)))
        for front in ("jasmin", "kannel", "v1"):
            browser.find_element(By.CSS_SELECTOR, f'#iface-fronts input[value="{front}"]').click()
        browser.find_element(By.ID, "iface-save").click()
        wait(browser, ec.text_to_be_present_in_element((By.ID, "iface-result"), "may use"))
        text: str = browser.find_element(By.ID, "iface-result").text
        return text

    assert await deferToThread(set_fronts) == "demo2 may use: legacy"
    assert gateway.service.accounts.get("demo2").config.http.fronts == ("legacy",)

    def new_secret() -> str:
        click(browser, "#iface-new-secret")
        wait(browser, ec.alert_is_present())
        browser.switch_to.alert.accept()
        wait(browser, ec.text_to_be_present_in_element((By.ID, "iface-result"), "shown once"))
        text: str = browser.find_element(By.ID, "iface-result").text
        return text

    shown = await deferToThread(new_secret)
    secret = shown.rsplit(": ", 1)[1]
    assert len(secret) >= 32 and gateway.service.accounts.get("demo2").config.http.api_secret == secret


def _ucs2(text: str) -> dict[str, Any]:
    return {"text": text.encode("utf-16-be"), "data_coding": 8}


@pytest_twisted.ensureDeferred
async def test_approve_a_held_message_in_the_review_queue(gateway: RunningGateway, browser: Any) -> None:
    def submit(text: str) -> str:
        c = client(gateway.smpp_port)
        try:
            return str(submit_and_wait(c, "13900008888", registered_delivery=1, **_ucs2(text)).message_id.decode())
        finally:
            c.unbind()
            c.disconnect()

    held = await deferToThread(submit, "周末博彩优惠，回复领取")
    other = await deferToThread(submit, "赌场开业酬宾")
    await deferToThread(log_in, browser, gateway)

    def approve() -> tuple[str, str]:
        # The overview's navigation shows how many messages wait for a decision.
        wait(browser, ec.text_to_be_present_in_element((By.ID, "review-badge"), "2"))
        go(browser, "review")
        row = f'#review tr[data-message="{held}"]'
        wait(browser, ec.visibility_of_element_located((By.CSS_SELECTOR, row)))
        marked_term = browser.find_element(By.CSS_SELECTOR, f"{row} mark").text
        row_text = browser.find_element(By.CSS_SELECTOR, row).text
        shot(browser, "console-review")
        click(browser, f"{row} button.approve")
        wait(browser, ec.text_to_be_present_in_element((By.ID, "review-result"), f"approved: {held}"))
        wait(browser, ec.invisibility_of_element_located((By.CSS_SELECTOR, row)))
        wait(browser, ec.text_to_be_present_in_element((By.ID, "review-badge"), "1"))
        return marked_term, row_text

    marked_term, row_text = await deferToThread(approve)
    assert marked_term == "博彩"
    assert "周末博彩优惠" in row_text and "demo" in row_text and "13900008888" in row_text
    assert gateway.service.gateway.find(held).state.name in ("ENROUTE", "DELIVERED", "ACCEPTED")
    decisions = gateway.service.store.decisions(held)
    assert decisions and "alice" in decisions[-1].detail

    def reject() -> None:
        row = f'#review tr[data-message="{other}"]'
        click(browser, f"{row} button.reject")
        wait(browser, ec.text_to_be_present_in_element((By.ID, "review-result"), f"rejected: {other}"))
        wait(browser, ec.visibility_of_element_located((By.CSS_SELECTOR, "#view-review .empty")))

    await deferToThread(reject)
    assert gateway.service.gateway.find(other).state.name == "REJECTED"


@pytest_twisted.ensureDeferred
async def test_incidents_and_suspend_and_reinstate_buttons(gateway: RunningGateway, browser: Any) -> None:
    def submit_prohibited() -> int:
        c = client(gateway.smpp_port, system_id="demo2", password="demo5678")
        try:
            return int(submit_and_wait(c, "13900008888", source_addr="10690001", **_ucs2("号召颠覆国家政权")).status)
        finally:
            c.disconnect()

    assert await deferToThread(submit_prohibited) != 0
    await deferToThread(log_in, browser, gateway)

    def incidents() -> str:
        go(browser, "incidents")
        wait(browser, ec.text_to_be_present_in_element((By.ID, "incidents"), "颠覆国家政权"))
        shot(browser, "console-incidents")
        text: str = browser.find_element(By.CSS_SELECTOR, "#incidents tbody tr").text
        return text

    row = await deferToThread(incidents)
    assert "demo2" in row and "suspended" in row

    def toggle(account: str, label: str, confirm: bool) -> None:
        go(browser, "accounts")
        button = f'#accounts tr[data-account="{account}"] button.status-toggle'
        wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, button), label))
        click(browser, button)
        if confirm:
            wait(browser, ec.alert_is_present())
            browser.switch_to.alert.accept()
        done = "suspended" if label == "Suspend" else "active"
        wait(browser, ec.text_to_be_present_in_element((By.ID, "account-result"), f"{account} is {done}"))
        pill = f'#accounts tr[data-account="{account}"] .pill'
        wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, pill), done))

    await deferToThread(toggle, "demo2", "Reinstate", False)
    assert gateway.service.accounts.get("demo2").status == "active"
    listener = await deferToThread(client, gateway.smpp_port, mode="rx")
    await deferToThread(toggle, "demo", "Suspend", True)
    assert gateway.service.accounts.get("demo").status == "suspended"

    def unbound() -> str:
        listener._socket.settimeout(3)
        return str(listener.read_pdu().command)

    assert await deferToThread(unbound) == "unbind"
    await deferToThread(shot, browser, "console-accounts-suspended")
    await deferToThread(toggle, "demo", "Reinstate", False)
    assert gateway.service.accounts.get("demo").status == "active"


def centre(driver: Any, element: Any) -> None:
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)


def receive_until(c: Any, stop: threading.Event) -> None:
    """A receiver on smpplib's own loop: it answers deliver_sm and enquire_link as smpplib does."""
    c._socket.settimeout(0.1)
    c.set_message_received_handler(lambda pdu: None)
    while not stop.is_set():
        try:
            c.read_once(auto_send_enquire_link=False)
        except TimeoutError:
            continue
        except (smpplib.exceptions.PDUError, smpplib.exceptions.UnknownCommandError, AttributeError):
            continue  # what smpplib cannot parse (the unknown command): the application carries on
        except (smpplib.exceptions.ConnectionError, OSError):
            return


@pytest_twisted.ensureDeferred
async def test_certify_a_bound_receiver_from_the_page(gateway: RunningGateway, browser: Any, tmp_path: Path) -> None:
    listener = await deferToThread(client, gateway.smpp_port, mode="rx")
    stop = threading.Event()
    reading = deferToThread(receive_until, listener, stop)
    try:
        await deferToThread(log_in, browser, gateway)
        checks = "#checks tbody tr"

        def certify() -> tuple[str, str, str]:
            go(browser, "certification")
            wait(browser, ec.presence_of_element_located((By.CSS_SELECTOR, '#certify-account option[value="demo"]')))
            Select(browser.find_element(By.ID, "certify-account")).select_by_value("demo")
            browser.find_element(By.ID, "certify-start").click()
            wait(browser, ec.text_to_be_present_in_element((By.ID, "certify-result"), "started"))
            started = browser.find_element(By.ID, "certify-result").text
            # The checks come in as the run goes: smpplib acknowledges the MO in UCS2.
            ucs2 = f'{checks}[data-check="mo.ucs2"] .pill'
            wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, ucs2), "pass"))
            summary = "#certification-summary .pill"
            wait(browser, ec.text_to_be_present_in_element((By.CSS_SELECTOR, summary), "failed"), timeout=40)
            shot(browser, "console-certification")
            run_row: str = browser.find_element(By.CSS_SELECTOR, "#certifications tbody tr").text
            table: str = browser.find_element(By.ID, "checks").text
            return started, run_row, table

        started, run_row, table = await deferToThread(certify)
        report = gateway.service.rig.certifications.reports()[-1]
        assert started == f"Certification {report['id']} of demo started on {report['peer']}"
        assert report["state"] == "done" and not report["passed"]
        assert "demo" in run_row and "receiver" in run_row and "failed" in run_row
        assert f"{report['counts']['pass']} passed, {report['counts']['fail']} failed" in run_row
        assert "answers enquire_link" in table and "acknowledges an MO in UCS2 (data_coding 8)" in table
        # A receiver does not submit: the throttling check does not apply to it.
        assert "not applicable" in table and "does not submit" in table
        # smpplib does not answer an unknown command.
        unknown = next(c for c in report["checks"] if c["check"] == "unknown_command")
        assert unknown["outcome"] == "fail" and unknown["detail"] in table

        def proving_pdus() -> str:
            row = f'{checks}[data-check="enquire_link"]'
            click(browser, f"{row} summary")
            wait(browser, ec.visibility_of_element_located((By.CSS_SELECTOR, f"{row} .pdus")))
            centre(browser, browser.find_element(By.CSS_SELECTOR, row))
            shot(browser, "console-certification-pdus")
            text: str = browser.find_element(By.CSS_SELECTOR, f"{row} .pdus").text
            return text

        pdus = await deferToThread(proving_pdus)
        assert "enquire_link_resp" in pdus and "→" in pdus and "←" in pdus

        def download_junit() -> Path:
            browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
            link = browser.find_element(By.ID, "download-junit")
            centre(browser, link)  # not under the sticky top bar
            link.click()
            saved = tmp_path / f"certification-{report['id']}-demo.xml"
            wait(browser, lambda d: saved.is_file() and saved.stat().st_size > 0)
            return saved

        saved = await deferToThread(download_junit)
        suite = ET.parse(saved).getroot().find("testsuite")
        assert suite is not None and suite.get("name") == "smppgw certification demo"
        assert suite.get("tests") == str(len(report["checks"]))
        assert suite.get("failures") == str(report["counts"]["fail"])
    finally:
        stop.set()
        await reading
        await deferToThread(listener.disconnect)
