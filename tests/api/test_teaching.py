"""Teaching the counter through the API (issue 19): frames kept for labelling, versioned
labels that two people cannot overwrite, the YOLO folder out and in, a fine-tune in its own
process that is compared before it may count, switched without a restart, and rolled back;
and what goes wrong: a restart during training, a corrupted model, a model with the wrong
classes, a second training."""

from __future__ import annotations

import io
import shutil
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pigweight.synthetic import write_demo_video
from tests.api.conftest import MakeClient
from tests.vision.onnx_fixtures import anchor, write_model

pytest.importorskip("torch", reason="the training extra is not installed: pip install '.[train]'")


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_demo_video(
        tmp_path_factory.mktemp("clip") / "pen.mp4", seconds=4, width=320, height=180
    )


def camera_client(make_client: MakeClient, tmp_path: Path, clip: Path, **extra: Any) -> TestClient:
    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: pen1, name: Весы 1, url: '{clip}'}}\n")
    client = make_client(
        cameras_file=cameras,
        segmenter="pig",
        auto_start_cam=True,
        label_sample_share=0.0,
        **extra,
    )
    return client


def add_frames(client: TestClient, n: int) -> list[dict[str, Any]]:
    """n frames of the camera, a little apart, kept by an admin's «add frame»."""
    frames = []
    deadline = time.monotonic() + 60
    while len(frames) < n:
        r = client.post("/api/labelling/pen1/frames", json={"source": "live"})
        if r.status_code == 409 and time.monotonic() < deadline:
            assert r.json()["code"] == "no_frame"
            time.sleep(0.2)
            continue
        assert r.status_code == 201, r.text
        frames.append(r.json())
        time.sleep(0.25)
    return frames


def label_all(client: TestClient, frames: list[dict[str, Any]], empty: bool = False) -> None:
    """Accept the model's boxes on every frame (a labeller who finds them right), or, with
    `empty`, remove them all (a labeller who says the model sees pigs where there are none:
    a fine-tune then raises its threshold and counts fewer, so it counts no worse on them)."""
    for frame in frames:
        detail = client.get(f"/api/labelling/frames/{frame['id']}").json()
        r = client.put(
            f"/api/labelling/frames/{frame['id']}/labels",
            json={"base_version": detail["version"], "boxes": [] if empty else detail["boxes"]},
        )
        assert r.status_code == 200, r.text


