"""`GET /api/weight/records.xlsx`: the workbook a farm office opens: numbers as numbers,
moments as dates, headers in the page's language, a summary sheet per day and camera."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest
from fastapi.testclient import TestClient

from tests.weighing.test_csv_guard import client  # noqa: F401  (fixture)


def workbook(client: TestClient, query: str) -> openpyxl.Workbook:  # noqa: F811
    answer = client.get(f"/api/weight/records.xlsx?{query}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert answer.headers["content-disposition"].endswith('.xlsx"')
    return openpyxl.load_workbook(io.BytesIO(answer.content))


def weigh(client: TestClient, total: float, count: int, note: str = "") -> dict[str, object]:  # noqa: F811
    body = {"camera_id": "demo", "total_weight_kg": total, "count": count, "note": note}
    answer = client.post("/api/weight/average", json=body)
    assert answer.status_code == 201, answer.text
    record: dict[str, object] = answer.json()
    return record


def test_the_workbook_has_numbers_dates_russian_headers_and_a_summary(
    client: TestClient,  # noqa: F811
) -> None:
    first = weigh(client, 412.5, 30, "загон 3")
    weigh(client, 250, 20, "=1+1")
    book = workbook(client, "lang=ru")
    assert book.sheetnames == ["Взвешивания", "Сводка"]
    rows = list(book["Взвешивания"].iter_rows(values_only=True))
    assert rows[0][:6] == (
        "Дата и время",
        "Камера",
        "Партия",
        "Голов",
        "Общий вес, кг",
        "Средний вес, кг",
    )
    when, camera, batch, count, total, avg, source, _conf, weight, note, number, _fix = rows[1]
    assert batch is None  # no batch: an empty cell
    assert isinstance(when, datetime)
    assert when.isoformat() == str(first["local_time"])[:19]  # farm time, as the page shows
    assert (camera, count, total, avg) == ("demo", 30, 412.5, 13.75)  # numbers, not text
    assert (source, weight, note, number) == ("вручную", "вручную", "загон 3", first["id"])
    assert (
        rows[2][9] == "=1+1" and book["Взвешивания"]["J3"].data_type == "s"
    )  # text, not a formula
    summary = list(book["Сводка"].iter_rows(values_only=True))
    assert summary[0][:4] == ("Дата", "Камера", "Взвешиваний", "Голов")
    day, camera, weighings, animals, total_kg, mean, low, high, cv = summary[1]
    assert isinstance(day, datetime) and camera == "demo"
    assert (weighings, animals, total_kg, mean, low, high) == (2, 50, 662.5, 13.25, 12.5, 13.75)
    # The spread of the averages as a batch has it: weighted by head (30 at 13.75, 20 at 12.5).
    assert cv == pytest.approx(100 * (0.375**0.5) / 13.25, abs=0.05)


def test_the_workbook_speaks_english_and_keeps_to_the_filter(
    client: TestClient,  # noqa: F811
) -> None:
    weigh(client, 300, 25)
    book = workbook(client, "lang=en&camera=demo")
    assert book.sheetnames == ["Weighings", "Summary"]
    assert next(book["Weighings"].iter_rows(values_only=True))[0] == "Date and time"
    empty = workbook(client, "lang=en&camera=nobody")
    assert len(list(empty["Weighings"].iter_rows())) == 1  # the header only
    assert client.get("/api/weight/records.xlsx?lang=de").status_code == 422
