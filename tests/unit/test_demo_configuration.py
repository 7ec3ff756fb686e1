"""The demo configuration `smppgw serve` runs without --config is the one in fixtures/: the package
reaches it through smppgw/data (a link in the source tree, real files in the wheel), so the tests
and an installed gateway read the same text."""

from __future__ import annotations

from conftest import DEFAULT_CONFIG, ROOT

from smppgw import config as cfg


def test_the_default_configuration_is_the_fixture_and_names_files_beside_it() -> None:
    path = cfg.default_config_path()
    if path.is_relative_to(ROOT / "smppgw"):  # the source tree (an installed copy may sit in ROOT/.venv)
        assert path.resolve() == DEFAULT_CONFIG.resolve()
    else:  # an installed package (SMPPGW_TEST_INSTALLED=1): a copy of the fixture, not the link
        assert path.read_bytes() == DEFAULT_CONFIG.read_bytes()
    loaded = cfg.load(path)
    assert {"demo", "demo2", "brand"} <= set(loaded.accounts)
    assert loaded.listen.startswith("tcp:2775")
