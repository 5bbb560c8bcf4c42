"""`pigweight index FILE|DIR...`: add recordings to the archive and index them here, with
a progress bar; the server shows them with their counts (same DATA_DIR)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pigweight.media.roots import video_files_in
from pigweight.pipeline.archive import store_file
from pigweight.pipeline.indexer import index_file_blocking
from pigweight.settings import Settings
from pigweight.store.db import open_database
from pigweight.vision.segmenter import create_segmenter


class NoVideos(Exception):
    """Nothing to index among the paths given."""


def index_paths(
    paths: Sequence[Path], settings: Settings, show_progress: bool
) -> list[dict[str, Any]]:
    """Probe, store and index every video under paths; one summary per file."""
    from tqdm import tqdm

    files = [f for p in paths for f in video_files_in(Path(p).resolve())]
    if not files:
        raise NoVideos(f"no video files in {', '.join(str(p) for p in paths)}")
    engine = open_database(settings.server.data_dir, settings.server.database_url)
    segmenter = create_segmenter(settings.vision)
    results = []
    try:
        for path in files:
            video_id, info, _added = store_file(engine, path, path.name, "register")
            with tqdm(
                total=1, desc=path.name, unit="sample", disable=not show_progress, file=sys.stderr
            ) as bar:

                def progress(done: int, total: int, bar: Any = bar) -> None:
                    bar.total = max(total, 1)
                    bar.n = done
                    bar.refresh()

                final = index_file_blocking(
                    engine,
                    video_id,
                    segmenter,
                    settings.archive.index_interval_s,
                    progress,
                    thumbs_dir=Path(settings.server.data_dir) / "thumbs",
                    max_side_px=settings.archive.index_max_side_px,
                )
            results.append(
                {
                    "id": video_id,
                    "path": str(path),
                    "duration_s": round(info.duration_s, 3),
                    "truncated": info.truncated,
                    "samples": final.samples_done,
                    "state": final.state,
                }
            )
    finally:
        engine.dispose()
    return results
