"""What this environment has installed against a lock file: upgraded, downgraded, new, gone.

    python scripts/lock_diff.py requirements/dev.txt

`make upgrade-check` runs it in a venv with the newest versions pyproject.toml allows, so
it lists what a fresh `pip install pigweight` would get today that CI has not tested.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


@dataclass(frozen=True)
class Pin:
    """One entry of a pip-compile lock: the version and the hashes of its files."""

    version: str
    hashes: tuple[str, ...]


def read_entries(path: Path) -> dict[str, Pin]:
    """{normalised name: Pin} of a pip-compile lock (an entry runs to the next pin)."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current: list[str] = []
    for line in path.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            current = []
            entries[canonicalize_name(match[1])] = (match[2], current)
        current.extend(_HASH.findall(line))
    return {name: Pin(version, tuple(hashes)) for name, (version, hashes) in entries.items()}


def read_lock(path: Path) -> dict[str, str]:
    """{normalised name: version} of every pin of a pip-compile lock."""
    return {name: pin.version for name, pin in read_entries(path).items()}


def installed() -> dict[str, str]:
    """{normalised name: version} of this interpreter's distributions, the project aside."""
    found = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    found.pop("pigweight", None)
    return found


def changes(locked: dict[str, str], now: dict[str, str]) -> list[str]:
    """One line per package whose version is not the locked one."""
    lines = []
    for name in sorted(locked.keys() | now.keys()):
        old, new = locked.get(name), now.get(name)
        if old == new:
            continue
        if old is None:
            lines.append(f"  + {name} {new} (not in the lock)")
        elif new is None:
            lines.append(f"  - {name} {old} (no longer installed)")
        else:
            arrow = "upgraded" if Version(new) > Version(old) else "downgraded"
            major = Version(new).major != Version(old).major
            lines.append(f"  {name} {old} -> {new} ({arrow}{', new major' if major else ''})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lock", type=Path, help="a lock written by make lock")
    args = parser.parse_args(argv)
    lines = changes(read_lock(args.lock), installed())
    if not lines:
        print(f"every package is at the version {args.lock} pins")
        return 0
    print(f"{len(lines)} packages differ from {args.lock}:")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
