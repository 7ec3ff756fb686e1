"""The demo configuration `smppgw serve` runs without --config is the one in fixtures/: the package
reaches it through smppgw/data (a link in the source tree, real files in the wheel), so the tests
and an installed gateway read the same text."""

from __future__ import annotations

from conftest import DEFAULT_CONFIG

from smppgw import config as cfg


def test_the_default_configuration_is_the_fixture_and_names_files_beside_it() -> None:
    path = cfg.default_config_path()
    assert path.resolve() == DEFAULT_CONFIG.resolve()
    loaded = cfg.load(path)
    assert {"demo", "demo2", "brand"} <= set(loaded.accounts)
    assert loaded.listen.startswith("tcp:2775")
