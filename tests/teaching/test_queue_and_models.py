"""The labelling queue's disk budget, and the model book's switches as the CLI shows them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pigweight.cli import main
from pigweight.store.db import open_database
from pigweight.teaching.folder import split_frames
from pigweight.teaching.frames import LabelQueue, changes
from pigweight.teaching.models import SHIPPED, ModelBook
from pigweight.vision.pig_model import DEFAULT_MODEL


def noise(seed: int) -> np.ndarray:
    """A frame that JPEG cannot shrink much: each one about the same size."""
    return np.random.default_rng(seed).integers(0, 255, (120, 160, 3), dtype=np.uint8)


def test_over_its_budget_the_queue_drops_random_samples_first_and_never_a_label(
    tmp_path: Path, database_url: str | None
) -> None:
    engine = open_database(tmp_path, database_url)
    queue = LabelQueue(tmp_path, limit_mb=1000)
    queue.start(engine)
    first = queue.add("pen1", noise(0), "typed_count_differs", ts=1.0)
    size = first.bytes
    queue.save(first.id, 0, [[0.1, 0.1, 0.2, 0.2]], "anna")  # labelled: kept whatever comes
    samples = [queue.add("pen1", noise(i), "sample", ts=1.0 + i) for i in (1, 2)]
    unsure = queue.add("pen1", noise(3), "low_confidence", ts=2.5)
    assert len(queue.frames("pen1", "all")[0]) == 4
    # Pages newest first, filtered and counted by the database.
    page, figures = queue.frames("pen1", "todo", limit=2, offset=1)
    assert [f.id for f in page] == [unsure.id, samples[0].id]  # after samples[1] (ts 3)
    assert (figures["total"], figures["todo"], figures["labelled"]) == (3, 3, 1)
    assert [f.id for f in queue.frames("pen1", "labelled")[0]] == [first.id]
    queue.limit_bytes = int(size * 3.5)  # room for three frames and a half
    queue.add("pen1", noise(4), "confirm_asked", ts=5.0)
    kept = {f.id for f in queue.frames("pen1", "all")[0]}
    # Five frames in the room of three: the two random samples went, oldest first; the
    # labelled frame, the unsure one and the new one stay, with their files.
    assert first.id in kept and unsure.id in kept and not {s.id for s in samples} & kept
    assert not (tmp_path / samples[0].file).exists() and (tmp_path / first.file).exists()
    queue.limit_bytes = size  # room for one: unlabelled frames go, the label never
    queue.enforce_budget()
    assert [f.id for f in queue.frames("pen1", "all")[0]] == [first.id]
    engine.dispose()


def test_what_changed_between_two_versions_is_counted_per_animal() -> None:
    before = [(0.1, 0.1, 0.3, 0.3), (0.5, 0.5, 0.7, 0.7), (0.8, 0.1, 0.9, 0.2)]
    after = [(0.1, 0.1, 0.3, 0.3), (0.52, 0.5, 0.72, 0.7), (0.0, 0.8, 0.1, 0.9)]
    assert changes(before, after) == (1, 1, 1)  # one added, one removed, one moved


def test_the_newest_fifth_of_each_light_is_held_out_never_a_random_pick() -> None:
    def day(frames: list[int]) -> object:
        return split_frames(frames, lambda n: False)

    assert day(list(range(10))) == type(day([]))(list(range(8)), [], [8, 9])
    assert day(list(range(7))).held_out == [5, 6]  # ceil(1.4)
    assert day([1]).held_out == [] and day([1, 2]).held_out == [2]
    # 30 days then 10 nights (frames 30-39, infrared): each light keeps its newest fifth
    # for measuring and its tenth before that to pick the threshold.
    split = split_frames(list(range(40)), lambda n: n >= 30)
    assert split.held_out == [24, 25, 26, 27, 28, 29, 38, 39]
    assert split.validation == [21, 22, 23, 37]
    assert split.train == [*range(21), *range(30, 37)]
    assert split.ordered[-8:] == split.held_out  # an exported folder's numbers, in order
    # one frame of each: the newest is held out
    assert split_frames([1, 2], lambda n: n == 2).held_out == [2]


def _model(book: ModelBook, camera: str, mae: float, against: str) -> str:
    model_id = book.new_id(camera)
    book.path(model_id).parent.mkdir(parents=True)
    book.path(model_id).write_bytes(DEFAULT_MODEL.read_bytes())
    evaluation = {
        "frames": 20,
        "mae": mae,
        "exact": 0.5,
        "ms_per_frame": 30.0,
        "against": against,
        "against_mae": 2.0,
        "against_exact": 0.2,
        "against_ms_per_frame": 30.0,
    }
    book.write_card(
        model_id,
        {
            "id": model_id,
            "name": model_id,
            "origin": "trained",
            "created_ts": 1.0,
            "camera": camera,
            "evaluation": evaluation,
        },
    )
    return model_id


@pytest.mark.skipif(not DEFAULT_MODEL.is_file(), reason="the shipped model is not built")
def test_the_cli_lists_activates_and_rolls_back_as_the_page_does(
    tmp_path: Path,
    database_url: str | None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", database_url or "")  # the CLI's database is the book's
    book = ModelBook(tmp_path, clock=iter(range(1_000_000, 2_000_000, 60)).__next__)
    engine = open_database(tmp_path, database_url)
    book.start(engine)
    better = _model(book, "pen1", 1.0, SHIPPED)
    worse = _model(book, "pen1", 3.0, SHIPPED)
    assert main(["models", "activate", "pen1", worse]) == 2
    assert "counts worse" in capsys.readouterr().err
    assert main(["models", "activate", "pen1", better]) == 0
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"camera pen1: counts with {better}" in listing
    assert f" * {better}" in listing and "MAE 1.00 (vs shipped 2.00)" in listing
    assert main(["models", "rollback", "pen1"]) == 0
    assert "counts with shipped" in capsys.readouterr().out
    # A running server's book sees the CLI's switch within RELOAD_S, on its next frame.
    book._loaded_at = 0.0
    assert book.active_path("pen1") is None and book.active("pen1") == SHIPPED
    history = json.dumps([s.action for s in book.history("pen1")])
    assert history == '["rollback", "activate"]'
    engine.dispose()


def test_a_count_the_platform_asks_the_operator_about_keeps_its_frame() -> None:
    import anyio

    from pigweight.pipeline.auto_weigher import AutoWeigher
    from pigweight.pipeline.hub import CountMessage
    from pigweight.weighing.events import Action, EventSettings

    kept: list[tuple[object, ...]] = []
    weigher = AutoWeigher("pen1", None, None, None, EventSettings())  # type: ignore[arg-type]
    weigher.keep_frame = lambda *args: kept.append(args)
    weigher._message = CountMessage("pen1", 0.0, "streaming", frame_confidence=0.41)
    anyio.run(weigher._act, Action("confirm", 0.0, 27, 310.0, "unsure", code="unsure_count"))
    assert weigher.pending is not None
    assert kept == [("pen1", None, 27, 0.41, True)]  # kept with the reason "confirm_asked"


class _Hub:
    """What Teaching asks the hub: the last counted frame, raw, and its message."""

    def latest_raw(self, camera: str) -> np.ndarray:
        return noise(9)

    def latest_frame(self, camera: str) -> object:
        from pigweight.pipeline.hub import CountMessage, LiveUpdate

        return LiveUpdate(camera, CountMessage(camera, 123.0, "streaming", count=25), b"")


@pytest.mark.parametrize(
    ("typed", "counted", "confidence", "confirm", "share", "reason"),
    [
        (27, 25, 0.95, False, 0.0, "typed_count_differs"),
        (None, 25, 0.95, True, 0.0, "confirm_asked"),
        (25, 25, 0.5, False, 0.0, "low_confidence"),
        (25, 25, 0.95, False, 1.0, "sample"),
        (25, 25, 0.95, False, 0.0, None),  # sure, and not drawn for the sample
    ],
)
def test_which_weighings_keep_their_frame(
    tmp_path: Path,
    typed: int | None,
    counted: int,
    confidence: float,
    confirm: bool,
    share: float,
    reason: str | None,
) -> None:
    from pigweight.teaching.service import Teaching
    from tests.api.conftest import make_settings

    settings = make_settings(tmp_path, label_sample_share=share)
    teaching = Teaching(settings.teaching, settings.server.data_dir, _Hub())  # type: ignore[arg-type]
    teaching.queue.start(open_database(settings.server.data_dir))
    frame = teaching.after_weighing("pen1", typed, counted, confidence, confirm)
    if reason is None:
        assert frame is None and teaching.queue.frames("pen1")[0] == []
        return
    assert frame is not None and frame.reason == reason and frame.ts == 123.0
    assert (frame.typed_count, frame.model_count) == (typed, counted)
    assert (tmp_path / "data" / frame.file).read_bytes()[:2] == b"\xff\xd8"


def test_a_grey_night_picture_is_told_from_a_colour_one(
    tmp_path: Path, database_url: str | None
) -> None:
    engine = open_database(tmp_path, database_url)
    queue = LabelQueue(tmp_path, limit_mb=100)
    queue.start(engine)
    colour = noise(1)
    grey = np.repeat(noise(2)[..., :1], 3, axis=2)  # an infrared camera's picture: R = G = B
    day = queue.add("pen1", colour, "sample")
    night = queue.add("pen1", grey, "sample")
    assert (day.infrared, night.infrared) == (False, True)
    assert queue.frame(night.id).public()["infrared"] is True
    engine.dispose()
