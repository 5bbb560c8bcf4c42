"""A group model at the central from the sites' labelled frames, over real nats-servers (a
hub, barn1's leaf): barn1 labels frames and sends them up; the central shows their pictures,
copies them once (newest version), trains the shipped model on them for a few steps with the
sites' own trainer, measures it on held-out frames of every camera, and sends it back to
barn1, which checks it and counts with it. A hub that is down is a quick 503."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import numpy as np
import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from pigweight.sites import models
from pigweight.teaching.frames import LabelQueue
from pigweight.teaching.labels_to_central import LabelSender
from pigweight.teaching.models import ModelBook, check_model_file
from tests.api.conftest import make_settings
from tests.natsd import CENTRAL_PASSWORD, Hub, Leaf, free_port
from tests.sites.test_models import CAMERAS, _receiver

pytestmark = pytest.mark.timeout(300)


def _central(tmp_path: Path, url: str) -> TestClient:
    settings = make_settings(
        tmp_path / "central",
        central=True,
        central_sites=["barn1", "barn2"],
        nats_url=url,
        nats_user="central",
        nats_password=CENTRAL_PASSWORD,
    )
    return TestClient(create_app(settings))


def _until_ok(client: TestClient, path: str, timeout_s: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while (answer := client.get(path)).status_code == 503:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.1)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _wait_job(client: TestClient, states: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        job = client.get("/api/central/group").json()["job"]
        if job and job["state"] in states:
            return dict(job)
        time.sleep(0.3)
    raise AssertionError(f"the group training never reached {states}: {job}")


@pytest.fixture
def site_queue(tmp_path: Path, barn1: Leaf) -> Iterator[tuple[Any, LabelQueue]]:
    """barn1 with three labelled frames on each of its two cameras, and its model link."""
    receiver, book = _receiver(tmp_path, barn1)
    queue = LabelQueue(tmp_path / "barn1", limit_mb=100)
    queue.start(book.engine)
    rng = np.random.default_rng(1)
    for camera in CAMERAS:
        for i in range(3):
            image = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
            frame = queue.add(camera, image, "sample", ts=10.0 + i)
            queue.save(frame.id, 0, [[0.1, 0.1, 0.4, 0.5]], "anna")
    receiver.labels = LabelSender("barn1", queue, lambda: CAMERAS)
    receiver.labels_every_s = 0.1
    yield receiver, queue


async def _send_labels(receiver: Any, hub: Hub, n: int, versions: int | None = None) -> None:
    """The site's link runs until the hub holds `n` of its labelled frames (with `versions`
    versions in all); the central's user also puts a message into barn2's stream that is no
    labelled frame."""
    nc = await nats.connect(hub.url, user="central", password=CENTRAL_PASSWORD)
    js = nc.jetstream()
    await models.ensure_central_streams(js, ["barn1", "barn2"])
    await js.publish(models.label_subject("barn2", 7), b"not a jpeg", headers={"Pw-Label": "{"})
    receiver.start()
    try:
        deadline = time.monotonic() + 15
        while not _holds(await models.site_labels(js, "barn1"), n, versions):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        await receiver.stop()
        await nc.close()


def _holds(labels: list[dict[str, Any]], n: int, versions: int | None) -> bool:
    return len(labels) == n and versions in (None, sum(int(f["version"]) for f in labels))


def test_the_central_trains_a_group_model_from_the_sites_frames_and_sends_it(
    tmp_path: Path, hub: Hub, site_queue: tuple[Any, LabelQueue]
) -> None:
    receiver, queue = site_queue
    asyncio.run(_send_labels(receiver, hub, 6))
    with _central(tmp_path, hub.url) as central:
        labels = _until_ok(central, "/api/central/labels/barn1")["frames"]
        assert len(labels) == 6 and {f["camera"] for f in labels} == set(CAMERAS)
        first = labels[0]
        picture = central.get(f"/api/central/labels/barn1/{first['frame_id']}.jpg")
        assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
        assert picture.content == queue.image_path(queue.frame(first["frame_id"])).read_bytes()
        missing = central.get("/api/central/labels/barn1/999.jpg")
        assert missing.status_code == 404 and missing.json()["code"] == "label_not_found"
        assert central.get("/api/central/labels/barn9/1.jpg").json()["code"] == "site_not_found"
        assert central.get("/api/central/labels/barn1/x.jpg").status_code == 422
        foreign = central.get("/api/central/labels/barn2/7.jpg")
        assert foreign.status_code == 404 and foreign.json()["code"] == "label_not_a_jpeg"
        assert picture.headers["x-content-type-options"] == "nosniff"

        state = central.get("/api/central/group").json()
        assert state["sites"] == [
            {"site": "barn1", "frames": 6, "copied": 0},
            {"site": "barn2", "frames": 1, "copied": 0},
        ]
        assert state["job"] is None and state["models"] == [] and state["available"]
        for body, code in (
            ({"sites": ["barn9"]}, "site_not_found"),
            ({"sites": []}, "no_sites"),
            ({"steps": 0}, "invalid_request"),
            ({"imgsz": 65}, "invalid_training"),
            ({"sites": ["barn2"], "steps": 2, "imgsz": 64}, "too_few_labels"),
        ):
            refused = central.post("/api/central/group/train", json=body)
            assert refused.json()["code"] == code, (body, refused.text)
            assert 400 <= refused.status_code < 500
            assert "the camera" not in refused.json()["detail"]  # the central has no camera
        started = central.post("/api/central/group/train", json={"steps": 2, "imgsz": 64})
        assert started.status_code == 202, started.text
        job = started.json()
        assert job["camera"] == "group" and job["sites"] == ["barn1", "barn2"]
        assert job["copied"]["barn1"] == {"copied": 6, "kept": 0, "skipped": 0}
        assert job["copied"]["barn2"] == {"copied": 0, "kept": 0, "skipped": 1}
        # each camera's newest frame is held out: the figures are on frames of both cameras
        assert (job["train_frames"], job["held_out_frames"]) == (4, 2)
        busy = central.post("/api/central/group/train", json={"steps": 2, "imgsz": 64})
        assert busy.status_code == 409 and busy.json()["code"] == "training_running"
        done = _wait_job(central, ("finished", "failed"))
        assert done["state"] == "finished", done

        [card] = central.get("/api/central/group").json()["models"]
        assert card["id"] == done["model_id"] and card["camera"] == "group"
        assert card["evaluation"]["frames"] == 2 and card["evaluation"]["against"] == "shipped"
        assert card["frames"]["held_out"] == 2
        # the figures per site: both held-out frames are barn1's (barn2 sent none)
        assert list(card["by_site"]) == ["barn1"] and card["by_site"]["barn1"]["frames"] == 2
        assert card["by_site"]["barn1"]["mae"] == card["evaluation"]["mae"]
        book = ModelBook(tmp_path / "central" / "data")
        assert check_model_file(book.path(card["id"])) == {0: "pig"}
        assert central.get("/api/central/group").json()["sites"][0]["copied"] == 6

        for model_id, site, code in (
            ("no-such", "barn1", "model_not_found"),
            ("shipped", "barn1", "model_not_found"),
            (card["id"], "barn9", "site_not_found"),
        ):
            path = f"/api/central/group/models/{model_id}/send"
            refused = central.post(path, json={"site": site})
            assert refused.status_code == 404 and refused.json()["code"] == code
        for bad in ({}, {"site": "barn1", "cameras": "cam1"}, {"site": "barn1", "to": "all"}):
            refused = central.post(f"/api/central/group/models/{card['id']}/send", json=bad)
            assert refused.status_code == 422 and refused.json()["code"] == "invalid_request"
        sent = central.post(
            f"/api/central/group/models/{card['id']}/send",
            json={"site": "barn1", "cameras": ["cam1"]},
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["sent"]["name"] == f"{card['id']}.onnx"
        _site_counts_with_it(receiver, central)
        assert (
            receiver.book.active("cam1") != "shipped" and receiver.book.active("cam2") == "shipped"
        )

        # A frame labelled again comes in once more; the others are not copied again. A
        # training can be cancelled.
        frame = queue.frame(first["frame_id"])
        queue.save(frame.id, frame.version, [[0.2, 0.2, 0.5, 0.5]], "boris")
        asyncio.run(_send_labels(receiver, hub, 6, versions=7))
        again = central.post("/api/central/group/train", json={"sites": ["barn1"], "steps": 400})
        assert again.status_code == 202, again.text
        assert again.json()["copied"]["barn1"] == {"copied": 1, "kept": 5, "skipped": 0}
        cancelled = central.post(f"/api/training/{again.json()['id']}/cancel").json()
        assert cancelled["state"] == "cancelled"


def _site_counts_with_it(receiver: Any, central: TestClient) -> None:
    async def run() -> None:
        receiver.start()
        try:
            deadline = time.monotonic() + 15
            while receiver.status().state != "active":
                assert time.monotonic() < deadline, receiver.status()
                await asyncio.sleep(0.05)
        finally:
            await receiver.stop()

    asyncio.run(run())
    states = central.get("/api/central/models").json()["sites"]
    assert states[0]["site"] == "barn1" and states[0]["state"] == "active"


def test_a_hub_that_is_down_is_a_quick_503(tmp_path: Path, hub: Hub) -> None:
    with _central(tmp_path / "down", f"nats://127.0.0.1:{free_port()}") as central:
        for path in ("/api/central/labels/barn1/1.jpg", "/api/central/group"):
            started = time.monotonic()
            answer = central.get(path)
            assert answer.status_code == 503 and answer.json()["code"] == "hub_unreachable"
            assert "hub" in answer.json()["detail"] and time.monotonic() - started < 2
    with _central(tmp_path, hub.url) as central:
        assert _until_ok(central, "/api/central/models")["sites"][0]["state"] == "none"
        hub.stop()
        started = time.monotonic()
        answer = central.get("/api/central/models")
        assert answer.status_code == 503 and answer.json()["code"] == "hub_unreachable"
        # at once once the link saw the hub go; a request sent just before that waits for
        # its reply no longer than the JetStream timeout (5 s)
        assert time.monotonic() - started < 7
        hub.start()  # it reconnects by itself
        assert _until_ok(central, "/api/central/models", 20)["sites"][0]["state"] == "none"
