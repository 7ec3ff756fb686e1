"""The layers import in one direction only, and the pure ones never import Twisted.

``RANKS`` orders the parts of the package from the bottom (wire formats) to the top (the command
line).  A module may import its own part and any part of a lower rank, never one of a higher rank,
and no two modules may import each other round a cycle; ``TYPE_CHECKING`` and function-local
imports count like any other, since they are coupling all the same.  The import graph is read from
the modules' source (``ast``), so nothing is executed to build it.

The pure parts are also imported each on its own, in a fresh (forked) interpreter, so one that
pulls Twisted in through any path is caught even when another test has already imported Twisted
into this process.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(importlib.util.find_spec("smppgw").origin).parent  # type: ignore[arg-type, union-attr]

# Lowest first.  A part is a top-level module or package of smppgw, or a named subpackage/module
# (the longest prefix wins).
RANKS: tuple[tuple[str, ...], ...] = (
    # 0. wire formats: bytes in, values out
    ("protocol", "cmpp", "httpapi"),
    # 1. the domain: records, typed writes, money, numbers, content rules, carrier behaviour, settings
    (
        "model",
        "writes",
        "billing",
        "routing",
        "content",
        "carriers",
        "carriers.model",
        "config",
        "passwords",
        "shared_files",
        "handset",
        "timers",
    ),
    # 2. storage
    ("store",),
    # 3. the pure core: submit, settle, compliance (time as an argument, writes returned as values)
    ("pipeline",),
    # 4. Twisted shells around the core: the runner, committer and delivery queue, carrier links, SMPP server
    ("runtime", "carriers.link", "carriers.port", "server"),
    # 5. the carrier-integration test rig (its pure decisions named, so they stay pure)
    (
        "rig",
        "rig.throughput",
        "rig.stale",
        "rig.congestion",
        "rig.draws",
        "rig.outbind_plan",
        "rig.certify",
        "rig.certify_report",
    ),
    # 6. operator surfaces and multi-process/multi-node shells
    ("admin", "workers", "cluster"),
    # 7. the composition root
    ("app", "service", "reload"),
    # 8. entry points
    ("cli", "bench", "__main__", "compiled"),
)

# Parts that must never import Twisted (nor anything above them that does).
PURE = ("protocol", "cmpp", "httpapi", "model", "writes", "billing", "routing", "content", "carriers.model",
        "config", "passwords", "shared_files", "handset", "timers", "pipeline", "rig.throughput", "rig.stale",
        "rig.congestion", "rig.draws", "rig.outbind_plan", "rig.certify", "rig.certify_report")  # fmt: skip

_RANK = {part: rank for rank, parts in enumerate(RANKS) for part in parts}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str | None:
    """The rank-table part a module belongs to (``smppgw`` itself belongs to none)."""
    names = module.split(".")[1:]
    for n in range(len(names), 0, -1):
        candidate = ".".join(names[:n])
        if candidate in _RANK:
            return candidate
    return None


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """Every smppgw module ``module`` imports, with the line, wherever the import statement is."""
    is_package = path.name == "__init__.py"
    package = module if is_package else module.rpartition(".")[0]
    known = MODULES
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("smppgw"):
                    yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if not target.startswith("smppgw"):
                continue
            # ``from .x import y`` where y is itself a module imports that module.
            named = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in known]
            yield from ((n, node.lineno) for n in named)
            if len(named) < len(node.names):
                yield target, node.lineno


MODULES = modules()
GRAPH: dict[str, set[str]] = {m: set() for m in MODULES}
LINES: dict[tuple[str, str], int] = {}
for _module, _path in MODULES.items():
    for _target, _line in imports(_module, _path):
        while _target not in MODULES and "." in _target:  # an attribute, not a module
            _target = _target.rpartition(".")[0]
        if _target in MODULES and _target != _module:
            GRAPH[_module].add(_target)
            LINES.setdefault((_module, _target), _line)


def test_every_module_has_a_rank() -> None:
    unranked = sorted(m for m in MODULES if m != "smppgw" and part_of(m) is None)
    assert unranked == [], f"add these to RANKS in {Path(__file__).name}: {unranked}"


def test_no_import_runs_from_a_lower_layer_to_a_higher_one() -> None:
    upward = []
    for module, targets in GRAPH.items():
        mine = part_of(module)
        if mine is None:
            continue
        for target in targets:
            theirs = part_of(target)
            if theirs is not None and _RANK[theirs] > _RANK[mine]:
                where = f"{MODULES[module].relative_to(ROOT.parent)}:{LINES[module, target]}"
                upward.append(f"{where} {module} ({mine}, {_RANK[mine]}) -> {target} ({theirs}, {_RANK[theirs]})")
    assert upward == [], "imports against the rank table:\n" + "\n".join(sorted(upward))


def test_no_import_cycle() -> None:
    # Tarjan's strongly connected components over the module graph.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0

    def visit(v: str) -> None:
        nonlocal counter
        index[v] = low[v] = counter
        counter += 1
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in GRAPH:
        if v not in index:
            visit(v)
    # A package's __init__ that re-exports its own modules is not a cycle of the design.
    real = [c for c in cycles if not all(m.startswith(c[0] + ".") or m == c[0] for m in c)]
    assert real == [], "import cycles:\n" + "\n".join(" <-> ".join(c) for c in real)


def test_the_graph_sees_the_codec() -> None:
    assert {"smppgw.protocol.constants", "smppgw.protocol.pdu", "smppgw.protocol.errors"} <= GRAPH[
        "smppgw.protocol.codec"
    ]


# One interpreter forks a child per module, which imports it and lists the Twisted modules then
# loaded.  The parent imports a module itself only once its child found it clean, so every child
# starts from a state without Twisted, as a fresh interpreter would, at a fraction of the cost.
PROBE = """
import importlib, json, os, sys, traceback
for module in sys.argv[1:]:
    read, write = os.pipe()
    if os.fork() == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            leaked = sorted(m for m in sys.modules if m == "twisted" or m.startswith("twisted."))
            answer = [True, " ".join(leaked[:5])]
        except BaseException:
            answer = [False, traceback.format_exc()]
        os.write(write, json.dumps(answer).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read()
    os.wait()
    imported, leaked = json.loads(answer)
    if imported and not leaked:
        importlib.import_module(module)
    print(json.dumps([module, imported, leaked]))
"""

PURE_MODULES = sorted(m for m in MODULES if part_of(m) in PURE)


def test_the_core_is_among_the_pure_modules() -> None:
    assert {"smppgw.protocol.codec", "smppgw.pipeline.gateway", "smppgw.model"} <= set(PURE_MODULES)


@pytest.fixture(scope="module")
def imported_alone() -> dict[str, tuple[bool, str]]:
    """Each pure module imported on its own: (imported, the Twisted modules it pulled in or the error)."""
    ordered: list[str] = []  # what a module imports comes before it: the parent has it loaded by then
    seen: set[str] = set()

    def visit(module: str) -> None:
        if module in seen:
            return
        seen.add(module)
        for target in sorted(GRAPH.get(module, ())):
            if target in PURE_MODULES:
                visit(target)
        ordered.append(module)

    for module in PURE_MODULES:
        visit(module)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *ordered], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    answers = (json.loads(line) for line in result.stdout.splitlines())
    return {module: (imported, text) for module, imported, text in answers}


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_module_does_not_import_twisted(module: str, imported_alone: dict[str, tuple[bool, str]]) -> None:
    imported, text = imported_alone[module]
    assert imported, text
    assert text == "", f"{module} imports {text}"
