"""docs/design.md stays true to the code: its module map names every module of
the package, and only modules that exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def package_modules() -> set[str]:
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "skmtl").rglob("*.py")}


def mapped_modules() -> set[str]:
    text = (ROOT / "docs" / "design.md").read_text()
    section = text[text.index("## Module map") :]
    return set(re.findall(r"`(skmtl/[\w/]+\.py)`", section))


def test_every_module_is_in_the_design_map():
    missing = (
        package_modules()
        - mapped_modules()
        - {p for p in package_modules() if p.endswith("__init__.py") and p != "skmtl/__init__.py"}
    )
    assert not missing, f"add to docs/design.md's module map: {sorted(missing)}"


def test_the_design_map_names_only_modules_that_exist():
    gone = mapped_modules() - package_modules()
    assert not gone, f"docs/design.md's module map names modules that do not exist: {sorted(gone)}"
