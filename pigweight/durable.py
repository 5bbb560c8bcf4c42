"""Files that survive a power cut: whole writes, fsync of the file and of its folder.

A farm PC loses power more often than an office one. A file written here is either the old
one or the whole new one after a crash, and a new directory entry is on disk before the
caller reports success.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path


def write_all(fd: int, data: bytes) -> None:
    """Write every byte (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def fsync_dir(directory: Path) -> None:
    """Make a folder's entries (a new or renamed file) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_new(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Create path with data, fsync'ed; it appears whole or not at all, and FileExistsError
    when the name is taken (of two writers at once, the first stays).

    Written under a hidden name of its own and linked into place (which, unlike a rename,
    refuses a name that exists): a write that fails (a full disk) leaves no empty or
    cut-short file under the real name, and the hidden one is removed.
    """
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    try:
        _write_aside(temp, data, mode)
        os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _write_aside(temp: Path, data: bytes, mode: int = 0o644) -> None:
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_file(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace path with data atomically: written aside, fsync'ed, renamed, folder fsync'ed."""
    temp = path.with_name(path.name + ".tmp")
    _write_aside(temp, data, mode)
    os.replace(temp, path)
    fsync_dir(path.parent)


def copy_file(src: Path, target: Path) -> None:
    """Copy src over target (another filesystem, where a rename cannot): copied aside with
    sendfile/copy_file_range (memory stays flat), fsync'ed, renamed. The caller fsyncs the
    folder once it is done there."""
    temp = target.with_name(f".{target.name}.copy")
    shutil.copyfile(src, temp)
    fd = os.open(temp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temp, target)
