"""patient self-service: slot holds, page hit counts, bookable-online chairs and types, settings

Revision ID: selfservice_1
Revises: mail_1
Create Date: 2026-12-03 18:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "selfservice_1"
down_revision = "mail_1"
branch_labels = None
depends_on = None

SETTINGS_NUMBERS = (
    ("online_min_notice_hours", 24),
    ("online_horizon_days", 60),
    ("online_cutoff_hours", 24),
)
SETTINGS_FLAGS = ("online_late_cancel", "online_bookings_confirmed")


def upgrade():
    op.create_table(
        "slot_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("chair_id", sa.Integer(), nullable=False),
        sa.Column("appointment_type_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("start_at < end_at", name=op.f("ck_slot_holds_order")),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name=op.f("fk_slot_holds_appointment_type_id_appointment_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["chair_id"],
            ["chairs.id"],
            name=op.f("fk_slot_holds_chair_id_chairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_slot_holds_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_slot_holds_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slot_holds")),
    )
    op.create_index(
        "ix_slot_holds_chair_start", "slot_holds", ["chair_id", "start_at"], unique=False
    )
    op.create_index("ix_slot_holds_expires", "slot_holds", ["expires_at"], unique=False)
    op.create_index(op.f("ix_slot_holds_patient_id"), "slot_holds", ["patient_id"], unique=False)
    op.create_table(
        "page_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_hits")),
    )
    op.create_index(
        "ix_page_hits_bucket_key_at", "page_hits", ["bucket", "key", "at"], unique=False
    )
    for table in ("chairs", "appointment_types"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "bookable_online", sa.Boolean(), nullable=False, server_default=sa.false()
                )
            )
    with op.batch_alter_table("clinic_settings") as batch:
        for name, default in SETTINGS_NUMBERS:
            batch.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=str(default))
            )
        for name in SETTINGS_FLAGS:
            batch.add_column(
                sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())
            )


def downgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        for name in reversed(SETTINGS_FLAGS):
            batch.drop_column(name)
        for name, _ in reversed(SETTINGS_NUMBERS):
            batch.drop_column(name)
    for table in ("appointment_types", "chairs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("bookable_online")
    op.drop_index("ix_page_hits_bucket_key_at", table_name="page_hits")
    op.drop_table("page_hits")
    op.drop_index(op.f("ix_slot_holds_patient_id"), table_name="slot_holds")
    op.drop_index("ix_slot_holds_expires", table_name="slot_holds")
    op.drop_index("ix_slot_holds_chair_start", table_name="slot_holds")
    op.drop_table("slot_holds")
