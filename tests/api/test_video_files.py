"""The video archive over HTTP on a real app: uploads, registration, index, HLS, Range."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import av
import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from pigweight.synthetic import load_truth, write_demo_video
from tests.api.conftest import MakeClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 s of synthetic piglets, 640x360 (classic needs that size), with its truth."""
    return write_demo_video(
        tmp_path_factory.mktemp("clip") / "platform.mp4", seconds=10, width=640, height=360
    )


@pytest.fixture
def roots(tmp_path: Path, clip: Path) -> Path:
    root = tmp_path / "nvr"
    (root / "day1").mkdir(parents=True)
    (root / "day1" / "cam1.mp4").write_bytes(clip.read_bytes())
    (root / "day1" / "notes.txt").write_text("not a video")
    (root / "day1" / "cam2_broken.mp4").write_text("cut off by the NVR")
    (tmp_path / "secret.mp4").write_bytes(clip.read_bytes())
    return root


@pytest.fixture
def client(make_client: MakeClient, roots: Path) -> TestClient:
    return make_client(media_roots=[roots], max_video_upload_gb=0.01, index_interval_s=1.0)


def wait_indexed(client: TestClient, video_id: int, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = client.get(f"/api/video_file/{video_id}").json()
        if body["index"]["state"] in ("done", "error", "cancelled"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"video {video_id} not indexed: {body}")


def test_an_uploaded_video_is_indexed_and_counted_like_the_truth(
    client: TestClient, clip: Path
) -> None:
    r = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": "pen 4.mp4"}
    )
    assert r.status_code == 201, r.text
    video = r.json()
    assert (video["codec"], video["width"], video["height"]) == ("h264", 640, 360)
    assert abs(video["duration_s"] - 10) < 0.1 and "path" not in video
    done = wait_indexed(client, video["id"])
    assert done["index"]["state"] == "done", done
    truth = load_truth(clip)
    errors = []
    for t in (1.0, 3.0, 5.0, 7.0, 9.0):
        at = client.get(f"/api/video_file/count_at_time?id={video['id']}&t={t}").json()
        assert at["indexed"] is True and at["sample_t"] <= t
        true_count = truth.counts[round(at["sample_t"] * truth.fps)]
        errors.append(abs(at["count"] - true_count))
    assert sum(errors) / len(errors) <= 1.0, errors
    series = client.get(f"/api/video_file/count_series?id={video['id']}&step=2").json()
    assert len(series["points"]) >= 4
    listed = client.get("/api/video_file").json()
    assert [v["id"] for v in listed] == [video["id"]]


def test_count_at_time_answers_the_same_from_memory_and_explains_bad_queries(
    client: TestClient, clip: Path
) -> None:
    r = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": "q.mp4"}
    )
    video_id = r.json()["id"]
    assert wait_indexed(client, video_id)["index"]["state"] == "done"
    url = "/api/video_file/count_at_time"
    first = client.get(url, params={"id": video_id, "t": 4.5})  # loads the samples
    again = client.get(url, params={"id": video_id, "t": 4.5})  # answered from memory
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() and again.json()["sample_t"] == 4.0
    assert again.headers["content-type"] == "application/json"
    # What the memory path does not answer, the endpoint explains.
    for query, status, words in (
        (f"id={video_id}&t=abc", 422, "t"),
        (f"id={video_id}&t=-1", 422, "greater than or equal to 0"),
        (f"id={video_id}", 422, "t"),
        (f"id={video_id}&t=nan", 422, "t"),
        (f"id={video_id}&t=99", 422, "outside video"),
        ("id=999&t=1", 404, "999"),
    ):
        bad = client.get(f"{url}?{query}")
        assert bad.status_code == status, (query, bad.text)
        assert words in bad.text, (query, bad.text)


def test_a_multipart_upload_streams_the_file_part(client: TestClient, clip: Path) -> None:
    files = {"file": ("cam2.mp4", io.BytesIO(clip.read_bytes()), "video/mp4")}
    r = client.post("/api/video_file/upload", files=files)
    assert r.status_code == 201, r.text
    assert r.json()["name"].endswith(".mp4")


