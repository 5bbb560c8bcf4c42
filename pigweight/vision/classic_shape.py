"""Shape of candidate regions: is a union of two pieces shaped like one animal?

Two animals lying side by side, or nose to tail, make a union as large as one big animal,
but twice as wide or twice as long. The pieces' second moments add up, so the fitted
ellipse of any union costs a few additions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Labels = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]

# A union this many times longer or wider than the scene's typical single animal is two.
_MAX_AXIS_RATIO = 1.45
# Typical axes need this many regions of about one animal's area; fewer: no shape test.
_MIN_TYPICAL = 3


@dataclass(slots=True)
class RegionMoments:
    """Raw moments per label (index = label): pixel count, sums of x, y, x*x, y*y, x*y."""

    sums: Floats  # (6, n_labels)

    def add(self, into: int, other: int) -> None:
        self.sums[:, into] += self.sums[:, other]

    def axes_px(self, ids: list[int]) -> tuple[float, float]:
        """Full major and minor axis of the ellipse with the moments of the union of ids."""
        n, sx, sy, sxx, syy, sxy = self.sums[:, ids].sum(axis=1)
        if n <= 0:
            return 0.0, 0.0
        cxx = sxx / n - (sx / n) ** 2
        cyy = syy / n - (sy / n) ** 2
        cxy = sxy / n - (sx / n) * (sy / n)
        spread = float(np.sqrt(max((cxx - cyy) ** 2 / 4 + cxy**2, 0.0)))
        centre = (cxx + cyy) / 2
        # An ellipse's full axis is 4 standard deviations along it.
        return 4 * float(np.sqrt(max(centre + spread, 0.0))), 4 * float(
            np.sqrt(max(centre - spread, 0.0))
        )


def region_moments(labels: Labels) -> RegionMoments:
    """Moments of every label of a label image (label 0, the floor, is left at zero)."""
    length = int(labels.max()) + 1 if labels.size else 1
    ys, xs = np.nonzero(labels)  # only animal pixels: the floor is most of the frame
    ids = labels[ys, xs]
    x, y = xs.astype(np.float64), ys.astype(np.float64)
    sums = np.stack(
        [
            np.bincount(ids, minlength=length).astype(np.float64),
            np.bincount(ids, x, length),
            np.bincount(ids, y, length),
            np.bincount(ids, x * x, length),
            np.bincount(ids, y * y, length),
            np.bincount(ids, x * y, length),
        ]
    )
    return RegionMoments(sums)


def typical_axes_px(moments: RegionMoments, area_px: float) -> tuple[float, float] | None:
    """Median major and minor axis of the regions about one animal's area; None if few."""
    areas = moments.sums[0]
    single = [i for i in range(1, len(areas)) if 0.7 * area_px <= areas[i] <= 1.3 * area_px]
    if len(single) < _MIN_TYPICAL:
        return None
    axes = np.array([moments.axes_px([i]) for i in single])
    return float(np.median(axes[:, 0])), float(np.median(axes[:, 1]))


def shaped_like_one(
    moments: RegionMoments, a: int, b: int, typical: tuple[float, float] | None
) -> bool:
    """Whether regions a and b together are no longer and no wider than one animal."""
    if typical is None:
        return True
    major, minor = moments.axes_px([a, b])
    return major <= _MAX_AXIS_RATIO * typical[0] and minor <= _MAX_AXIS_RATIO * typical[1]
