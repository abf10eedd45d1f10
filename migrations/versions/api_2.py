"""calendar feeds: secret iCalendar subscription URLs per staff member and per chair

Revision ID: api_2
Revises: api_1
Create Date: 2026-12-03 19:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "api_2"
down_revision = "api_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("chair_id", sa.Integer(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('staff','chair')", name=op.f("ck_calendar_feeds_kind")),
        sa.CheckConstraint(
            "(kind = 'staff' AND user_id IS NOT NULL AND chair_id IS NULL) OR "
            "(kind = 'chair' AND chair_id IS NOT NULL AND user_id IS NULL)",
            name=op.f("ck_calendar_feeds_owner"),
        ),
        sa.ForeignKeyConstraint(
            ["chair_id"],
            ["chairs.id"],
            name=op.f("fk_calendar_feeds_chair_id_chairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_feeds_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_feeds_token_hash")),
    )
    with op.batch_alter_table("calendar_feeds") as batch:
        batch.create_index(batch.f("ix_calendar_feeds_chair_id"), ["chair_id"], unique=False)
        batch.create_index(batch.f("ix_calendar_feeds_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("calendar_feeds") as batch:
        batch.drop_index(batch.f("ix_calendar_feeds_user_id"))
        batch.drop_index(batch.f("ix_calendar_feeds_chair_id"))
    op.drop_table("calendar_feeds")