def test_an_interrupted_upload_resumes_from_its_offset(client: TestClient, clip: Path) -> None:
    data = clip.read_bytes()
    r = client.post("/api/video_file/uploads", json={"filename": "long.mp4", "size": len(data)})
    assert r.status_code == 201, r.text
    upload_id = r.json()["upload_id"]
    half = len(data) // 2
    first = client.patch(
        f"/api/video_file/uploads/{upload_id}",
        content=data[:half],
        headers={"Upload-Offset": "0"},
    )
    assert first.json()["offset"] == half and first.json()["done"] is False
    wrong = client.patch(
        f"/api/video_file/uploads/{upload_id}", content=data[half:], headers={"Upload-Offset": "0"}
    )
    assert wrong.status_code == 409 and str(half) in wrong.json()["detail"]
    state = client.get(f"/api/video_file/uploads/{upload_id}")
    assert state.headers["Upload-Offset"] == str(half)
    rest = client.patch(
        f"/api/video_file/uploads/{upload_id}",
        content=data[half:],
        headers={"Upload-Offset": str(half)},
    )
    assert rest.status_code == 200, rest.text
    assert rest.json()["done"] is True and rest.json()["video"]["codec"] == "h264"
    raw = client.get(f"/api/video_file/{rest.json()['video']['id']}/raw")
    assert raw.content == data


def test_registering_takes_files_under_the_media_roots_only(
    client: TestClient, roots: Path, tmp_path: Path
) -> None:
    r = client.post("/api/video_file/register", json={"path": str(roots / "day1")})
    assert r.status_code == 201, r.text
    # notes.txt is not a video by name; the damaged file is skipped, the good one added.
    assert [v["name"] for v in r.json()] == ["cam1.mp4"]
    again = client.post("/api/video_file/register", json={"path": str(roots / "day1/cam1.mp4")})
    assert [v["id"] for v in again.json()] == [r.json()[0]["id"]]  # the same file once
    for hostile in (
        str(roots / ".." / "secret.mp4"),
        str(roots) + "/%2e%2e/secret.mp4",
        str(tmp_path / "secret.mp4"),
        "/etc/passwd",
        str(roots / "day1") + "\x00.mp4",
        "C:\\nvr\\cam1.mp4",
        "\\\\nas\\share\\cam1.mp4",
    ):
        refused = client.post("/api/video_file/register", json={"path": hostile})
        assert 400 <= refused.status_code < 500, (hostile, refused.text)
        assert "MEDIA_ROOTS" in refused.json()["detail"] or "not" in refused.json()["detail"]
    assert len(client.get("/api/video_file").json()) == 1


