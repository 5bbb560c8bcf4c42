"""Sites and the central service (issue 21): a UUID on every weighing and batch, made where
it was recorded; the site's outbox; the central's tables of what the sites sent.

Existing weighings and batches get a UUID each here, so that a site set up on an existing
database can send its history too.

Revision ID: 0002_sites
Revises: 0001_baseline
Create Date: 2026-12-07
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002_sites"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None

_UUID_TABLES = ("weight_records", "batches")


def upgrade() -> None:
    bind = op.get_bind()
    for name in _UUID_TABLES:
        with op.batch_alter_table(name) as batch:
            batch.add_column(sa.Column("uuid", sa.String(36), nullable=True))
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("uuid", sa.String))
        ids = bind.execute(sa.select(table.c.id).where(table.c.uuid.is_(None))).scalars().all()
        for row_id in ids:
            bind.execute(
                sa.update(table).where(table.c.id == row_id).values(uuid=str(uuid.uuid4()))
            )
        with op.batch_alter_table(name) as batch:
            batch.alter_column("uuid", existing_type=sa.String(36), nullable=False)
            batch.create_index(f"ux_{name}_uuid", ["uuid"], unique=True)
    op.create_table(
        "site_outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_ts", sa.Float, nullable=False),
    )
    _central_tables()


def _central_tables() -> None:

    def site() -> sa.Column[str]:
        return sa.Column("site", sa.String(32), primary_key=True)

    op.create_table(
        "central_sites",
        sa.Column("site", sa.String(32), primary_key=True),
        sa.Column("first_heard_ts", sa.Float, nullable=False),
        sa.Column("last_heard_ts", sa.Float, nullable=False),
        sa.Column("messages", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "central_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("site", sa.String(32), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("corrects_uuid", sa.String(36), nullable=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("created_ts", sa.Float, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("local_time", sa.String(32), nullable=False),
        sa.Column("local_date", sa.String(8), nullable=False),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("count_source", sa.String(8), nullable=False),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("total_weight_kg", sa.Float, nullable=False),
        sa.Column("avg_weight_kg", sa.Float, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("weight_source", sa.String(8), nullable=False),
        sa.Column("batch_uuid", sa.String(36), nullable=True),
        sa.Column("received_ts", sa.Float, nullable=False),
    )
    op.create_index(
        "ux_central_records_site_uuid", "central_records", ["site", "uuid"], unique=True
    )
    op.create_index(
        "ix_central_records_site_corrects", "central_records", ["site", "corrects_uuid"]
    )
    op.create_index("ix_central_records_ts", "central_records", ["ts"])
    for name in ("central_record_deletions", "central_record_confirmations"):
        columns = [sa.Column("ts", sa.Float, nullable=False)]
        if name == "central_record_deletions":
            columns.append(sa.Column("reason", sa.Text, nullable=False))
        op.create_table(
            name, site(), sa.Column("record_uuid", sa.String(36), primary_key=True), *columns
        )
    op.create_table(
        "central_batches",
        site(),
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("camera", sa.String(32), nullable=False),
        sa.Column("expected_head", sa.Integer, nullable=True),
        sa.Column("target_avg_kg", sa.Float, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("started_ts", sa.Float, nullable=False),
        sa.Column("closed_ts", sa.Float, nullable=True),
        sa.Column("changed_ts", sa.Float, nullable=False),
    )
    op.create_table(
        "central_cameras",
        site(),
        sa.Column("camera", sa.String(32), primary_key=True),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("last_heard_ts", sa.Float, nullable=False),
    )
    op.create_table(
        "central_counts",
        site(),
        sa.Column("camera", sa.String(32), primary_key=True),
        sa.Column("ts", sa.Float, primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("stable_count", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    for name in (
        "central_counts",
        "central_cameras",
        "central_batches",
        "central_record_confirmations",
        "central_record_deletions",
        "central_records",
        "central_sites",
        "site_outbox",
    ):
        op.drop_table(name)
    for name in _UUID_TABLES:
        with op.batch_alter_table(name) as batch:
            batch.drop_index(f"ux_{name}_uuid")
            batch.drop_column("uuid")
