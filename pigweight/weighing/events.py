"""Weighing events: when a platform's scale and camera agree, a weighing records itself.

One `PlatformEvents` per platform is fed an `Observation` whenever the camera counts or the
scale reads (the newest of each): the camera's count, how sure it is and whether an animal
crosses the platform's edge; the scale's weight and its stable flag. It moves through

    idle ──(weight or animals)──▶ loading ──(both settled for settle_s)──▶ settled
      ▲                                                                       │
      └──────(empty again)────── unloading ◀──(weight falls / animals leave)──┘

and says what to do as `Action`s: `record` once per cycle when, over the same `settle_s`,
the scale was stable within `weight_tolerance_kg` and nearly every frame (`count_agreement`)
showed the same count, with confidence ≥ min_confidence and no animal on the edge, and the
average per head fits the batch's band;
`confirm` (once per cycle) when the scale settled but the count did not, or the average
falls outside the band — the operator decides; `rezero` when the platform has been empty
for `rezero_after_s` while the scale shows more than `rezero_kg`.

Pure logic: no clock, no I/O. Times come with the observations; tests feed sequences.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Literal

State = Literal["idle", "loading", "settled", "unloading"]
ActionKind = Literal["record", "confirm", "rezero"]


@dataclass(frozen=True, slots=True)
class EventSettings:
    settle_s: float = 3.0  # both scale and count steady this long before recording
    min_confidence: float = 0.8  # the camera's count confidence needed to record by itself
    empty_kg: float = 5.0  # at or below: the platform is empty as far as the scale goes
    weight_tolerance_kg: float = 0.5  # spread of a stable total over settle_s
    confirm_after_s: float = 10.0  # scale settled this long but the count not: ask
    count_agreement: float = 0.8  # share of the window's frames that must show the count
    avg_band_kg: tuple[float, float] | None = None  # the batch's plausible average per head
    rezero_kg: float = 10.0  # an empty platform showing more than this ...
    rezero_after_s: float = 30.0  # ... for this long: ask for the scale to be re-zeroed


@dataclass(frozen=True, slots=True)
class Observation:
    ts: float  # seconds (any monotonic clock shared by the observations)
    count: int | None  # the camera's count now; None when it shows nothing fresh
    confidence: float  # of that count, 0-1
    on_edge: bool  # an animal crosses the platform's edge (walking on or off)
    weight_kg: float | None  # the scale now; None when it is silent or out of range
    scale_stable: bool


@dataclass(frozen=True, slots=True)
class Action:
    kind: ActionKind
    ts: float
    count: int | None = None
    total_kg: float | None = None
    reason: str = ""  # for the log, in English
    histogram: dict[int, int] = field(default_factory=dict)  # counts seen over the window
    # Why, for the page to say in its language: a stable id and the numbers in it.
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict)


class PlatformEvents:
    """The state of one platform and what its observations call for."""

    def __init__(self, settings: EventSettings | None = None) -> None:
        self.settings = settings or EventSettings()
        self.state: State = "idle"
        self._window: deque[Observation] = deque()
        self._cycle_acted = False  # a record or a confirm was given this cycle
        self._scale_settled_since: float | None = None
        self._settled_total: float | None = None
        self._overweight_empty_since: float | None = None
        self._rezero_warned = False

    def window(self) -> list[Observation]:
        """The observations of the last settle_s (what a weighing was decided on)."""
        return list(self._window)

    def observe(self, obs: Observation) -> list[Action]:
        """Take one observation; the actions it calls for (usually none)."""
        self._window.append(obs)
        # Keep the newest observation that is settle_s old or more: the window spans settle_s.
        while len(self._window) > 1 and obs.ts - self._window[1].ts >= self.settings.settle_s:
            self._window.popleft()
        actions: list[Action] = []
        rezero = self._check_rezero(obs)
        if rezero is not None:
            actions.append(rezero)
        if self.state == "idle":
            if self._loaded(obs):
                self.state = "loading"
                self._cycle_acted = False
        elif self.state == "loading":
            actions.extend(self._while_loading(obs))
        elif self.state == "settled":
            if self._unloading(obs):
                self.state = "unloading"
        elif self.state == "unloading" and self._empty(obs):
            self.state = "idle"
        if self.state in ("settled", "unloading") and self._empty(obs):
            self.state = "idle"  # emptied in one step (a missed observation)
        return actions

    # --- conditions -------------------------------------------------------------------

    def _loaded(self, obs: Observation) -> bool:
        heavy = obs.weight_kg is not None and obs.weight_kg > self.settings.empty_kg
        return heavy or bool(obs.count)

    def _empty(self, obs: Observation) -> bool:
        light = obs.weight_kg is not None and obs.weight_kg <= self.settings.empty_kg
        return light and not obs.count

    def _unloading(self, obs: Observation) -> bool:
        total = self._settled_total
        drop = max(self.settings.weight_tolerance_kg * 4, 0.1 * (total or 0.0))
        lighter = obs.weight_kg is not None and total is not None and obs.weight_kg < total - drop
        return lighter or (obs.on_edge and not obs.scale_stable)

    def _scale_steady(self) -> float | None:
        """The total when the scale was stable and within tolerance for the whole window."""
        if not self._covers_window():
            return None
        weights = [o.weight_kg for o in self._window]
        if any(w is None for w in weights) or not all(o.scale_stable for o in self._window):
            return None
        values = [w for w in weights if w is not None]
        if max(values) - min(values) > self.settings.weight_tolerance_kg:
            return None
        total = round(sum(values) / len(values), 3)  # the scale's noise averages out
        return total if total > self.settings.empty_kg else None

    def _count_steady(self) -> int | None:
        """The count over the scale's steady window: the count of nearly every frame in it
        (`count_agreement` of them), sure on average, with no animal on the edge.

        The frames' own counts, not the camera's stable count: that is the mode of its own
        window, so it settles a window after the animals do, and a group that stood still
        for settle_s plus a little was missed. One frame that half-hides an animal does not
        restart the settling; a count that keeps changing never agrees."""
        if not self._covers_window():
            return None
        window = self._window
        counts = Counter(o.count for o in window if o.count is not None)
        if not counts:
            return None
        count, agreeing = counts.most_common(1)[0]
        if not count or agreeing < self.settings.count_agreement * len(window):
            return None
        if any(o.on_edge for o in window):
            return None
        sure = [o.confidence for o in window if o.count == count]
        if sum(sure) / len(sure) < self.settings.min_confidence:
            return None
        return count

    def _covers_window(self) -> bool:
        first, last = self._window[0], self._window[-1]
        return last.ts - first.ts >= self.settings.settle_s

    # --- loading ----------------------------------------------------------------------

    def _while_loading(self, obs: Observation) -> list[Action]:
        if self._empty(obs):
            self.state = "idle"  # they walked off again before settling
            self._scale_settled_since = None
            return []
        total = self._scale_steady()
        if total is None:
            self._scale_settled_since = None
            return []
        if self._scale_settled_since is None:
            self._scale_settled_since = obs.ts
        count = self._count_steady()
        if count is not None:
            self.state = "settled"
            self._settled_total = total
            self._scale_settled_since = None
            return [self._record_or_confirm(obs.ts, count, total)]
        waited = obs.ts - self._scale_settled_since
        likely = self._likely_count()
        if likely == 0:
            return []  # the camera sees an empty platform: a re-zero matter, not a count
        if waited >= self.settings.confirm_after_s and not self._cycle_acted:
            self._cycle_acted = True
            return [
                Action(
                    "confirm",
                    obs.ts,
                    count=likely,
                    total_kg=total,
                    reason="the scale is steady but the camera's count is not: "
                    "confirm or type the head count",
                    histogram=self._histogram(),
                    code="count_unsteady",
                )
            ]
        return []

    def _record_or_confirm(self, ts: float, count: int, total: float) -> Action:
        band = self.settings.avg_band_kg
        average = total / count
        if self._cycle_acted:
            # The operator was already asked this cycle: the steady count goes to them too.
            return Action(
                "confirm",
                ts,
                count,
                total,
                "the count settled after a confirmation was asked",
                self._histogram(),
                code="count_settled_late",
            )
        self._cycle_acted = True
        if band is not None and not band[0] <= average <= band[1]:
            return Action(
                "confirm",
                ts,
                count,
                total,
                f"the average {average:.2f} kg per head is outside the batch's band "
                f"{band[0]:g}-{band[1]:g} kg: check the count and the scale",
                self._histogram(),
                code="average_outside_band",
                params={"average": round(average, 2), "low": band[0], "high": band[1]},
            )
        return Action("record", ts, count, total, "", self._histogram())

    def _histogram(self) -> dict[int, int]:
        return dict(Counter(o.count for o in self._window if o.count is not None))

    def _likely_count(self) -> int | None:
        histogram = self._histogram()
        return max(histogram, key=lambda c: histogram[c]) if histogram else None

    # --- re-zero ----------------------------------------------------------------------

    def _check_rezero(self, obs: Observation) -> Action | None:
        empty_view = obs.count == 0
        heavy = obs.weight_kg is not None and obs.weight_kg > self.settings.rezero_kg
        if not (empty_view and heavy and obs.scale_stable):
            self._overweight_empty_since = None
            if obs.weight_kg is not None and obs.weight_kg <= self.settings.empty_kg:
                self._rezero_warned = False
            return None
        if self._overweight_empty_since is None:
            self._overweight_empty_since = obs.ts
        waited = obs.ts - self._overweight_empty_since
        if waited >= self.settings.rezero_after_s and not self._rezero_warned:
            self._rezero_warned = True
            weight = obs.weight_kg if obs.weight_kg is not None else math.nan
            return Action(
                "rezero",
                obs.ts,
                total_kg=weight,
                reason=f"the platform looks empty but the scale shows {weight:.1f} kg: "
                "re-zero the scale",
                code="empty_platform_weighs",
                params={"weight_kg": round(weight, 1)},
            )
        return None
