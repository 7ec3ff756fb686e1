"""The build: setup.cfg holds the metadata; this adds the hot modules compiled with mypyc.

When mypyc (from the mypy build requirement) and a working C compiler are at hand, the modules named
in smppgw/compiled.py are compiled; otherwise, or with SMPPGW_PURE=1 in the environment, the same
modules are installed as plain Python.  Either way the build succeeds and says which it made.
"""

from __future__ import annotations

import os
import runpy
import sys
import tempfile
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
HOT_MODULES: tuple[str, ...] = runpy.run_path(str(HERE / "smppgw" / "compiled.py"))["HOT_MODULES"]
# mypyc type-checks what it compiles; the project's [mypy] section names a plugin the build does not need.
MYPY_CONFIG = "[mypy]\nstrict = True\npython_version = 3.11\n"


def say(message: str) -> None:
    print(f"smppgw build: {message}", file=sys.stderr, flush=True)


def compiler_problem() -> str | None:
    """Why no extension can be built here (None when a test extension compiles and links)."""
    try:
        from setuptools._distutils.ccompiler import new_compiler  # noqa: PLC0415 (optional)
        from setuptools._distutils.sysconfig import customize_compiler, get_python_inc  # noqa: PLC0415
    except ImportError as err:  # pragma: no cover - a setuptools without its distutils
        return f"no distutils compiler support ({err})"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "probe.c"
        source.write_text("#include <Python.h>\nint smppgw_probe(void) { return 0; }\n", encoding="utf-8")
        try:
            compiler: Any = new_compiler()
            customize_compiler(compiler)
            objects = compiler.compile([str(source)], output_dir=tmp, include_dirs=[get_python_inc()])
            compiler.link_shared_object(objects, str(Path(tmp) / "probe.so"))
        except Exception as err:  # any failure means: no usable compiler
            return f"no working C compiler ({type(err).__name__}: {err})".strip()
    return None


# Only the commands that build extensions pay for mypyc (pip also runs this file for egg_info/dist_info).
BUILDS = {"build", "build_ext", "bdist_wheel", "install", "develop", "editable_wheel"}


def drop_stale_extensions() -> None:
    """A pure build after a compiled one in the same tree must not ship the .so files left in build/."""
    for lib in HERE.glob("build/lib*"):
        for stale in [*lib.glob("smppgw/**/*.so"), *lib.glob("smppgw/**/*.pyd"), *lib.glob("smppgw__mypyc*")]:
            stale.unlink()


def hot_extensions() -> list[Any]:
    if not BUILDS.intersection(sys.argv[1:]):
        return []
    extensions = compiled_extensions()
    if not extensions:
        drop_stale_extensions()
    return extensions


def compiled_extensions() -> list[Any]:
    if os.environ.get("SMPPGW_PURE", "").strip() not in ("", "0"):
        say("SMPPGW_PURE is set: the hot modules are installed as plain Python")
        return []
    try:
        from mypyc.build import mypycify  # noqa: PLC0415 (optional: the build falls back without it)
    except ImportError:
        say("mypyc is not installed: the hot modules are installed as plain Python")
        return []
    problem = compiler_problem()
    if problem is not None:
        say(f"{problem}: the hot modules are installed as plain Python")
        return []
    config = HERE / "build" / "mypyc.ini"
    config.parent.mkdir(exist_ok=True)
    config.write_text(MYPY_CONFIG, encoding="utf-8")
    paths = [f"smppgw/{name.replace('.', '/')}.py" for name in HOT_MODULES]
    try:
        extensions: list[Any] = mypycify(["--config-file", str(config), *paths], group_name="smppgw")
    except (Exception, SystemExit) as err:  # a type error mypyc rejects: still install
        say(f"mypyc could not compile the hot modules ({err!r}): they are installed as plain Python")
        return []
    say(f"compiling with mypyc: {', '.join(HOT_MODULES)}")
    return extensions


class BuildExtOrFallBack(build_ext):
    """A compiler that fails on the generated C leaves the modules as plain Python, not a failed build."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as err:  # CompileError, LinkError, a missing header, ...
            say(f"compiling the hot modules failed ({err}): they are installed as plain Python")
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)
            drop_stale_extensions()
            self.extensions = []
            self.distribution.ext_modules = []


setup(ext_modules=hot_extensions(), cmdclass={"build_ext": BuildExtOrFallBack})
