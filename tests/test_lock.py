"""`uv.lock` is what Heroku installs (`uv sync --locked`): it must agree with `pyproject.toml`.

uv records the project's requirements in the lock (`[package.metadata] requires-dist`) and
refuses a lock whose record differs from `pyproject.toml`; these tests make the same check
offline, and check that each pin satisfies its range and carries hashes, so a dependency
added or changed without `uv lock` fails here before it fails a deploy.
"""

from __future__ import annotations

import tomllib
from collections import defaultdict

import pytest
from harness import ROOT
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

PACKAGE_MANAGER_FILES = ("requirements.txt", "Pipfile", "Pipfile.lock", "poetry.lock", "uv.lock")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text())


def _declared() -> list[Requirement]:
    """Every requirement of pyproject.toml, an extra's with its `extra == '...'` marker."""
    project = _pyproject()["project"]
    declared = [Requirement(text) for text in project["dependencies"]]
    for extra, texts in project.get("optional-dependencies", {}).items():
        for text in texts:
            requirement = Requirement(text)
            marker = f"extra == '{extra}'"
            if requirement.marker is not None:
                marker = f"({requirement.marker}) and {marker}"
            extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
            declared.append(Requirement(f"{requirement.name}{extras}{requirement.specifier}; {marker}"))
    return declared


def _key(requirement: Requirement) -> tuple[str, str, str]:
    return canonicalize_name(requirement.name), str(requirement.specifier), str(requirement.marker or "")


def _recorded() -> list[Requirement]:
    """What the lock says pyproject.toml asked for when `uv lock` last ran."""
    (project,) = [package for package in _lock()["package"] if package.get("source") == {"editable": "."}]
    requirements = []
    for entry in project["metadata"]["requires-dist"]:
        text = entry["name"] + (f"[{','.join(entry['extras'])}]" if entry.get("extras") else "")
        text += entry.get("specifier", "")
        if entry.get("marker"):
            text += f"; {entry['marker']}"
        requirements.append(Requirement(text))
    return requirements


def _locked_versions() -> dict[str, list[Version]]:
    versions: dict[str, list[Version]] = defaultdict(list)
    for package in _lock()["package"]:
        if "registry" in package.get("source", {}):
            versions[canonicalize_name(package["name"])].append(Version(package["version"]))
    return versions


def test_heroku_finds_exactly_one_package_manager_file_the_uv_lock():
    present = [name for name in PACKAGE_MANAGER_FILES if (ROOT / name).exists()]
    assert present == ["uv.lock"], "Heroku's buildpack refuses an app with none or several of these"


def test_the_lock_records_the_requirements_pyproject_declares():
    declared = sorted(_key(requirement) for requirement in _declared())
    recorded = sorted(_key(requirement) for requirement in _recorded())
    assert recorded == declared, "uv.lock is stale: run `uv lock` and commit uv.lock"


def test_the_lock_was_made_for_the_python_range_pyproject_declares():
    assert _lock()["requires-python"] == _pyproject()["project"]["requires-python"]
    pinned = Version((ROOT / ".python-version").read_text().strip() + ".0")
    assert pinned in SpecifierSet(_lock()["requires-python"])


@pytest.mark.parametrize("requirement", _declared(), ids=lambda requirement: requirement.name)
def test_every_pin_satisfies_the_range_pyproject_declares(requirement: Requirement):
    versions = _locked_versions()[canonicalize_name(requirement.name)]
    assert versions, f"{requirement.name} is not in uv.lock: run `uv lock`"
    for version in versions:
        assert version in requirement.specifier, (
            f"uv.lock pins {requirement.name} {version}, outside {requirement.specifier}"
        )


def test_every_locked_file_has_a_hash():
    for package in _lock()["package"]:
        if "registry" not in package.get("source", {}):
            continue
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        assert files, f"{package['name']} {package['version']}: no file locked"
        for file in files:
            assert file.get("hash", "").startswith("sha256:"), f"{package['name']}: {file.get('url')} has no hash"
