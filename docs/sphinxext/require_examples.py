"""Fail the build (under ``-W``) where a public class or function of skmtl
has no numpydoc Examples section; CI runs those sections as doctests."""

from __future__ import annotations

from sphinx.util import logging

logger = logging.getLogger(__name__)


def _has_examples(lines: list[str]) -> bool:
    stripped = [line.strip() for line in lines]
    return any(
        a == "Examples" and b and set(b) == {"-"}
        for a, b in zip(stripped, stripped[1:], strict=False)
    )


def check_examples(app, what, name, obj, options, lines):
    if what in {"class", "function", "exception"} and name.startswith("skmtl."):
        if not _has_examples(lines):
            logger.warning(
                "%s has no Examples section in its docstring", name, type="skmtl", subtype="EX01"
            )


def setup(app):
    # before numpydoc (priority 500) turns the sections into reST
    app.connect("autodoc-process-docstring", check_examples, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
