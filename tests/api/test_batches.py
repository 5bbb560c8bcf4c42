"""Batches through the API: a pen's weighings, head weighed against expected, uniformity,
the over-count warning, and the batch in the CSV, the workbook and History's filter."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.api.conftest import MakeClient


@pytest.fixture
def client(make_client: MakeClient, database_url: str | None) -> TestClient:
    """The API on DATA_DIR's SQLite file and on a PostgreSQL database (DATABASE_URL)."""
    return make_client(farm_timezone="Europe/Moscow", database_url=database_url)


def weigh(client: TestClient, total: float, count: int, **extra: Any) -> dict[str, Any]:
    body = {"camera_id": "demo", "total_weight_kg": total, "count": count, **extra}
    r = client.post("/api/weight/average", json=body)
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def start(client: TestClient, name: str, **extra: Any) -> dict[str, Any]:
    r = client.post("/api/batches", json={"camera_id": "demo", "name": name, **extra})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def test_weighings_join_the_cameras_open_batch_with_its_figures(client: TestClient) -> None:
    before = weigh(client, 100, 10)  # no batch yet
    assert before["batch_id"] is None and before["batch"] is None
    batch = start(client, "  Загон   3 ", expected_head=40, target_avg_kg=12)
    assert batch["name"] == "Загон 3" and batch["open"] and batch["animals"] == 0
    assert batch["remaining"] == 40 and batch["cv_percent"] is None
    first = weigh(client, 240, 20)  # 12.0 a head
    assert first["batch_id"] == batch["id"] and first["batch_name"] == "Загон 3"
    assert first["batch"]["animals"] == 20 and first["batch"]["remaining"] == 20
    second = weigh(client, 140, 10)  # 14.0 a head
    figures = second["batch"]
    assert figures["weighings"] == 2 and figures["animals"] == 30
    assert figures["avg_weight_kg"] == pytest.approx(380 / 30, abs=1e-3)
    assert (figures["min_avg_weight_kg"], figures["max_avg_weight_kg"]) == (12.0, 14.0)
    mean = 380 / 30
    sd = math.sqrt((20 * (12 - mean) ** 2 + 10 * (14 - mean) ** 2) / 30)
    assert figures["cv_percent"] == round(100 * sd / mean, 1)
    assert figures["vs_target_kg"] == pytest.approx(mean - 12, abs=1e-3)
    assert not figures["over_count"]
    page = client.get(f"/api/weight/records?batch={batch['id']}").json()
    assert [r["id"] for r in page["records"]] == [second["id"], first["id"]]


def test_weighing_more_head_than_the_batch_has_warns(client: TestClient) -> None:
    batch = start(client, "Группа 7", expected_head=25)
    weigh(client, 240, 20)
    answer = weigh(client, 120, 10)  # 30 of 25
    assert answer["batch"]["over_count"] and answer["batch"]["remaining"] == 0
    assert client.get(f"/api/batches/{batch['id']}").json()["animals"] == 30


def test_a_deleted_or_corrected_weighing_leaves_the_batch_figures(client: TestClient) -> None:
    batch = start(client, "Загон 1", expected_head=30)
    wrong = weigh(client, 2125, 20)  # typed ×10
    r = client.post(
        f"/api/weight/records/{wrong['id']}/correction", json={"total_weight_kg": 212.5}
    )
    assert r.status_code == 201 and r.json()["batch_id"] == batch["id"]
    other = weigh(client, 100, 10)
    client.request("DELETE", f"/api/weight/records/{other['id']}", json={"reason": "тест"})
    now = client.get(f"/api/batches/{batch['id']}").json()
    assert now["weighings"] == 1 and now["animals"] == 20 and now["total_weight_kg"] == 212.5


def test_starting_a_batch_closes_the_cameras_previous_one_and_reopen_swaps(
    client: TestClient,
) -> None:
    one = start(client, "Загон 1")
    two = start(client, "Загон 2")
    assert two["closed_batch_id"] == one["id"]
    assert not client.get(f"/api/batches/{one['id']}").json()["open"]
    assert weigh(client, 100, 10)["batch_id"] == two["id"]
    back = client.post(f"/api/batches/{one['id']}/reopen").json()
    assert back["open"] and back["closed_batch_id"] == two["id"]
    assert weigh(client, 100, 10)["batch_id"] == one["id"]
    closed = client.post(f"/api/batches/{one['id']}/close").json()
    assert not closed["open"]
    assert weigh(client, 100, 10)["batch_id"] is None  # no open batch: none
    listed = client.get("/api/batches?camera=demo").json()
    assert listed["total"] == 2 and {b["name"] for b in listed["batches"]} == {"Загон 1", "Загон 2"}
    assert client.get("/api/batches?state=open").json()["total"] == 0


