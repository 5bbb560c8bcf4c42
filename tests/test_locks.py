"""The lock files pin, with hashes, a version inside every range pyproject.toml states."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

RUN, DEV = REPO / "requirements/run.txt", REPO / "requirements/dev.txt"

_spec = importlib.util.spec_from_file_location("lock_diff", REPO / "scripts" / "lock_diff.py")
assert _spec is not None and _spec.loader is not None
lock_diff = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = lock_diff  # dataclasses look their module up there
_spec.loader.exec_module(lock_diff)
read_lock, read_entries, changes = lock_diff.read_lock, lock_diff.read_entries, lock_diff.changes


def _requirements(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    specs = project["optional-dependencies"][extra] if extra else project["dependencies"]
    return [r for r in map(Requirement, specs) if r.marker is None or r.marker.evaluate()]


@pytest.mark.parametrize(
    ("lock", "extra"), [(RUN, None), (DEV, None), (DEV, "dev")], ids=["run", "dev", "dev-extra"]
)
def test_every_requirement_is_pinned_inside_its_range(lock: Path, extra: str | None) -> None:
    pins = read_lock(lock)
    for requirement in _requirements(extra):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in {lock.name}: run make lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock.name} pins {name}=={pins[name]}, outside {requirement}: run make lock"
        )


@pytest.mark.parametrize("lock", [RUN, DEV], ids=["run", "dev"])
def test_every_pin_has_a_hash_and_the_lock_names_no_index(lock: Path) -> None:
    entries = read_entries(lock)
    assert {"pip", "setuptools"} <= entries.keys(), "the lock pins the installer and the backend"
    unhashed = [name for name, pin in entries.items() if not pin.hashes]
    assert not unhashed, f"pinned without a hash in {lock.name}: {unhashed}"
    text = lock.read_text()
    # A developer's mirror or wheel folder must not become everyone's install source.
    assert not re.search(r"^\s*(--index-url|--extra-index-url|--find-links|-f |-i )", text, re.M)


def test_run_and_dev_agree_on_every_shared_package() -> None:
    run, dev = read_lock(RUN), read_lock(DEV)
    assert run.keys() <= dev.keys()
    assert {n: v for n, v in run.items() if dev[n] != v} == {}


def test_lock_diff_names_what_moved() -> None:
    locked = {"numpy": "2.4.6", "opencv-python-headless": "5.0.0.93", "gone": "1.0"}
    now = {"numpy": "2.4.6", "opencv-python-headless": "5.1.0.95", "av": "18.1.0"}
    assert changes(locked, now) == [
        "  + av 18.1.0 (not in the lock)",
        "  - gone 1.0 (no longer installed)",
        "  opencv-python-headless 5.0.0.93 -> 5.1.0.95 (upgraded)",
    ]
    assert changes({"numpy": "1.26.4"}, {"numpy": "2.4.6"}) == [
        "  numpy 1.26.4 -> 2.4.6 (upgraded, new major)"
    ]
