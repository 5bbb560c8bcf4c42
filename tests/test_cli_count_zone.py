"""`pigweight count --zone`: only the animals on the platform are counted."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image as PILImage

from pigweight.cli import main
from tests.api.photos import THREE_PIGS, pigs_on_floor

# THREE_PIGS stand at x = 300, 700, 1000 of 1280: the left half holds only the first.
LEFT_HALF = "[[0, 0], [0.5, 0], [0.5, 1], [0, 1]]"


@pytest.fixture
def photo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # DATA_DIR and logs of the default settings stay here
    path = tmp_path / "pen.jpg"
    path.write_bytes(pigs_on_floor(THREE_PIGS))
    return path


def test_the_zone_counts_inside_and_says_how_many_were_outside(
    photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["count", str(photo), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["count"] == 3
    assert main(["count", str(photo), "--json", "--zone", LEFT_HALF]) == 0
    row = json.loads(capsys.readouterr().out)[0]
    assert (row["count"], row["outside"]) == (1, 2)
    assert main(["count", str(photo), "--zone", LEFT_HALF]) == 0
    line = capsys.readouterr().out.strip()
    assert re.fullmatch(
        rf"{re.escape(str(photo))}: 1 \(confidence [\d.]+\), 2 outside the zone", line
    )


def test_the_overlay_shows_the_zone(photo: Path, tmp_path: Path) -> None:
    out = tmp_path / "ov"
    assert main(["count", str(photo), "--zone", LEFT_HALF, "--overlay-dir", str(out)]) == 0
    with PILImage.open(out / "pen.jpg") as overlay:
        r, g, b = np.asarray(overlay.convert("RGB"))[600, 640].tolist()  # the zone's right edge
    assert r < 150 and g > 160 and b > 200  # the zone's sky blue, not the green floor


@pytest.mark.parametrize(
    ("zone", "says"),
    [
        ("[[0,0],[1,0]]", "at least 3"),
        ("[[0,0],[1,0],[2,1]]", "point 3 x: must be in 0-1"),
        ("half", "JSON"),
    ],
)
def test_a_bad_zone_is_one_line_and_exit_2(
    photo: Path, capsys: pytest.CaptureFixture[str], zone: str, says: str
) -> None:
    assert main(["count", str(photo), "--zone", zone]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pigweight: error: zone") and says in err and len(err.splitlines()) == 1
