"""The database: its tables, and `open_database`, which opens it for the app.

By default one SQLite file in DATA_DIR, WAL journal, synchronous=FULL: WAL lets the API
read while the single writer thread writes; FULL makes an acknowledged write survive a
power cut, which farm sheds see more often than offices. DATABASE_URL may name a
PostgreSQL database instead; the same SQLAlchemy Core statements run on both.

A change to these tables goes with a migration in store/migrations/versions/.
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from pigweight.errors import DatabaseUnavailable
from pigweight.redact import redact_text, redact_url, secret_forms, url_password

DB_FILE_NAME = "pigweight.sqlite3"

metadata = MetaData()


def new_uuid() -> str:
    """A record's id made where it is recorded: the central service keys it by this."""
    return str(uuid.uuid4())


count_samples = Table(
    "count_samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera", String(32), nullable=False),
    Column("ts", Float, nullable=False),  # seconds since the epoch (time.time())
    Column("count", Integer, nullable=False),  # animals seen on the frame
    Column("stable_count", Integer, nullable=True),  # windowed count; NULL until enough samples
    Column("confidence", Float, nullable=False),  # 0-1
    Index("ix_count_samples_camera_ts", "camera", "ts"),
)


# A batch (a pen's or a group's weighings, as a livestock scale keeps them): started on a
# camera, whose weighings then belong to it until it is closed or another is started there.
batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),  # the pen or group, as the farm calls it
    Column("camera", String(32), nullable=False),  # the camera whose weighings it takes
    Column("expected_head", Integer, nullable=True),  # animals in the group; NULL: not known
    Column("target_avg_kg", Float, nullable=True),  # the weight a head should have reached
    Column("note", Text, nullable=False, default=""),
    Column("started_ts", Float, nullable=False),
    Column("closed_ts", Float, nullable=True),  # NULL: open (at most one a camera)
    Column("uuid", String(36), nullable=False, default=new_uuid),  # its id at the central
    Index("ix_batches_camera_closed", "camera", "closed_ts"),
    Index("ux_batches_uuid", "uuid", unique=True),
)


# Weighing records are append-only: a correction is a new row whose `corrects_id` names the
# row it replaces, a deletion a row in weight_record_deletions. Nothing is updated in place.
weight_records = Table(
    "weight_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ts", Float, nullable=False),  # when the animals were weighed, seconds since the epoch
    Column("created_ts", Float, nullable=False),  # when this row was written
    Column("timezone", String(64), nullable=False),  # the farm's zone at the time
    Column("local_time", String(32), nullable=False),  # ISO 8601 with the zone's offset
    Column("local_date", String(8), nullable=False),  # YYYYMMDD: the day of its CSV file
    Column("camera", String(32), nullable=False),
    Column("count", Integer, nullable=False),
    Column("count_source", String(8), nullable=False),  # "auto" | "manual"
    Column("confidence", Float, nullable=True),  # of an auto count, 0-1
    Column("total_weight_kg", Float, nullable=False),
    Column("avg_weight_kg", Float, nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("segmenter", String(64), nullable=True),
    Column("snapshot", String(255), nullable=True),  # path under DATA_DIR
    Column("corrects_id", Integer, ForeignKey("weight_records.id"), nullable=True, unique=True),
    Column("idempotency_key", String(128), nullable=True, unique=True),
    Column("request_hash", String(64), nullable=True),
    # "scale" (read from the indicator) | "manual" (typed); rows older than the column: manual
    Column("weight_source", String(8), nullable=False, server_default="manual"),
    # JSON under DATA_DIR: what an automatic weighing saw (count histogram, raw scale frames)
    Column("evidence", String(255), nullable=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=True),  # NULL: no batch
    Column("uuid", String(36), nullable=False, default=new_uuid),  # its id at the central
    Index("ix_weight_records_ts", "ts"),
    Index("ux_weight_records_uuid", "uuid", unique=True),
    Index("ix_weight_records_batch", "batch_id"),
    Index("ix_weight_records_local_date", "local_date"),
)

