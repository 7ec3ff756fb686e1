"""The console's Handsets page in a real headless Chromium: smpplib sends a long UCS2 message and a
broken one; the page lists the number and shows the phone's inbox with the broken part named."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_twisted
from conftest import RunningGateway
from smpp_helpers import client, submit_and_wait
from twisted.internet.threads import deferToThread

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -e '.[test]')")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="no headless browser: install the Debian packages chromium and chromium-driver (.ci/run does)",
)
TOKEN = "demo-admin-token"
TEXT = "【演示】这是一条很长的中文短信，用来检查手机收件箱能否把分段的长短信拼接成一条完整的消息。" * 2


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1440,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    yield driver
    driver.quit()


def wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 10.0) -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(condition)


def send(gw: RunningGateway) -> None:
    c = client(gw.smpp_port)
    try:
        octets = TEXT.encode("utf-16-be")
        chunks = [octets[i : i + 134] for i in range(0, len(octets), 134)]
        for seq, chunk in enumerate(chunks, 1):
            submit_and_wait(
                c, "13800138777", bytes([5, 0, 3, 9, len(chunks), seq]) + chunk, data_coding=8, esm_class=0x40
            )
        submit_and_wait(
            c, "13800138777", bytes([5, 0, 3, 10, 2, 2]) + "尾".encode("utf-16-be"), data_coding=8, esm_class=0x40
        )
    finally:
        c.unbind()
        c.disconnect()


@pytest_twisted.ensureDeferred
async def test_the_handsets_page_shows_the_phone_and_the_broken_message(gateway: RunningGateway, browser: Any) -> None:
    await deferToThread(send, gateway)

    def scenario() -> str:
        browser.get(gateway.admin_url + "/")
        browser.execute_script("sessionStorage.clear()")
        browser.get(gateway.admin_url + "/#handsets")
        wait(browser, ec.visibility_of_element_located((By.ID, "login-token")))
        browser.find_element(By.ID, "login-token").send_keys(TOKEN)
        browser.find_element(By.ID, "login-button").click()
        wait(browser, ec.visibility_of_element_located((By.ID, "view-handsets")))
        row = '#handsets tr[data-msisdn="8613800138777"]'
        wait(browser, ec.element_to_be_clickable((By.CSS_SELECTOR, row)))
        browser.find_element(By.CSS_SELECTOR, row).click()
        wait(browser, ec.text_to_be_present_in_element((By.ID, "handset-summary"), "2 message(s), 1 broken"))
        text: str = browser.find_element(By.ID, "handset-inbox").text
        return text

    inbox = await deferToThread(scenario)
    assert TEXT in inbox
    assert "signature 【演示】 at the start" in inbox
    assert "missing_part part 1 of 2 has not arrived" in inbox
