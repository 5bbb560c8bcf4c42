"""Synthetic top-view scenes of a piglet weighing platform, with exact ground truth.

Used as the demo camera (`make run` loops `write_demo_video`'s clip until a real camera
is configured) and to measure segmenters (`pigweight.evaluation.synthetic`).

The scene: a platform floor (rubber mat, chequer steel, green plastic slats or concrete,
with grime, a lamp's light fall-off and lens vignetting), galvanised rails with an entry
gate on the left and an exit gate on the right, concrete aisles outside them, and a camera
date overlay on the top wall. Groups of piglets (pink-white skin, lighter along the spine,
ears, snout, curly tail, farm spray marks, some dirt, +-15 % size) trot in through the left
gate two abreast, pack side by side (touching, small overlaps), stand still with small
movements, and leave through the right gate; then the next group comes. `ir=True` gives
the grey, noisier night view under infrared light.

Ground truth, exact by construction:
- count: an animal counts when at least 50 % of its body area (body, head, ears, tail,
  legs; not its shadow) lies inside the frame. Occlusion by other animals does not matter.
- masks: one per counted animal, its *visible* pixels (animals drawn later occlude earlier
  ones); a pixel belongs to an animal when the body covers at least half of it. Masks are
  disjoint. Animals less than half inside the frame have no mask and are not counted.
- videos: `OUT.truth.json` stores seed, size, fps and per-frame counts; masks are redrawn
  from the seed by `load_truth` (see `synthetic/video.py`).
"""

from __future__ import annotations

from pigweight.synthetic.scene import COUNT_MIN_INSIDE, DemoScene, SynthFrame, render_scene
from pigweight.synthetic.video import Truth, load_truth, truth_path, write_demo_video

__all__ = [
    "COUNT_MIN_INSIDE",
    "DemoScene",
    "SynthFrame",
    "Truth",
    "load_truth",
    "render_scene",
    "truth_path",
    "write_demo_video",
]
