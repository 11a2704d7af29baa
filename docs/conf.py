"""Sphinx configuration of the skmtl documentation site.

Build it from the repository root with
``python -m sphinx -W -b html docs docs/_build/html`` (``pip install -e ".[docs]"``).
The Markdown pages in this folder are read as they are by myst-parser, the
API reference is generated from the docstrings (autosummary, autodoc and
numpydoc), and the gallery is built by running ``examples/plot_*.py``
(sphinx-gallery).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "sphinxext"))  # gallery_order, require_examples

# The gallery scripts train small networks: one thread, as in CI, and the
# non-interactive matplotlib backend.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import skmtl  # noqa: E402

project = "skmtl"
author = "the skmtl developers"
copyright = "the skmtl developers, BSD-3-Clause"
version = release = skmtl.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "require_examples",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# index.md is the table of contents for reading docs/ on GitHub; the site's
# landing page is index.rst, which links the same pages.
exclude_patterns = ["_build", "_static", "_templates", "sphinxext", "index.md"]
templates_path = ["_templates"]

# -- MyST: the Markdown pages as they are ---------------------------------
myst_enable_extensions = ["colon_fence"]
# anchors for links such as design.md#inputs
myst_heading_anchors = 3

# -- API reference --------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # numpydoc's Parameters sections give the types
numpydoc_show_class_members = False  # the class template lists the members
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc's checks of every documented docstring: one exists, it has a
# summary line, and its Parameters match the signature. Every public class
# and function also needs an Examples section (sphinxext/require_examples.py).
numpydoc_validation_checks = {"GL08", "SS01", "PR01", "PR02"}
numpydoc_validation_exclude = {
    # the read-only views refuse these, whatever the arguments
    r"\.(Classifier|Regressor)TaskView\.(fit|set_params)$",
}

# -- Gallery --------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # run every plot_*.py; the other scripts in examples/ are not gallery pages
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"^(?!plot_).*\.py$",  # matched against the file name
    "within_subsection_order": "gallery_order.GalleryOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": True,
    "min_reported_time": 1,
}

# -- HTML -----------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skmtl {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_show_sourcelink = False
html_static_path = ["_static"]
html_css_files = ["skmtl.css"]


def _readme_links(app, relative_path, parent_docname, content):
    """README.md, included in getting_started.md, links the scripts in
    examples/ relative to the repository root; from docs/ they are one
    folder up (and become downloads)."""
    if Path(relative_path).name == "README.md":
        content[0] = content[0].replace("](examples/", "](../examples/")


def _skip_metadata_requests(app, what, name, obj, skip, options):
    """scikit-learn generates set_<method>_request on every estimator; its
    reference is scikit-learn's (metadata routing)."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("include-read", _readme_links)
    app.connect("autodoc-skip-member", _skip_metadata_requests)
