"""The documentation site (docs/, built by Sphinx in CI) lists every public
name and every page: checked here without Sphinx, so that the README's test
command catches a name or a page left out before the docs build does."""

from __future__ import annotations

import importlib
import inspect
import re
import textwrap
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
MODULES = ["skmtl.model_selection", "skmtl.datasets", "skmtl.plotting", "skmtl.exceptions"]
MODULES += ["skmtl.views", "skmtl.distributed"]


def public_names(module_name: str) -> set[str]:
    """``__all__``, or else the classes and functions the module defines."""
    module = importlib.import_module(module_name)
    if hasattr(module, "__all__"):
        return {f"{module_name}.{name}" for name in module.__all__ if not name.startswith("__")}
    return {
        f"{module_name}.{name}"
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(obj) or inspect.isfunction(obj))
        and obj.__module__ == module_name
    }


def api_entries() -> set[str]:
    """Every name in docs/api.rst's autosummary tables, with its module."""
    entries, module = set(), None
    in_table = False
    for line in (DOCS / "api.rst").read_text().splitlines():
        if match := re.match(r"\.\. currentmodule:: (\S+)", line):
            module = match[1]
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and re.match(r"   [A-Za-z_]\w*$", line):
            entries.add(f"{module}.{line.strip()}")
        elif line and not line.startswith(" "):
            in_table = False
    return entries


def resolve(name: str):
    module_name, attr = name.rsplit(".", 1)
    return getattr(importlib.import_module(module_name), attr)


def test_the_api_reference_lists_every_public_name():
    pytest.importorskip("matplotlib")  # for skmtl.plotting's page
    skmtl = importlib.import_module("skmtl")
    expected = {f"skmtl.{name}" for name in skmtl.__all__ if not name.startswith("__")}
    for module_name in MODULES:
        expected |= public_names(module_name)
    listed = api_entries()
    # an object exported in two places (skmtl.task_view, skmtl.views.task_view) is listed once
    documented = {id(resolve(name)) for name in listed}
    missing = {name for name in expected if id(resolve(name)) not in documented}
    assert missing == set(), "missing from docs/api.rst"
    public = {id(resolve(name)) for name in expected}
    assert {name for name in listed if id(resolve(name)) not in public} == set(), (
        "in docs/api.rst but not public"
    )


def toctree_entries(path: Path) -> set[str]:
    text = path.read_text()
    blocks = re.findall(r"```\{toctree\}\n(.*?)```", text, flags=re.S)  # MyST
    blocks += re.findall(r"\.\. toctree::\n((?:[ \t]+.*\n|\n)+)", text)  # reST
    return {
        line.strip()
        for block in blocks
        for line in block.splitlines()
        if line.strip() and not line.strip().startswith(":")
    }


def test_every_page_is_in_the_site_navigation():
    entries = set()
    for page in [DOCS / "index.rst", *DOCS.glob("*.md")]:
        entries |= toctree_entries(page)
    # index.md is the table of contents for reading docs/ on GitHub; the
    # site's landing page is index.rst
    pages = {page.stem for page in DOCS.glob("*.md")} - {"index"}
    assert pages - entries == set(), "add these pages to a toctree (docs/guide.md, ...)"
    assert {"getting_started", "guide", "api", "benchmarks", "auto_examples/index"} <= entries


def test_the_landing_page_code_runs():
    text = (DOCS / "index.rst").read_text()
    (block,) = re.findall(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)", text)
    namespace: dict = {}
    exec(compile(textwrap.dedent(block), "docs/index.rst", "exec"), namespace)
    model = namespace["model"]
    assert model.tasks_ == ["species", "sex", "island"]
    assert model.score(namespace["X"].fillna(namespace["X"].mean()), namespace["Y"]) > 0.8
