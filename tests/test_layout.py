"""The layout the README promises, checked: every core module is listed in its Layout
section, and every page stays thin."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# "Pages ≤ ~100 lines": a page reads inputs, calls the core and places what it returns;
# past this, part of it is a concern of its own and belongs in its own module.
PAGE_LINES = 115


def layout_section() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"^## Layout\n(.*?)^## ", readme, flags=re.S | re.M)
    assert match, "README.md has a '## Layout' section"
    return match.group(1)


def test_the_readmes_layout_names_every_core_module():
    section = layout_section()
    modules = [p for p in (ROOT / "dnnlab").rglob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    missing = sorted(str(p.relative_to(ROOT)) for p in modules if not re.search(rf"\b{p.name}\b", section))
    assert missing == [], "describe these in README.md's Layout section"


def test_the_readmes_layout_names_no_module_that_is_gone():
    section = layout_section()
    named = set(re.findall(r"\b([a-z_]+\.py)\b", section))
    present = {p.name for p in ROOT.rglob("*.py") if ".venv" not in p.parts}
    assert sorted(named - present) == []


def test_every_page_is_thin():
    pages = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
    long = {p.name: n for p in pages if (n := len(p.read_text().splitlines())) > PAGE_LINES}
    assert long == {}, "split these pages by concern (≤ ~100 lines each)"
