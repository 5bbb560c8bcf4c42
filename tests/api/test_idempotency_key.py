"""Idempotency-Key: an empty one is no key, a real one deduplicates, a bad one is a clear 422."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient

URL = "/api/weight/average"
BODY = {"camera_id": "demo", "total_weight_kg": 250.0, "count": 10}


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client(farm_timezone="Europe/Moscow")


def weigh(client: TestClient, key: str | bytes, body: dict[str, object] = BODY) -> object:
    return client.post(URL, json=body, headers={"Idempotency-Key": key})


def active_ids(client: TestClient) -> list[int]:
    return sorted(r["id"] for r in client.get("/api/weight/records").json()["records"])


@pytest.mark.parametrize("empty", ["", " ", "   ", "\t"], ids=["empty", "space", "spaces", "tab"])
def test_an_empty_key_is_no_key_every_weighing_is_recorded(client: TestClient, empty: str) -> None:
    first = weigh(client, empty)
    second = weigh(client, empty, {**BODY, "total_weight_kg": 300.0})
    third = weigh(client, empty)  # the same body again: without a key it is a new weighing
    answers = [first, second, third]
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    ids = [a.json()["id"] for a in answers]
    assert len(set(ids)) == 3 and not any(a.json()["replayed"] for a in answers)
    assert active_ids(client) == sorted(ids)


def test_a_real_key_still_deduplicates_and_conflicts(client: TestClient) -> None:
    first = weigh(client, "scale1-2026-11-26-0007")
    again = weigh(client, "scale1-2026-11-26-0007")
    assert first.status_code == 201 and again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["replayed"] is True
    # Surrounding spaces are not part of the key (a proxy or a script may add them).
    padded = weigh(client, "  scale1-2026-11-26-0007 ")
    assert padded.status_code == 200 and padded.json()["id"] == first.json()["id"]
    other = weigh(client, "scale1-2026-11-26-0007", {**BODY, "total_weight_kg": 300.0})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert active_ids(client) == [first.json()["id"]]


@pytest.mark.parametrize(
    "key",
    [
        "k" * 129,
        "ключ-1".encode(),  # non-ASCII bytes: a key must survive every proxy unchanged
        "two words",
        b"a\x7fb",
    ],
    ids=["too-long", "non-ascii", "inner-space", "control"],
)
def test_a_malformed_key_is_a_422_that_says_what_a_key_may_be(
    client: TestClient, key: str | bytes
) -> None:
    r = weigh(client, key)
    assert r.status_code == 422, r.text
    body = r.json()
    assert set(body) == {"detail", "code"}
    assert "idempotency-key" in body["detail"].lower() and "128" in body["detail"], body
    assert active_ids(client) == []


def test_the_frame_weighing_treats_an_empty_key_the_same(client: TestClient) -> None:
    # The archive's weighing route takes the same header; no recording 999: the key is
    # checked first, so a bad key is a 422 and an empty one reaches the 404.
    route = "/api/video_file/999/weighing"
    body = {"t": 0.0, "total_weight_kg": 30.0, "count": 3}
    assert client.post(route, json=body, headers={"Idempotency-Key": ""}).status_code == 404
    bad = client.post(route, json=body, headers={"Idempotency-Key": "two words"})
    assert bad.status_code == 422 and "Idempotency-Key" in bad.json()["detail"]
