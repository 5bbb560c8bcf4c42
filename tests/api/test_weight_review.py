"""The review of a record through the API: where its weight came from, its evidence bundle,
the operator's confirmation."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient


@pytest.fixture
def client(make_client: MakeClient, database_url: str | None) -> TestClient:
    # The demo camera alone has a simulated scale (DEMO_SCALE): here it has none. On SQLite
    # and on PostgreSQL (DATABASE_URL).
    return make_client(farm_timezone="Europe/Moscow", demo_scale=False, database_url=database_url)


def _post(client: TestClient, **body: Any) -> Any:
    return client.post("/api/weight/average", json={"camera_id": "demo", **body})


def test_the_api_refuses_a_scale_total_from_a_camera_without_a_scale(client: TestClient) -> None:
    r = _post(client, total_weight_kg=228.0, count=19, weight_source="scale")
    assert r.status_code == 422 and "has no scale" in r.json()["detail"], r.json()
    r = _post(client, total_weight_kg=228.0, count=19, weight_source="estimated")
    assert r.status_code == 422 and "weight_source" in r.json()["detail"], r.json()
    r = _post(client, total_weight_kg=228.0, count=19)
    assert r.status_code == 201 and r.json()["weight_source"] == "manual"


def test_confirm_and_evidence_endpoints(client: TestClient) -> None:
    record = _post(client, total_weight_kg=228.0, count=19).json()
    assert record["evidence_url"] is None and record["confirmed_ts"] is None
    r = client.get(f"/api/weight/records/{record['id']}/evidence")
    assert r.status_code == 404 and "no evidence" in r.json()["detail"]
    r = client.post(f"/api/weight/records/{record['id']}/confirmation")
    assert r.status_code == 200 and r.json()["confirmed_ts"] is not None
    assert client.get(f"/api/weight/records/{record['id']}").json()["confirmed_ts"] is not None
    client.request(
        "DELETE", f"/api/weight/records/{record['id']}", json={"reason": "test weighing"}
    )
    r = client.post(f"/api/weight/records/{record['id']}/confirmation")
    assert r.status_code == 409 and "deleted" in r.json()["detail"]
    assert client.post("/api/weight/records/999/confirmation").status_code == 404
