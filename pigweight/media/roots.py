"""User-given paths stay inside the media roots (MEDIA_ROOTS); file names stay one component.

`POST /api/video_file/register {path}` lets a user name a file on the server, so every
path is checked before anything opens it: `..` (also percent-encoded or with backslashes),
NUL, Windows drive and UNC names are refused outright, and what is left must resolve,
symbolic links followed, to a place inside one of the roots.
"""

from __future__ import annotations

import logging
import os
import re
import stat
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

from pigweight.errors import PigWeightError
from pigweight.media.probe import VIDEO_SUFFIXES

logger = logging.getLogger(__name__)

MAX_PATH_CHARS = 4096
MAX_NAME_BYTES = 200  # ext4 allows 255; room left for the "-N" of a unique name
_SEPARATORS = re.compile(r"[\\/]")
_DRIVE = re.compile(r"^[A-Za-z]:")
# Kept as they are in a file name; anything else (controls, quotes, shell and URL syntax) -> "_".
_NAME_PUNCTUATION = frozenset("._- ()[]+,=@#")


class PathRefused(PigWeightError):
    """The path is not inside a media root, or is written in a form that is never allowed."""

    code = "path_refused"


class MediaNotFound(PigWeightError):
    """The path is inside a media root but there is no file or folder there."""

    code = "media_not_found"


def safe_filename(name: str, default: str = "video") -> str:
    """One safe path component from a client's file name; `default` when nothing is left.

    Keeps letters of any script (Cyrillic names stay readable), digits and plain punctuation;
    drops any folder part (`C:\\exports\\cam1.mp4` -> `cam1.mp4`), leading dots and dashes
    (no hidden files, no names that read as command-line options) and trims to 200 bytes
    keeping the suffix.
    """
    base = _SEPARATORS.split(unicodedata.normalize("NFC", name))[-1]
    cleaned = "".join(ch if ch.isalnum() or ch in _NAME_PUNCTUATION else "_" for ch in base)
    cleaned = re.sub(r"\s+", " ", cleaned).lstrip(".- ").rstrip(". ")
    stem, dot, suffix = cleaned.rpartition(".")
    if not dot or len(suffix) > 16:
        stem, suffix = cleaned, ""
    budget = MAX_NAME_BYTES - len(suffix.encode()) - 1
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    if not stem:
        stem = default
    return f"{stem}.{suffix}" if suffix else stem


def resolve_under_roots(user_path: str, roots: Sequence[Path]) -> Path:
    """The real path (links resolved) that `user_path` names inside one of `roots`.

    An absolute path must lie inside a root; a relative one is looked up in each root in
    turn (the first where it exists wins). PathRefused says why and which roots are allowed.
    """
    if not roots:
        raise PathRefused(
            "no media roots are configured: set MEDIA_ROOTS to the folders whose videos may "
            "be registered (e.g. the NVR export folder), or upload the file instead"
        )
    _refuse_hostile_forms(user_path, roots)
    real_roots = [_real(root, user_path, roots) for root in roots]
    given = Path(user_path)
    if given.is_absolute():
        candidate = Path(os.path.abspath(given))
    else:
        tried = [Path(os.path.abspath(root / given)) for root in roots]
        candidate = next((p for p in tried if os.path.lexists(p)), tried[0])
    resolved = _real(candidate, user_path, roots)
    if any(resolved.is_relative_to(root) for root in real_roots):
        return resolved
    lexical_roots = [Path(os.path.abspath(root)) for root in roots]
    if any(candidate.is_relative_to(root) for root in [*lexical_roots, *real_roots]):
        raise PathRefused(
            f"{user_path!r} leads outside the media roots through a symbolic link; "
            f"allowed: {_roots_text(roots)} (MEDIA_ROOTS)"
        )
    raise PathRefused(
        f"{user_path!r} is outside the media roots; give a path inside "
        f"{_roots_text(roots)} (MEDIA_ROOTS)"
    )


def video_files_in(path: Path, roots: Sequence[Path] = ()) -> list[Path]:
    """`path` itself when it is a file, else every video file under the folder, sorted.

    Hidden names (a leading dot: partial copies, editors' temp files) are skipped, and so is
    anything that is not a regular file (a FIFO named .mp4 would block the reader). With
    `roots`, a linked file that leads outside them is left out.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise MediaNotFound(f"{path}: no such file or folder") from None
    except OSError as exc:
        raise PathRefused(f"{path}: cannot be read ({exc.strerror})") from None
    if stat.S_ISREG(mode):
        return [path]
    if not stat.S_ISDIR(mode):
        raise PathRefused(f"{path}: not a regular file or folder")
    real_roots = [Path(os.path.realpath(root)) for root in roots]
    found: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(path, onerror=_walk_error):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in VIDEO_SUFFIXES:
                continue
            file = Path(dirpath) / name
            if not file.is_file():
                continue
            real = Path(os.path.realpath(file))
            if real_roots and not any(real.is_relative_to(root) for root in real_roots):
                logger.warning("%s: a link to outside the media roots, skipped", file)
                continue
            found.add(real)
    return sorted(found)


def _refuse_hostile_forms(user_path: str, roots: Sequence[Path]) -> None:
    """Forms refused whatever they would resolve to, raw or percent-decoded once."""
    allowed = f"give a path inside {_roots_text(roots)} (MEDIA_ROOTS)"
    if not user_path.strip():
        raise PathRefused(f"the path is empty; {allowed}")
    if len(user_path) > MAX_PATH_CHARS:
        raise PathRefused(f"the path is longer than {MAX_PATH_CHARS} characters; {allowed}")
    for form in dict.fromkeys((user_path, unquote(user_path))):
        if "\x00" in form:
            raise PathRefused(f"{user_path!r} contains a NUL character; {allowed}")
        if form.startswith(("\\\\", "//")):
            raise PathRefused(f"{user_path!r} is a network (UNC) name; {allowed}")
        if _DRIVE.match(form):
            raise PathRefused(f"{user_path!r} is a Windows drive path; {allowed}")
        if ".." in _SEPARATORS.split(form):
            raise PathRefused(f"{user_path!r} contains '..'; {allowed}")


def _real(path: Path, user_path: str, roots: Sequence[Path]) -> Path:
    try:
        return Path(os.path.realpath(path, strict=False))
    except (OSError, RuntimeError, ValueError):  # a link loop, a name the OS refuses
        raise PathRefused(
            f"{user_path!r} cannot be resolved; give a path inside {_roots_text(roots)} "
            "(MEDIA_ROOTS)"
        ) from None


def _roots_text(roots: Sequence[Path]) -> str:
    return ", ".join(str(root) for root in roots)


def _walk_error(exc: OSError) -> None:
    logger.warning("cannot list %s: %s", exc.filename, exc.strerror)
