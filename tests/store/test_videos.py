from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from pigweight.media.probe import VideoInfo
from pigweight.store import videos as repo
from pigweight.store.db import open_database
from pigweight.store.videos import SampleRow


@pytest.fixture
def engine(tmp_path: Path, database_url: str | None) -> Iterator[Engine]:
    engine = open_database(tmp_path, database_url)
    yield engine
    engine.dispose()


def _info(path: Path, keyframes: tuple[float, ...] = (0.0, 2.0, 4.0)) -> VideoInfo:
    return VideoInfo(
        path=path,
        size_bytes=11 * 1024**3,  # NVR files pass 4 GB: the column must hold it
        container="mp4",
        codec="h264",
        width=1920,
        height=1080,
        fps=25.0,
        duration_s=3600.5,
        start_s=1.4,
        frames=90_013,
        keyframes=keyframes,
        truncated=False,
        browser_playable=True,
    )


def test_a_video_is_stored_with_its_probe_and_read_back(engine: Engine, tmp_path: Path) -> None:
    info = _info(tmp_path / "nvr.mp4", keyframes=(0.0, 2.0000004, 3.9996))
    with engine.begin() as conn:
        first = repo.add_video(conn, info, "nvr.mp4", "register")
        second = repo.add_video(conn, _info(tmp_path / "b.mp4"), "b.mp4", "upload")
    with engine.connect() as conn:
        row = repo.get_video(conn, first)
        assert repo.get_video(conn, 999) is None
        assert repo.find_by_path(conn, str(tmp_path / "b.mp4")).id == second  # type: ignore[union-attr]
        assert repo.find_by_path(conn, str(tmp_path / "c.mp4")) is None
        assert [r.id for r in repo.list_videos(conn)] == [first, second]
    assert row is not None
    assert (row.name, row.source, row.index_state, row.samples_done) == (
        "nvr.mp4",
        "register",
        "queued",
        0,
    )
    assert row.info.size_bytes == 11 * 1024**3 and row.info.duration_s == 3600.5
    assert row.info.keyframes == (0.0, 2.0, 4.0)  # kept to the millisecond
    assert row.info.path == tmp_path / "nvr.mp4" and row.info.start_s == 1.4


def test_the_same_path_is_stored_once(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as conn:
        repo.add_video(conn, _info(tmp_path / "a.mp4"), "a.mp4", "upload")
    with pytest.raises(IntegrityError), engine.begin() as conn:
        repo.add_video(conn, _info(tmp_path / "a.mp4"), "again.mp4", "upload")


def test_index_state_changes_only_from_the_states_allowed(engine: Engine, tmp_path: Path) -> None:
    with engine.begin() as conn:
        vid = repo.add_video(conn, _info(tmp_path / "a.mp4"), "a.mp4", "upload")
        assert repo.set_index_state(conn, vid, "indexing", samples_total=3601)
        assert repo.set_index_state(conn, vid, "cancelled", only_from=("queued", "indexing"))
        # A batch that commits after the user cancelled must not revive the job.
        assert not repo.set_index_state(conn, vid, "indexing", only_from=("queued", "indexing"))
        repo.set_index_state(conn, vid, indexed_until_s=12.0, samples_done=12)
        with pytest.raises(ValueError, match="unknown index state"):
            repo.set_index_state(conn, vid, "paused")
    with engine.connect() as conn:
        row = repo.get_video(conn, vid)
    assert row is not None
    assert (row.index_state, row.indexed_until_s, row.samples_done, row.samples_total) == (
        "cancelled",
        12.0,
        12,
        3601,
    )
    with engine.begin() as conn:
        repo.set_index_state(conn, vid, "error", error="model.onnx is missing")
        assert repo.list_videos(conn, states=("error",))[0].index_error == "model.onnx is missing"
        assert repo.list_videos(conn, states=("queued", "indexing")) == []


def test_samples_nearest_between_and_replaced(engine: Engine, tmp_path: Path) -> None:
    outline = json.dumps([[[0.1, 0.2], [0.3, 0.2], [0.3, 0.4]]])
    with engine.begin() as conn:
        vid = repo.add_video(conn, _info(tmp_path / "a.mp4"), "a.mp4", "upload")
        repo.add_samples(
            conn, vid, [SampleRow(t, 10 + i, 0.9, outline) for i, t in enumerate([0.0, 1.0, 2.0])]
        )
        repo.add_samples(conn, vid, [SampleRow(2.48, 30, 0.7, "[]", on_demand=True)])
    with engine.connect() as conn:
        nearest = repo.nearest_sample_at_or_before(conn, vid, 1.999)
        assert nearest is not None and (nearest.t, nearest.count, nearest.on_demand) == (
            1.0,
            11,
            False,
        )
        assert repo.nearest_sample_at_or_before(conn, vid, 9.0).on_demand  # type: ignore[union-attr]
        assert repo.nearest_sample_at_or_before(conn, vid, -0.5) is None
        between = repo.samples_between(conn, vid, 1.0, 2.0)
        assert [s.t for s in between] == [1.0, 2.0] and json.loads(between[0].outlines)[0][2] == [
            0.3,
            0.4,
        ]
        assert repo.index_sample_times(conn, vid, after_s=0.0) == [1.0, 2.0]
    # The index pass reaching a frame a query counted first replaces that sample.
    with engine.begin() as conn:
        repo.add_samples(conn, vid, [SampleRow(2.48, 29, 0.8)])
    with pytest.raises(IntegrityError), engine.begin() as conn:
        repo.add_samples(conn, vid, [SampleRow(2.48, 5, 0.1, on_demand=True)], replace=False)
    with engine.connect() as conn:
        assert [(s.t, s.count, s.on_demand) for s in repo.samples_between(conn, vid, 2.1, 9)] == [
            (2.48, 29, False)
        ]


def test_series_gives_the_peak_of_each_bucket(engine: Engine, tmp_path: Path) -> None:
    counts = [0, 3, 20, 19, 18, 2, 0, 0, 0, 0, 25, 25]  # t = 0..11; nothing from 12 to 19
    with engine.begin() as conn:
        vid = repo.add_video(conn, _info(tmp_path / "a.mp4"), "a.mp4", "upload")
        repo.add_samples(
            conn, vid, [SampleRow(float(t), c, 0.5 + t / 100) for t, c in enumerate(counts)]
        )
        repo.add_samples(conn, vid, [SampleRow(20.0, 7, 1.0)])
    with engine.connect() as conn:
        points = repo.series(conn, vid, 0.0, 30.0, 5.0)
        assert repo.series(conn, vid, 100.0, 200.0, 5.0) == []
        with pytest.raises(ValueError):
            repo.series(conn, vid, 0.0, 30.0, 0.0)
    assert [(p.t, p.count, p.min, p.sample_t, p.samples) for p in points] == [
        (0.0, 20, 0, 2.0, 5),
        (5.0, 2, 0, 5.0, 5),
        (10.0, 25, 25, 10.0, 2),
        (20.0, 7, 7, 20.0, 1),  # 15-20 has no samples: no point, the timeline shows a gap
    ]
    assert points[0].confidence == 0.52  # the peak sample's own confidence
