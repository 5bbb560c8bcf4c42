"""A count you can trust: the mode of a sliding window of per-frame counts.

Per-frame counts flicker (an animal half hidden by a neighbour, a head turned); the
operator needs one number that holds still while the group stands still, and a measure of
how much the recent frames agree on it.
"""

from __future__ import annotations

from collections import Counter, deque

from pigweight.domain import CountSample, StableCount


class WindowCounter:
    """Stable count over the last `window` samples (and at most `max_age_s` seconds)."""

    def __init__(
        self,
        window: int = 15,
        max_age_s: float | None = None,
        min_samples: int = 3,
        stable_confidence: float = 0.7,
    ) -> None:
        if window < 1:
            raise ValueError("window must hold at least one sample")
        self.window = window
        self.max_age_s = max_age_s
        self.min_samples = min(min_samples, window)
        self.stable_confidence = stable_confidence
        self._samples: deque[CountSample] = deque(maxlen=window)

    def reset(self) -> None:
        """Forget every sample (a new group walks on, the source restarted)."""
        self._samples.clear()

    def add(self, sample: CountSample) -> StableCount:
        """Add one observation and return the count as it stands now."""
        if self._samples and sample.ts < self._samples[-1].ts:
            # The clock went backwards (a replayed file looped, a camera reset): start over
            # rather than mixing two timelines in one window.
            self._samples.clear()
        self._samples.append(sample)
        self._expire(sample.ts)
        return self.current()

    def current(self) -> StableCount:
        """The stable count of the samples in the window."""
        samples = list(self._samples)
        if not samples:
            return StableCount(value=None, confidence=0.0)
        histogram = Counter(s.count for s in samples)
        # Mode; ties go to the value seen most recently (the scene is changing towards it).
        top = max(histogram.values())
        tied = {c for c, n in histogram.items() if n == top}
        value = next(s.count for s in reversed(samples) if s.count in tied)
        agreeing = [s for s in samples if s.count == value]
        agreement = len(agreeing) / len(samples)
        detector = sum(s.confidence for s in agreeing) / len(agreeing)
        # Few samples cannot vouch for much, however well they agree.
        fill = min(1.0, len(samples) / self.min_samples)
        confidence = round(agreement * detector * fill, 4)
        enough = len(samples) >= self.min_samples
        return StableCount(
            value=value if enough else None,
            confidence=confidence,
            latest=samples[-1].count,
            samples=len(samples),
            stable=enough and confidence >= self.stable_confidence,
            histogram=dict(sorted(histogram.items())),
        )

    def _expire(self, now: float) -> None:
        if self.max_age_s is None:
            return
        while self._samples and now - self._samples[0].ts > self.max_age_s:
            self._samples.popleft()
