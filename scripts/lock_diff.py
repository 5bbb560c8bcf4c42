"""What this environment has installed against a lock file: upgraded, downgraded, new, gone.

    python scripts/lock_diff.py requirements/dev.txt

`make upgrade-check` runs it in a venv with the newest versions pyproject.toml allows, so
it lists what a fresh `pip install pigweight` would get today that CI has not tested.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def read_lock(path: Path) -> dict[str, str]:
    """{normalised name: version} of every `name==version` line of a pip-compile lock."""
    pins = {}
    for line in path.read_text().splitlines():
        match = _PIN.match(line)
        if match:
            pins[canonicalize_name(match[1])] = match[2]
    return pins


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
