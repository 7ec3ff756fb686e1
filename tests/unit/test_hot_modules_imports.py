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


def source_of(name: str) -> Path | None:
    """The source of ``name`` (absolute: smppgw.x.y), None when it is not one of smppgw's modules."""
    parts = name.split(".")
    if parts[0] != "smppgw":
        return None
    path = PACKAGE.joinpath(*parts[1:])
    if path.is_dir():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else None


def imports_of(name: str) -> list[str]:
    """The absolute names module ``name`` imports, anywhere in its code (mypy checks imports under
    ``if TYPE_CHECKING:`` too), and the packages that hold them (mypy reads each __init__)."""
    source = source_of(name)
    assert source is not None
    package = name.split(".") if source.name == "__init__.py" else name.split(".")[:-1]
    names: list[str] = []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, *(node.module.split(".") if node.module else [])])
            names.append(target)
            names += [f"{target}.{alias.name}" for alias in node.names if source_of(f"{target}.{alias.name}")]
    parents = {".".join(n.split(".")[:i]) for n in names if n.startswith("smppgw") for i in range(1, n.count(".") + 1)}
    return names + sorted(parents)


def test_the_hot_modules_import_only_the_standard_library_and_each_other() -> None:
    todo = [(f"smppgw.{name}", name) for name in HOT_MODULES]
    seen: set[str] = set()
    outside: list[str] = []
    while todo:
        module, via = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in imports_of(module):
            if source_of(name) is not None:
                todo.append((name, via))
            elif name.split(".")[0] not in {*sys.stdlib_module_names, "smppgw"}:
                outside.append(f"{module} imports {name} (reached from the hot module {via})")
    assert len(seen) > len(HOT_MODULES)  # the walk followed their imports
    assert outside == []