def test_the_playlist_segments_and_range_requests(client: TestClient, clip: Path) -> None:
    r = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": "a.mp4"}
    )
    video_id = r.json()["id"]
    playlist = client.get(f"/api/video_file/stream_hls/{video_id}")
    assert playlist.status_code == 200
    assert playlist.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert playlist.headers.get("content-encoding") == "gzip"  # TestClient sends gzip
    lines = playlist.text.splitlines()
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
    uris = [line for line in lines if line and not line.startswith("#")]
    frames = 0
    last_t = -1.0
    for uri in uris:
        segment = client.get(f"/api/video_file/stream_hls/{uri}")
        assert segment.status_code == 200 and segment.headers["content-type"] == "video/mp2t"
        assert "immutable" in segment.headers["cache-control"]
        with av.open(io.BytesIO(segment.content), format="mpegts") as ts:
            for frame in ts.decode(video=0):
                assert frame.time is not None and frame.time > last_t
                last_t = frame.time
                frames += 1
    assert frames == 250  # 10 s at 25 fps, each frame once
    data = clip.read_bytes()
    part = client.get(f"/api/video_file/{video_id}/raw", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    frame = client.get(f"/api/video_file/{video_id}/frame.jpg?t=2.5&overlay=1")
    assert frame.status_code == 200 and frame.content[:2] == b"\xff\xd8"
    assert abs(float(frame.headers["X-Frame-Time"]) - 2.48) < 0.05


@pytest.mark.parametrize(
    ("name", "data", "status", "message"),
    [
        ("empty.mp4", b"", 422, "empty"),
        ("text.mp4", b"hello, this is not a video\n" * 100, 422, "not a video"),
        ("list.m3u8", b"#EXTM3U\n#EXTINF:10,\n/etc/passwd\n", 422, "not a video"),
    ],
)
def test_bad_files_get_a_clear_4xx_and_nothing_is_added(
    client: TestClient, name: str, data: bytes, status: int, message: str
) -> None:
    r = client.post("/api/video_file/upload", content=data, headers={"X-Filename": name})
    assert r.status_code == status, r.text
    assert message in r.json()["detail"].lower()
    assert client.get("/api/video_file").json() == []


def test_limits_and_unknown_ids(client: TestClient) -> None:
    too_big = client.post(
        "/api/video_file/uploads", json={"filename": "big.mp4", "size": 20 * 1024**2}
    )
    assert too_big.status_code == 413 and "MAX_VIDEO_UPLOAD_GB" in too_big.json()["detail"]
    streamed = client.post(
        "/api/video_file/upload", content=b"\0" * (11 * 1024**2), headers={"X-Filename": "x.mp4"}
    )
    assert streamed.status_code == 413
    assert client.get("/api/video_file/999").status_code == 404
    assert client.get("/api/video_file/count_at_time?id=999&t=1").status_code == 404
    assert client.get("/api/video_file/stream_hls/999").status_code == 404
    no_name = client.post("/api/video_file/upload", content=b"abc")
    assert no_name.status_code == 400 and "X-Filename" in no_name.json()["detail"]


def test_progress_thumbnails_and_cancel(client: TestClient, clip: Path) -> None:
    r = client.post(
        "/api/video_file/upload", content=clip.read_bytes(), headers={"X-Filename": "b.mp4"}
    )
    video_id = r.json()["id"]
    with client.websocket_connect(f"/ws/video_file?id={video_id}") as ws:
        updates = []
        while True:
            message = ws.receive_json()
            updates.append(message)
            if message["state"] in ("done", "error", "cancelled"):
                break
    assert updates[-1]["state"] == "done" and updates[-1]["percent"] == 100
    assert all(0 <= u["percent"] <= 100 for u in updates)
    vtt = client.get(f"/api/video_file/{video_id}/thumbs.vtt")
    assert vtt.status_code == 200 and vtt.text.startswith("WEBVTT")
    first_sprite = next(line for line in vtt.text.splitlines() if ".jpg#xywh=" in line)
    sheet = client.get(f"/api/video_file/{video_id}/{first_sprite.split('#')[0]}")
    assert sheet.status_code == 200 and sheet.content[:2] == b"\xff\xd8"
    # Cancelling a finished job changes nothing (cancelling a running one: test_indexer.py).
    cancelled = client.post(f"/api/video_file/{video_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "done"
    assert client.post("/api/video_file/999/cancel").status_code == 404
    with (
        client.websocket_connect("/ws/video_file?id=999") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_json()
    assert closed.value.code == 4404 and "no video 999" in closed.value.reason


def test_a_full_disk_is_507_and_an_audio_file_is_422(
    client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from collections import namedtuple

    from tests.media.videos import write_audio_only

    audio = write_audio_only(tmp_path / "voice.mp4")
    r = client.post(
        "/api/video_file/upload", content=audio.read_bytes(), headers={"X-Filename": "voice.mp4"}
    )
    assert r.status_code == 422 and "no video" in r.json()["detail"], r.text
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(
        "pigweight.media.uploads.shutil.disk_usage", lambda _p: usage(10**9, 10**9, 10**6)
    )
    full = client.post("/api/video_file/uploads", json={"filename": "a.mp4", "size": 5 * 1024**2})
    assert full.status_code == 507 and "free" in full.json()["detail"], full.text
    streamed = client.post(
        "/api/video_file/upload", content=b"\0" * 4096, headers={"X-Filename": "b.mp4"}
    )
    assert streamed.status_code == 507
    assert client.get("/api/video_file").json() == []


def test_an_upload_finished_just_before_a_crash_is_added_at_start(
    make_client: MakeClient, tmp_path: Path, clip: Path
) -> None:
    videos = tmp_path / "data" / "videos"
    videos.mkdir(parents=True)
    (videos / "cam3.mp4").write_bytes(clip.read_bytes())  # moved in, never recorded
    (videos / "junk.mp4").write_bytes(b"not a video")
    client = make_client()
    listed = client.get("/api/video_file").json()
    assert [v["name"] for v in listed] == ["cam3.mp4"]
    again = make_client()  # a second start adds nothing twice
    assert len(again.get("/api/video_file").json()) == 1
