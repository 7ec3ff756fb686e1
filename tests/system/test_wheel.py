"""The package as a user installs it: a wheel built from this source tree, installed (not editable)
in a fresh virtual environment, and `smppgw serve` started from an empty folder with no --config.
It must find its embedded demo configuration and the files that names, and take a bind and a
submit_sm from a real smpplib client on the demo's own ports."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_until
from smpp_helpers import client, submit_and_wait

ROOT = Path(__file__).resolve().parents[2]
DEMO_PORTS = (2775, 8775, 3550)  # SMPP, admin API, SMPP over TLS in the demo configuration


def _in_use(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _can_build_in_place() -> bool:
    """setuptools >= 68 with its wheel builder here: no isolated build environment needed."""
    try:
        import setuptools  # noqa: PLC0415
        import wheel  # noqa: F401, PLC0415
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 68


def build_wheel(out: Path) -> Path:
    """A wheel of a copy of the sources (a build in the tree would leave build/ behind)."""
    source = out / "source"
    for part in ("smppgw", "fixtures"):
        shutil.copytree(ROOT / part, source / part, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    isolation = ["--no-build-isolation"] if _can_build_in_place() else []  # else pip fetches setuptools
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", str(out), str(source)],
        check=True,
        timeout=300,
    )
    (wheel_file,) = out.glob("smppgw-*.whl")
    return wheel_file


def fresh_venv(where: Path, wheel_file: Path) -> Path:
    """A new environment holding only the wheel; its dependencies are the ones this test runs with
    (a .pth file puts this interpreter's site-packages after the environment's own)."""
    venv.EnvBuilder(with_pip=True).create(where)
    python = where / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel_file)], check=True, timeout=300
    )
    # Only now: pip would take an smppgw installed where this test runs for the wheel already there.
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "test-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    found = subprocess.run(
        [str(python), "-c", "import smppgw; print(smppgw.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=where,
    ).stdout.strip()
    assert Path(found).is_relative_to(where), f"the environment runs {found}, not the wheel"
    return where / "bin" / "smppgw"


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Path]:
    busy = [port for port in DEMO_PORTS if _in_use(port)]
    if busy:
        pytest.skip(f"the demo configuration's ports {busy} are taken by another program")
    yield fresh_venv(tmp_path / "venv", build_wheel(tmp_path / "dist"))


def test_the_installed_wheel_serves_its_demo_configuration_from_an_empty_folder(
    tmp_path: Path, installed: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(installed), "serve"], cwd=empty, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:

        def started() -> bool:
            assert proc.poll() is None, f"smppgw serve exited ({proc.returncode}):\n{log.read_text()}"
            return _in_use(DEMO_PORTS[0])

        wait_until(started, 30, what="the demo gateway listening on 2775", detail=log.read_text)
        c = client(DEMO_PORTS[0], "demo", "demo1234")
        resp = submit_and_wait(c, "13800138000")
        c.unbind()
        c.disconnect()
    finally:
        proc.terminate()
        proc.wait(20)
    assert resp.command == "submit_sm_resp" and resp.status == 0, log.read_text()
    assert len(resp.message_id) == 15  # demo's message ids: 15 hex digits
    # The state went where the user started it; the package's folder stays as installed.
    assert (empty / "state" / "smppgw.db").exists()
    text = log.read_text()
    assert "SMPP on tcp:2775" in text and "Traceback" not in text, text
