from __future__ import annotations

import asyncio
import json
import threading

from pigweight.pipeline.hub import CountMessage, Hub, LiveUpdate


def _update(i: int) -> LiveUpdate:
    message = CountMessage("cam", float(i), "streaming", count=i)
    return LiveUpdate("cam", message, jpeg=b"\xff\xd8" + bytes([i % 256]))


def test_slow_subscriber_is_dropped_and_others_keep_receiving() -> None:
    async def scenario() -> tuple[list[int], bool, int]:
        hub = Hub(queue_size=4, behind_limit_s=0.5)
        hub.bind(asyncio.get_running_loop())
        slow = hub.subscribe("cam")  # never reads
        fast = hub.subscribe("cam")
        received: list[int] = []

        async def read_fast() -> None:
            while (update := await fast.get()) is not None:
                received.append(update.body.count)

        reader = asyncio.create_task(read_fast())

        def produce() -> None:  # a camera worker publishes from its own thread
            for i in range(40):
                hub.publish(_update(i))
                threading.Event().wait(0.025)

        await asyncio.to_thread(produce)
        await asyncio.sleep(0.05)
        hub.unsubscribe(fast)
        await reader
        return received, slow.closed, hub.subscriber_count("cam")

    received, slow_closed, remaining = asyncio.run(scenario())
    assert slow_closed, "a client that stays behind past the limit must be disconnected"
    assert received == list(range(40)), "a slow client must not cost the others any update"
    assert remaining == 0


def test_latest_frame_survives_status_updates_and_works_without_a_loop() -> None:
    hub = Hub()
    hub.publish(_update(1))
    hub.publish(LiveUpdate("cam", CountMessage("cam", 2.0, "reconnecting")))
    latest = hub.latest("cam")
    frame = hub.latest_frame("cam")
    assert latest is not None and latest.body.status == "reconnecting"
    assert frame is not None and frame.body.count == 1
    assert hub.latest("other") is None


def _frame(ts: float, count: int, stable: int | None, jpeg: bytes) -> LiveUpdate:
    message = CountMessage("cam", ts, "streaming", count=count, stable_count=stable)
    return LiveUpdate("cam", message, jpeg)


def test_live_count_pictures_the_counted_animals_while_fresh() -> None:
    hub = Hub()
    assert hub.live_count("cam", 10.0) is None
    hub.publish(_frame(100.0, 3, 3, b"three"))  # shows its stable count: evidence
    hub.publish(_frame(104.0, 4, 3, b"four"))  # a fourth walks on; the window still says 3
    hub.publish(LiveUpdate("cam", CountMessage("cam", 105.0, "reconnecting")))
    shot = hub.live_count("cam", 10.0, now=106.0)
    assert shot is not None and shot.message.count == 4 and shot.message.stable_count == 3
    assert shot.picture(3) == b"three"
    assert shot.picture(4) == b"four" and shot.picture(None) == b"four"
    stale_evidence = hub.live_count("cam", 5.0, now=106.0)
    assert stale_evidence is not None and stale_evidence.picture(3) == b"four"
    assert hub.live_count("cam", 10.0, now=115.0) is None  # the newest frame is too old


def test_the_count_message_is_the_websocket_body() -> None:
    message = CountMessage("cam", 1.5, "streaming", count=2, stable_count=2, zone=[[0.0, 1.0]])
    body = json.loads(message.json_text())
    assert list(body) == [
        "camera",
        "ts",
        "count",
        "stable_count",
        "confidence",
        "frame_confidence",
        "segmenter",
        "status",
        "last_error",
        "last_error_kind",
        "outlines",
        "outside_outlines",
        "zone",
    ]
    assert body["zone"] == [[0.0, 1.0]] and body["count"] == 2 and body["outlines"] == []
