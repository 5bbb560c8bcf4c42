"""No text a user typed runs as a formula in a spreadsheet, whatever its list separator.

Excel splits a CSV line on the separator of the computer's locale: `,` in English, `;` in
Russian (and most of Europe), a tab when pasted. A double quote protects a field only where
it opens the field, so a note `x;=1+1;` written as `"x;=1+1;"` is still cut into `"x` and
`=1+1` by a `;` Excel, which runs the second piece. Each piece must not start a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from pigweight.domain import WeightRecord
from pigweight.weighing.csv_export import render, row_of
from tests.api.conftest import make_settings

FORMULA_START = ("=", "+", "-", "@")
SEPARATORS = [",", ";", "\t"]  # the list separators of the common locales

# A note as typed -> as the file's own `,` reader must give it back.
DANGEROUS = {
    "x;=1+1;": "x;'=1+1;",
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    "@SUM(1+1)": "'@SUM(1+1)",
    "-1+1": "'-1+1",
    "+7 late": "'+7 late",
    "pen 4;@x": "pen 4;'@x",
    "a,=1": "a,'=1",
    "a, -2+3": "a, '-2+3",
    'b;"=1+1"': 'b;"\'=1+1"',
    'ok;ok;=HYPERLINK("http://x")': 'ok;ok;\'=HYPERLINK("http://x")',
}
BENIGN = ["pen 4", "1-2 pigs, all fine", "a=b", "x;y", "mail me@farm", "12.5 kg; ok", ""]


def excel_pieces(line: str, separator: str) -> list[str]:
    """The cells a spreadsheet with this list separator makes of a line: a double quote
    counts only where it opens a cell."""
    cells: list[str] = []
    i = 0
    while i <= len(line):
        if line[i : i + 1] == '"':
            i += 1
            cell = ""
            while i < len(line):
                if line[i] == '"' and line[i + 1 : i + 2] == '"':
                    cell, i = cell + '"', i + 2
                elif line[i] == '"':
                    i += 1
                    break
                else:
                    cell, i = cell + line[i], i + 1
            end = line.find(separator, i)
            end = len(line) if end < 0 else end
            cells.append(cell + line[i:end])  # what follows the closing quote is kept
        else:
            end = line.find(separator, i)
            end = len(line) if end < 0 else end
            cells.append(line[i:end])
        i = end + 1
    return cells


def runs_as_formula(cell: str) -> bool:
    return cell.lstrip(' "').startswith(FORMULA_START)


def assert_no_formula(data: bytes) -> None:
    # A line break ends a row wherever it is, unless a quote opening the cell protects it.
    for line in re.split(r"\r\n|\r|\n", data.decode("utf-8")):
        for separator in SEPARATORS:
            pieces = excel_pieces(line, separator)
            assert not any(runs_as_formula(p) for p in pieces), (separator, line, pieces)


def note_cells(data: bytes) -> list[str]:
    return [row["note"] for row in csv.DictReader(io.StringIO(data.decode("utf-8")))]


def weigh(client: TestClient, note: str) -> dict[str, object]:
    body = {"camera_id": "demo", "total_weight_kg": 250, "count": 10, "note": note}
    r = client.post("/api/weight/average", json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, object] = r.json()
    return answer


def both_files(client: TestClient, tmp_path: Path) -> dict[str, bytes]:
    """The day's file in RECORDS_DIR and the API's export, as bytes."""
    [daily] = (tmp_path / "records").glob("weight_avg_*.csv")
    export = client.get("/api/weight/records.csv")
    assert export.status_code == 200
    return {"daily": daily.read_bytes(), "export": export.content}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = make_settings(tmp_path, farm_timezone="Europe/Moscow")
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("note", list(DANGEROUS))
def test_a_formula_anywhere_in_a_note_is_neutralised_in_every_file(
    client: TestClient, tmp_path: Path, note: str
) -> None:
    record = weigh(client, note)
    assert record["note"] == note  # the record keeps what was typed; only the files change
    for name, data in both_files(client, tmp_path).items():
        assert note_cells(data) == [DANGEROUS[note]], name
        assert_no_formula(data)


@pytest.mark.parametrize("note", BENIGN)
def test_benign_text_and_numbers_stay_as_they_are(
    client: TestClient, tmp_path: Path, note: str
) -> None:
    weigh(client, note)
    for name, data in both_files(client, tmp_path).items():
        [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
        assert row["note"] == note, name
        assert (row["count"], row["total_weight_kg"], row["avg_weight_kg"]) == ("10", "250", "25")
        line = data.decode("utf-8").split("\r\n")[1]
        assert ",10,250,25," in line, line  # numbers unquoted: spreadsheets read them as numbers
        # Quoted exactly when a locale's separator is inside, so no locale cuts it.
        quoted = any(s in note for s in SEPARATORS)
        assert (f'"{note}"' in line) == quoted, line
        assert_no_formula(data)


def record_with(camera: str, note: str) -> WeightRecord:
    return WeightRecord(
        id=7,
        ts=0.0,
        created_ts=0.0,
        timezone="UTC",
        local_time="2026-11-26T08:30:00+00:00",
        local_date="20261126",
        camera=camera,
        count=10,
        count_source="manual",
        confidence=None,
        total_weight_kg=250.0,
        avg_weight_kg=25.0,
        note=note,
        segmenter=None,
        snapshot=None,
    )


# What cannot arrive through the API's one-line notes, but can through a recording's name
# (the camera of a weighing from a frame) or a future field: tabs, line breaks, CR.
@pytest.mark.parametrize(
    "text",
    ["a\t=1", "\t=1", "\r=1", "x\n=1+1", "x\r\n@y", "\tplain", "=1\t+2;-3,@4", "a;b\tc,d"],
)
@pytest.mark.parametrize("column", ["camera", "note"])
def test_every_text_cell_is_guarded_for_tabs_and_line_breaks_too(text: str, column: str) -> None:
    record = record_with("demo", text) if column == "note" else record_with(text, "")
    data = render([row_of(record)])
    assert_no_formula(data)
    [row] = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
    assert row[column].replace("'", "") == text  # only apostrophes were added
    line = data.decode("utf-8").split("\r\n", 1)[1]
    assert line.count('"') >= 2  # a cell with a separator or a line break is quoted
