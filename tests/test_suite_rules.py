"""The test suite's own rules, checked: no test imports `bench/` (shared helpers live in tests/support.py)."""

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_test_imports_bench():
    offenders = {
        str(path.relative_to(TESTS)): sorted(m for m in imported_modules(path) if m.split(".")[0] == "bench")
        for path in TESTS.rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}, "move shared helpers to tests/support.py"
