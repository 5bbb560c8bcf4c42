"""Every date the weighing history takes, to the calendar's ends, works or is a clear 422."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from tests.api.conftest import make_settings

# Every route that takes dates: `from` and `to` of the weighing history (grep `FromQuery`).
ROUTES = ["/api/weight/records", "/api/weight/records.csv", "/api/weight/summary"]
PARAMS = ["from", "to"]

# The calendar's ends and the moments at them: a whole span that includes every record.
WHOLE_SPAN = {"from": "0001-01-01", "to": "9999-12-31"}
EDGES = [
    "9999-12-31",
    "0001-01-01",
    "9999-12-31T23:59:59",
    "9999-12-31T23:59:59.999999",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59+14:00",
    "9999-12-31T23:59:59-14:00",
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00-14:00",
    "9999-12-31T23:59:59Z",
]
# What fromisoformat or the calendar refuses: each must be a 422 that says what to send.
REFUSED = ["1-01-01", "10000-01-01", "0000-01-01", "9999-13-01", "9999-12-32", "-001-01-01"]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    settings = make_settings(tmp_path_factory.mktemp("dates"), farm_timezone="Europe/Moscow")
    with TestClient(create_app(settings)) as c:
        weighed = c.post(
            "/api/weight/average", json={"camera_id": "demo", "total_weight_kg": 250, "count": 10}
        )
        assert weighed.status_code == 201, weighed.text
        yield c


@pytest.mark.parametrize("value", EDGES)
@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("route", ROUTES)
def test_a_date_at_the_calendars_end_works(
    client: TestClient, route: str, param: str, value: str
) -> None:
    r = client.get(route, params={param: value})
    assert r.status_code == 200, f"{route}?{param}={value}: {r.status_code} {r.text[:200]}"


@pytest.mark.parametrize("route", ROUTES)
def test_the_whole_calendar_holds_todays_record(client: TestClient, route: str) -> None:
    r = client.get(route, params=WHOLE_SPAN)
    assert r.status_code == 200, r.text
    if route.endswith(".csv"):
        assert len(r.text.strip().splitlines()) == 2, r.text  # the header and the record
    elif route.endswith("summary"):
        assert [row["weighings"] for row in r.json()] == [1]
    else:
        assert r.json()["total"] == 1


@pytest.mark.parametrize("value", REFUSED)
@pytest.mark.parametrize("param", PARAMS)
@pytest.mark.parametrize("route", ROUTES)
def test_a_date_outside_the_calendar_is_a_422_saying_what_to_send(
    client: TestClient, route: str, param: str, value: str
) -> None:
    r = client.get(route, params={param: value})
    assert r.status_code == 422, f"{route}?{param}={value}: {r.status_code} {r.text[:200]}"
    body = r.json()
    assert set(body) == {"detail", "code"}
    assert body["detail"].startswith(f"{param}:") and "2026-11-26" in body["detail"], body
