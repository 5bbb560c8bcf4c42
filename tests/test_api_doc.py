"""docs/api.md's reference is generated from the OpenAPI schema and must match the code."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.conftest import REPO

SCRIPT = REPO / "scripts" / "gen_api_doc.py"
DOC = REPO / "docs" / "api.md"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_api_doc", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_api_doc_is_up_to_date(tmp_path: Path) -> None:
    out = tmp_path / "api.md"
    assert _generator().main(["--output", str(out)]) == 0
    assert DOC.read_text(encoding="utf-8") == out.read_text(encoding="utf-8"), (
        "docs/api.md is out of date: run .venv/bin/python scripts/gen_api_doc.py"
    )


def test_api_doc_keeps_the_guide_and_covers_every_route(tmp_path: Path) -> None:
    gen = _generator()
    guide = "# API\n\n## Errors\n\nHand-written.\n"
    source = tmp_path / "guide.md"
    source.write_text(guide + "\n" + gen.MARKER + "\n\nstale reference\n", encoding="utf-8")
    out = tmp_path / "api.md"
    gen.main(["--guide", str(source), "--output", str(out)])
    text = out.read_text(encoding="utf-8")

    assert text.startswith(guide + "\n" + gen.MARKER + "\n\n## Reference\n")
    assert "stale reference" not in text
    for needle in (
        "#### `POST /api/weight/average`",
        "-H 'Idempotency-Key: scale1-2026-11-26-0007'",
        "-F file=@pen.jpg",
        "curl -sI 'http://127.0.0.1:8000/api/video_file/uploads/",
        "#### `WS /ws/count`",  # WebSockets are not in OpenAPI; the generator finds them
        "#### `WS /ws/video_file`",
        "#### `ErrorPublic`",
    ):
        assert needle in text
    assert "HTTPValidationError" not in text  # FastAPI's 422 body; PigWeight never sends it
