"""SIGKILL the server at random moments while weighings are posted (bench/kill_records.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "kill_records.py"


def load_harness() -> object:
    spec = importlib.util.spec_from_file_location("kill_records", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_ten_kills_lose_no_acknowledged_record(tmp_path: Path) -> None:
    # Ten here (the suite's share of its 20-minute CI); bench/kill_records.py does 200+.
    harness = load_harness()
    report = harness.run_kills(10, seed=1, root=tmp_path, progress=False)  # type: ignore[attr-defined]
    assert report["problems"] == []
    # The kills landed while records were being written, not between idle moments.
    assert report["acknowledged"] >= 10 and report["retried_after_restart"] >= 1
