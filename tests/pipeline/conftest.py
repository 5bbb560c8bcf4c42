"""A tiny synthetic platform clip, written once per session with PyAV."""

from __future__ import annotations

from pathlib import Path

import pytest

from pigweight.synthetic import write_demo_video


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 s of 320x180 synthetic piglets on a platform, H.264."""
    return write_demo_video(
        tmp_path_factory.mktemp("clip") / "clip.mp4", seconds=2, width=320, height=180
    )
