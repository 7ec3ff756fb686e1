"""The console's static files on the admin port: served without a token, holding no data."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest_twisted
from conftest import RunningGateway
from twisted.internet.threads import deferToThread


@pytest_twisted.ensureDeferred
async def test_console_files_are_served_without_a_token_and_hold_no_data(gateway: RunningGateway) -> None:
    def get(path: str) -> tuple[int, str, str]:
        try:
            with urllib.request.urlopen(gateway.admin_url + path, timeout=5) as response:
                return response.status, response.headers["content-type"], response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.headers["content-type"], err.read().decode()

    status, kind, page = await deferToThread(get, "/")
    assert status == 200 and kind.startswith("text/html") and 'id="login-token"' in page
    assert "demo-admin-token" not in page and "http" not in page.replace("http-equiv", "")  # nothing from a CDN
    status, kind, script = await deferToThread(get, "/console.js")
    assert status == 200 and kind.startswith("text/javascript")
    assert "://" not in script  # calls only its own origin, fetches nothing from elsewhere
    status, kind, _ = await deferToThread(get, "/console.css")
    assert status == 200 and kind.startswith("text/css")
    assert (await deferToThread(get, "/../setup.cfg"))[0] == 404
    assert (await deferToThread(get, "/api/overview"))[0] == 401


@pytest_twisted.ensureDeferred
async def test_console_has_a_certification_view_with_report_downloads(gateway: RunningGateway) -> None:
    def get(path: str) -> str:
        with urllib.request.urlopen(gateway.admin_url + path, timeout=5) as response:
            return str(response.read().decode())

    page = await deferToThread(get, "/")
    assert '<a href="#certification" data-view="certification">Certification</a>' in page
    for element in ('id="view-certification"', 'id="certify-account"', 'id="certify-start"', 'id="certifications"',
                    'id="checks"', 'data-format="json"', 'data-format="junit"'):  # fmt: skip
        assert element in page, element
    script = await deferToThread(get, "/console.js")
    # The view's calls are the admin API's own routes, and the downloads ask for its renderings.
    assert 'api("POST", "/api/certifications", { account })' in script
    assert 'api("GET", "/api/certifications")' in script
    assert "/api/certifications/${report.id}?format=${link.dataset.format}" in script
