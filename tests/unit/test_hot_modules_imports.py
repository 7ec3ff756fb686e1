"""The hot modules compile in `pip install`'s own build environment, which holds mypy and setuptools
and nothing of the gateway's dependencies: mypyc type-checks every module they import, ours
included, so one `import twisted...` anywhere in that closure makes the whole build fall back to
plain Python.  This names the module and the import before a wheel is ever built."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from smppgw.compiled import HOT_MODULES

PACKAGE = Path(__import__("smppgw").__file__).resolve().parent


def source_of(module: str) -> Path:
    path = PACKAGE.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def exists(name: str) -> bool:
    """``name`` (absolute) is a module or package of smppgw."""
    parts = name.split(".")
    return parts[0] == "smppgw" and (
        PACKAGE.joinpath(*parts[1:]).with_suffix(".py").exists() or PACKAGE.joinpath(*parts[1:]).is_dir()
    )


def imports_of(module: str) -> list[str]:
    """The absolute names ``module`` (dotted, relative to smppgw) imports, anywhere in its code
    (mypy checks imports under ``if TYPE_CHECKING:`` too)."""
    source = source_of(module)
    parts = ["smppgw", *module.split(".")]
    package = parts if source.name == "__init__.py" else parts[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.append(target)
            names += [f"{target}.{alias.name}" for alias in node.names if exists(f"{target}.{alias.name}")]
    return names


def test_the_hot_modules_import_only_the_standard_library_and_each_other() -> None:
    seen: set[str] = set()
    todo = [(name, name) for name in HOT_MODULES]
    outside: list[str] = []
    while todo:
        module, via = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in imports_of(module):
            if name == "smppgw" or name.startswith("smppgw."):
                inner = name.removeprefix("smppgw").removeprefix(".")
                if inner and exists(name):
                    todo.append((inner, via))
            elif name.split(".")[0] not in sys.stdlib_module_names and name != "__future__":
                outside.append(f"smppgw.{module} imports {name} (reached from the hot module {via})")
    assert outside == []