def wait_job(client: TestClient, states: tuple[str, ...], timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get("/api/training?camera=pen1").json()["job"]
        if job and job["state"] in states:
            return dict(job)
        time.sleep(0.3)
    raise AssertionError(f"training never reached {states}: {job}")


def test_labels_are_versions_and_a_stale_save_is_refused(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = camera_client(make_client, tmp_path, clip)
    [frame] = add_frames(client, 1)
    assert frame["reason"] == "added" and frame["version"] == 0
    image = client.get(f"/api/labelling/frames/{frame['id']}/image.jpg")
    assert image.status_code == 200 and image.content[:2] == b"\xff\xd8"
    detail = client.get(f"/api/labelling/frames/{frame['id']}").json()
    assert detail["boxes_from"] == "model" and (detail["width"], detail["height"]) == (320, 180)
    boxes = detail["boxes"]
    first = client.put(
        f"/api/labelling/frames/{frame['id']}/labels",
        json={"base_version": 0, "boxes": [*boxes, [0.01, 0.01, 0.08, 0.1]]},
    )
    assert first.status_code == 200, first.text
    saved = first.json()
    assert saved["version"] == 1 and saved["boxes_from"] == "labels"
    assert saved["count"] == len(boxes) + 1
    assert saved["history"][0]["added"] == 1 and saved["history"][0]["user"] == "local"
    # A second person who opened the frame before that save: refused, nothing overwritten.
    stale = client.put(
        f"/api/labelling/frames/{frame['id']}/labels", json={"base_version": 0, "boxes": []}
    )
    assert stale.status_code == 409
    assert stale.json()["code"] == "label_conflict"
    assert stale.json()["params"]["version"] == 1
    assert client.get(f"/api/labelling/frames/{frame['id']}").json()["count"] == len(boxes) + 1
    # From the newest version, a change is a new version; the old one stays in the history.
    second = client.put(
        f"/api/labelling/frames/{frame['id']}/labels",
        json={"base_version": 1, "boxes": [[0.01, 0.01, 0.08, 0.1]]},
    ).json()
    assert second["version"] == 2 and [h["version"] for h in second["history"]] == [2, 1]
    assert second["history"][0]["removed"] == len(boxes)
    for bad, what in (
        ([[0.5, 0.5, 0.4, 0.6]], "empty"),
        ([[0.1, 0.1, 1.5, 0.2]], "outside the frame"),
        ([[0.1, 0.1, 0.2]], "four numbers"),
    ):
        r = client.put(
            f"/api/labelling/frames/{frame['id']}/labels", json={"base_version": 2, "boxes": bad}
        )
        assert r.status_code == 422 and what in r.json()["detail"], r.text
    listing = client.get("/api/labelling/pen1/frames?status=labelled").json()
    assert listing["labelled"] == 1 and listing["todo"] == 0
    assert listing["frames"][0]["labelled_by"] == "local"


def test_a_weighing_whose_typed_count_differs_keeps_its_frame(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = camera_client(make_client, tmp_path, clip, min_avg_weight_kg=0.1)
    add_frames(client, 1)  # the camera shows frames now
    client.delete(
        f"/api/labelling/frames/{client.get('/api/labelling/pen1/frames').json()['frames'][0]['id']}"
    )
    status = client.get("/api/cameras/pen1/status").json()
    typed = int(status.get("stable_count") or 0) + 7
    r = client.post(
        "/api/weight/average", json={"camera_id": "pen1", "total_weight_kg": 300, "count": typed}
    )
    assert r.status_code == 201, r.text
    frames = client.get("/api/labelling/pen1/frames").json()["frames"]
    assert [f["reason"] for f in frames] == ["typed_count_differs"]
    assert frames[0]["typed_count"] == typed


def test_the_yolo_folder_goes_out_and_comes_back_in(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = camera_client(make_client, tmp_path, clip)
    frames = add_frames(client, 5)
    label_all(client, frames)
    exported = client.get("/api/labelling/pen1/export.zip")
    assert exported.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(exported.content)).namelist()
    assert "data.yaml" in names and "images/00000004.jpg" in names
    assert "labels/00000000.txt" in names and "frames.csv" in names
    data_yaml = zipfile.ZipFile(io.BytesIO(exported.content)).read("data.yaml").decode()
    assert "held_out_from: 4" in data_yaml  # the newest fifth of 5 frames: 1
    before = {
        f["id"]: f["count"]
        for f in client.get("/api/labelling/pen1/frames?status=labelled").json()["frames"]
    }
    r = client.post(
        "/api/labelling/pen1/import",
        files={"file": ("pen1.zip", exported.content, "application/zip")},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 5, "labelled": 5, "skipped": []}
    after = client.get("/api/labelling/pen1/frames?status=labelled&limit=100").json()
    assert after["labelled"] == 10
    assert sorted(f["count"] for f in after["frames"]) == sorted(2 * list(before.values()))
    bad = client.post(
        "/api/labelling/pen1/import", files={"file": ("x.zip", b"not a zip", "application/zip")}
    )
    assert bad.status_code == 422 and "not a zip" in bad.json()["detail"]
    assert bad.json()["code"] == "not_a_zip"


def test_a_model_with_the_wrong_classes_or_no_model_at_all_is_refused(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = camera_client(make_client, tmp_path, clip)
    coco = write_model(
        tmp_path / "coco.onnx",
        [anchor(10, 10, 5, 5, [0.9, 0.1, 0.1])],
        names={0: "person", 1: "cat", 2: "dog"},
        segment=False,
    )
    r = client.post(
        "/api/models/pen1/import",
        files={"file": ("coco.onnx", coco.read_bytes(), "application/octet-stream")},
    )
    assert r.status_code == 422 and r.json()["code"] == "model_classes", r.text
    assert "none is named 'pig'" in r.json()["detail"]
    r = client.post(
        "/api/models/pen1/import",
        files={"file": ("broken.onnx", b"\x08\x01garbage", "application/octet-stream")},
    )
    assert r.status_code == 422 and r.json()["code"] == "model_unreadable", r.text
    assert "not a readable ONNX model" in r.json()["detail"]
    assert "models/" not in r.json()["detail"] and "MODEL_PATH" not in r.json()["detail"]
    models = client.get("/api/models?camera=pen1").json()
    assert [m["id"] for m in models["models"]] == ["shipped"] and models["active"] == "shipped"
    for name in ("...", "a.b", "Pen1", "x" * 65):  # a model id is never a path
        r = client.get(f"/api/models/{name}/comparison")
        assert r.status_code == 404 and r.json()["code"] == "model_not_found", name
    r = client.get(f"/api/labelling/frames/{2**70}")
    assert r.status_code == 422  # an id no row can have: said so, not a server error


def test_training_is_compared_then_switched_without_a_restart_and_rolled_back(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = camera_client(make_client, tmp_path, clip)
    frames = add_frames(client, 3)
    label_all(client, frames, empty=True)
    few = client.post("/api/training/pen1", json={"steps": 2, "imgsz": 416})
    assert few.status_code == 422 and few.json()["code"] == "too_few_labels"
    assert few.json()["params"] == {"labelled": 3, "needed": 5}
    more = add_frames(client, 2)
    label_all(client, more, empty=True)
    started = client.post("/api/training/pen1", json={"steps": 2, "imgsz": 416})
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["train_frames"], job["held_out_frames"]) == (4, 1)
    second = client.post("/api/training/pen1", json={"steps": 2})
    assert second.status_code == 409 and second.json()["code"] == "training_running"
    done = wait_job(client, ("finished", "failed"))
    assert done["state"] == "finished", done
    # The job's copy of the frames and its checkpoint are gone; its log stays.
    job_dir = tmp_path / "data" / "training" / f"job-{job['id']}"
    assert (job_dir / "log.txt").is_file() and not (job_dir / "data").exists()
    assert not (job_dir / "model.onnx.checkpoint.pt").exists()
    models = client.get("/api/models?camera=pen1").json()
    new = next(m for m in models["models"] if m["id"] == done["model_id"])
    evaluation = new["evaluation"]
    assert evaluation["frames"] == 1 and evaluation["against"] == "shipped"
    assert evaluation["ms_per_frame"] > 0 and evaluation["against_ms_per_frame"] > 0
    comparison = client.get(f"/api/models/{new['id']}/comparison").json()
    assert [f["frame_id"] for f in comparison["frames"]] == [more[-1]["id"]]
    assert evaluation["mae"] <= evaluation["against_mae"], evaluation
    assert new["can_activate"] and new["why_not"] is None
    r = client.post("/api/models/pen1/activate", json={"model_id": new["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["active"] == new["id"]
    # The camera counts with it from its next frames on: no restart, the stream goes on.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        segmenter = client.get("/api/cameras/pen1/status").json().get("segmenter") or ""
        if new["id"] in segmenter:
            break
        time.sleep(0.2)
    assert new["id"] in segmenter
    back = client.post("/api/models/pen1/rollback").json()
    assert back["active"] == "shipped"
    assert [h["action"] for h in back["history"]] == ["rollback", "activate"]


def test_a_model_that_counts_worse_is_refused_and_the_camera_keeps_its_own(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = camera_client(make_client, tmp_path, clip)
    label_all(client, add_frames(client, 5))  # the shipped model's boxes, found right
    # A pig model (one class) that sees 12 pigs in any picture.
    twelve = [anchor(20 + 30 * i, 40, 20, 20, [0.9]) for i in range(12)]
    fake = write_model(tmp_path / "twelve.onnx", twelve, segment=False, input_hw=(416, 416))
    r = client.post(
        "/api/models/pen1/import",
        files={"file": ("twelve.onnx", fake.read_bytes(), "application/octet-stream")},
    )
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["origin"] == "imported" and card["name"] == "twelve.onnx"
    assert card["evaluation"]["frames"] == 1 and card["evaluation"]["against"] == "shipped"
    assert card["evaluation"]["mae"] > card["evaluation"]["against_mae"]
    assert not card["can_activate"] and card["why_not"] == "model_worse"
    r = client.post("/api/models/pen1/activate", json={"model_id": card["id"]})
    assert r.status_code == 409 and r.json()["code"] == "model_worse"
    assert "counts worse" in r.json()["detail"]
    assert client.get("/api/models?camera=pen1").json()["active"] == "shipped"
    rollback = client.post("/api/models/pen1/rollback")
    assert rollback.status_code == 409 and rollback.json()["code"] == "no_previous"


def _app(tmp_path: Path, clip: Path, **extra: Any) -> TestClient:
    from pigweight.app import create_app
    from tests.api.conftest import make_settings

    cameras = tmp_path / "cameras.yaml"
    cameras.write_text(f"cameras:\n  - {{id: pen1, name: Весы 1, url: '{clip}'}}\n")
    settings = make_settings(
        tmp_path, cameras_file=cameras, segmenter="pig", auto_start_cam=True, **extra
    )
    return TestClient(create_app(settings))


def test_a_restart_during_training_resumes_it_from_its_checkpoint(
    tmp_path: Path, clip: Path
) -> None:
    with _app(tmp_path, clip) as client:
        label_all(client, add_frames(client, 5), empty=True)
        job = client.post("/api/training/pen1", json={"steps": 400, "imgsz": 64}).json()
        checkpoint = (
            tmp_path / "data" / "training" / f"job-{job['id']}" / "model.onnx.checkpoint.pt"
        )
        deadline = time.monotonic() + 120
        while not checkpoint.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert checkpoint.is_file(), client.get("/api/training").json()
        step_before = client.get("/api/training").json()["job"]["step"]
    # The service stopped: the training process is gone, the job says why.
    with _app(tmp_path, clip) as client:
        resumed = client.get("/api/training?camera=pen1").json()["job"]
        assert resumed["id"] == job["id"] and resumed["state"] == "running"
        assert "resumed from its last checkpoint" in resumed["message"]
        assert resumed["resumes"] == 1
        assert resumed["step"] >= step_before > 0
        second = client.post("/api/training/pen1", json={"steps": 2})
        assert second.status_code == 409 and second.json()["params"]["job"] == job["id"]
        cancelled = client.post(f"/api/training/{job['id']}/cancel").json()
        assert cancelled["state"] == "cancelled"
        assert client.get("/api/models?camera=pen1").json()["active"] == "shipped"


def test_a_corrupted_model_file_is_refused_and_never_stops_the_count(
    tmp_path: Path, clip: Path
) -> None:
    from pigweight.vision.pig_model import DEFAULT_MODEL

    with _app(tmp_path, clip) as client:
        label_all(client, add_frames(client, 5))
        # A model made elsewhere that counts as the shipped one does: it may count here.
        r = client.post(
            "/api/models/pen1/import",
            files={"file": ("farm.onnx", DEFAULT_MODEL.read_bytes(), "application/octet-stream")},
        )
        assert r.status_code == 201 and r.json()["can_activate"], r.text
        model_id = r.json()["id"]
        model_file = tmp_path / "data" / "models" / model_id / f"{model_id}.onnx"
        good = model_file.read_bytes()
        model_file.write_bytes(good[: len(good) // 3])  # a disk that lost the end of it
        r = client.post("/api/models/pen1/activate", json={"model_id": model_id})
        assert r.status_code == 409 and r.json()["code"] == "model_unreadable", r.text
        assert client.get("/api/models?camera=pen1").json()["active"] == "shipped"
        model_file.write_bytes(good)
        r = client.post("/api/models/pen1/activate", json={"model_id": model_id})
        assert r.status_code == 200, r.text
        model_file.write_bytes(good[: len(good) // 3])  # goes bad while it counts
    with _app(tmp_path, clip) as client:
        models = client.get("/api/models?camera=pen1").json()
        assert models["active"] == "shipped"
        assert model_id in models["problem"] and "cannot be loaded" in models["problem"]
        deadline = time.monotonic() + 30
        status = client.get("/api/cameras/pen1/status").json()
        while status["frames_out"] < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
            status = client.get("/api/cameras/pen1/status").json()
        assert status["frames_out"] >= 3 and status["segmenter"] == "pig:pig_yolox_nano.onnx"


def test_an_admin_adds_a_recordings_frame_and_a_bad_request_says_what_is_missing(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = camera_client(make_client, tmp_path, clip, media_roots=[clip.parent])
    [video] = client.post("/api/video_file/register", json={"path": str(clip)}).json()
    r = client.post(
        "/api/labelling/pen1/frames", json={"source": "archive", "video_id": video["id"], "t": 1.5}
    )
    assert r.status_code == 201, r.text
    frame = r.json()
    assert frame["reason"] == "added" and frame["source_name"].startswith("pen.mp4 @ 1.")
    assert (frame["width"], frame["height"]) == (320, 180)
    missing = client.post("/api/labelling/pen1/frames", json={"source": "archive"})
    assert missing.status_code == 422 and "video_id and t" in missing.json()["detail"]
    unknown = client.post("/api/labelling/nope/frames", json={"source": "live"})
    assert unknown.status_code == 404 and "pen1" in unknown.json()["detail"]


def test_the_exported_folder_trains_elsewhere_and_the_model_comes_back_measured(
    make_client: MakeClient, tmp_path: Path, clip: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pigweight.cli import main

    client = camera_client(make_client, tmp_path, clip)
    label_all(client, add_frames(client, 5))
    folder = tmp_path / "exported"
    zipfile.ZipFile(io.BytesIO(client.get("/api/labelling/pen1/export.zip").content)).extractall(
        folder
    )
    split_at = next(
        line.split(": ")[1]
        for line in (folder / "data.yaml").read_text().splitlines()
        if line.startswith("held_out_from")
    )
    # What the guide says to run on the GPU machine, with a tiny number of steps.
    out = tmp_path / "gpu.onnx"
    argv = ["train", "--base", "default", "--data", str(folder), "--split-at", split_at]
    argv += ["--augment", "camera", "--steps", "1", "--batch", "2", "--imgsz", "64"]
    assert main([*argv, "--out", str(out), "--json"]) == 0, capsys.readouterr().err
    r = client.post(
        "/api/models/pen1/import",
        files={"file": ("gpu.onnx", out.read_bytes(), "application/octet-stream")},
    )
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["evaluation"]["frames"] == 1 and card["classes"] == {"0": "pig"}
    comparison = client.get(f"/api/models/{card['id']}/comparison").json()
    assert comparison["current"] == "shipped" and len(comparison["frames"]) == 1


def test_a_server_without_torch_says_it_cannot_train(
    make_client: MakeClient, tmp_path: Path, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pigweight.api.teaching
    import pigweight.teaching.jobs

    monkeypatch.setattr(pigweight.teaching.jobs, "can_train", lambda: False)
    monkeypatch.setattr(pigweight.api.teaching, "can_train", lambda: False)
    client = camera_client(make_client, tmp_path, clip)
    assert client.get("/api/training?camera=pen1").json() == {"job": None, "available": False}
    r = client.post("/api/training/pen1", json={"steps": 2})
    assert r.status_code == 503 and r.json()["code"] == "training_unavailable"
    assert "torch is not installed" in r.json()["detail"]


def test_a_frame_that_cannot_be_written_is_refused_and_the_weighing_still_saves(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    client = camera_client(make_client, tmp_path, clip, min_avg_weight_kg=0.1)
    add_frames(client, 1)  # the camera shows frames now
    # The camera's labelling folder cannot be made: as good as a full or broken disk.
    shutil.rmtree(tmp_path / "data" / "labelling" / "pen1")
    (tmp_path / "data" / "labelling" / "pen1").write_text("in the way")
    r = client.post("/api/labelling/pen1/frames", json={"source": "live"})
    assert r.status_code == 507 and r.json()["code"] == "insufficient_storage", r.text
    assert "free some disk space" in r.json()["detail"]
    weighed = client.post(
        "/api/weight/average", json={"camera_id": "pen1", "total_weight_kg": 300, "count": 99}
    )
    assert weighed.status_code == 201, weighed.text  # its frame was not kept; it is saved
    assert client.get("/api/labelling/pen1/frames?status=all").json()["total"] == 1
