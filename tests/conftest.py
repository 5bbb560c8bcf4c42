"""Fixtures shared by the whole suite: real, tiny things only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PIGWEIGHT_SHARED", REPO.parent / "shared"))

# Under CI (.ci/run sets it) a missing system component is a failure, not a skip.
REQUIRE_SYSTEM = os.environ.get("PIGWEIGHT_REQUIRE_SYSTEM") == "1"


def need_system(available: bool, reason: str) -> None:
    """Skip on a laptop that lacks a system component; fail under CI."""
    if available:
        return
    if REQUIRE_SYSTEM:
        pytest.fail(f"{reason} (PIGWEIGHT_REQUIRE_SYSTEM=1: .ci/run must install it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data with the real pig photos; tests skip where it is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"{data} is absent (real photos are never committed)")
    return data


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/models with the random-weight YOLO11 ONNX files."""
    models = SHARED / "models"
    if not models.is_dir():
        pytest.skip(f"{models} is absent (models are never committed)")
    return models