weight_record_deletions = Table(
    "weight_record_deletions",
    metadata,
    Column("record_id", Integer, ForeignKey("weight_records.id"), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("reason", Text, nullable=False),
)

# An operator looked at a record (an automatic one, usually) and said it is right.
weight_record_confirmations = Table(
    "weight_record_confirmations",
    metadata,
    Column("record_id", Integer, ForeignKey("weight_records.id"), primary_key=True),
    Column("ts", Float, nullable=False),
)


# Issue 21, sites: what a site has recorded but not yet handed to its NATS server. A row is
# written in the same transaction as the change it reports and deleted once JetStream
# acknowledged it (pigweight/sites/publisher.py); empty unless SITE_ID is set.
site_outbox = Table(
    "site_outbox",
    metadata,
    Column("id", Integer, primary_key=True),  # the order of publishing
    Column("event_id", String(36), nullable=False, unique=True),  # the Nats-Msg-Id
    Column("subject", String(128), nullable=False),
    Column("payload", Text, nullable=False),  # the message's JSON (pigweight/sites/wire.py)
    Column("created_ts", Float, nullable=False),
)


# Who may use the service (once one user exists, every request needs one of them): people
# log in for a session cookie, scripts send an API token. Only hashes of secrets are kept.
users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # "admin" | "operator" | "viewer"
    Column("password_hash", String(255), nullable=False),  # argon2id
    Column("created_ts", Float, nullable=False),
)

