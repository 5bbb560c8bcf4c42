"""Models from the central to a site over real nats-servers (a hub, barn1's leaf): the model
reaches the site, is checked and counts; a corrupted or non-ONNX one is refused, reported and
never counted with; one sent while the hub is down arrives when it is back; barn2 cannot read
barn1's activation."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
import numpy as np
import pytest
from fastapi.testclient import TestClient
from nats.js import JetStreamContext

from pigweight.app import create_app
from pigweight.settings import Settings
from pigweight.sites import models
from pigweight.sites.models import send_model, site_model_state
from pigweight.store.db import open_database
from pigweight.teaching.frames import LabelQueue
from pigweight.teaching.from_central import ModelReceiver
from pigweight.teaching.labels_to_central import LabelSender
from pigweight.teaching.models import SHIPPED, ModelBook
from pigweight.vision.pig_model import DEFAULT_MODEL
from tests.api.conftest import make_settings
from tests.natsd import CENTRAL_PASSWORD, Hub, Leaf, site_password

pytestmark = pytest.mark.timeout(60)

CAMERAS = ["cam1", "cam2"]


def _receiver(tmp_path: Path, leaf: Leaf) -> tuple[ModelReceiver, ModelBook]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / leaf.site,
        site_id=leaf.site,
        nats_url=leaf.url,
        nats_user=leaf.site,
        nats_password=site_password(leaf.site),
    )
    engine = open_database(settings.server.data_dir)
    book = ModelBook(settings.server.data_dir)
    book.start(engine)
    return ModelReceiver(settings.sites, book, lambda: CAMERAS, poll_s=0.1), book


async def _central(hub: Hub) -> tuple[nats.NATS, JetStreamContext]:
    nc = await nats.connect(hub.url, user="central", password=CENTRAL_PASSWORD)
    return nc, nc.jetstream()


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.05)


async def _state_is(js: JetStreamContext, site: str, state: str) -> bool:
    return (await site_model_state(js, site))["state"] == state


def test_a_model_the_central_activates_counts_at_the_site(
    tmp_path: Path, hub: Hub, barn1: Leaf
) -> None:
    receiver, book = _receiver(tmp_path, barn1)
    data = DEFAULT_MODEL.read_bytes()

    async def run() -> dict[str, object]:
        nc, js = await _central(hub)
        await receiver_start(receiver)
        try:
            sent = await send_model(js, "barn1", data, "group-v2.onnx", ["cam1"], "admin")
            assert (await site_model_state(js, "barn1"))["state"] in ("pending", "active")
            await _until(lambda: _state_is(js, "barn1", "active"))
            state = await site_model_state(js, "barn1")
            assert state["report"]["activation"] == sent["id"]
            return state
        finally:
            await receiver.stop()
            await nc.close()

    state = asyncio.run(run())
    model_id = state["report"]["model_id"]  # type: ignore[index]
    assert book.active("cam1") == model_id and book.active("cam2") == SHIPPED
    card = book.card(model_id)
    assert card["origin"] == "central" and card["sha256"] == hashlib.sha256(data).hexdigest()
    assert book.path(model_id).read_bytes() == data
    assert receiver.status().state == "active" and receiver.status().name == "group-v2.onnx"
    # restarted, the site neither applies it again nor forgets it came from the central
    again, _ = _receiver(tmp_path, barn1)
    assert again.status().activation == receiver.status().activation

    async def restart() -> None:
        again.start()
        await asyncio.sleep(0.5)
        await again.stop()

    asyncio.run(restart())
    assert len(list(book.root.glob("*/card.json"))) == 1
    assert again.status().state == "active" and again.status().last_error is None


async def receiver_start(receiver: ModelReceiver) -> None:
    receiver.start()
    await asyncio.sleep(0)


def test_a_corrupted_or_foreign_file_is_refused_and_the_old_model_keeps_counting(
    tmp_path: Path, hub: Hub, barn1: Leaf
) -> None:
    receiver, book = _receiver(tmp_path, barn1)
    good = DEFAULT_MODEL.read_bytes()

    async def run() -> list[str]:
        nc, js = await _central(hub)
        await receiver_start(receiver)
        reasons = []
        try:
            await send_model(js, "barn1", good, "v1.onnx", None, "admin")
            await _until(lambda: _state_is(js, "barn1", "active"))
            # not ONNX at all: the model book's own check refuses it
            await send_model(js, "barn1", b"not a model" * 100, "junk.onnx", None, "admin")
            await _until(lambda: _state_is(js, "barn1", "refused"))
            reasons.append((await site_model_state(js, "barn1"))["report"]["reason"])
            # an activation whose digest is not the object's: a corrupted transfer
            bad = dict(await send_model(js, "barn1", good, "v1.onnx", None, "admin"))
            await _until(lambda: _state_is(js, "barn1", "active"))
            bad |= {"id": "corrupt1", "sha256": hashlib.sha256(b"other").hexdigest()}
            store = await js.object_store(models.MODELS_BUCKET)
            await store.put(bad["sha256"], good[:-1] + b"x")  # named as the digest, not its data
            await js.publish(models.activation_subject("barn1"), json.dumps(bad).encode())
            await _until(lambda: _state_is(js, "barn1", "refused"))
            reasons.append((await site_model_state(js, "barn1"))["report"]["reason"])
            return reasons
        finally:
            await receiver.stop()
            await nc.close()

    reasons = asyncio.run(run())
    assert "not a model PigWeight can run" in reasons[0]
    assert "bytes" in reasons[1] or "sha256" in reasons[1]
    active = book.active("cam1")
    assert active != SHIPPED and book.card(active)["name"] == "v1.onnx"
    assert book.active("cam2") == active
    assert sum(1 for c in book.root.glob("*/card.json")) == 2  # the refused ones left nothing


def test_an_activation_sent_while_the_hub_is_down_arrives_when_it_returns(
    tmp_path: Path, hub: Hub, barn1: Leaf
) -> None:
    receiver, book = _receiver(tmp_path, barn1)
    data = DEFAULT_MODEL.read_bytes()

    async def run() -> None:
        nc, js = await _central(hub)
        await send_model(js, "barn1", data, "v1.onnx", ["cam2"], "admin")  # the streams exist
        await nc.close()
        hub.stop()
        await receiver_start(receiver)
        try:
            await asyncio.sleep(0.5)
            assert receiver.status().last_error is not None  # tried, no hub
            hub.start()
            nc, js = await _central(hub)
            sent = await send_model(js, "barn1", data, "v2.onnx", ["cam1"], "admin")
            await _until(lambda: _state_is(js, "barn1", "active"), 15)
            assert (await site_model_state(js, "barn1"))["report"]["activation"] == sent["id"]
            await nc.close()
        finally:
            await receiver.stop()

    asyncio.run(run())
    assert book.card(book.active("cam1"))["name"] == "v2.onnx"
    assert book.active("cam2") == SHIPPED  # only the newest activation counts


def test_barn2_cannot_read_barn1s_activation(tmp_path: Path, hub: Hub, barn1: Leaf) -> None:
    barn2 = Leaf(tmp_path, "barn2", hub)
    barn2.start()

    async def run() -> list[str]:
        nc, js = await _central(hub)
        await models.ensure_central_streams(js, ["barn1", "barn2"])
        await send_model(js, "barn1", DEFAULT_MODEL.read_bytes(), "v1.onnx", None, "admin")
        await nc.close()
        answers = []
        for leaf in (barn1, barn2):
            site = await nats.connect(
                leaf.url,
                user=leaf.site,
                password=site_password(leaf.site),
                inbox_prefix=models.site_inbox(leaf.site),
            )
            hub_js = site.jetstream(domain="hub", timeout=1)
            for stream in ("PW_TO_barn1", "PW_TO_barn2"):
                try:
                    subject = f"pw.to.{stream[6:]}.model"
                    msg = await hub_js.get_last_msg(stream, subject)
                    answers.append(json.loads(msg.data)["site"])
                except Exception as exc:  # no permission: no responders
                    answers.append(type(exc).__name__)
            try:  # a labelled frame posing as barn1's
                await hub_js.publish(models.label_subject("barn1", 1), b"jpeg")
                answers.append("stored")
            except Exception as exc:
                answers.append(type(exc).__name__)
            await site.close()
        return answers

    try:
        answers = asyncio.run(run())
    finally:
        barn2.stop()
    # barn1 reads its own (barn2's stream is out of its reach); barn2 reaches its own empty
    # stream (not found) and never barn1's: its leaf user may not send that request
    assert answers == [
        *("barn1", "ServiceUnavailableError", "stored"),
        *("ServiceUnavailableError", "NotFoundError", "NoStreamResponseError"),
    ]


def test_the_central_app_sends_a_model_the_site_app_counts_with(
    tmp_path: Path, hub: Hub, barn1: Leaf
) -> None:
    central_settings = make_settings(
        tmp_path / "central",
        central=True,
        central_sites=["barn1", "barn2"],
        nats_url=hub.url,
        nats_user="central",
        nats_password=CENTRAL_PASSWORD,
    )
    site_settings = make_settings(
        tmp_path / "barn1",
        site_id="barn1",
        nats_url=barn1.url,
        nats_user="barn1",
        nats_password=site_password("barn1"),
    )
    with (
        TestClient(create_app(central_settings)) as central,
        TestClient(create_app(site_settings)) as site,
    ):
        junk = central.post(
            "/api/central/models/barn1/import", files={"file": ("x.onnx", b"no model")}
        )
        assert junk.status_code == 422 and junk.json()["code"] == "model_unreadable"
        sent = central.post(
            "/api/central/models/barn1/import",
            files={"file": ("group.onnx", DEFAULT_MODEL.read_bytes())},
            data={"cameras": "cam1"},
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["state"] == "pending" and sent.json()["sent"]["cameras"] == ["cam1"]
        deadline = time.monotonic() + 15
        while site.get("/api/health").json()["central_model"]["state"] != "active":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        model = site.get("/api/health").json()["central_model"]
        assert model["name"] == "group.onnx"
        assert model["sha256"] == hashlib.sha256(DEFAULT_MODEL.read_bytes()).hexdigest()
        while central.get("/api/central/models").json()["sites"][0]["state"] != "active":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        states = {s["site"]: s["state"] for s in central.get("/api/central/models").json()["sites"]}
        assert states == {"barn1": "active", "barn2": "none"}
        assert (
            central.post(
                "/api/central/models/barn9/import", files={"file": ("x.onnx", b"x")}
            ).json()["code"]
            == "site_not_found"
        )


def test_labelled_frames_go_to_the_central_once_newest_version(
    tmp_path: Path, hub: Hub, barn1: Leaf
) -> None:
    receiver, _book = _receiver(tmp_path, barn1)
    queue = LabelQueue(tmp_path / "barn1", limit_mb=100)
    queue.start(receiver.book.engine)
    image = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    frame = queue.add("cam1", image, "sample", ts=1.0)
    queue.add("cam1", image, "sample", ts=2.0)  # never labelled: stays at the site
    queue.save(frame.id, 0, [[0.1, 0.1, 0.2, 0.2]], "anna")
    sender = LabelSender("barn1", queue, lambda: CAMERAS)
    receiver.labels, receiver.labels_every_s = sender, 0.1

    async def run() -> list[list[dict[str, object]]]:
        nc, js = await _central(hub)
        await models.ensure_central_streams(js, ["barn1"])
        seen = []
        await receiver_start(receiver)
        try:
            await _until(lambda: _labels_are(js, 1))
            seen.append(await models.site_labels(js, "barn1"))
            current = queue.frame(frame.id).version
            queue.save(frame.id, current, [[0.1, 0.1, 0.2, 0.2], [0.5, 0.5, 0.6, 0.6]], "anna")
            await _until(lambda: _labels_are(js, 1, version=current + 1))
            sender.sent.clear()  # as after a crash before its list was saved: sent again
            await asyncio.sleep(0.5)
            seen.append(await models.site_labels(js, "barn1"))
            seen.append(await models.site_labels(js, "barn2"))
        finally:
            await receiver.stop()
            await nc.close()
        return seen

    first, again, other = asyncio.run(run())
    assert first[0]["boxes"] == [[0.1, 0.1, 0.2, 0.2]] and first[0]["labelled_by"] == "anna"
    assert first[0]["jpeg_bytes"] == queue.image_path(queue.frame(frame.id)).stat().st_size
    assert len(again) == 1 and len(again[0]["boxes"]) == 2  # type: ignore[arg-type]
    assert other == []


async def _labels_are(js: JetStreamContext, n: int, version: int | None = None) -> bool:
    found = await models.site_labels(js, "barn1")
    return len(found) == n and (version is None or found[-1]["version"] == version)
