"""The web page at `/`: static files from pigweight/web, with settings filled into index.html."""

from __future__ import annotations

import html
import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pigweight import __version__
from pigweight.settings import Settings

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

router = APIRouter(include_in_schema=False)


_INCLUDE = re.compile(r"<!-- include:([a-z_]+) -->")


def render_index(settings: Settings, web_dir: Path = WEB_DIR) -> str:
    """index.html with its views (web/views/NAME.html in place of `<!-- include:NAME -->`,
    one level deep in them too), the default language and the limits the page starts with.
    """
    values = {
        "__UI_LANGUAGE__": settings.server.ui_language,
        "__MAX_UPLOAD_MB__": f"{settings.limits.max_upload_mb:g}",
        "__MAX_IMAGE_MEGAPIXELS__": f"{settings.limits.max_image_megapixels:g}",
        "__VERSION__": __version__,
        # the central shows its sites; a site its link to the central (web/js/app.js)
        "__ROLE__": (
            "central"
            if settings.sites.central
            else "site"
            if settings.sites.site_id
            else "standalone"
        ),
    }
    page = (web_dir / "index.html").read_text(encoding="utf-8")
    for _ in range(2):  # views, then the parts a view includes
        page = _INCLUDE.sub(
            lambda m: (web_dir / "views" / f"{m.group(1)}.html").read_text(encoding="utf-8"),
            page,
        )
    for placeholder, value in values.items():
        page = page.replace(placeholder, html.escape(value, quote=True))
    return page


@router.get("/", response_class=HTMLResponse)
async def index(request: Request) -> HTMLResponse:
    """The one page of the web interface (its views switch on the client)."""
    page: str = request.app.state.index_html
    # no-cache: the page carries settings; a restarted server must not show stale ones.
    return HTMLResponse(page, headers={"Cache-Control": "no-cache"})
