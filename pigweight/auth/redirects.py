"""Where a login may send the browser afterwards (`/login?next=`): a path of this service.

Decided as the browser will read it, not by its first characters: WHATWG's URL parser, which
browsers use, reads `\\` as `/` and drops tabs and newlines, so `/\\evil` and `/<tab>/evil`
are `//evil`, another host, though both start with a single `/`.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

_DROPPED_BY_BROWSERS = re.compile(r"[\t\n\r]")


def same_origin_path(target: str, origin: str) -> str | None:
    """`target` as a path and query of `origin` ("http://host:port"), or None where a browser
    would leave `origin` for it (or it is not a path at all: `javascript:`, ` /x`)."""
    if not target.startswith("/"):
        return None
    as_browsers_read_it = _DROPPED_BY_BROWSERS.sub("", target).replace("\\", "/")
    if as_browsers_read_it.startswith("//"):  # any number of slashes: a host follows
        return None
    url = urlsplit(urljoin(origin + "/", as_browsers_read_it))
    if (url.scheme, url.netloc) != urlsplit(origin)[:2]:
        return None
    return url.path + (f"?{url.query}" if url.query else "")
