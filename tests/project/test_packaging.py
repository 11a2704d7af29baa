"""What the package declares: extras named for what they add, typing, URLs, a changelog."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


@pytest.fixture(scope="module")
def project():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_optional_extras_are_named_for_what_they_add(project):
    extras = project["project"]["optional-dependencies"]
    assert {"plot", "onnx", "dask", "datasets", "docs", "safe", "accelerate", "dev"} <= set(extras)
    assert any(dep.startswith("matplotlib") for dep in extras["plot"])
    assert any(dep.startswith("skl2onnx") for dep in extras["onnx"])
    assert any(dep.startswith("distributed") for dep in extras["dask"])
    assert any(dep.startswith("sphinx") for dep in extras["docs"])
    # the dev extra installs every extra the tests cover
    assert "skmtl[safe,onnx,dask,plot,tabm,accelerate]" in extras["dev"]
    assert any(dep.startswith("tabm") for dep in extras["tabm"])
    assert any(dep.startswith("accelerate") for dep in extras["accelerate"])


def test_the_package_is_typed_and_ships_the_marker(project):
    assert (ROOT / "skmtl" / "py.typed").exists()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["skmtl"]
    assert "Typing :: Typed" in project["project"]["classifiers"]


def test_urls_classifiers_and_changelog(project):
    urls = project["project"]["urls"]
    assert {"Homepage", "Documentation", "Source", "Issues", "Changelog"} <= set(urls)
    assert all(url.startswith("https://") for url in urls.values())
    classifiers = project["project"]["classifiers"]
    assert any(c.startswith("Development Status") for c in classifiers)
    assert any(c.startswith("Programming Language :: Python :: 3.1") for c in classifiers)
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog") and "## Unreleased" in changelog


def test_ci_tests_the_lower_bound_of_every_dependency(project):
    import re

    bounds = dict(
        re.fullmatch(r"([\w-]+)>=([\d.]+)", d).groups() for d in project["project"]["dependencies"]
    )
    script = (ROOT / ".ci" / "run").read_text()
    pins = dict(re.findall(r"([\w-]+)==([\d.]+)", script.split("LOWEST=(")[1].split(")")[0]))
    pins["torch"] = re.search(r'"torch==([\d.]+)"', script).group(1)
    for name, low in bounds.items():
        assert name in pins, f"{name} has no lowest-version pin in .ci/run"
        assert [int(p) for p in pins[name].split(".")][: len(low.split("."))] == [
            int(p) for p in low.split(".")
        ], name
