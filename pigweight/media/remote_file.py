"""A recording read over HTTP from the server that holds it, with Range seeks (FFmpeg's
`http` protocol asks for the bytes it needs: a seek is a new request, not a download).

The demuxer is forced from the container the server probed, and only `http`/`https` (with
`tcp`/`tls` under them) are allowed: nothing in the file can make FFmpeg open another URL.
Request headers (the job's token) go in FFmpeg's `headers` option, never in the URL, so an
FFmpeg message that quotes the URL shows no secret. FFmpeg's `http` prints each request with
its headers at debug level: where PyAV's logging is on that far (av.logging.set_level), the
values of the headers given here are masked in what reaches Python's `libav.http` logger.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

import av
import av.container

from pigweight.errors import InvalidVideo

HTTP_PROTOCOLS = "http,https,tcp,tls"
# The container names VideoInfo keeps -> FFmpeg's demuxer (probe.py's table, reversed).
DEMUXERS = {"mp4": "mov", "matroska": "matroska", "mpegts": "mpegts", "avi": "avi"}
TIMEOUT_S = 30.0  # a server that stops answering fails the read instead of hanging it


_HEADER_LINE = re.compile(r"(?im)^(X-[A-Za-z0-9-]+|Authorization|Cookie):[^\r\n]*")


class _MaskHeaders(logging.Filter):
    """Masks header values in FFmpeg's `request: GET ...` debug lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "request:" in text:
            record.msg, record.args = _HEADER_LINE.sub(r"\1: ***", text), None
        return True


_MASK = _MaskHeaders()


class RemoteFileError(InvalidVideo):
    """The recording could not be read over HTTP (the server refused it, or is not there)."""


def open_remote_video(
    url: str, container: str, headers: Mapping[str, str], timeout_s: float = TIMEOUT_S
) -> av.container.InputContainer:
    """Open the recording at `url` (an `http(s)://` link) as the `container` it was probed."""
    if not url.startswith(("http://", "https://")):
        raise RemoteFileError(f"{url}: only http:// and https:// links are read")
    logging.getLogger("libav.http").addFilter(_MASK)  # once: a filter is added only once
    demuxer = DEMUXERS.get(container)
    if demuxer is None:
        raise RemoteFileError(f"{url}: cannot read a {container!r} container over HTTP")
    options = {
        "protocol_whitelist": HTTP_PROTOCOLS,
        "headers": "".join(f"{name}: {value}\r\n" for name, value in headers.items()),
        "rw_timeout": str(int(timeout_s * 1_000_000)),  # microseconds
        "seekable": "1",
    }
    try:
        opened = av.open(url, mode="r", format=demuxer, options=options, timeout=timeout_s)
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise RemoteFileError(f"reading {url}: {reason}") from None
    if not opened.streams.video:
        opened.close()
        raise RemoteFileError(f"{url}: the file has no video stream")
    return opened
