"""Weighing events: sequences of camera and scale observations, and what they call for."""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from pigweight.weighing.events import Action, EventSettings, Observation, PlatformEvents

STEP_S = 0.2  # the camera counts at 5 fps


def cycle(
    t0: float,
    count: int,
    total_kg: float,
    seed: int = 0,
    confidence: float = 0.95,
    settled_s: float = 5.0,
    flicker: bool = False,
) -> Iterator[Observation]:
    """One weighing: empty, animals walk on (edge, motion), stand still, walk off, empty."""
    rng = np.random.default_rng(seed)
    t = t0

    def obs(n: int | None, conf: float, edge: bool, kg: float | None, stable: bool) -> Observation:
        nonlocal t
        t += STEP_S
        return Observation(t, n, conf, edge, kg, stable)

    for _ in range(10):  # empty
        yield obs(0, 0.99, False, float(rng.normal(0.1, 0.05)), True)
    for i in range(20):  # loading: more animals, the scale swinging
        yield obs(count * i // 20, 0.6, True, total_kg * i / 20 + float(rng.normal(0, 3)), False)
    for i in range(round(settled_s / STEP_S)):  # standing: both settle
        n = count + (1 if flicker and i % 3 == 0 else 0)
        yield obs(n, confidence, False, total_kg + float(rng.normal(0, 0.05)), True)
    for i in range(15):  # unloading
        yield obs(count - count * i // 15, 0.6, True, total_kg * (1 - i / 15), False)
    for _ in range(10):  # empty again
        yield obs(0, 0.99, False, float(rng.normal(0.1, 0.05)), True)


def run(events: PlatformEvents, observations: Iterator[Observation]) -> list[Action]:
    actions: list[Action] = []
    for o in observations:
        actions += events.observe(o)
    return actions


def test_a_clean_cycle_records_once_with_its_count_and_total() -> None:
    events = PlatformEvents()
    states = []
    actions: list[Action] = []
    for o in cycle(0.0, 25, 300.0):
        actions += events.observe(o)
        states.append(events.state)
    assert [a.kind for a in actions] == ["record"]
    record = actions[0]
    assert record.count == 25 and abs(record.total_kg - 300.0) < 0.3  # type: ignore[operator]
    assert record.histogram == {25: record.histogram[25]} and record.histogram[25] >= 14
    # idle -> loading -> settled -> unloading -> idle, each once, in that order.
    order = [s for i, s in enumerate(states) if i == 0 or s != states[i - 1]]
    assert order == ["idle", "loading", "settled", "unloading", "idle"]


def test_twenty_cycles_give_twenty_records_and_no_duplicates() -> None:
    events = PlatformEvents()
    actions: list[Action] = []
    t = 0.0
    expected = []
    for k in range(20):
        count, total = 10 + k * 2, (10 + k * 2) * 11.5
        expected.append(count)
        observations = list(cycle(t, count, total, seed=k))
        t = observations[-1].ts
        actions += run(events, iter(observations))
    assert [a.kind for a in actions] == ["record"] * 20
    assert [a.count for a in actions] == expected


def test_no_record_while_the_scale_swings_or_an_animal_is_on_the_edge() -> None:
    events = PlatformEvents()
    swinging = [
        Observation(i * STEP_S, 20, 0.95, False, 240.0 + (3.0 if i % 2 else -3.0), True)
        for i in range(60)
    ]
    assert run(events, iter(swinging)) == []
    events = PlatformEvents()
    on_edge = [Observation(i * STEP_S, 20, 0.95, i % 4 == 0, 240.0, True) for i in range(60)]
    assert run(events, iter(on_edge)) == []
    events = PlatformEvents()
    moving = [Observation(i * STEP_S, 20, 0.95, False, 240.0, False) for i in range(60)]
    assert run(events, iter(moving)) == []


def test_an_unsure_count_asks_the_operator_once_instead_of_recording() -> None:
    settings = EventSettings(confirm_after_s=4.0)
    actions = run(PlatformEvents(settings), cycle(0.0, 25, 300.0, confidence=0.5, settled_s=8))
    assert [a.kind for a in actions] == ["confirm"]
    assert actions[0].count == 25 and "confirm" in actions[0].reason
    flicker = run(PlatformEvents(settings), cycle(0.0, 25, 300.0, settled_s=8, flicker=True))
    assert [a.kind for a in flicker] == ["confirm"]
    assert flicker[0].count == 25  # the most frequent count is offered
    assert set(flicker[0].histogram) == {25, 26}


def test_an_average_outside_the_batch_band_is_not_recorded_by_itself() -> None:
    settings = EventSettings(avg_band_kg=(8.0, 15.0))
    actions = run(PlatformEvents(settings), cycle(0.0, 10, 300.0))  # 30 kg a head
    assert [a.kind for a in actions] == ["confirm"]
    assert re.search(
        r"average 30\.0\d kg per head is outside the batch's band 8-15", actions[0].reason
    )


def test_a_silent_scale_mid_cycle_records_nothing_and_the_next_cycle_works() -> None:
    events = PlatformEvents()
    broken = [
        o
        if not (6.0 < o.ts < 9.0)
        else Observation(o.ts, o.count, o.confidence, o.on_edge, None, False)
        for o in cycle(0.0, 25, 300.0)
    ]
    assert run(events, iter(broken)) == []
    assert events.state == "idle"
    actions = run(events, cycle(broken[-1].ts, 20, 240.0, seed=3))
    assert [(a.kind, a.count) for a in actions] == [("record", 20)]


def test_an_empty_platform_with_weight_asks_for_a_rezero_once() -> None:
    settings = EventSettings(rezero_after_s=5.0)
    events = PlatformEvents(settings)
    drift = [Observation(i * STEP_S, 0, 0.99, False, 14.0, True) for i in range(100)]
    actions = run(events, iter(drift))
    assert [a.kind for a in actions] == ["rezero"]
    assert "14.0 kg" in actions[0].reason
    # Back to zero, then drifting again: asked again.
    back = [Observation(20 + i * STEP_S, 0, 0.99, False, 0.1, True) for i in range(10)]
    again = [Observation(30 + i * STEP_S, 0, 0.99, False, 14.0, True) for i in range(40)]
    assert [a.kind for a in run(events, iter(back + again))] == ["rezero"]


def test_a_group_that_stands_just_longer_than_settle_s_is_recorded_at_once() -> None:
    """Scale and count settle together: the weighing records settle_s later, not a count
    window after that (the camera's stable count lags by its own window: groups that stood
    4 s were missed)."""
    events = PlatformEvents()  # settle_s 3
    walk_on = [Observation(i * STEP_S, 5 + i, 0.6, True, 60.0 + 12 * i, False) for i in range(15)]
    assert run(events, iter(walk_on)) == []
    standing = [
        # One frame in ten half-hides an animal: that does not restart the settling.
        Observation(3.0 + i * STEP_S, 19 if i % 10 == 5 else 20, 0.9, False, 240.0, True)
        for i in range(1, 21)
    ]
    recorded_at = None
    for o in standing:
        for action in events.observe(o):
            assert action.kind == "record" and action.count == 20
            recorded_at = o.ts - 3.0
    assert recorded_at is not None and recorded_at <= 3.0 + STEP_S, recorded_at
