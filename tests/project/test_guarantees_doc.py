"""docs/guarantees.md names, for each promise, the tests that hold it: each
named test must exist, so that a renamed or deleted test shows up here."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _tests_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}


def test_every_test_named_in_the_guarantees_exists():
    text = (ROOT / "docs" / "guarantees.md").read_text()
    named = re.findall(r"`((?:\w+/)?test_\w+\.py)::(test_\w+)`", text)
    assert len(named) >= 40
    missing = [
        f"{file}::{test}"
        for file, test in named
        if not (ROOT / "tests" / file).exists() or test not in _tests_in(ROOT / "tests" / file)
    ]
    assert not missing, f"docs/guarantees.md names tests that do not exist: {missing}"
