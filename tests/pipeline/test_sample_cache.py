"""The in-memory samples count_at_time answers from."""

from __future__ import annotations

from pigweight.pipeline.sample_cache import SampleCache
from pigweight.store.videos import SampleRow


def _row(t: float, count: int, on_demand: bool = False) -> SampleRow:
    return SampleRow(t, count, 0.9, outlines="[[[0,0],[1,0],[1,1]]]", on_demand=on_demand)


def _at(cache: SampleCache, video_id: int, t: float) -> SampleRow:
    loaded, row = cache.at_or_before(video_id, t)
    assert loaded and row is not None
    return row


def test_a_video_answers_only_once_loaded_and_finds_the_sample_at_or_before() -> None:
    cache = SampleCache()
    assert cache.at_or_before(1, 5.0) == (False, None)
    cache.begin_load(1)
    assert cache.at_or_before(1, 5.0) == (False, None)  # being read from the database
    cache.finish_load(1, [_row(0.0, 3), _row(2.0, 5), _row(4.0, 7)])
    assert cache.at_or_before(1, 3.999) == (True, SampleRow(2.0, 5, 0.9, "", False))
    assert _at(cache, 1, 4.0).count == 7
    assert cache.at_or_before(1, -1.0) == (True, None)
    assert _at(cache, 1, 4.0).outlines == ""


def test_samples_committed_while_loading_are_kept() -> None:
    cache = SampleCache()
    cache.begin_load(1)
    cache.add(1, [_row(6.0, 9)])  # the index pass committed after the read began
    cache.finish_load(1, [_row(0.0, 3), _row(6.0, 9)])  # ... and the read saw it too
    assert _at(cache, 1, 100.0).count == 9
    cache.add(2, [_row(1.0, 1)])  # a video nobody asked about is not held
    assert not cache.loaded(2)


def test_the_index_pass_replaces_an_on_demand_sample_but_not_the_reverse() -> None:
    cache = SampleCache()
    cache.begin_load(1)
    cache.finish_load(1, [_row(2.0, 4, on_demand=True)])
    cache.add(1, [_row(2.0, 5)])  # the index pass's own sample of that frame
    assert _at(cache, 1, 2.0) == SampleRow(2.0, 5, 0.9, "", False)
    cache.add(1, [_row(2.0, 6, on_demand=True)], replace=False)
    assert _at(cache, 1, 2.0).count == 5


def test_least_recently_used_videos_are_forgotten() -> None:
    cache = SampleCache(max_videos=2)
    for video_id in (1, 2):
        cache.begin_load(video_id)
        cache.finish_load(video_id, [_row(0.0, video_id)])
    cache.at_or_before(1, 0.0)  # 1 is used: 2 is the oldest now
    cache.begin_load(3)
    assert cache.loaded(1) and not cache.loaded(2)
