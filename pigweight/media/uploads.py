"""Video uploads stream to disk chunk by chunk and resume after a broken connection.

Memory stays flat for any file size: a request's chunks are gathered up to WRITE_BYTES and
written by a worker thread (`anyio.to_thread`), never on the event loop.

The protocol the API exposes. Header names are those of tus (https://tus.io); its version
negotiation and extensions are left out because our clients are one web page and curl:

    POST  /api/video_file/uploads        {"filename": "cam1.mp4", "size": 10737418240}
          -> 201 {"upload_id", "filename", "offset": 0, "size", "done": false}
    PATCH /api/video_file/uploads/{id}   Upload-Offset: N, the body = the file's bytes from N
          -> {"offset": M, "done": M == size, ...} and the header Upload-Offset: M; the PATCH
          that brings the last byte finishes the upload and its answer holds the new video
    HEAD  /api/video_file/uploads/{id}   -> Upload-Offset: N, Upload-Length: size
    GET   /api/video_file/uploads/{id}   -> the JSON above
    DELETE /api/video_file/uploads/{id}  -> the partial upload is removed

A client whose connection broke asks HEAD for the offset and PATCHes from there: the bytes
that reached the server before the break are kept. A PATCH at any other offset gets 409 with
the offset to resume from. 404: unknown id (finished, deleted or purged after a long pause);
413: more than MAX_VIDEO_UPLOAD_GB; 507: not enough free disk space (checked when the upload
is created, from its size, and before every write).

`POST /api/video_file/upload` is the one-shot form (`receive()`): the raw body is written,
checked and finished in one request, and nothing is left behind when it fails.

On disk, in `dir`: `<id>.part` holds the bytes, `<id>.json` the file name, the size and the
durable offset. The offset is saved only after the bytes before it were fsync'ed (every
CHECKPOINT_BYTES and at the end of each request), so after a crash or a restart an upload
resumes from bytes that are really on disk; whatever lies past the offset is cut off.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterable
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio
import anyio.to_thread

from pigweight.durable import copy_file, fsync_dir, replace_file
from pigweight.errors import PigWeightError
from pigweight.media.roots import safe_filename

logger = logging.getLogger(__name__)

GB = 1 << 30
MB = 1 << 20
WRITE_BYTES = 1 << 20  # chunks gathered before one write: fewer thread hops, memory bounded
CHECKPOINT_BYTES = 64 << 20  # at most this much is resent after the server is killed
_ID = re.compile(r"[0-9a-f]{32}")


class VideoTooLarge(PigWeightError):
    """The video has more bytes than MAX_VIDEO_UPLOAD_GB allows (413)."""

    code = "upload_too_large"

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            f"the video is larger than the {max_bytes / GB:g} GB limit (MAX_VIDEO_UPLOAD_GB); "
            "raise the limit, or copy the file into a media root and register it"
        )
        self.max_bytes = max_bytes


class InsufficientStorage(PigWeightError):
    """The server's disk has too little free space for the upload (507)."""

    code = "insufficient_storage"

    def __init__(self, free_bytes: int, needed_bytes: int, reserve_bytes: int) -> None:
        super().__init__(
            f"not enough free disk space for the upload: {_size_text(free_bytes)} free, "
            f"{_size_text(needed_bytes)} needed ({_size_text(reserve_bytes)} of it stays free "
            "for the database and recordings); free some space on the server and try again"
        )
        self.free_bytes = free_bytes
        self.needed_bytes = needed_bytes


class UploadOffsetMismatch(PigWeightError):
    """The bytes were sent for another offset than the server's (409)."""

    code = "upload_offset_mismatch"

    def __init__(self, offset: int, sent: int) -> None:
        super().__init__(
            f"the server has {offset} bytes of this upload, not {sent}: "
            f"resume with Upload-Offset: {offset}"
        )
        self.offset = offset


class UploadNotFound(PigWeightError):
    """No upload has this id (404)."""

    code = "upload_not_found"

    def __init__(self, upload_id: str) -> None:
        super().__init__(
            f"no upload {upload_id[:64]!r}: it was finished, deleted or removed after a long "
            "pause; start a new upload"
        )


class UploadRejected(PigWeightError):
    """The upload cannot go on as sent (400); the message says what to fix."""

    code = "invalid_upload"


