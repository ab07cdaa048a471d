"""Where tests live, and what tests and benchmarks may import (docs/testing.md).

Read with ``ast``, nothing imported or run: tests/unit starts no process, every module of
another group carries its group's marker, and no test or benchmark reaches into a private
module or name of hypertool_agent or hypertool_tools. What they need is public:
``hypertool_agent.testing``, ``hypertool_agent.names``, ``hypertool_tools.stack.build``'s
``go_binary``, ``run_command``, ``cache_entry`` and ``go_tool``.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OUR_PACKAGES = ("hypertool_agent", "hypertool_tools")
#: Each group outside tests/unit and the marker its modules carry (pyproject.toml).
GROUP_MARKERS = {
    "components": "go",
    "kubernetes": "kubernetes",
    "integration": "integration",
    "e2e": "e2e",
    "scaleout": "scaleout",
    "packaging": "packaging",
}
#: Modules that start processes; tests/unit imports none of them.
PROCESS_MODULES = {"subprocess", "multiprocessing", "concurrent.futures.process"}
DOTTED = re.compile(r"hypertool_(?:agent|tools)(?:\.\w+)+")


def is_private(name: str) -> bool:
    """``_x`` is private; ``__x__`` (``__main__``, ``__version__``) is not."""
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def is_ours(module: str) -> bool:
    """Whether a dotted module name is in one of our packages."""
    return module.split(".", maxsplit=1)[0] in OUR_PACKAGES


def private_dotted(dotted: str) -> bool:
    """Whether any part of ``dotted`` is private."""
    return any(is_private(part) for part in dotted.split("."))


def private_uses(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """(line, what) of every use of a private module or name of our packages in ``tree``.

    Imports of private modules or names; ``module._name`` on a name bound to one of our
    modules, and ``setattr``/``monkeypatch.setattr`` of a private name on one; the same in
    Python code held in strings (what tests run with ``python -c``).
    """
    bound: set[str] = set()  # names bound to our modules (or to names imported from them)
    yield from private_imports(tree, bound)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and is_private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                yield node.lineno, ast.unparse(node)
        elif isinstance(node, ast.Call):
            yield from private_setattr(node, bound)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield from private_uses_in_code(node.value, node.lineno)


def private_imports(tree: ast.AST, bound: set[str]) -> Iterator[tuple[int, str]]:
    """Imports of a private module or name of ours; adds each name they bind to ``bound``."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if is_ours(alias.name):
                    if private_dotted(alias.name):
                        yield node.lineno, f"import {alias.name}"
                    bound.add(alias.asname or alias.name.split(".", maxsplit=1)[0])
        elif isinstance(node, ast.ImportFrom) and node.module and is_ours(node.module):
            for alias in node.names:
                if node.level == 0 and (private_dotted(node.module) or is_private(alias.name)):
                    yield node.lineno, f"from {node.module} import {alias.name}"
                bound.add(alias.asname or alias.name)


def private_setattr(call: ast.Call, bound: set[str]) -> Iterator[tuple[int, str]]:
    """``setattr(module, "_x", ...)``, ``monkeypatch.setattr("pkg._mod.x", ...)`` and kin."""
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name not in {"setattr", "delattr", "getattr"} or not call.args:
        return
    first = call.args[0]
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        if is_ours(first.value) and private_dotted(first.value):
            yield call.lineno, ast.unparse(call)
        return
    second = call.args[1] if len(call.args) > 1 else None
    if (
        isinstance(first, ast.Name)
        and first.id in bound
        and isinstance(second, ast.Constant)
        and isinstance(second.value, str)
        and is_private(second.value)
    ):
        yield call.lineno, ast.unparse(call)


def private_uses_in_code(text: str, line: int) -> Iterator[tuple[int, str]]:
    """Private uses in a string that is Python code naming our packages."""
    if not DOTTED.search(text) or "import" not in text:
        return
    try:
        tree = ast.parse(textwrap.dedent(text))
    except SyntaxError:
        return
    for _, what in private_uses(tree):
        yield line, f"in a code string: {what}"


def sources(*folders: str) -> list[Path]:
    """The Python files under ``folders`` of the repository."""
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py"))


def ours(text: str) -> str:
    """``text`` with AGENT and TOOLS standing for our packages: this file scans clean."""
    return text.replace("AGENT", "hypertool_agent").replace("TOOLS", "hypertool_tools")


def test_the_scan_finds_each_kind_of_private_use() -> None:
    """Every way of reaching a private name is found; public ones are not."""
    code = textwrap.dedent(
        '''
        import AGENT._spool
        import AGENT
        from AGENT import _telemetry, names
        from AGENT._sums import Sums
        from TOOLS.stack.build import _go, go_binary
        from TOOLS.stack import build
        AGENT._sums.LABEL_KEYS
        build._run([])
        monkeypatch.setattr(build, "_run", None)
        monkeypatch.setattr("AGENT._telemetry._current", None)
        CHILD = """
            from AGENT._budgets import load_budgets
        """
        build.go_binary()
        names.TOKENS_USED
        AGENT.__name__
        where.startswith("AGENT._")
        '''
    )
    found = [what for _, what in private_uses(ast.parse(ours(code)))]
    assert sorted(found) == sorted(
        ours(what)
        for what in [
            "import AGENT._spool",
            "from AGENT import _telemetry",
            "from AGENT._sums import Sums",
            "from TOOLS.stack.build import _go",
            "AGENT._sums",
            "build._run",
            "monkeypatch.setattr(build, '_run', None)",
            "monkeypatch.setattr('AGENT._telemetry._current', None)",
            "in a code string: from AGENT._budgets import load_budgets",
        ]
    )


@pytest.mark.parametrize("path", sources("tests", "bench"), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_test_or_benchmark_uses_a_private_name_of_our_packages(path: Path) -> None:
    """Tests and benchmarks use the packages' public API only (docs/testing.md)."""
    found = list(private_uses(ast.parse(path.read_text(), str(path))))
    assert not found, [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in found]


def imported_modules(tree: ast.AST) -> set[str]:
    """Every module ``tree`` imports, and each module a ``from`` import imports from."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def test_unit_tests_start_no_process() -> None:
    """tests/unit stays in-process: none of its modules imports subprocess or multiprocessing."""
    for path in sources("tests/unit"):
        used = imported_modules(ast.parse(path.read_text())) & PROCESS_MODULES
        assert not used, f"{path.relative_to(ROOT)} imports {sorted(used)}: not a unit test"


def markers(tree: ast.Module) -> set[str]:
    """The markers of a module's ``pytestmark`` (one, or a list)."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            values = node.value.elts if isinstance(node.value, ast.List) else [node.value]
            return {v.attr for v in values if isinstance(v, ast.Attribute)}
    return set()


def test_every_test_module_outside_unit_carries_its_groups_marker() -> None:
    """`-m go`, `-m kubernetes`, `-m integration`... select whole folders, nothing missed."""
    groups = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*"))}
    assert groups == {"unit", *GROUP_MARKERS}, "a new group needs its marker here"
    for folder, marker in GROUP_MARKERS.items():
        for path in sorted((ROOT / "tests" / folder).glob("test_*.py")):
            assert marker in markers(ast.parse(path.read_text())), path.relative_to(ROOT)
