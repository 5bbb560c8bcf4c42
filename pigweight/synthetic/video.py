"""The demo camera video and its ground truth file.

`OUT.truth.json` beside `OUT.mp4` holds the scene parameters and the per-frame counts, not
the masks: masks of a 60 s 720p clip would weigh far more than the video, while
`DemoScene` redraws any frame exactly from the seed. `load_truth` rebuilds the scene and
checks its counts against the stored ones, so a truth file written by another version of
the renderer fails loudly instead of yielding wrong masks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from pigweight.synthetic.scene import DemoScene

logger = logging.getLogger(__name__)

TRUTH_FORMAT = 1
_ENCODERS = ("libx264", "libopenh264", "h264")


def truth_path(video_path: Path) -> Path:
    """Where the truth of `video_path` lives: `clip.mp4` -> `clip.truth.json`."""
    return video_path.with_suffix(".truth.json")


def _encoder() -> str:
    for name in _ENCODERS:
        if name in av.codecs_available:
            return name
    raise RuntimeError("this PyAV build has no H.264 encoder (libx264 or libopenh264)")


def _open_stream(container: av.container.OutputContainer, scene: DemoScene) -> av.VideoStream:
    codec = _encoder()
    fps = Fraction(scene.fps).limit_denominator(1001)
    stream = container.add_stream(codec, rate=fps)
    if not isinstance(stream, av.VideoStream):
        raise RuntimeError(f"{codec} did not give a video stream")
    stream.width, stream.height = scene.width, scene.height
    stream.pix_fmt = "yuv420p"
    gop = max(1, round(scene.fps * 1.5))  # a keyframe every 1.5 s: quick seeking for HLS
    stream.codec_context.gop_size = gop
    if codec == "libx264":
        stream.options = {
            "preset": "veryfast",
            "crf": "23",
            "keyint_min": str(gop),
            "sc_threshold": "0",
        }
    return stream


def write_demo_video(
    out: Path,
    seconds: float = 60,
    seed: int = 0,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    progress: Callable[[int, int], None] | None = None,
    creation_time: bool = True,
) -> Path:
    """Write the looping demo clip (H.264 MP4) and `OUT.truth.json` beside it; return `out`.

    Like a camera, the clip keeps when it was made in the container's `creation_time`: the
    date stamp's first moment, written as UTC (the clip knows no time zone);
    `creation_time=False` leaves it out, as some recorders do."""
    if width % 2 or height % 2:
        raise ValueError("width and height must be even for yuv420p video")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scene = DemoScene(seed=seed, width=width, height=height, fps=fps, seconds=seconds)
    counts: list[int] = []
    with av.open(str(out), mode="w") as container:
        if creation_time:
            container.metadata["creation_time"] = scene.started_at.strftime(
                "%Y-%m-%dT%H:%M:%S.000000Z"
            )
        stream = _open_stream(container, scene)
        for i in range(scene.frame_count):
            frame = scene.frame(i)
            counts.append(frame.count)
            video_frame = av.VideoFrame.from_ndarray(frame.image, format="rgb24")
            container.mux(stream.encode(video_frame))
            if progress is not None:
                progress(i + 1, scene.frame_count)
        container.mux(stream.encode(None))
    _write_truth(out, scene, counts)
    logger.info("wrote %s: %d frames, seed %d", out, scene.frame_count, seed)
    return out


def _write_truth(out: Path, scene: DemoScene, counts: list[int]) -> None:
    truth = {
        "format": TRUTH_FORMAT,
        "generator": "pigweight.synthetic.DemoScene",
        "count_rule": "an animal counts when >= 50 % of its body area lies inside the frame",
        "seed": scene.seed,
        "fps": scene.fps,
        "seconds": scene.seconds,
        "width": scene.width,
        "height": scene.height,
        "frames": [{"t": round(i / scene.fps, 4), "count": c} for i, c in enumerate(counts)],
    }
    truth_path(out).write_text(json.dumps(truth, separators=(",", ":")), encoding="utf-8")


@dataclass
class Truth:
    """Ground truth of a demo clip; masks are redrawn on demand from the seed."""

    fps: float
    counts: list[int]  # per frame
    times_s: list[float]
    scene: DemoScene

    def masks(self, frame_index: int) -> npt.NDArray[np.bool_]:
        """(count, H, W) bool visible pixels of each counted animal in that frame."""
        frame = self.scene.frame(frame_index)
        if frame.count != self.counts[frame_index]:
            raise ValueError(
                f"frame {frame_index}: the renderer now draws {frame.count} animals, the truth "
                f"file says {self.counts[frame_index]}; regenerate the video with this version"
            )
        return frame.masks


def load_truth(video_path: Path) -> Truth:
    """Truth of a clip written by `write_demo_video`; raises FileNotFoundError or ValueError."""
    path = truth_path(Path(video_path))
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("format") != TRUTH_FORMAT:
        raise ValueError(f"{path}: unknown truth format {data.get('format')!r}")
    scene = DemoScene(
        seed=int(data["seed"]),
        width=int(data["width"]),
        height=int(data["height"]),
        fps=float(data["fps"]),
        seconds=float(data["seconds"]),
    )
    frames = data["frames"]
    return Truth(
        fps=float(data["fps"]),
        counts=[int(f["count"]) for f in frames],
        times_s=[float(f["t"]) for f in frames],
        scene=scene,
    )