def test_a_weighing_naming_a_closed_batch_is_refused_and_nothing_is_written(
    client: TestClient, tmp_path: Path
) -> None:
    batch = start(client, "Загон 1")
    client.post(f"/api/batches/{batch['id']}/close")
    body = {"camera_id": "demo", "total_weight_kg": 100, "count": 10, "batch_id": batch["id"]}
    r = client.post("/api/weight/average", json=body)
    assert r.status_code == 409 and r.json()["code"] == "batch_closed"
    assert r.json()["params"] == {"batch_id": batch["id"], "name": "Загон 1"}
    assert client.get("/api/weight/records").json()["total"] == 0
    body["batch_id"] = 999
    r = client.post("/api/weight/average", json=body)
    assert r.status_code == 404 and r.json()["code"] == "batch_not_found"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"name": "   "}, "name the batch"),
        ({"name": "x" * 65}, "keep it to 64"),
        ({"name": "Загон", "expected_head": 0}, "expected_head"),
        ({"name": "Загон", "expected_head": 2.5}, "expected_head"),
        ({"name": "Загон", "target_avg_kg": -1}, "target_avg_kg"),
        ({"name": "Загон", "camera_id": "nope"}, "nope"),
        ({"name": "Загон", "note": "x" * 501}, "keep it to 500"),  # refused, not cut
    ],
)
def test_bad_batches_are_refused_with_what_to_fix(
    client: TestClient, body: dict[str, Any], says: str
) -> None:
    r = client.post("/api/batches", json={"camera_id": "demo", **body})
    assert 400 <= r.status_code < 500 and says in r.json()["detail"], r.text
    assert client.get("/api/batches").json()["total"] == 0


def test_a_batch_can_be_renamed_and_its_head_count_cleared(client: TestClient) -> None:
    batch = start(client, "Загон 1", expected_head=30)
    r = client.patch(f"/api/batches/{batch['id']}", json={"name": "Загон 1а"})
    assert r.json()["name"] == "Загон 1а" and r.json()["expected_head"] == 30
    r = client.patch(f"/api/batches/{batch['id']}", json={"expected_head": None})
    assert r.json()["expected_head"] is None and r.json()["remaining"] is None
    assert client.patch(f"/api/batches/{batch['id']}", json={}).status_code == 422


def test_a_record_moves_into_a_batch_started_after_it(client: TestClient) -> None:
    early = weigh(client, 100, 10)
    batch = start(client, "Загон 2")
    moved = client.post(
        f"/api/weight/records/{early['id']}/correction", json={"batch_id": batch["id"]}
    ).json()
    assert moved["batch_id"] == batch["id"] and moved["count"] == 10
    assert client.get(f"/api/batches/{batch['id']}").json()["animals"] == 10
    out = client.post(f"/api/weight/records/{moved['id']}/correction", json={"batch_id": 0})
    assert out.json()["batch_id"] is None


def test_the_exports_carry_the_batch_and_the_daily_file_keeps_its_columns(
    client: TestClient, tmp_path: Path
) -> None:
    batch = start(client, "Загон 3", expected_head=40)
    weigh(client, 240, 20)
    weigh(client, 100, 10, batch_id=batch["id"])
    client.post(f"/api/batches/{batch['id']}/close")
    weigh(client, 50, 5)  # outside
    rows = list(csv.DictReader(io.StringIO(client.get("/api/weight/records.csv").text)))
    assert [r["batch"] for r in rows] == ["Загон 3", "Загон 3", ""]
    only = client.get(f"/api/weight/records.csv?batch={batch['id']}")
    assert len(list(csv.DictReader(io.StringIO(only.text)))) == 2
    assert f"batch-{batch['id']}" in only.headers["content-disposition"]
    ru = client.get("/api/weight/records.csv?dialect=excel-ru").content.decode("utf-8-sig")
    assert ru.splitlines()[0].endswith(";Партия") and ru.splitlines()[1].endswith(";Загон 3")
    [daily] = (tmp_path / "records").glob("weight_avg_*.csv")
    assert "batch" not in daily.read_text().splitlines()[0]  # scripts read these
    book = load_workbook(
        io.BytesIO(client.get(f"/api/weight/records.xlsx?batch={batch['id']}").content)
    )
    assert book.sheetnames == ["Взвешивания", "Сводка", "Партии"]
    sheet = book["Партии"]
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert values["Партия"] == "Загон 3" and values["Голов в партии"] == 40
    assert values["Взвешено голов"] == 30 and values["Осталось"] == 10
    assert values["Средний вес, кг"] == pytest.approx(340 / 30, abs=1e-3)
    assert book["Взвешивания"]["C2"].value == "Загон 3"
