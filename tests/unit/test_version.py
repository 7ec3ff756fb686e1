"""`smppgw --version` names the version and the build: which hot modules run compiled (mypyc), or
pure Python.  CI installs both builds and says which one it is testing in SMPPGW_EXPECT_BUILD
("compiled" or "pure"), so a build that silently fell back to plain Python fails here."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import re

import pytest

import smppgw
from smppgw.cli import main
from smppgw.compiled import HOT_MODULES


def version_line(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("COLUMNS", "40")  # one line however narrow the terminal
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out.strip()


def loaded_from_extension(name: str) -> bool:
    module = importlib.import_module(f"smppgw.{name}")
    return str(module.__file__).endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_version_names_the_compiled_modules_or_pure_python(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    line = version_line(capsys, monkeypatch)
    match = re.fullmatch(r"smppgw (\S+) \((pure Python|compiled: ([a-z_.]+(?:, [a-z_.]+)*))\)", line)
    assert match is not None, line
    assert match.group(1) == smppgw.__version__
    named = match.group(3).split(", ") if match.group(3) else []
    assert named == [name for name in HOT_MODULES if loaded_from_extension(name)]


@pytest.mark.skipif("SMPPGW_EXPECT_BUILD" not in os.environ, reason="SMPPGW_EXPECT_BUILD not set (CI sets it)")
def test_version_reports_the_build_that_was_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = os.environ["SMPPGW_EXPECT_BUILD"]
    assert expected in ("compiled", "pure"), expected
    line = version_line(capsys, monkeypatch)
    if expected == "compiled":
        assert line == f"smppgw {smppgw.__version__} (compiled: {', '.join(HOT_MODULES)})"
    else:
        assert line == f"smppgw {smppgw.__version__} (pure Python)"
