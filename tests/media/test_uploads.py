from __future__ import annotations

import hashlib
import os
import re
import shutil
import threading
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from starlette.requests import ClientDisconnect

from pigweight.api.errors import status_of
from pigweight.media.uploads import (
    GB,
    MB,
    WRITE_BYTES,
    InsufficientStorage,
    UploadNotFound,
    UploadOffsetMismatch,
    UploadRejected,
    UploadStore,
    VideoTooLarge,
)

CHUNK = 64 * 1024


def block(i: int) -> bytes:
    """Chunk i of a test file: every chunk differs, so a misplaced one shows."""
    return i.to_bytes(4, "big") * (CHUNK // 4)


def expected(first: int, stop: int) -> bytes:
    return b"".join(block(i) for i in range(first, stop))


async def body(first: int, stop: int, *, broken: bool = False) -> AsyncIterator[bytes]:
    """Chunks first..stop-1 as a request body; `broken`: the connection drops after them."""
    for i in range(first, stop):
        yield block(i)
        await anyio.sleep(0)
    if broken:
        raise ClientDisconnect()


def make_store(tmp_path: Path, **kwargs: Any) -> UploadStore:
    options: dict[str, Any] = {"max_bytes": 1 * GB, "min_free_bytes": 0}
    options.update(kwargs)
    return UploadStore(tmp_path / "uploads", dest_dir=tmp_path / "videos", **options)


def leftovers(store: UploadStore) -> list[str]:
    return sorted(p.name for p in store.dir.iterdir())


def test_30_mb_upload_in_64_kb_chunks_keeps_memory_flat_and_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path)
    chunks = 30 * MB // CHUNK
    checked_in: set[int] = set()
    real_disk_usage = shutil.disk_usage

    def disk_usage(path: Any) -> Any:  # called right before each write, in the same thread
        checked_in.add(threading.get_ident())
        return real_disk_usage(path)

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    loop_thread: list[int] = []

    async def upload() -> Path:
        loop_thread.append(threading.get_ident())
        return await store.receive("nvr.mp4", body(0, chunks), None)

    anyio.run(store.receive, "warm-up.mp4", body(0, 1), None)  # imports, worker thread
    tracemalloc.start()
    try:
        path = anyio.run(upload)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * MB, f"peak Python memory {peak / MB:.1f} MB for a 30 MB upload"
    assert path == tmp_path / "videos" / "nvr.mp4"
    assert path.stat().st_size == 30 * MB
    digest = hashlib.sha256()
    for i in range(chunks):
        digest.update(block(i))
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest.hexdigest()
    assert checked_in and loop_thread[0] not in checked_in  # writes ran in worker threads
    assert leftovers(store) == []


