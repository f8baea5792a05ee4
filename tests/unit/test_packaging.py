"""What production and the image install: the lock files and the Dockerfile.

requirements.lock is the runtime lock (production venv, the image: `--require-hashes`),
requirements-test.lock adds the [test] extras (`make venv`), requirements-build.lock
pins the build backend that makes the project's wheel in the image. The dependency
closure is read from the installed distributions' own metadata (the test venv holds
everything the test lock pins), so these tests need no index.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def read_lock(name: str) -> dict[str, tuple[str, list[str]]]:
    """{canonical name: (pinned version, [hashes])} of a pip requirements file with hashes."""
    text = (ROOT / name).read_text(encoding="utf-8").replace("\\\n", " ")
    pins: dict[str, tuple[str, list[str]]] = {}
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        first, *options = line.split()
        assert not first.startswith("-"), f"{name}: option line '{first}' (no index or link belongs in a lock)"
        req = Requirement(first)
        (spec,) = req.specifier
        assert spec.operator == "==", f"{name}: {first} is not pinned with =="
        pins[canonicalize_name(req.name)] = (spec.version, [o for o in options if HASH.fullmatch(o)])
    return pins


def closure(requirements: list[str]) -> set[str]:
    """Every distribution `requirements` need on this platform, by their installed metadata."""
    wanted: dict[str, set[str]] = {}  # name -> the extras already followed ("" = the base)
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        name = canonicalize_name(req.name)
        extras = ({""} | set(req.extras)) - wanted.get(name, set())
        if not extras:
            continue
        wanted.setdefault(name, set()).update(extras)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            pytest.fail(f"{name} is needed but not installed: run `make lock` and `make venv`")
        for text in dist.requires or ():
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras):
                dep.marker = None
                todo.append(dep)
    return set(wanted)


RUNTIME = closure(PYPROJECT["project"]["dependencies"])
TEST_ONLY = closure(PYPROJECT["project"]["optional-dependencies"]["test"]) - RUNTIME


def test_the_runtime_lock_is_exactly_what_the_service_needs():
    runtime = read_lock("requirements.lock")
    assert set(runtime) == RUNTIME, (
        f"missing: {sorted(RUNTIME - set(runtime))}, not needed: {sorted(set(runtime) - RUNTIME)}"
    )
    assert not set(runtime) & TEST_ONLY
    assert {"pytest", "hypothesis"} <= TEST_ONLY  # what "no test tool in production" means


def test_every_dependency_in_pyproject_is_pinned_at_its_version_in_the_runtime_lock():
    runtime = read_lock("requirements.lock")
    for text in PYPROJECT["project"]["dependencies"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in runtime, f"{name} from pyproject.toml is not in requirements.lock"
        assert req.specifier.contains(runtime[name][0]), f"{name}: lock {runtime[name][0]} vs {req.specifier}"


def test_the_test_lock_is_the_runtime_lock_plus_the_test_tools():
    runtime, test = read_lock("requirements.lock"), read_lock("requirements-test.lock")
    assert set(test) == RUNTIME | TEST_ONLY
    for name, (version, hashes) in runtime.items():
        assert test[name] == (version, hashes), f"{name}: the two locks disagree"
    for text in PYPROJECT["project"]["optional-dependencies"]["test"]:
        req = Requirement(text)
        assert req.specifier.contains(test[canonicalize_name(req.name)][0])


def test_the_installed_versions_are_the_locked_ones():
    for name, (version, _) in read_lock("requirements-test.lock").items():
        assert md.version(name) == version, f"{name}: installed {md.version(name)}, locked {version}"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-test.lock", "requirements-build.lock"])
def test_every_locked_package_carries_hashes(lock):
    # pip install --require-hashes refuses a file whose line has none.
    for name, (_, hashes) in read_lock(lock).items():
        assert hashes, f"{lock}: {name} has no --hash"


def test_the_build_lock_pins_the_build_backend():
    build = read_lock("requirements-build.lock")
    for text in PYPROJECT["build-system"]["requires"]:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in build and req.specifier.contains(build[name][0]), text


# -- the image ------------------------------------------------------------------------------

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_every_base_image_is_pinned_by_digest():
    args = dict(re.findall(r"^ARG (\w+)=(\S+)", DOCKERFILE, re.M))
    bases = re.findall(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert bases
    for base in bases:
        image = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
        assert re.fullmatch(r"[\w./:-]+@sha256:[0-9a-f]{64}", image), f"FROM {base} is not pinned by digest"


def test_the_image_installs_only_the_runtime_lock_with_hashes_and_runs_as_10001():
    installs = re.findall(r"pip install[^\n]*(?:\\\n[^\n]*)*", DOCKERFILE)
    assert any("--require-hashes" in i and "-r requirements.lock" in i for i in installs)
    assert "requirements-test.lock" not in DOCKERFILE
    assert re.search(r"groupadd\b[^\n]*--gid 10001", DOCKERFILE)
    assert re.search(r"useradd\b[^\n]*--uid 10001[^\n]*--gid 10001", DOCKERFILE)
    assert re.search(r"^USER 10001:10001$", DOCKERFILE, re.M)


def test_every_python_package_of_the_project_is_in_the_wheel():
    """The wheel (production, the image, the acceptance harness) holds the packages that
    [tool.setuptools] names: a new sub-package left out installs fine and fails on import."""
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("service", "parsers", "storage", "templates")
        for init in (ROOT / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages"
