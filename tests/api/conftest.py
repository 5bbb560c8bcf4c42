"""A real app per test, with every folder in tmp_path so nothing is written to the repo."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pigweight.app import create_app
from pigweight.settings import Settings

MakeClient = Callable[..., TestClient]


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings isolated from the repo and from any .env file."""
    values: dict[str, Any] = {
        "_env_file": None,
        "data_dir": tmp_path / "data",
        "records_dir": tmp_path / "records",
        "log_dir": tmp_path / "logs",
        "preload_model": False,
        "auto_start_cam": False,
        "segmenter": "classic",
        # The tests' RTSP servers and refused ports listen on loopback, which camera URLs may
        # only name when allowed (tests of that rule pass camera_allow_hosts=[]).
        "camera_allow_hosts": ["127.0.0.1"],
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_client(tmp_path: Path) -> Iterator[MakeClient]:
    """Start an app (lifespan included) with settings overrides; all are closed afterwards."""
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        client = TestClient(create_app(make_settings(tmp_path, **overrides)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    """An app with the default limits and the classic segmenter, loaded lazily."""
    return make_client()
