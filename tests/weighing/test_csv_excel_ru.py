"""`records.csv?dialect=excel-ru`: the file a Russian Excel opens by a double click.

A Russian Excel splits on `;`, reads `412,5` as a number and `412.5` as text, and reads a
file without a byte order mark as cp1251 («загон 3» becomes mojibake). The daily files in
RECORDS_DIR keep their own format: scripts read them.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from fastapi.testclient import TestClient

from tests.weighing.test_csv_guard import DANGEROUS, assert_no_formula, client  # noqa: F401

BOM = b"\xef\xbb\xbf"


def excel_ru(client: TestClient, query: str = "") -> bytes:  # noqa: F811
    answer = client.get(f"/api/weight/records.csv?dialect=excel-ru{query}")
    assert answer.status_code == 200, answer.text
    return answer.content


def rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))


def test_a_russian_excel_gets_semicolons_decimal_commas_russian_words_and_a_bom(
    client: TestClient,  # noqa: F811
    tmp_path: Path,
) -> None:
    body = {"camera_id": "demo", "total_weight_kg": 412.5, "count": 30, "note": "загон 3; ряд 2"}
    record = client.post("/api/weight/average", json=body).json()
    data = excel_ru(client)
    assert data.startswith(BOM)
    header = next(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8")), delimiter=";"))
    assert header == [
        "Дата и время",
        "Камера",
        "Голов",
        "Общий вес, кг",
        "Средний вес, кг",
        "Счёт",
        "Уверенность счёта",
        "Примечание",
        "Запись №",
        "Исправляет запись №",
        "Вес",
        "Партия",
    ]
    [row] = rows(data)
    assert row["Общий вес, кг"] == "412,5" and row["Средний вес, кг"] == "13,75"
    assert (row["Голов"], row["Счёт"], row["Вес"]) == ("30", "вручную", "вручную")
    assert row["Примечание"] == "загон 3; ряд 2"  # quoted: a `;` Excel keeps it in one cell
    assert row["Запись №"] == str(record["id"])
    day, clock = row["Дата и время"].split(" ")
    assert day == ".".join(reversed(record["local_time"][:10].split("-")))
    assert clock == record["local_time"][11:19]
    # The daily file is what it was: `,`, decimal points, English headers, no BOM.
    [daily] = (tmp_path / "records").glob("weight_avg_*.csv")
    assert daily.read_bytes().startswith(b"timestamp,camera,count,total_weight_kg")


def test_no_note_runs_as_a_formula_in_the_russian_file_either(
    client: TestClient,  # noqa: F811
) -> None:
    for note in DANGEROUS:
        body = {"camera_id": "demo", "total_weight_kg": 250, "count": 10, "note": note}
        assert client.post("/api/weight/average", json=body).status_code == 201
    data = excel_ru(client)
    assert_no_formula(data[len(BOM) :])
    assert sorted(r["Примечание"] for r in rows(data)) == sorted(DANGEROUS.values())


def test_an_unknown_dialect_is_a_422_that_names_the_known_ones(
    client: TestClient,  # noqa: F811
) -> None:
    answer = client.get("/api/weight/records.csv?dialect=excel-de")
    assert answer.status_code == 422
    assert "excel-ru" in answer.json()["detail"]
