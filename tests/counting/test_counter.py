from __future__ import annotations

import pytest

from pigweight.counting.counter import WindowCounter
from pigweight.domain import CountSample


def feed(counter: WindowCounter, counts: list[int], conf: float = 1.0, t0: float = 0.0):
    result = counter.current()
    for i, c in enumerate(counts):
        result = counter.add(CountSample(ts=t0 + i * 0.2, count=c, confidence=conf))
    return result


@pytest.mark.parametrize(
    ("counts", "value", "stable"),
    [
        ([], None, False),
        ([20], None, False),  # one frame cannot vouch for a weighing
        ([20, 20, 20], 20, True),
        ([20, 21, 20, 20, 19, 20, 20, 20], 20, True),  # flicker is ignored
        ([20, 21, 22, 23, 24, 25], 25, False),  # group still walking on: no agreement
    ],
)
def test_stable_value(counts: list[int], value: int | None, stable: bool) -> None:
    result = feed(WindowCounter(window=10, min_samples=3), counts)
    assert result.value == value
    assert result.stable is stable
    assert result.samples == len(counts)


def test_window_follows_a_change_of_group() -> None:
    counter = WindowCounter(window=5, min_samples=3)
    feed(counter, [30] * 5)
    result = feed(counter, [12] * 3, t0=10)
    assert result.value == 12 and result.latest == 12


def test_confidence_reflects_agreement_and_detector() -> None:
    sure = feed(WindowCounter(window=10), [18] * 10, conf=0.9)
    assert sure.confidence == pytest.approx(0.9)
    split = feed(WindowCounter(window=10), [18] * 6 + [19] * 4, conf=0.9)
    assert split.value == 18
    assert split.confidence == pytest.approx(0.54)
    assert split.histogram == {18: 6, 19: 4}


def test_old_samples_expire() -> None:
    counter = WindowCounter(window=100, max_age_s=1.0, min_samples=1)
    counter.add(CountSample(ts=0.0, count=5))
    result = counter.add(CountSample(ts=5.0, count=7))
    assert result.samples == 1 and result.value == 7


def test_clock_going_backwards_restarts_the_window() -> None:
    counter = WindowCounter(window=10, min_samples=1)
    feed(counter, [9, 9, 9], t0=100)
    result = counter.add(CountSample(ts=0.0, count=4))
    assert result.samples == 1 and result.value == 4


def test_reset_and_bad_window() -> None:
    counter = WindowCounter(window=3)
    feed(counter, [1, 1, 1])
    counter.reset()
    assert counter.current().value is None
    with pytest.raises(ValueError, match="window"):
        WindowCounter(window=0)
