"""A queued index job's file over HTTP: the link and token the server puts in the job, and
their check at `GET /api/index_jobs/{id}/file` (api/index_jobs.py).

A worker reads a recording it does not find under its INDEX_SHARED_ROOT from the server, with
HTTP Range (FFmpeg's `http` protocol seeks with it). It has no user login: the job carries a
token, `<expiry>.<HMAC-SHA256 of the video id and expiry>` under a key kept in
DATA_DIR/index-jobs.key (0600, made on first use; deleting it voids every token at once). The
worker sends it in the `X-Index-Token` header, never in the URL, so neither FFmpeg's messages
nor an access log can show it. A valid token opens only its own video's file, and only while
that video's index job is pending (queued or indexing): a cancelled, finished or failed job's
token opens nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from pathlib import Path

from pigweight.auth.signing import SigningKey
from pigweight.errors import PigWeightError

TOKEN_HEADER = "X-Index-Token"
KEY_FILE = "index-jobs.key"
# A job may wait in the queue while workers are busy or down: a month covers any backlog
# a farm builds; an older job's worker is refused and the video is queued again by a user.
TOKEN_TTL_S = 30 * 24 * 3600
_TOKEN = re.compile(r"([0-9]{1,12})\.([0-9a-f]{64})")


class IndexTokenRefused(PigWeightError):
    """A request for a job's file without a valid token of that video's pending job (403)."""

    code = "index_token_refused"


def file_url(source_url: str, video_id: int) -> str:
    """Where a worker reads video `video_id`'s file from the server at `source_url`."""
    return f"{source_url.rstrip('/')}/api/index_jobs/{video_id}/file"


class JobTokens:
    """Issues and checks the tokens of index jobs (call from a thread: reads the key file)."""

    def __init__(self, data_dir: Path) -> None:
        self.keys = SigningKey(data_dir, KEY_FILE)

    def issue(self, video_id: int, now: float | None = None) -> str:
        exp = int((time.time() if now is None else now) + TOKEN_TTL_S)
        return f"{exp}.{_mac(self.keys.for_signing(), video_id, exp)}"

    def check(self, video_id: int, token: str | None, now: float | None = None) -> None:
        """Raises IndexTokenRefused, saying why, unless `token` is this video's and valid."""
        if not token:
            raise IndexTokenRefused(
                f"send the index job's token in the {TOKEN_HEADER} header: this file is "
                "served to `pigweight worker` for a queued index job only"
            )
        match = _TOKEN.fullmatch(token.strip())
        if match is None:
            raise IndexTokenRefused(f"the {TOKEN_HEADER} header is not an index job's token")
        exp, sig = int(match[1]), match[2]
        key = self.keys.current()
        if key is None or not hmac.compare_digest(sig, _mac(key, video_id, exp)):
            raise IndexTokenRefused(
                f"the token is not one of video {video_id}'s index jobs, or this server's "
                f"{KEY_FILE} changed since: queue the video again"
            )
        if exp < (time.time() if now is None else now):
            raise IndexTokenRefused(
                f"the index job's token expired (it lasts {TOKEN_TTL_S // 86400} days): "
                "queue the video again"
            )


def _mac(key: bytes, video_id: int, exp: int) -> str:
    return hmac.new(key, f"index-job\n{video_id}\n{exp}".encode(), hashlib.sha256).hexdigest()