def test_an_interrupted_upload_resumes_at_its_offset_even_after_a_restart(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    state = store.create("cam1.mp4", 40 * CHUNK)
    assert (state.offset, state.size, state.done) == (0, 40 * CHUNK, False)

    with pytest.raises(ClientDisconnect):
        anyio.run(store.append, state.id, 0, body(0, 25, broken=True))
    assert store.state(state.id).offset == 25 * CHUNK  # what arrived before the break is kept

    restarted = make_store(tmp_path)  # a new server process on the same folder
    resumed = restarted.state(state.id)
    assert (resumed.filename, resumed.offset, resumed.done) == ("cam1.mp4", 25 * CHUNK, False)

    done = anyio.run(restarted.append, state.id, 25 * CHUNK, body(25, 40))
    assert (done.offset, done.done) == (40 * CHUNK, True)
    path = restarted.finish(state.id)
    assert path == tmp_path / "videos" / "cam1.mp4"
    assert path.read_bytes() == expected(0, 40)
    assert leftovers(restarted) == []
    with pytest.raises(UploadNotFound):
        restarted.state(state.id)


@pytest.mark.parametrize("sent", [0, 5 * CHUNK, 20 * CHUNK])
def test_a_wrong_offset_is_refused_with_the_offset_to_resume_from(
    tmp_path: Path, sent: int
) -> None:
    store = make_store(tmp_path)
    state = store.create("cam1.mp4", 40 * CHUNK)
    anyio.run(store.append, state.id, 0, body(0, 10))
    with pytest.raises(UploadOffsetMismatch, match=f"Upload-Offset: {10 * CHUNK}") as refused:
        anyio.run(store.append, state.id, sent, body(0, 1))
    assert refused.value.offset == 10 * CHUNK
    assert store.state(state.id).offset == 10 * CHUNK  # nothing was written


def test_two_requests_for_one_upload_never_interleave(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    state = store.create("cam1.mp4", 40 * CHUNK)
    outcomes: list[str] = []

    async def patch() -> None:
        try:
            await store.append(state.id, 0, body(0, 20))
            outcomes.append("written")
        except UploadOffsetMismatch as exc:
            outcomes.append(f"resume at {exc.offset}")

    async def both() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(patch)
            tg.start_soon(patch)

    anyio.run(both)
    assert sorted(outcomes) == [f"resume at {20 * CHUNK}", "written"]
    assert store.state(state.id).offset == 20 * CHUNK


def test_a_cancelled_request_keeps_the_bytes_that_arrived(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    state = store.create("cam1.mp4", 40 * CHUNK)

    async def shutdown_mid_request() -> None:
        with anyio.CancelScope() as scope:

            async def stalled() -> AsyncIterator[bytes]:
                async for chunk in body(0, 20):
                    yield chunk
                scope.cancel()  # the server stops while the client is still sending
                await anyio.sleep_forever()

            await store.append(state.id, 0, stalled())

    anyio.run(shutdown_mid_request)
    assert make_store(tmp_path).state(state.id).offset == 20 * CHUNK


def test_bytes_a_killed_server_left_past_the_saved_offset_are_cut_off(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    state = store.create("cam1.mp4", 20 * CHUNK)
    anyio.run(store.append, state.id, 0, body(0, 8))
    with (store.dir / f"{state.id}.part").open("ab") as part:
        part.write(b"half-written garbage")  # written, never acknowledged, never fsync'ed
    restarted = make_store(tmp_path)
    assert restarted.state(state.id).offset == 8 * CHUNK
    anyio.run(restarted.append, state.id, 8 * CHUNK, body(8, 20))
    assert restarted.finish(state.id).read_bytes() == expected(0, 20)


def test_the_size_can_be_given_with_a_later_patch(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    state = store.create("cam1.mp4", None)
    anyio.run(store.append, state.id, 0, body(0, 3))
    assert not store.state(state.id).done
    with pytest.raises(UploadRejected, match="not complete"):
        store.finish(state.id)

    async def last_part() -> Any:
        return await store.append(state.id, 3 * CHUNK, body(3, 5), length=5 * CHUNK)

    assert anyio.run(last_part).done
    assert store.finish(state.id).read_bytes() == expected(0, 5)


def test_more_bytes_than_declared_are_refused_and_the_declared_ones_kept(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    state = store.create("cam1.mp4", 3 * CHUNK)
    with pytest.raises(UploadRejected, match=f"more bytes than the {3 * CHUNK} declared"):
        anyio.run(store.append, state.id, 0, body(0, 4))
    assert store.state(state.id).done
    assert store.finish(state.id).read_bytes() == expected(0, 3)


def test_the_size_cap_mid_stream_gives_413_and_removes_the_partial_file(tmp_path: Path) -> None:
    store = make_store(tmp_path, max_bytes=3 * MB)
    with pytest.raises(VideoTooLarge, match=r"GB limit \(MAX_VIDEO_UPLOAD_GB\)"):
        anyio.run(store.receive, "big.mp4", body(0, 100), None)  # no Content-Length
    assert leftovers(store) == []
    assert not (tmp_path / "videos").exists() or not any((tmp_path / "videos").iterdir())

    state = store.create("big.mp4", None)
    with pytest.raises(VideoTooLarge):
        anyio.run(store.append, state.id, 0, body(0, 100))
    assert leftovers(store) == []
    with pytest.raises(UploadNotFound):
        store.state(state.id)


def test_a_declared_size_over_the_cap_is_refused_before_any_byte(tmp_path: Path) -> None:
    store = make_store(tmp_path, max_bytes=50 * GB)
    with pytest.raises(VideoTooLarge, match="larger than the 50 GB limit") as refused:
        store.create("big.mp4", 50 * GB + 1)
    assert refused.value.code == "upload_too_large" and status_of(refused.value) == 413
    read: list[int] = []

    async def counted() -> AsyncIterator[bytes]:
        read.append(1)
        yield b"x"

    with pytest.raises(VideoTooLarge):
        anyio.run(store.receive, "big.mp4", counted(), 60 * GB)
    assert read == [] and leftovers(store) == []


def test_too_little_free_space_is_refused_up_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path, max_bytes=50 * GB, min_free_bytes=1 * GB)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: SimpleNamespace(free=5 * GB))
    with pytest.raises(
        InsufficientStorage, match=re.escape("5.0 GB free, 11.0 GB needed")
    ) as refused:
        store.create("cam1.mp4", 10 * GB)
    assert status_of(refused.value) == 507
    assert leftovers(store) == []
    assert store.create("cam1.mp4", 3 * GB).offset == 0  # 3 GB + 1 GB kept free fits in 5


def test_a_disk_filling_up_mid_stream_gives_507_and_keeps_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = make_store(tmp_path, min_free_bytes=1 * MB)

    def disk_usage(path: Any) -> SimpleNamespace:
        # A disk with 4 MB free, filled by the uploads' bytes.
        used = sum(p.stat().st_size for p in store.dir.glob("*.part"))
        return SimpleNamespace(free=4 * MB - used)

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)
    state = store.create("cam1.mp4", None)
    with pytest.raises(InsufficientStorage, match=re.escape("1.0 MB free, 2.0 MB needed")):
        anyio.run(store.append, state.id, 0, body(0, 200))
    written = store.state(state.id).offset
    assert written == 3 * WRITE_BYTES  # resumable once space is freed
    assert (store.dir / f"{state.id}.part").stat().st_size == written

    with pytest.raises(InsufficientStorage):
        anyio.run(store.receive, "other.mp4", body(0, 200), None)
    assert not list((tmp_path / "videos").glob("other*"))  # a one-shot upload leaves nothing


@pytest.mark.parametrize("upload_id", ["", "nope", "../../etc/passwd", "0" * 32, "a" * 31 + "\x00"])
def test_an_unknown_upload_id_is_not_found(tmp_path: Path, upload_id: str) -> None:
    store = make_store(tmp_path)
    with pytest.raises(UploadNotFound, match="start a new upload") as refused:
        store.state(upload_id)
    assert status_of(refused.value) == 404
    with pytest.raises(UploadNotFound):
        anyio.run(store.append, upload_id, 0, body(0, 1))
    with pytest.raises(UploadNotFound):
        store.discard(upload_id)


def test_finished_files_get_safe_unique_names(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    first = anyio.run(store.receive, "../../etc/cam 1.mp4", body(0, 2), None)
    second = anyio.run(store.receive, "C:\\NVR\\cam 1.mp4", body(2, 4), None)
    videos = tmp_path / "videos"
    assert (first, second) == (videos / "cam 1.mp4", videos / "cam 1-1.mp4")
    assert first.read_bytes() == expected(0, 2) and second.read_bytes() == expected(2, 4)


def test_abandoned_uploads_are_purged_and_fresh_ones_kept(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    old = store.create("old.mp4", 10 * CHUNK)
    anyio.run(store.append, old.id, 0, body(0, 2))
    fresh = store.create("fresh.mp4", 10 * CHUNK)
    day_ago = os.path.getmtime(store.dir / f"{old.id}.part") - 86_400
    for path in store.dir.glob(f"{old.id}.*"):
        os.utime(path, (day_ago, day_ago))
    assert store.purge_stale(max_age_s=6 * 3600) == [old.id]
    with pytest.raises(UploadNotFound):
        store.state(old.id)
    assert store.state(fresh.id).offset == 0
    store.discard(fresh.id)
    assert leftovers(store) == []
