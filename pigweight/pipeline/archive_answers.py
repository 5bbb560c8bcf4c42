"""What the archive answers, typed: a count at t, indexing progress, a counted frame's
outlines. The API turns them into JSON (`dataclasses.asdict`); the field names are the JSON
keys the page and scripts read (docs/api.md)."""

from __future__ import annotations

from dataclasses import dataclass

from pigweight.pipeline.archive_zone import Outline
from pigweight.store.videos import SampleRow


@dataclass(frozen=True, slots=True)
class CountAt:
    """The count shown at t, from the sample at sample_t (at or before t)."""

    t: float
    count: int
    confidence: float
    sample_t: float
    indexed: bool  # False: counted for a query, not by the index pass yet
    outside: int  # animals outside the recording's zone (not in `count`)

    @classmethod
    def of(cls, t: float, sample: SampleRow) -> CountAt:
        return cls(
            t=t,
            count=sample.count,
            confidence=sample.confidence,
            sample_t=sample.t,
            indexed=not sample.on_demand,
            outside=sample.outside,
        )


@dataclass(frozen=True, slots=True)
class IndexProgress:
    """How far a video's indexing is: fps is frames counted per second, speed_x the
    multiple of real time (both None while no job of it runs)."""

    state: str  # store.videos.INDEX_STATES
    percent: float
    eta_s: float | None
    fps: float | None
    speed_x: float | None
    samples_done: int
    samples_total: int
    indexed_until_s: float
    error: str | None


@dataclass(frozen=True, slots=True)
class CountedFrame:
    """One counted frame with its animals' outlines, split by the recording's zone."""

    t: float
    count: int
    outside: int
    confidence: float
    indexed: bool
    outlines: list[Outline]
    outside_outlines: list[Outline]
