"""The schema as it stood when migrations began (the tables of store/db.py at the time).

On an empty database it creates every table. On one made before Alembic (by
`metadata.create_all` and the `add_missing_columns` that came before this), it adds the
tables, columns and indexes that version lacked: columns were only ever added nullable or
with a server default, so every row reads as it did (a weighing from before
`weight_source` existed was typed: "manual").

The tables are copied here, not imported from store/db.py: a later revision changes those,
and this one must keep creating what it created the first time.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import logging

from alembic import op
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
)

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

logger = logging.getLogger("pigweight.store.migrate")

schema = MetaData()

count_samples = Table(
    "count_samples",
    schema,
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
    schema,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False),  # the pen or group, as the farm calls it
    Column("camera", String(32), nullable=False),  # the camera whose weighings it takes
    Column("expected_head", Integer, nullable=True),  # animals in the group; NULL: not known
    Column("target_avg_kg", Float, nullable=True),  # the weight a head should have reached
    Column("note", Text, nullable=False, default=""),
    Column("started_ts", Float, nullable=False),
    Column("closed_ts", Float, nullable=True),  # NULL: open (at most one a camera)
    Index("ix_batches_camera_closed", "camera", "closed_ts"),
)


# Weighing records are append-only: a correction is a new row whose `corrects_id` names the
# row it replaces, a deletion a row in weight_record_deletions. Nothing is updated in place.
weight_records = Table(
    "weight_records",
    schema,
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
    Index("ix_weight_records_ts", "ts"),
    Index("ix_weight_records_batch", "batch_id"),
    Index("ix_weight_records_local_date", "local_date"),
)

weight_record_deletions = Table(
    "weight_record_deletions",
    schema,
    Column("record_id", Integer, ForeignKey("weight_records.id"), primary_key=True),
    Column("ts", Float, nullable=False),
    Column("reason", Text, nullable=False),
)

# An operator looked at a record (an automatic one, usually) and said it is right.
weight_record_confirmations = Table(
    "weight_record_confirmations",
    schema,
    Column("record_id", Integer, ForeignKey("weight_records.id"), primary_key=True),
    Column("ts", Float, nullable=False),
)


# Who may use the service (once one user exists, every request needs one of them): people
# log in for a session cookie, scripts send an API token. Only hashes of secrets are kept.
users = Table(
    "users",
    schema,
    Column("id", Integer, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # "admin" | "operator" | "viewer"
    Column("password_hash", String(255), nullable=False),  # argon2id
    Column("created_ts", Float, nullable=False),
)

user_sessions = Table(
    "user_sessions",
    schema,
    Column("token_hash", String(64), primary_key=True),  # sha256 of the cookie's value
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_ts", Float, nullable=False),
    Column("expires_ts", Float, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    schema,
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
    schema,
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
    schema,
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
    schema,
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
    schema,
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
    schema,
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
    schema,
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


def upgrade() -> None:
    bind = op.get_bind()
    schema.create_all(bind)  # checkfirst: the tables an older version made stay as they are
    for name in _add_missing_columns(bind):
        logger.info("database: added column %s (an older version wrote this database)", name)
    for table in schema.sorted_tables:  # an index on a column just added
        for index in table.indexes:
            index.create(bind, checkfirst=True)


def downgrade() -> None:
    schema.drop_all(op.get_bind())


def _add_missing_columns(conn: Connection) -> list[str]:
    """Add the columns a database made by an older version lacks; "table.column" of each."""
    added: list[str] = []
    present = inspect(conn)
    for table in schema.sorted_tables:
        have = {c["name"] for c in present.get_columns(table.name)}
        for column in table.columns:
            if column.name in have:
                continue
            kind = column.type.compile(conn.dialect)
            clause = ""
            if column.server_default is not None:
                value = str(column.server_default.arg).replace("'", "''")  # type: ignore[attr-defined]
                clause = f" NOT NULL DEFAULT '{value}'"
            for key in column.foreign_keys:  # as a new database has it (SQLite allows it)
                target = key.column
                clause += f' REFERENCES "{target.table.name}" ("{target.name}")'
            conn.exec_driver_sql(
                f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}{clause}'
            )
            added.append(f"{table.name}.{column.name}")
    return added
