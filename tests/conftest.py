"""Shared fixtures: a real gateway in this process (the pytest-twisted reactor), on free
loopback ports, with its SQLite store in a temporary folder."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# SMPPGW_TEST_INSTALLED=1: test the installed smppgw (a compiled build, say), not this checkout's
# source, which setup.cfg's pythonpath and `python -m pytest` put first on sys.path.
if os.environ.get("SMPPGW_TEST_INSTALLED") == "1":
    _checkout = Path(__file__).resolve().parents[1]
    sys.path[:] = [e for e in sys.path if Path(e or ".").resolve() != _checkout]
    import smppgw

    if Path(smppgw.__file__).resolve().is_relative_to(_checkout / "smppgw"):
        raise pytest.UsageError(f"SMPPGW_TEST_INSTALLED=1 but smppgw is imported from {smppgw.__file__}")

import pytest_twisted
from haproxy_cluster import on_postgres
from pg_harness import pg_cluster, pg_url  # noqa: F401 (fixtures: a throwaway PostgreSQL)
from twisted.internet import reactor
from twisted.logger import globalLogPublisher

from smppgw import config as cfg
from smppgw.app.service import GatewayService

# The tests live in layers (unit, adapter, store, e2e, system); the helper modules stay here.  Every
# layer's folder is importable, so a test may reuse another's helpers (``from test_admin_api import
# call``) whichever folder pytest was started on.
TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "adapter", "store", "e2e", "system")
for _folder in (TESTS, *(TESTS / layer for layer in LAYERS)):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

ROOT = TESTS.parent
FIXTURES = ROOT / "fixtures"
DEFAULT_CONFIG = FIXTURES / "gateway.toml"


def config_text(store: Path, *, overrides: Callable[[str], str] | None = None, base: Path = DEFAULT_CONFIG) -> str:
    """The demo configuration (or ``base``) on free ports (0) with its store at ``store``."""
    text = base.read_text(encoding="utf-8")
    text = re.sub(r'(?m)^listen = "tcp:2775[^"]*"', 'listen = "tcp:0:interface=127.0.0.1"', text)
    text = re.sub(r'(?m)^listen = "tcp:8775[^"]*"', 'listen = "tcp:0:interface=127.0.0.1"', text)
    text = re.sub(r'(?m)^listen = "tcp:3550[^"]*"', 'listen = "tcp:0:interface=127.0.0.1"', text)
    text = re.sub(r'(?m)^listen = "tcp:7890[^"]*"', 'listen = "tcp:0:interface=127.0.0.1"', text)
    text = re.sub(r'(?m)^listen = "tcp:8776[^"]*"', 'listen = "tcp:0:interface=127.0.0.1"', text)
    text = text.replace('"state/tls/', '"' + (store.parent / "tls").as_posix() + "/")
    text = re.sub(r'(?m)^path = "state/smppgw.db"', f"path = {str(store)!r}".replace("'", '"'), text)
    if overrides is not None:
        text = overrides(text)
    return text


@dataclass
class RunningGateway:
    service: GatewayService
    smpp_port: int
    admin_port: int
    store_path: Path
    tls_port: int = 0
    cmpp_port: int = 0

    @property
    def store_arg(self) -> str:
        """What `smppgw ledger check --store` takes: the SQLite file, or the PostgreSQL URL."""
        return self.service.config.store.url or str(self.store_path)

    @property
    def admin_url(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"


async def start_gateway(
    tmp_path: Path, overrides: Callable[[str], str] | None = None, source: Path = DEFAULT_CONFIG
) -> RunningGateway:
    """``source`` is the file a reload reads (the text started from is the demo's, edited)."""
    store = tmp_path / "state" / "smppgw.db"
    text = config_text(store, overrides=overrides)
    config = cfg.parse(text, source)
    service = GatewayService(config, reactor)
    service.startService()
    smpp: Any = await service.smpp_service._waitingForPort
    admin: Any = await service.admin_service._waitingForPort
    tls: Any = await service.tls_service._waitingForPort if service.tls_service is not None else None
    tls_port = tls.getHost().port if tls is not None else 0
    cmpp: Any = await service.cmpp_service._waitingForPort if service.cmpp_service is not None else None
    cmpp_port = cmpp.getHost().port if cmpp is not None else 0
    return RunningGateway(service, smpp.getHost().port, admin.getHost().port, store, tls_port, cmpp_port)


@pytest_twisted.async_yield_fixture
async def gateway_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start gateways with a modified demo configuration: ``await gateway_factory(edit)``."""
    started: list[GatewayService] = []

    async def make(overrides: Callable[[str], str] | None = None, source: Path = DEFAULT_CONFIG) -> RunningGateway:
        running = await start_gateway(tmp_path, overrides, source)
        started.append(running.service)
        return running

    yield make
    for service in started:
        if service.running:
            await service.stopService()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_kind(request: pytest.FixtureRequest) -> str:
    """Run a test against each store (PostgreSQL: a fresh database of the session's cluster)."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("pg_url")
        return url
    return "sqlite"


@pytest_twisted.async_yield_fixture
async def any_store_gateway_factory(tmp_path: Path, store_kind: str) -> AsyncIterator[Callable[..., Any]]:
    """gateway_factory, once on SQLite and once on PostgreSQL."""
    started: list[GatewayService] = []

    async def make(overrides: Callable[[str], str] | None = None, source: Path = DEFAULT_CONFIG) -> RunningGateway:
        edit = overrides
        if store_kind != "sqlite":
            on_pg = on_postgres(store_kind)
            edit = on_pg if overrides is None else (lambda text: on_pg(overrides(text)))
        running = await start_gateway(tmp_path, edit, source)
        started.append(running.service)
        return running

    yield make
    for service in started:
        if service.running:
            await service.stopService()


@pytest_twisted.async_yield_fixture
async def gateway(tmp_path: Path) -> AsyncIterator[RunningGateway]:
    running = await start_gateway(tmp_path)
    yield running
    await running.service.stopService()


@pytest.fixture(autouse=True)
def no_logged_failures() -> Any:
    """Any traceback the gateway logs (an unhandled error in a callback) fails the test."""
    failures: list[str] = []

    def observe(event: dict[str, Any]) -> None:
        failure = event.get("log_failure")
        if failure is not None:
            failures.append(failure.getTraceback())

    globalLogPublisher.addObserver(observe)
    yield failures
    globalLogPublisher.removeObserver(observe)
    assert not failures, "\n".join(failures)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything in tests/system (subprocesses, several nodes, PostgreSQL, HAProxy, the browser)
    is slow: ``pytest -m "not slow"`` leaves it out."""
    system = TESTS / "system"
    for item in items:
        if item.path.is_relative_to(system):
            item.add_marker(pytest.mark.slow)


def pytest_configure(config: pytest.Config) -> None:
    """``pytest tests/unit`` alone runs the quick budget of examples (tests/hypothesis_budget.py)."""
    if "SMPPGW_EXAMPLES" not in os.environ:
        unit = TESTS / "unit"
        chosen = [Path(str(arg).split("::")[0]).resolve() for arg in config.args]
        if chosen and all(path.is_relative_to(unit) for path in chosen):
            os.environ["SMPPGW_EXAMPLES"] = "quick"
    if os.environ.get("SMPPGW_EXAMPLES") == "quick":
        from hypothesis import settings  # noqa: PLC0415
        from hypothesis_budget import QUICK_DEFAULT  # noqa: PLC0415

        settings.register_profile("quick", max_examples=QUICK_DEFAULT)
        settings.load_profile("quick")


def pytest_report_header(config: pytest.Config) -> str:
    if os.environ.get("SMPPGW_EXAMPLES") == "quick":
        return "property tests: the quick budget, a tenth of their examples (SMPPGW_EXAMPLES=full for all)"
    return "property tests: every example they name"