@dataclass(frozen=True, slots=True)
class UploadState:
    """Where one upload stands: the client sends the bytes from `offset` on."""

    id: str
    filename: str  # the safe name the finished file gets (made unique in its folder)
    offset: int  # bytes the server has
    size: int | None  # bytes the whole file has; None until the client says
    done: bool  # every byte is there: finish() may move the file


@dataclass(slots=True)
class _Meta:
    filename: str
    size: int | None
    offset: int  # durable: every byte before it was fsync'ed
    created_ts: float


class UploadStore:
    """Resumable uploads in one folder; their state lives beside the bytes, so it survives
    a restart (a new UploadStore on the same folder knows every upload)."""

    def __init__(
        self,
        dir: Path,
        max_bytes: int,
        min_free_bytes: int = 1 << 30,
        dest_dir: Path | None = None,
    ) -> None:
        self.dir = dir
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        # Where finished uploads go unless finish()/receive() name a folder.
        self.dest_dir = dest_dir if dest_dir is not None else dir.parent / "videos"
        self._locks: dict[str, anyio.Lock] = {}
        self._live: dict[str, int] = {}  # offsets of the uploads being written right now
        dir.mkdir(parents=True, exist_ok=True)

    def create(self, filename: str, size: int | None) -> UploadState:
        """Start an upload; with a size, the cap (413) and free space (507) are checked now."""
        if size is not None:
            self._check_declared(size, 0)
        upload_id = uuid.uuid4().hex
        meta = _Meta(safe_filename(filename), size, 0, time.time())
        self._part(upload_id).touch(exist_ok=False)
        self._save(upload_id, meta)
        shown = "?" if size is None else size
        logger.info("upload %s started: %s, %s bytes", upload_id, meta.filename, shown)
        return self._state(upload_id, meta)

    def state(self, upload_id: str) -> UploadState:
        """The upload's offset and size; UploadNotFound for an unknown id."""
        return self._state(upload_id, self._load(upload_id))

    async def append(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterable[bytes],
        *,
        length: int | None = None,
    ) -> UploadState:
        """Write `chunks` at `offset`, which must be the server's offset (else 409).

        `length` is a late Upload-Length for an upload created without a size. A broken
        connection keeps what arrived; going past MAX_VIDEO_UPLOAD_GB removes the upload.
        Two requests for one upload run one after the other, never interleaved.
        """
        _check_id(upload_id)
        lock = self._locks.setdefault(upload_id, anyio.Lock())
        try:
            async with lock:
                return await self._append_locked(upload_id, offset, chunks, length)
        finally:
            if not lock.locked() and lock.statistics().tasks_waiting == 0:
                self._locks.pop(upload_id, None)

    def finish(self, upload_id: str, dest_dir: Path | None = None) -> Path:
        """Move the complete file to dest_dir under a safe, unique name; returns its path.

        A rename on the same filesystem; a copy (memory flat, but as long as the file is
        big) when dest_dir is on another one. Blocking: call it from a worker thread.
        """
        meta = self._load(upload_id)
        if meta.size is None or meta.offset != meta.size:
            raise UploadRejected(
                f"the upload is not complete: {meta.offset} of {meta.size or '?'} bytes "
                f"received; send the rest with Upload-Offset: {meta.offset}"
            )
        return self._move(upload_id, meta, dest_dir or self.dest_dir)

    async def receive(
        self,
        filename: str,
        chunks: AsyncIterable[bytes],
        size_hint: int | None = None,
        dest_dir: Path | None = None,
    ) -> Path:
        """One-shot upload: write every chunk, check, finish; returns the file's path.

        `size_hint` (the raw body's Content-Length) lets the cap and free space be checked
        before a byte is written. On any failure, a broken connection included, nothing of
        the upload is left on disk.
        """
        if size_hint is not None:
            await anyio.to_thread.run_sync(self._check_declared, size_hint, 0)
        state = await anyio.to_thread.run_sync(self.create, filename, None)
        try:
            await self.append(state.id, 0, chunks)
            target = dest_dir or self.dest_dir
            return await anyio.to_thread.run_sync(self._finish_as_is, state.id, target)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._remove, state.id)
            raise

    def discard(self, upload_id: str) -> None:
        """Remove a partial upload (DELETE); UploadNotFound when there is none."""
        _check_id(upload_id)
        if not self._remove(upload_id):
            raise UploadNotFound(upload_id)

    def purge_stale(self, max_age_s: float, now: float | None = None) -> list[str]:
        """Remove uploads with no new byte for max_age_s (abandoned); returns their ids."""
        now = time.time() if now is None else now
        ids = {p.name.split(".", 1)[0] for p in self.dir.iterdir()}
        removed = []
        for upload_id in sorted(i for i in ids if _ID.fullmatch(i)):
            if upload_id in self._live or upload_id in self._locks:
                continue  # a request is writing it right now
            last = max((_mtime(p) for p in self._files(upload_id)), default=now)
            if now - last > max_age_s and self._remove(upload_id):
                removed.append(upload_id)
        if removed:
            logger.info("removed %d abandoned upload(s): %s", len(removed), ", ".join(removed))
        return removed

    # --- writing -----------------------------------------------------------------------

    async def _append_locked(
        self, upload_id: str, offset: int, chunks: AsyncIterable[bytes], length: int | None
    ) -> UploadState:
        meta = await anyio.to_thread.run_sync(self._load, upload_id)
        if length is not None and length != meta.size:
            if meta.size is not None:
                raise UploadRejected(
                    f"Upload-Length {length} differs from the {meta.size} bytes declared "
                    "when the upload was created"
                )
            await anyio.to_thread.run_sync(self._check_declared, length, meta.offset)
            meta.size = length
        if offset != meta.offset:
            raise UploadOffsetMismatch(meta.offset, offset)
        writer = await anyio.to_thread.run_sync(_PartWriter, self, upload_id, meta)
        too_large = False
        try:
            await self._pump(writer, meta, chunks)
        except VideoTooLarge:
            too_large = True
            raise
        finally:
            # Runs even when the request is cancelled: the offset must match the bytes.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._end_write, upload_id, writer, too_large)
        return self._state(upload_id, meta)

    async def _pump(self, writer: _PartWriter, meta: _Meta, chunks: AsyncIterable[bytes]) -> None:
        pending = bytearray()
        try:
            async for chunk in chunks:
                end = writer.offset + len(pending) + len(chunk)
                if meta.size is not None and end > meta.size:
                    raise UploadRejected(
                        f"more bytes than the {meta.size} declared (Upload-Length); the "
                        f"upload keeps the first {writer.offset + len(pending)}"
                    )
                if end > self.max_bytes:
                    raise VideoTooLarge(self.max_bytes)
                pending += chunk
                if len(pending) >= WRITE_BYTES:
                    data, pending = pending, bytearray()
                    await anyio.to_thread.run_sync(writer.write, data)
        except VideoTooLarge:
            raise
        except BaseException:
            # A broken connection: keep what arrived, the client resumes after it.
            if pending:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(writer.write, pending)
            raise
        if pending:
            await anyio.to_thread.run_sync(writer.write, pending)

    def _end_write(self, upload_id: str, writer: _PartWriter, remove: bool) -> None:
        try:
            if remove:
                writer.close()
                self._remove(upload_id)
                logger.info("upload %s removed: over the %d-byte cap", upload_id, self.max_bytes)
            else:
                writer.commit()
        finally:
            writer.close()
            self._live.pop(upload_id, None)

    def _check_declared(self, size: int, offset: int) -> None:
        if size < offset:
            raise UploadRejected(
                f"Upload-Length {size} is less than the {offset} bytes already received"
            )
        if size > self.max_bytes:
            raise VideoTooLarge(self.max_bytes)
        self._check_room(size - offset)

    def _check_room(self, nbytes: int) -> None:
        free = shutil.disk_usage(self.dir).free
        if free - nbytes < self.min_free_bytes:
            raise InsufficientStorage(free, nbytes + self.min_free_bytes, self.min_free_bytes)

    # --- files -------------------------------------------------------------------------

    def _part(self, upload_id: str) -> Path:
        return self.dir / f"{upload_id}.part"

    def _meta_path(self, upload_id: str) -> Path:
        return self.dir / f"{upload_id}.json"

    def _files(self, upload_id: str) -> list[Path]:
        meta = self._meta_path(upload_id)
        return [self._part(upload_id), meta, meta.with_name(meta.name + ".tmp")]

    def _state(self, upload_id: str, meta: _Meta) -> UploadState:
        offset = self._live.get(upload_id, meta.offset)
        done = meta.size is not None and offset == meta.size
        return UploadState(upload_id, meta.filename, offset, meta.size, done)

    def _load(self, upload_id: str) -> _Meta:
        _check_id(upload_id)
        try:
            raw = json.loads(self._meta_path(upload_id).read_bytes())
            meta = _Meta(
                filename=str(raw["filename"]),
                size=None if raw["size"] is None else int(raw["size"]),
                offset=int(raw["offset"]),
                created_ts=float(raw["created_ts"]),
            )
            on_disk = self._part(upload_id).stat().st_size
        except (OSError, ValueError, KeyError, TypeError):
            raise UploadNotFound(upload_id) from None
        if on_disk < meta.offset:  # only a disk that lied about fsync does this
            logger.warning(
                "upload %s: %d bytes on disk, %d recorded", upload_id, on_disk, meta.offset
            )
            meta.offset = on_disk
        return meta

    def _save(self, upload_id: str, meta: _Meta) -> None:
        """Write the state atomically (temp file, fsync, rename)."""
        replace_file(self._meta_path(upload_id), json.dumps(asdict(meta)).encode(), 0o600)

    def _remove(self, upload_id: str) -> bool:
        removed = False
        for path in self._files(upload_id):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
        return removed

    def _finish_as_is(self, upload_id: str, dest_dir: Path) -> Path:
        """Finish a one-shot upload: its size is whatever arrived."""
        meta = self._load(upload_id)
        meta.size = meta.offset
        return self._move(upload_id, meta, dest_dir)

    def _move(self, upload_id: str, meta: _Meta, dest_dir: Path) -> Path:
        dest_dir.mkdir(parents=True, exist_ok=True)
        target = _claim_name(dest_dir, meta.filename)
        part = self._part(upload_id)
        try:
            os.replace(part, target)
        except FileNotFoundError:
            target.unlink(missing_ok=True)
            raise UploadNotFound(upload_id) from None
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                target.unlink(missing_ok=True)
                raise
            copy_file(part, target)  # another filesystem
            part.unlink()
        fsync_dir(dest_dir)
        self._remove(upload_id)
        logger.info("upload %s finished: %s (%d bytes)", upload_id, target, meta.offset)
        return target