user_sessions = Table(
    "user_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's value
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("expires_ts", Float, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 of the token
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("label", String(64), nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("revoked_ts", Float, nullable=True),
)


# The video archive: one row per file (its probe and where its indexing stands) and one per
# indexed moment. Index progress lives here, not in memory, so a restart resumes the job.
video_files = Table(
    "video_files",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False),  # what the user called it (upload name)
    Column("path", String(4096), nullable=False, unique=True),
    Column("source", String(16), nullable=False),  # "upload" | "register"
    Column("size_bytes", BigInteger, nullable=False),
    Column("container", String(16), nullable=False),  # "mp4" | "matroska" | "mpegts" | "avi"
    Column("codec", String(32), nullable=False),  # FFmpeg name: "h264", "hevc" ...
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("fps", Float, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("start_s", Float, nullable=False),  # pts of the first packet; t = pts - start_s
    Column("frames", Integer, nullable=False),
    Column("keyframes", Text, nullable=False),  # JSON list of t (s), rounded to ms
    Column("truncated", Boolean, nullable=False),
    Column("browser_playable", Boolean, nullable=False),
    Column("added_ts", Float, nullable=False),  # seconds since the epoch
    # "queued" | "indexing" | "done" | "cancelled" | "error"
    Column("index_state", String(16), nullable=False, default="queued"),
    Column("index_error", Text, nullable=True),
    Column("indexed_until_s", Float, nullable=False, default=0.0),  # every sample before: done
    Column("samples_done", Integer, nullable=False, default=0),
    Column("samples_total", Integer, nullable=False, default=0),
    # The platform zone drawn for this recording, JSON [[x, y], ...] in 0-1; NULL: none.
    Column("zone", Text, nullable=True),
)

video_samples = Table(
    "video_samples",
    metadata,
    Column("video_id", Integer, ForeignKey("video_files.id"), primary_key=True),
    Column("t", Float, primary_key=True),  # the sampled frame's own t, seconds, rounded to ms
    Column("count", Integer, nullable=False),
    Column("confidence", Float, nullable=False),  # 0-1
    Column("outlines", Text, nullable=False),  # JSON [[[x, y], ...], ...] in 0-1, 3 decimals
    Column("on_demand", Boolean, nullable=False),  # computed for a query, not by the index pass
)


# Issue 19, the farm teaches its counter. Frames kept for labelling (their JPEG lives in
# DATA_DIR/labelling/<camera>/), and every saved set of boxes as a new version: a label is
# never edited in place, so no edit is lost and two people cannot overwrite each other.
label_frames = Table(
    "label_frames",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera", String(32), nullable=False),
    Column("ts", Float, nullable=False),  # when the frame was seen (orders the time split)
    Column("added_ts", Float, nullable=False),
    # "typed_count_differs" | "confirm_asked" | "low_confidence" | "sample" | "added" | "imported"
    Column("reason", String(32), nullable=False),
    Column("file", String(255), nullable=False),  # relative to DATA_DIR
    Column("bytes", Integer, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("model_count", Integer, nullable=True),  # what the camera counted on it
    Column("typed_count", Integer, nullable=True),  # what the operator typed, if anything
    Column("confidence", Float, nullable=True),
    Column("source_name", String(255), nullable=True),  # an imported file's own name
    Column("infrared", Boolean, nullable=True),  # a grey (night, infrared) picture
    Index("ix_label_frames_camera_ts", "camera", "ts"),
)

label_versions = Table(
    "label_versions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("frame_id", Integer, ForeignKey("label_frames.id"), nullable=False),
    Column("version", Integer, nullable=False),  # 1, 2, ... per frame; unique with frame_id
    Column("boxes", Text, nullable=False),  # JSON [[x1, y1, x2, y2], ...] in 0-1
    Column("user", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    Column("added", Integer, nullable=False),  # against the version before (or the model's)
    Column("removed", Integer, nullable=False),
    Column("moved", Integer, nullable=False),
    Index("ux_label_versions_frame_version", "frame_id", "version", unique=True),
)

# Which model counts on each camera: append-only, the newest row is the active one
# ("shipped": the model in the package). A rollback is a row too.
camera_models = Table(
    "camera_models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera", String(32), nullable=False),
    Column("model_id", String(64), nullable=False),
    Column("ts", Float, nullable=False),
    Column("user", String(64), nullable=False),
    Column("action", String(16), nullable=False),  # "activate" | "rollback"
    Index("ix_camera_models_camera", "camera", "id"),
)

# Fine-tunes started from the page. The state survives a restart: a job found "running"
# with no process behind it is resumed from its checkpoint.
training_jobs = Table(
    "training_jobs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("camera", String(32), nullable=False),
    # "running" | "comparing" | "finished" | "failed" | "cancelled" | "interrupted"
    Column("state", String(16), nullable=False),
    Column("steps", Integer, nullable=False),
    Column("imgsz", Integer, nullable=False),
    Column("base_model", String(64), nullable=False),
    Column("folder", String(255), nullable=False),  # relative to DATA_DIR
    Column("train_frames", Integer, nullable=False),
    Column("held_out_frames", Integer, nullable=False),
    Column("started_ts", Float, nullable=False),
    Column("finished_ts", Float, nullable=True),
    Column("user", String(64), nullable=False),
    Column("pid", Integer, nullable=True),
    Column("message", Text, nullable=True),
    Column("model_id", String(64), nullable=True),
    Column("resumes", Integer, nullable=False, default=0),
    # night (infrared) frames among those learnt from and those held out
    Column("train_infrared", Integer, nullable=True),
    Column("held_out_infrared", Integer, nullable=True),
)


# Issue 21, the central service: what the sites sent, keyed by (site, the UUID made at the
# site), so that a message delivered twice changes nothing (pigweight/sites/central.py).
central_sites = Table(
    "central_sites",
    metadata,
    Column("site", String(32), primary_key=True),
    Column("first_heard_ts", Float, nullable=False),  # when the central took its first message
    Column("last_heard_ts", Float, nullable=False),  # ... and its latest
    Column("messages", BigInteger, nullable=False, default=0),  # messages taken (not repeats)
)

central_records = Table(
    "central_records",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(32), nullable=False),
    Column("uuid", String(36), nullable=False),
    Column("corrects_uuid", String(36), nullable=True),  # the site's record this one replaces
    Column("ts", Float, nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("local_time", String(32), nullable=False),
    Column("local_date", String(8), nullable=False),
    Column("camera", String(32), nullable=False),
    Column("count", Integer, nullable=False),
    Column("count_source", String(8), nullable=False),
    Column("confidence", Float, nullable=True),
    Column("total_weight_kg", Float, nullable=False),
    Column("avg_weight_kg", Float, nullable=False),
    Column("note", Text, nullable=False),
    Column("weight_source", String(8), nullable=False),
    Column("batch_uuid", String(36), nullable=True),
    Column("received_ts", Float, nullable=False),
    Index("ux_central_records_site_uuid", "site", "uuid", unique=True),
    Index("ix_central_records_site_corrects", "site", "corrects_uuid"),
    Index("ix_central_records_ts", "ts"),
)

central_record_deletions = Table(
    "central_record_deletions",
    metadata,
    Column("site", String(32), primary_key=True),
    Column("record_uuid", String(36), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("reason", Text, nullable=False),
)

central_record_confirmations = Table(
    "central_record_confirmations",
    metadata,
    Column("site", String(32), primary_key=True),
    Column("record_uuid", String(36), primary_key=True),
    Column("ts", Float, nullable=False),
)

central_batches = Table(
    "central_batches",
    metadata,
    Column("site", String(32), primary_key=True),
    Column("uuid", String(36), primary_key=True),
    Column("name", String(64), nullable=False),
    Column("camera", String(32), nullable=False),
    Column("expected_head", Integer, nullable=True),
    Column("target_avg_kg", Float, nullable=True),
    Column("note", Text, nullable=False),
    Column("started_ts", Float, nullable=False),
    Column("closed_ts", Float, nullable=True),
    Column("changed_ts", Float, nullable=False),  # the newest revision wins
)

central_cameras = Table(
    "central_cameras",
    metadata,
    Column("site", String(32), primary_key=True),
    Column("camera", String(32), primary_key=True),
    Column("state", String(32), nullable=False),
    Column("last_heard_ts", Float, nullable=False),  # the site's time of that state
)

central_counts = Table(
    "central_counts",
    metadata,
    Column("site", String(32), primary_key=True),
    Column("camera", String(32), primary_key=True),
    Column("ts", Float, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("stable_count", Integer, nullable=True),
)


def open_database(data_dir: Path, url: SecretStr | str | None = None) -> Engine:
    """The app's database, its schema brought up to date (Alembic, store/migrate.py).

    `url` is DATABASE_URL: PostgreSQL (`postgresql+psycopg://...`) or an SQLite file; None or
    empty: DATA_DIR's own SQLite file. Raises DatabaseUnavailable, naming DATABASE_URL with
    its password hidden, when it cannot be opened.
    """
    from pigweight.store import migrate  # alembic's import is paid only here

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    text = url.get_secret_value() if isinstance(url, SecretStr) else url
    engine = _engine(data_dir, text.strip() if text and text.strip() else None)
    try:
        migrate.upgrade(engine)
    except DBAPIError as error:
        engine.dispose()
        if text is None or not text.strip():
            raise  # DATA_DIR's own file: a disk error, not a setting to fix
        raise DatabaseUnavailable(_cannot_open(engine.url, text, error.orig or error)) from None
    return engine


def _engine(data_dir: Path, url: str | None) -> Engine:
    if url is None:
        return _sqlite_engine(URL.create("sqlite", database=str(data_dir / DB_FILE_NAME)))
    try:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):  # psycopg 3 is the driver here
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.get_backend_name() == "sqlite":
            if parsed.database:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            return _sqlite_engine(parsed)
        # A server that does not answer fails the start in seconds, not never.
        connect_args = {} if "connect_timeout" in parsed.query else {"connect_timeout": 10}
        return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args)
    except (ArgumentError, ImportError) as error:  # NoSuchModuleError is an ArgumentError
        raise DatabaseUnavailable(_cannot_open(None, url, error)) from None


def _sqlite_engine(url: URL) -> Engine:
    engine = create_engine(url)
    event.listen(engine, "connect", _configure)
    return engine


def _cannot_open(url: URL | None, text: str, error: BaseException) -> str:
    """DATABASE_URL's error in one line, the URL's password hidden wherever it appears."""
    shown = url.render_as_string(hide_password=True) if url is not None else redact_url(text)
    password = url_password(text)
    secrets = secret_forms(password) if password else ()
    reason = " ".join(str(error).split())
    return redact_text(f"DATABASE_URL: cannot open {shown}: {reason}", secrets)


def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    # Readers wait for the writer's short transactions instead of failing at once.
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
