from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from pigweight.media.segment_cache import SegmentCache


def writer(data: bytes, calls: list[str]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        calls.append(path.name)
        time.sleep(0.05)
        path.write_bytes(data)

    return make


def test_a_file_is_made_once_even_when_asked_for_at_the_same_time(tmp_path: Path) -> None:
    cache = SegmentCache(tmp_path, max_bytes=10_000)
    calls: list[str] = []
    paths: list[Path] = []
    make = writer(b"x" * 10, calls)
    threads = [
        threading.Thread(target=lambda: paths.append(cache.get("1/3.ts", make))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == ["3.ts"] and {p.read_bytes() for p in paths} == {b"x" * 10}


def test_the_least_recently_used_go_when_the_cache_is_full(tmp_path: Path) -> None:
    cache = SegmentCache(tmp_path, max_bytes=250)
    calls: list[str] = []
    for key in ("a", "b", "c"):
        cache.get(key, writer(b"x" * 100, calls))
    assert not (tmp_path / "a").exists() and cache.total_bytes == 200
    cache.get("b", writer(b"", calls))  # a hit: b is now the newest
    cache.get("d", writer(b"x" * 100, calls))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b", "d"]
    # A restart adopts what is on disk and drops half-written files.
    (tmp_path / "e.tmp").write_bytes(b"partial")
    again = SegmentCache(tmp_path, max_bytes=250)
    assert again.total_bytes == 200 and not (tmp_path / "e.tmp").exists()
    again.drop_prefix("d")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_a_failed_make_leaves_nothing_and_the_next_request_tries_again(tmp_path: Path) -> None:
    cache = SegmentCache(tmp_path, max_bytes=1000)

    def broken(path: Path) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        cache.get("1/0.ts", broken)
    assert not cache._making and cache.total_bytes == 0
    calls: list[str] = []
    assert cache.get("1/0.ts", writer(b"ok", calls)).read_bytes() == b"ok"