class _PartWriter:
    """Appends to one `.part` file from worker threads and saves the durable offset."""

    def __init__(self, store: UploadStore, upload_id: str, meta: _Meta) -> None:
        self._store = store
        self._id = upload_id
        self._meta = meta
        self._fd = os.open(store._part(upload_id), os.O_WRONLY)
        # Bytes past the durable offset are what a killed server may have left half written.
        os.ftruncate(self._fd, meta.offset)
        os.lseek(self._fd, meta.offset, os.SEEK_SET)
        self.offset = meta.offset
        self._unsynced = 0

    def write(self, data: bytes | bytearray) -> None:
        """Check free space, write all of data, checkpoint every CHECKPOINT_BYTES."""
        self._store._check_room(len(data))
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
            free = shutil.disk_usage(self._store.dir).free
            reserve = self._store.min_free_bytes
            raise InsufficientStorage(free, len(data) + reserve, reserve) from None
        finally:
            view.release()
        self.offset += len(data)
        self._unsynced += len(data)
        self._store._live[self._id] = self.offset
        if self._unsynced >= CHECKPOINT_BYTES:
            self.commit()

    def commit(self) -> None:
        """fsync the bytes, then record the offset they reach."""
        if self._fd < 0:
            return
        os.fsync(self._fd)
        self._meta.offset = self.offset
        self._store._save(self._id, self._meta)
        self._unsynced = 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _check_id(upload_id: str) -> None:
    # Ids are uuid4 hex: anything else (a path, a NUL) never reaches the filesystem.
    if not _ID.fullmatch(upload_id):
        raise UploadNotFound(upload_id)


def _claim_name(dest_dir: Path, filename: str) -> Path:
    """Reserve `name`, `name-1`, ... in dest_dir (O_EXCL: two uploads never share one)."""
    stem, suffix = os.path.splitext(filename)
    for n in range(10_000):
        candidate = dest_dir / (filename if n == 0 else f"{stem}-{n}{suffix}")
        try:
            os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        return candidate
    raise UploadRejected(f"too many videos named {filename!r}; rename the file and upload again")


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _size_text(nbytes: int) -> str:
    if nbytes >= GB:
        return f"{nbytes / GB:.1f} GB"
    return f"{nbytes / MB:.1f} MB"
