"""The core never imports Streamlit: pages are thin layers over it."""

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parent.parent / "dnnlab"


def test_core_modules_do_not_import_streamlit():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert list(CORE.rglob("*.py")), "no core modules found"
    assert offenders == []
