"""Fixtures shared by the whole suite: real, tiny things only."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.planted_secret import find_planted, planted_forms, scan_files
from tests.postgres import PostgresServer
from tests.postgres import installed as postgres_installed

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PIGWEIGHT_SHARED", REPO.parent / "shared"))

# Under CI (.ci/run sets it) a missing system component is a failure, not a skip.
REQUIRE_SYSTEM = os.environ.get("PIGWEIGHT_REQUIRE_SYSTEM") == "1"


def need_system(available: bool, reason: str) -> None:
    """Skip on a laptop that lacks a system component; fail under CI."""
    if available:
        return
    if REQUIRE_SYSTEM:
        pytest.fail(f"{reason} (PIGWEIGHT_REQUIRE_SYSTEM=1: .ci/run must install it)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data with the real pig photos; tests skip where it is absent."""
    data = SHARED / "data"
    if not data.is_dir():
        pytest.skip(f"{data} is absent (real photos are never committed)")
    return data


@pytest.fixture(scope="session")
def shared_models() -> Path:
    """../shared/models with the random-weight YOLO11 ONNX files."""
    models = SHARED / "models"
    if not models.is_dir():
        pytest.skip(f"{models} is absent (models are never committed)")
    return models


# --- the database: SQLite and PostgreSQL ---------------------------------------------------


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the session (Debian's `postgresql` package)."""
    bin_dir = postgres_installed()
    need_system(
        bin_dir is not None, "PostgreSQL is not installed (Debian: apt-get install postgresql)"
    )
    assert bin_dir is not None
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """DATABASE_URL for a test that runs on both backends: None (DATA_DIR's SQLite file), or
    a PostgreSQL database of the test's own, dropped after it."""
    if request.param == "sqlite":
        yield None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


# --- the planted password must leak nowhere (docs/reliability.md, "Secrets") ------------------

# Files a test writes itself to configure the planted password (a cameras file, a .env) are
# expected to hold it; everything else under the run's basetemp was written by the app.
_TEST_CONFIG_FILES = ("cameras*.yaml", "cameras*.yml", "*.env")


class _PlantedLogScan(logging.Handler):
    """Remembers every log record, at whatever level reaches the root, that quotes it."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.hits: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = logging.Formatter().format(record)  # the message and any traceback
        except Exception:  # a broken record is another test's problem, not a leak
            return
        if find_planted(text):
            masked = text
            for form in planted_forms():
                masked = masked.replace(form, "<planted>")
            self.hits.append(f"log {record.name} {record.levelname}: {masked[:300]!r}")


def _app_written_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        if any(path.match(pattern) for pattern in _TEST_CONFIG_FILES):
            continue
        yield path


@pytest.fixture(scope="session", autouse=True)
def planted_password_never_leaks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole run, no log record and no file the app wrote holds the planted password.

    Its records are those the tests let through: WARNING and up, and everything a test
    lowers the level for (tests/test_secrets.py captures DEBUG, FFmpeg's `libav` included).
    The root level is left alone so that failure reports do not fill with DEBUG lines.
    A leak fails the run as an error in the teardown of its last test.
    """
    scan = _PlantedLogScan()
    root = logging.getLogger()
    root.addHandler(scan)
    try:
        yield
    finally:
        root.removeHandler(scan)
    basetemp = tmp_path_factory.getbasetemp()
    leaks = scan.hits + [
        f"file {path.relative_to(basetemp)}: {forms}"
        for path, forms in scan_files(_app_written_files(basetemp))
    ]
    if leaks:
        raise AssertionError(
            f"the planted password leaked in {len(leaks)} place(s):\n" + "\n".join(leaks[:50])
        )


@pytest.fixture(autouse=True, scope="session")
def _quick_password_hashes() -> Iterator[None]:
    """argon2id at its lowest cost inside the test process: the suite hashes and checks a
    few hundred passwords, 0.13 s each at the library's defaults. The service itself (and
    every `pigweight serve` a test starts) keeps the defaults."""
    from argon2 import PasswordHasher

    from pigweight.auth import users

    saved = users._hasher, users._DUMMY_HASH
    users._hasher = PasswordHasher(time_cost=1, memory_cost=256, parallelism=1)
    users._DUMMY_HASH = users._hasher.hash("not a password of anyone")
    yield
    users._hasher, users._DUMMY_HASH = saved
