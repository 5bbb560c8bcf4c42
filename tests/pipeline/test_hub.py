from __future__ import annotations

import asyncio
import threading

from pigweight.pipeline.hub import Hub, LiveUpdate


def _update(i: int) -> LiveUpdate:
    return LiveUpdate("cam", {"camera": "cam", "count": i}, jpeg=b"\xff\xd8" + bytes([i % 256]))


def test_slow_subscriber_is_dropped_and_others_keep_receiving() -> None:
    async def scenario() -> tuple[list[int], bool, int]:
        hub = Hub(queue_size=4, behind_limit_s=0.5)
        hub.bind(asyncio.get_running_loop())
        slow = hub.subscribe("cam")  # never reads
        fast = hub.subscribe("cam")
        received: list[int] = []

        async def read_fast() -> None:
            while (update := await fast.get()) is not None:
                received.append(update.message["count"])

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
    hub.publish(LiveUpdate("cam", {"camera": "cam", "status": "reconnecting"}))
    latest = hub.latest("cam")
    frame = hub.latest_frame("cam")
    assert latest is not None and latest.message["status"] == "reconnecting"
    assert frame is not None and frame.message["count"] == 1
    assert hub.latest("other") is None
